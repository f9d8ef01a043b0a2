// SPDX-License-Identifier: GPL-2.0
/*
 * tbsim - test-only simulation of a Thunderbolt domain (egpu-gate issue 4).
 *
 * Seen from sysfs it looks like drivers/thunderbolt (thunderbolt.ko):
 *
 *   /sys/bus/pci/drivers/thunderbolt/       PCI driver bound to the fake NHI
 *   /sys/bus/thunderbolt/devices/domainN    child of the NHI PCI device:
 *       security, iommu_dma_protection, deauthorization, boot_acl
 *   /sys/bus/thunderbolt/devices/N-R        switches named by domain and
 *       route (0-0 host router, 0-1, 0-301, ...); device parent = upstream
 *       switch: authorized, boot, key, unique_id, vendor, device,
 *       vendor_name, device_name, generation, rx/tx_speed, rx/tx_lanes
 *
 * with the semantics of the real authorized/key/boot_acl stores: a
 * contended domain lock gives restart_syscall(), the parent must be
 * authorized first (-EINVAL), writing the current state again is -EINVAL,
 * de-authorization (0) walks the subtree children first and is -EPERM
 * when the connection manager cannot de-authorize, 2 challenges the key
 * (-ENOKEY, -EKEYREJECTED), every change of authorized sends KOBJ_CHANGE
 * with AUTHORIZED=<value>.
 *
 * The fake NHI is QEMU's pci-testdev (1b36:0005); any other PCI device
 * can be bound with driver_override. The real thunderbolt.ko must not be
 * loaded (same bus and driver name).
 *
 * Test control (debugfs, /sys/kernel/debug/tbsim/):
 *   ctl     write one command per write(), read the state and counters
 *   events  each open() returns one tunnel event line ("up 0-1 pcie
 *           tag=gpu", "down 0-1 deauthorize tag=gpu", "down 0-1 unplug
 *           tag=gpu"); the read blocks at most event_timeout_ms and
 *           returns end of file when nothing happened
 * Commands are listed at tbsim_ctl_write().
 *
 * Locking:
 *   tbsim_ctl_lock   serializes every change of the topology (add,
 *                    remove, domain settings, domain probe/remove) and
 *                    protects tbsim_domains; never taken by sysfs
 *                    callbacks. Taken before a domain lock.
 *   domain->lock     the counterpart of tb->lock: protects authorized,
 *                    key, devkey, the children lists and the domain
 *                    settings. sysfs stores of switches only trylock it
 *                    (restart_syscall() when contended, like the real
 *                    driver); the lock holder's waits are all bounded.
 *   tbsim_ev_lock    spinlock of the tunnel event ring.
 * Devices are unregistered outside domain->lock, children first; a
 * switch's memory lives until its release callback (device refcount).
 */

#define pr_fmt(fmt) "tbsim: " fmt

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/ctype.h>
#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/kobject.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>
#include <linux/uuid.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "compat.h"

#define TBSIM_KEY_SIZE		32	/* TB_SWITCH_KEY_SIZE */
#define TBSIM_MAX_BOOT_ACL	16
#define TBSIM_MAX_DEPTH		6	/* route: one byte (port) per hop */
#define TBSIM_MAX_WAIT_MS	60000	/* bound of every simulated delay */
#define TBSIM_MAX_AUTH_FAIL	1000	/* set D-R auth_fail=N */
#define TBSIM_NAME_LEN		64
#define TBSIM_TAG_LEN		32
#define TBSIM_EV_LEN		96
#define TBSIM_EV_RING		64
#define TBSIM_CTL_MAX		1024
#define TBSIM_CTL_ARGS		24

static unsigned int event_timeout_ms = 10000;
module_param(event_timeout_ms, uint, 0644);
MODULE_PARM_DESC(event_timeout_ms,
		 "Longest wait of a read of debugfs tbsim/events, ms (default 10000, max 60000)");

static char *preset;
module_param(preset, charp, 0444);
MODULE_PARM_DESC(preset, "Topology built when domain0 appears: egpu, egpu-boot or chain (default none)");

/* Security levels, in the order and spelling of enum tb_security_level. */
enum tbsim_security {
	TBSIM_SEC_NONE,
	TBSIM_SEC_USER,
	TBSIM_SEC_SECURE,
	TBSIM_SEC_DPONLY,
	TBSIM_SEC_USBONLY,
	TBSIM_SEC_NOPCIE,
	TBSIM_SEC_COUNT,
};

static const char * const tbsim_security_names[TBSIM_SEC_COUNT] = {
	[TBSIM_SEC_NONE] = "none",
	[TBSIM_SEC_USER] = "user",
	[TBSIM_SEC_SECURE] = "secure",
	[TBSIM_SEC_DPONLY] = "dponly",
	[TBSIM_SEC_USBONLY] = "usbonly",
	[TBSIM_SEC_NOPCIE] = "nopcie",
};

struct tbsim_switch;

struct tbsim_domain {
	struct device dev;
	struct pci_dev *pdev;
	int index;
	struct list_head node;		/* in tbsim_domains, tbsim_ctl_lock */
	struct mutex lock;		/* see "Locking" above */
	enum tbsim_security security;
	bool iommu_dma_protection;
	bool can_deauthorize;		/* connection manager disapproves */
	unsigned int nboot_acl;
	uuid_t boot_acl[TBSIM_MAX_BOOT_ACL];
	struct tbsim_switch *root;

	/* simulated contention of ->lock */
	struct work_struct hold_work;
	struct completion hold_taken;
	unsigned int hold_ms;
	bool hold_cancel;
	bool dying;
	wait_queue_head_t wq;		/* hold_cancel, dying */
};

struct tbsim_switch {
	struct device dev;
	struct tbsim_domain *tb;
	struct tbsim_switch *parent;	/* NULL for the host router */
	struct list_head children;	/* domain->lock */
	struct list_head sibling;	/* in parent->children */
	struct list_head dead;		/* removal list, tbsim_ctl_lock */
	u64 route;
	u16 vendor;
	u16 device;
	char *vendor_name;
	char *device_name;
	uuid_t uuid;
	unsigned int generation;
	unsigned int speed;		/* Gb/s per lane */
	unsigned int lanes;
	unsigned int authorized;	/* 0, 1 or 2 */
	bool boot;
	bool secure;			/* supports secure connect */
	bool hub;
	u8 *key;			/* the key attribute, NULL if unset */
	u8 devkey[TBSIM_KEY_SIZE];	/* key stored in the device NVM */
	bool has_devkey;
	bool removed;
	unsigned int deauth_delay_ms;
	unsigned int auth_fail;		/* approvals left to fail */
	unsigned int auth_errno;	/* ... with -auth_errno */
	unsigned int auth_failed;	/* approvals failed so far */
	unsigned int approvals;		/* approval attempts (incl. failed) */
	char tag[TBSIM_TAG_LEN];
};

static DEFINE_MUTEX(tbsim_ctl_lock);
static LIST_HEAD(tbsim_domains);
static DEFINE_IDA(tbsim_domain_ida);
static struct dentry *tbsim_debugfs;
static atomic_t tbsim_restarts = ATOMIC_INIT(0);

/* tunnel event ring */
static DEFINE_SPINLOCK(tbsim_ev_lock);
static DECLARE_WAIT_QUEUE_HEAD(tbsim_ev_wq);
static char tbsim_ev_ring[TBSIM_EV_RING][TBSIM_EV_LEN];
static unsigned int tbsim_ev_head, tbsim_ev_count, tbsim_ev_dropped;
static bool tbsim_exiting;

static const struct device_type tbsim_switch_type;
static const struct device_type tbsim_domain_type;

static struct tbsim_switch *to_switch(struct device *dev)
{
	if (dev->type != &tbsim_switch_type)
		return NULL;
	return container_of(dev, struct tbsim_switch, dev);
}

static struct tbsim_domain *to_domain(struct device *dev)
{
	return container_of(dev, struct tbsim_domain, dev);
}

/* ---------------------------------------------------------------------- */
/* tunnel events                                                          */

static void tbsim_event(const char *fmt, ...) __printf(1, 2);
static void tbsim_event(const char *fmt, ...)
{
	unsigned long flags;
	unsigned int slot;
	va_list ap;

	spin_lock_irqsave(&tbsim_ev_lock, flags);
	if (tbsim_ev_count == TBSIM_EV_RING) {
		tbsim_ev_head = (tbsim_ev_head + 1) % TBSIM_EV_RING;
		tbsim_ev_count--;
		tbsim_ev_dropped++;
	}
	slot = (tbsim_ev_head + tbsim_ev_count) % TBSIM_EV_RING;
	va_start(ap, fmt);
	vscnprintf(tbsim_ev_ring[slot], TBSIM_EV_LEN, fmt, ap);
	va_end(ap);
	tbsim_ev_count++;
	spin_unlock_irqrestore(&tbsim_ev_lock, flags);
	wake_up_interruptible(&tbsim_ev_wq);
}

/* Pop the oldest event into @buf; false when there is none. */
static bool tbsim_event_pop(char *buf)
{
	unsigned long flags;
	bool ok = false;

	spin_lock_irqsave(&tbsim_ev_lock, flags);
	if (tbsim_ev_count) {
		strscpy(buf, tbsim_ev_ring[tbsim_ev_head], TBSIM_EV_LEN);
		tbsim_ev_head = (tbsim_ev_head + 1) % TBSIM_EV_RING;
		tbsim_ev_count--;
		ok = true;
	}
	spin_unlock_irqrestore(&tbsim_ev_lock, flags);
	return ok;
}

static bool tbsim_event_ready(void)
{
	return READ_ONCE(tbsim_ev_count) || READ_ONCE(tbsim_exiting);
}

static void tbsim_events_clear(void)
{
	unsigned long flags;

	spin_lock_irqsave(&tbsim_ev_lock, flags);
	tbsim_ev_head = 0;
	tbsim_ev_count = 0;
	tbsim_ev_dropped = 0;
	spin_unlock_irqrestore(&tbsim_ev_lock, flags);
}

/* Caller holds sw->tb->lock. */
static void tbsim_tunnel_up(struct tbsim_switch *sw)
{
	pr_info("tunnel up %s pcie\n", dev_name(&sw->dev));
	tbsim_event("up %s pcie tag=%s\n", dev_name(&sw->dev), sw->tag);
}

/* Caller holds sw->tb->lock. */
static void tbsim_tunnel_down(struct tbsim_switch *sw, const char *why)
{
	pr_info("tunnel down %s\n", dev_name(&sw->dev));
	tbsim_event("down %s %s tag=%s\n", dev_name(&sw->dev), why, sw->tag);
}

/* ---------------------------------------------------------------------- */
/* authorization (the connection manager side)                            */

static void tbsim_uevent_authorized(struct tbsim_switch *sw)
{
	char env[16];
	char *envp[2];

	envp[0] = env;
	envp[1] = NULL;
	snprintf(env, sizeof(env), "AUTHORIZED=%u", sw->authorized);
	kobject_uevent_env(&sw->dev.kobj, KOBJ_CHANGE, envp);
}

/*
 * Open the PCIe tunnel to @sw: the upstream switch must be authorized
 * first (the real tb_domain_approve_switch*() return -EINVAL otherwise).
 * Caller holds sw->tb->lock.
 */
static int tbsim_approve(struct tbsim_switch *sw)
{
	if (!sw->parent || !sw->parent->authorized)
		return -EINVAL;
	sw->approvals++;
	if (sw->auth_fail) {
		/* the connection manager failed (set D-R auth_fail=N) */
		sw->auth_fail--;
		sw->auth_failed++;
		pr_info("approval of %s fails with %d (injected, %u left)\n",
			dev_name(&sw->dev), -(int)sw->auth_errno, sw->auth_fail);
		return -(int)sw->auth_errno;
	}
	tbsim_tunnel_up(sw);
	return 0;
}

/*
 * De-authorize @sw and, first, its authorized children (last added
 * first), each with its own AUTHORIZED=0 uevent. The simulated delays of
 * the switches are bounded waits that together take at most @budget_ms
 * (TBSIM_MAX_WAIT_MS per store) and end early when the domain goes away.
 * Caller holds sw->tb->lock.
 */
static int tbsim_disapprove(struct tbsim_switch *sw, unsigned int *budget_ms)
{
	struct tbsim_domain *tb = sw->tb;
	struct tbsim_switch *child;
	unsigned int ms;
	int ret;

	if (!sw->authorized)
		return 0;
	list_for_each_entry_reverse(child, &sw->children, sibling) {
		ret = tbsim_disapprove(child, budget_ms);
		if (ret)
			return ret;
	}
	if (!tb->can_deauthorize)
		return -EPERM;
	ms = min(sw->deauth_delay_ms, *budget_ms);
	if (ms) {
		pr_info("de-authorization of %s hangs for %u ms\n", dev_name(&sw->dev), ms);
		wait_event_timeout(tb->wq, READ_ONCE(tb->dying), msecs_to_jiffies(ms));
		*budget_ms -= ms;
	}
	tbsim_tunnel_down(sw, "deauthorize");
	sw->authorized = 0;
	tbsim_uevent_authorized(sw);
	return 0;
}

static int tbsim_set_authorized(struct tbsim_switch *sw, unsigned int val)
{
	struct tbsim_domain *tb = sw->tb;
	unsigned int budget_ms = TBSIM_MAX_WAIT_MS;
	int ret = -EINVAL;

	if (!mutex_trylock(&tb->lock)) {
		atomic_inc(&tbsim_restarts);
		return restart_syscall();
	}

	if (sw->removed) {
		ret = -ENODEV;
		goto unlock;
	}
	if (!!sw->authorized == !!val)
		goto unlock;

	switch (val) {
	case 0:
		if (sw->route)
			ret = tbsim_disapprove(sw, &budget_ms);
		goto unlock;
	case 1:
		if (sw->key) {
			/* add the key to the device NVM, then approve */
			if (!sw->parent || !sw->parent->authorized)
				break;
			memcpy(sw->devkey, sw->key, TBSIM_KEY_SIZE);
			sw->has_devkey = true;
		}
		ret = tbsim_approve(sw);
		break;
	case 2:
		if (!sw->key)
			break;
		if (!sw->parent || !sw->parent->authorized)
			break;
		if (!sw->has_devkey)
			ret = -ENOKEY;
		else if (memcmp(sw->devkey, sw->key, TBSIM_KEY_SIZE))
			ret = -EKEYREJECTED;
		else
			ret = tbsim_approve(sw);
		break;
	default:
		break;
	}

	if (!ret) {
		sw->authorized = val;
		tbsim_uevent_authorized(sw);
	}
unlock:
	mutex_unlock(&tb->lock);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* switch attributes                                                      */

static ssize_t authorized_show(struct device *dev, struct device_attribute *attr,
			       char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(to_switch(dev)->authorized));
}

static ssize_t authorized_store(struct device *dev, struct device_attribute *attr,
				const char *buf, size_t count)
{
	unsigned int val;
	int ret;

	ret = kstrtouint(buf, 0, &val);
	if (ret)
		return ret;
	if (val > 2)
		return -EINVAL;
	ret = tbsim_set_authorized(to_switch(dev), val);
	return ret ? ret : count;
}
static DEVICE_ATTR_RW(authorized);

static ssize_t boot_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", to_switch(dev)->boot);
}
static DEVICE_ATTR_RO(boot);

static ssize_t device_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%#x\n", to_switch(dev)->device);
}
static DEVICE_ATTR_RO(device);

static ssize_t device_name_show(struct device *dev, struct device_attribute *attr,
				char *buf)
{
	return sysfs_emit(buf, "%s\n", to_switch(dev)->device_name ?: "");
}
static DEVICE_ATTR_RO(device_name);

static ssize_t generation_show(struct device *dev, struct device_attribute *attr,
			       char *buf)
{
	return sysfs_emit(buf, "%u\n", to_switch(dev)->generation);
}
static DEVICE_ATTR_RO(generation);

static ssize_t key_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct tbsim_switch *sw = to_switch(dev);
	ssize_t ret;

	if (!mutex_trylock(&sw->tb->lock)) {
		atomic_inc(&tbsim_restarts);
		return restart_syscall();
	}
	if (sw->key)
		ret = sysfs_emit(buf, "%*phN\n", TBSIM_KEY_SIZE, sw->key);
	else
		ret = sysfs_emit(buf, "\n");
	mutex_unlock(&sw->tb->lock);
	return ret;
}

static ssize_t key_store(struct device *dev, struct device_attribute *attr,
			 const char *buf, size_t count)
{
	struct tbsim_switch *sw = to_switch(dev);
	u8 key[TBSIM_KEY_SIZE];
	bool clear = !strcmp(buf, "\n");
	ssize_t ret = count;

	if (!clear && hex2bin(key, buf, sizeof(key)))
		return -EINVAL;
	if (!mutex_trylock(&sw->tb->lock)) {
		atomic_inc(&tbsim_restarts);
		return restart_syscall();
	}
	if (sw->authorized) {
		ret = -EBUSY;
	} else if (clear) {
		kfree(sw->key);
		sw->key = NULL;
	} else {
		kfree(sw->key);
		sw->key = kmemdup(key, sizeof(key), GFP_KERNEL);
		if (!sw->key)
			ret = -ENOMEM;
	}
	mutex_unlock(&sw->tb->lock);
	return ret;
}
static DEVICE_ATTR_ADMIN_RW(key);

/* Symmetric links: rx and tx show the same speed and lane count. */
static ssize_t rx_speed_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u.0 Gb/s\n", to_switch(dev)->speed);
}
static DEVICE_ATTR_RO(rx_speed);

static ssize_t tx_speed_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return rx_speed_show(dev, attr, buf);
}
static DEVICE_ATTR_RO(tx_speed);

static ssize_t rx_lanes_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", to_switch(dev)->lanes);
}
static DEVICE_ATTR_RO(rx_lanes);

static ssize_t tx_lanes_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return rx_lanes_show(dev, attr, buf);
}
static DEVICE_ATTR_RO(tx_lanes);

static ssize_t vendor_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%#x\n", to_switch(dev)->vendor);
}
static DEVICE_ATTR_RO(vendor);

static ssize_t vendor_name_show(struct device *dev, struct device_attribute *attr,
				char *buf)
{
	return sysfs_emit(buf, "%s\n", to_switch(dev)->vendor_name ?: "");
}
static DEVICE_ATTR_RO(vendor_name);

static ssize_t unique_id_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	return sysfs_emit(buf, "%pUb\n", &to_switch(dev)->uuid);
}
static DEVICE_ATTR_RO(unique_id);

static struct attribute *tbsim_switch_attrs[] = {
	&dev_attr_authorized.attr,
	&dev_attr_boot.attr,
	&dev_attr_device.attr,
	&dev_attr_device_name.attr,
	&dev_attr_generation.attr,
	&dev_attr_key.attr,
	&dev_attr_rx_speed.attr,
	&dev_attr_rx_lanes.attr,
	&dev_attr_tx_speed.attr,
	&dev_attr_tx_lanes.attr,
	&dev_attr_vendor.attr,
	&dev_attr_vendor_name.attr,
	&dev_attr_unique_id.attr,
	NULL,
};

/* Which attributes exist: the rules of switch_attr_is_visible(). */
static umode_t tbsim_switch_attr_visible(struct kobject *kobj, struct attribute *attr,
					 int n)
{
	struct tbsim_switch *sw = to_switch(kobj_to_dev(kobj));
	enum tbsim_security sec = READ_ONCE(sw->tb->security);

	if (attr == &dev_attr_authorized.attr)
		return sec == TBSIM_SEC_NOPCIE || sec == TBSIM_SEC_DPONLY ? 0 : attr->mode;
	if (attr == &dev_attr_device.attr)
		return sw->device ? attr->mode : 0;
	if (attr == &dev_attr_device_name.attr)
		return sw->device_name ? attr->mode : 0;
	if (attr == &dev_attr_vendor.attr)
		return sw->vendor ? attr->mode : 0;
	if (attr == &dev_attr_vendor_name.attr)
		return sw->vendor_name ? attr->mode : 0;
	if (attr == &dev_attr_key.attr)
		return sw->route && sec == TBSIM_SEC_SECURE && sw->secure ? attr->mode : 0;
	if (attr == &dev_attr_boot.attr || attr == &dev_attr_rx_speed.attr ||
	    attr == &dev_attr_rx_lanes.attr || attr == &dev_attr_tx_speed.attr ||
	    attr == &dev_attr_tx_lanes.attr)
		return sw->route ? attr->mode : 0;
	return attr->mode;
}

static const struct attribute_group tbsim_switch_group = {
	.attrs = tbsim_switch_attrs,
	.is_visible = tbsim_switch_attr_visible,
};

static const struct attribute_group *tbsim_switch_groups[] = {
	&tbsim_switch_group,
	NULL,
};

static int tbsim_switch_uevent(TBSIM_UEVENT_DEVICE *dev, struct kobj_uevent_env *env)
{
	const struct tbsim_switch *sw = container_of(dev, struct tbsim_switch, dev);
	const char *type;

	if (sw->generation >= 4 && add_uevent_var(env, "USB4_VERSION=1.0"))
		return -ENOMEM;
	if (!sw->route)
		type = "host";
	else
		type = READ_ONCE(sw->hub) ? "hub" : "device";
	return add_uevent_var(env, "USB4_TYPE=%s", type);
}

static void tbsim_switch_release(struct device *dev)
{
	struct tbsim_switch *sw = container_of(dev, struct tbsim_switch, dev);

	kfree(sw->key);
	kfree(sw->vendor_name);
	kfree(sw->device_name);
	kfree(sw);
}

static const struct device_type tbsim_switch_type = {
	.name = "thunderbolt_device",
	.release = tbsim_switch_release,
	.uevent = tbsim_switch_uevent,
};

/* ---------------------------------------------------------------------- */
/* domain attributes                                                      */

static ssize_t boot_acl_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct tbsim_domain *tb = to_domain(dev);
	ssize_t len = 0;
	unsigned int i;

	if (mutex_lock_interruptible(&tb->lock))
		return -ERESTARTSYS;
	for (i = 0; i < tb->nboot_acl; i++) {
		if (!uuid_is_null(&tb->boot_acl[i]))
			len += sysfs_emit_at(buf, len, "%pUb", &tb->boot_acl[i]);
		len += sysfs_emit_at(buf, len, "%s", i + 1 < tb->nboot_acl ? "," : "\n");
	}
	mutex_unlock(&tb->lock);
	return len;
}

/*
 * Exactly nboot_acl comma-separated entries, each empty or a UUID; an
 * optional trailing newline. Anything else is -EINVAL.
 */
static ssize_t boot_acl_store(struct device *dev, struct device_attribute *attr,
			      const char *buf, size_t count)
{
	struct tbsim_domain *tb = to_domain(dev);
	uuid_t acl[TBSIM_MAX_BOOT_ACL] = {};
	unsigned int n = READ_ONCE(tb->nboot_acl), i = 0;
	char *copy, *cur, *tok;
	int ret = 0;

	if (!n || count > (UUID_STRING_LEN + 1) * n + 1 || count < n - 1)
		return -EINVAL;
	copy = kstrndup(buf, count, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	cur = strim(copy);
	while ((tok = strsep(&cur, ",")) && i < n) {
		if (*tok) {
			if (strlen(tok) != UUID_STRING_LEN || uuid_parse(tok, &acl[i])) {
				ret = -EINVAL;
				goto out;
			}
		}
		i++;
	}
	if (tok || i < n) {
		ret = -EINVAL;
		goto out;
	}
	if (mutex_lock_interruptible(&tb->lock)) {
		ret = -ERESTARTSYS;
		goto out;
	}
	if (tb->nboot_acl != n) {
		ret = -EAGAIN;
	} else {
		memcpy(tb->boot_acl, acl, sizeof(acl[0]) * n);
		kobject_uevent(&tb->dev.kobj, KOBJ_CHANGE);
	}
	mutex_unlock(&tb->lock);
out:
	kfree(copy);
	return ret ? ret : count;
}
static DEVICE_ATTR_RW(boot_acl);

static ssize_t deauthorization_show(struct device *dev, struct device_attribute *attr,
				    char *buf)
{
	struct tbsim_domain *tb = to_domain(dev);
	enum tbsim_security sec = READ_ONCE(tb->security);
	bool on = false;

	/* meaningful only where authorization is done by the user */
	if (sec == TBSIM_SEC_USER || sec == TBSIM_SEC_SECURE)
		on = READ_ONCE(tb->can_deauthorize);
	return sysfs_emit(buf, "%d\n", on);
}
static DEVICE_ATTR_RO(deauthorization);

static ssize_t iommu_dma_protection_show(struct device *dev,
					 struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(to_domain(dev)->iommu_dma_protection));
}
static DEVICE_ATTR_RO(iommu_dma_protection);

static ssize_t security_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	enum tbsim_security sec = READ_ONCE(to_domain(dev)->security);

	return sysfs_emit(buf, "%s\n", sec < TBSIM_SEC_COUNT ?
			  tbsim_security_names[sec] : "unknown");
}
static DEVICE_ATTR_RO(security);

static struct attribute *tbsim_domain_attrs[] = {
	&dev_attr_boot_acl.attr,
	&dev_attr_deauthorization.attr,
	&dev_attr_iommu_dma_protection.attr,
	&dev_attr_security.attr,
	NULL,
};

static umode_t tbsim_domain_attr_visible(struct kobject *kobj, struct attribute *attr,
					 int n)
{
	struct tbsim_domain *tb = to_domain(kobj_to_dev(kobj));

	if (attr == &dev_attr_boot_acl.attr)
		return READ_ONCE(tb->nboot_acl) ? attr->mode : 0;
	return attr->mode;
}

static const struct attribute_group tbsim_domain_group = {
	.attrs = tbsim_domain_attrs,
	.is_visible = tbsim_domain_attr_visible,
};

static const struct attribute_group *tbsim_domain_groups[] = {
	&tbsim_domain_group,
	NULL,
};

static void tbsim_domain_release(struct device *dev)
{
	struct tbsim_domain *tb = to_domain(dev);

	ida_free(&tbsim_domain_ida, tb->index);
	mutex_destroy(&tb->lock);
	kfree(tb);
}

static const struct device_type tbsim_domain_type = {
	.name = "thunderbolt_domain",
	.release = tbsim_domain_release,
};

static TBSIM_BUS_TYPE tbsim_bus = {
	.name = "thunderbolt",
};

/* ---------------------------------------------------------------------- */
/* topology                                                               */

/* Caller holds tbsim_ctl_lock (membership) or tb->lock. */
static struct tbsim_switch *tbsim_find_in(struct tbsim_switch *sw, u64 route)
{
	struct tbsim_switch *child, *found;

	if (sw->route == route)
		return sw;
	list_for_each_entry(child, &sw->children, sibling) {
		found = tbsim_find_in(child, route);
		if (found)
			return found;
	}
	return NULL;
}

static struct tbsim_domain *tbsim_domain_by_index(int index)
{
	struct tbsim_domain *tb;

	lockdep_assert_held(&tbsim_ctl_lock);
	list_for_each_entry(tb, &tbsim_domains, node)
		if (tb->index == index)
			return tb;
	return NULL;
}

/* The depth of @route: the number of its non-zero bytes from the bottom. */
static int tbsim_route_depth(u64 route)
{
	int depth = 0;

	while (route) {
		if (!(route & 0xff) || depth == TBSIM_MAX_DEPTH)
			return -1;
		route >>= 8;
		depth++;
	}
	return depth;
}

/* Parse a switch name "D-R" (domain index, route in hex, as the real names). */
static int tbsim_parse_name(const char *name, struct tbsim_domain **tbp, u64 *route)
{
	char canon[TBSIM_NAME_LEN];
	unsigned int index;
	u64 r;
	const char *dash = strchr(name, '-');
	char num[12];

	if (!dash || dash == name || dash - name >= (int)sizeof(num))
		return -EINVAL;
	memcpy(num, name, dash - name);
	num[dash - name] = '\0';
	if (kstrtouint(num, 10, &index) || kstrtou64(dash + 1, 16, &r))
		return -EINVAL;
	snprintf(canon, sizeof(canon), "%u-%llx", index, r);
	if (strcmp(canon, name) || tbsim_route_depth(r) < 0)
		return -EINVAL;
	*tbp = tbsim_domain_by_index(index);
	if (!*tbp)
		return -ENODEV;
	*route = r;
	return 0;
}

static struct tbsim_switch *tbsim_find(const char *name)
{
	struct tbsim_domain *tb;
	u64 route;

	if (tbsim_parse_name(name, &tb, &route) || !tb->root)
		return NULL;
	return tbsim_find_in(tb->root, route);
}

struct tbsim_swspec {
	const char *parent;
	u16 vendor, device;
	const char *vendor_name, *device_name;
	const char *uuid;
	unsigned int generation, speed, lanes, authorized;
	bool boot, secure, hub;
	const char *key, *devkey, *tag;
};

static int tbsim_hexkey(u8 *key, const char *hex)
{
	if (strlen(hex) != 2 * TBSIM_KEY_SIZE || hex2bin(key, hex, TBSIM_KEY_SIZE))
		return -EINVAL;
	return 0;
}

/*
 * Plug a switch in: register it below its upstream switch. With security
 * none, or authorized=1 in the spec (authorized by the firmware before the
 * OS), it arrives authorized and its PCIe tunnel up, like on an ICM
 * system. Caller holds tbsim_ctl_lock.
 */
static int tbsim_add_switch(struct tbsim_domain *tb, u64 route, const struct tbsim_swspec *s,
			    struct tbsim_switch **out)
{
	struct tbsim_switch *sw, *parent = NULL;
	bool auth;
	int ret;

	lockdep_assert_held(&tbsim_ctl_lock);
	if (tb->root && tbsim_find_in(tb->root, route))
		return -EEXIST;
	if (route) {
		u64 up = route & ~(0xffULL << (8 * (tbsim_route_depth(route) - 1)));

		parent = tb->root ? tbsim_find_in(tb->root, up) : NULL;
		if (!parent)
			return -ENOENT;
		if (s->parent && strcmp(s->parent, dev_name(&parent->dev)))
			return -EINVAL;
	}

	sw = kzalloc(sizeof(*sw), GFP_KERNEL);
	if (!sw)
		return -ENOMEM;
	sw->tb = tb;
	sw->parent = parent;
	sw->route = route;
	INIT_LIST_HEAD(&sw->children);
	INIT_LIST_HEAD(&sw->sibling);
	INIT_LIST_HEAD(&sw->dead);
	sw->vendor = s->vendor;
	sw->device = s->device;
	sw->generation = s->generation;
	sw->speed = s->speed;
	sw->lanes = s->lanes;
	sw->boot = s->boot;
	sw->secure = s->secure;
	sw->hub = s->hub;
	strscpy(sw->tag, s->tag ?: "-", sizeof(sw->tag));
	device_initialize(&sw->dev);
	sw->dev.parent = parent ? &parent->dev : &tb->dev;
	sw->dev.bus = &tbsim_bus;
	sw->dev.type = &tbsim_switch_type;
	sw->dev.groups = tbsim_switch_groups;
	/* from here on, put_device() frees everything */
	ret = dev_set_name(&sw->dev, "%d-%llx", tb->index, route);
	if (ret)
		goto err;

	ret = -ENOMEM;
	if (s->vendor_name) {
		sw->vendor_name = kstrdup(s->vendor_name, GFP_KERNEL);
		if (!sw->vendor_name)
			goto err;
	}
	if (s->device_name) {
		sw->device_name = kstrdup(s->device_name, GFP_KERNEL);
		if (!sw->device_name)
			goto err;
	}
	ret = -EINVAL;
	if (s->uuid) {
		if (uuid_parse(s->uuid, &sw->uuid))
			goto err;
	} else {
		uuid_gen(&sw->uuid);
	}
	if (s->key) {
		sw->key = kzalloc(TBSIM_KEY_SIZE, GFP_KERNEL);
		if (!sw->key) {
			ret = -ENOMEM;
			goto err;
		}
		if (tbsim_hexkey(sw->key, s->key))
			goto err;
	}
	if (s->devkey) {
		if (tbsim_hexkey(sw->devkey, s->devkey))
			goto err;
		sw->has_devkey = true;
	}
	if (s->authorized > 2)
		goto err;

	mutex_lock(&tb->lock);
	if (!parent)
		auth = true;	/* the host router is always authorized */
	else
		auth = parent->authorized &&
		       (s->authorized || tb->security == TBSIM_SEC_NONE);
	sw->authorized = auth ? (s->authorized ?: 1) : 0;
	mutex_unlock(&tb->lock);

	ret = device_add(&sw->dev);
	if (ret)
		goto err;

	mutex_lock(&tb->lock);
	if (parent) {
		list_add_tail(&sw->sibling, &parent->children);
		WRITE_ONCE(parent->hub, true);
		if (sw->authorized)
			tbsim_tunnel_up(sw);
	} else {
		tb->root = sw;
	}
	mutex_unlock(&tb->lock);

	if (parent) {
		dev_info(&sw->dev, "new device found, vendor=%#x device=%#x\n",
			 sw->vendor, sw->device);
		dev_info(&sw->dev, "%s %s\n", sw->vendor_name ?: "", sw->device_name ?: "");
	}
	if (out)
		*out = sw;
	return 0;
err:
	put_device(&sw->dev);
	return ret;
}

/* Post-order: children (last added first) before their parent. */
static void tbsim_collect(struct tbsim_switch *sw, struct list_head *dead)
{
	struct tbsim_switch *child;

	list_for_each_entry_reverse(child, &sw->children, sibling)
		tbsim_collect(child, dead);
	list_add_tail(&sw->dead, dead);
}

/*
 * Unplug @sw and everything below it: tunnels go down (no AUTHORIZED
 * uevent, the devices just disappear), then the devices are
 * unregistered, children first. Caller holds tbsim_ctl_lock.
 */
static void tbsim_remove_switch(struct tbsim_switch *sw)
{
	struct tbsim_domain *tb = sw->tb;
	struct tbsim_switch *cur, *tmp;
	LIST_HEAD(dead);

	lockdep_assert_held(&tbsim_ctl_lock);
	mutex_lock(&tb->lock);
	tbsim_collect(sw, &dead);
	list_for_each_entry(cur, &dead, dead) {
		if (cur->authorized && cur->route)
			tbsim_tunnel_down(cur, "unplug");
		cur->removed = true;
	}
	list_del_init(&sw->sibling);
	if (tb->root == sw)
		tb->root = NULL;
	mutex_unlock(&tb->lock);

	list_for_each_entry_safe(cur, tmp, &dead, dead) {
		list_del_init(&cur->dead);
		if (cur->route)
			dev_info(&cur->dev, "device disconnected\n");
		device_unregister(&cur->dev);
	}
}

/* Re-evaluate attribute visibility after a settings change. */
static void tbsim_update_visibility(struct tbsim_domain *tb)
{
	struct tbsim_switch *sw;
	LIST_HEAD(all);

	lockdep_assert_held(&tbsim_ctl_lock);
	if (sysfs_update_group(&tb->dev.kobj, &tbsim_domain_group))
		pr_warn("domain%d: cannot update attributes\n", tb->index);
	if (!tb->root)
		return;
	/* membership is stable under tbsim_ctl_lock */
	tbsim_collect(tb->root, &all);
	list_for_each_entry(sw, &all, dead)
		if (sysfs_update_group(&sw->dev.kobj, &tbsim_switch_group))
			pr_warn("%s: cannot update attributes\n", dev_name(&sw->dev));
	while (!list_empty(&all))
		list_del_init(all.next);
}

/* ---------------------------------------------------------------------- */
/* simulated contention of the domain lock                                */

static void tbsim_hold_work(struct work_struct *work)
{
	struct tbsim_domain *tb = container_of(work, struct tbsim_domain, hold_work);

	mutex_lock(&tb->lock);
	complete(&tb->hold_taken);
	pr_info("domain%d: lock held for %u ms\n", tb->index, tb->hold_ms);
	wait_event_timeout(tb->wq, READ_ONCE(tb->hold_cancel) || READ_ONCE(tb->dying),
			   msecs_to_jiffies(tb->hold_ms));
	mutex_unlock(&tb->lock);
	pr_info("domain%d: lock released\n", tb->index);
}

/* Caller holds tbsim_ctl_lock. Returns once the worker holds the lock. */
static int tbsim_hold_lock(struct tbsim_domain *tb, unsigned int ms)
{
	if (work_pending(&tb->hold_work) || work_busy(&tb->hold_work))
		return -EBUSY;
	tb->hold_ms = ms;
	WRITE_ONCE(tb->hold_cancel, false);
	reinit_completion(&tb->hold_taken);
	queue_work(system_long_wq, &tb->hold_work);
	/* bounded: a de-authorization delay may hold the lock first */
	if (!wait_for_completion_timeout(&tb->hold_taken,
					 msecs_to_jiffies(TBSIM_MAX_WAIT_MS + 1000)))
		return -ETIMEDOUT;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* domains (the fake NHI)                                                 */

static const struct tbsim_swspec tbsim_host_router = {
	.vendor = 0x8086,
	.device = 0x7eb2,
	.vendor_name = "Intel",
	.device_name = "Meteor Lake",
	.generation = 4,
	.secure = true,
	.tag = "host",
};

static const struct tbsim_swspec tbsim_egpu_pro = {
	.vendor = 0x4,
	.device = 0xa153,
	.vendor_name = "Blackmagic Design",
	.device_name = "eGPU Pro",
	.uuid = "c8030000-0070-740e-83ee-b3c0a7c33e1f",
	.generation = 3,
	.speed = 20,
	.lanes = 2,
	.secure = true,
	.tag = "gpu",
};

static const struct tbsim_swspec tbsim_dock = {
	.vendor = 0x3d,
	.device = 0x11,
	.vendor_name = "CalDigit, Inc.",
	.device_name = "TS3 Plus",
	.uuid = "3d000000-0011-2c36-80f1-6a05e4f1d291",
	.generation = 3,
	.speed = 20,
	.lanes = 2,
	.secure = true,
	.tag = "dock",
};

static const struct tbsim_swspec tbsim_storage = {
	.vendor = 0x8a,
	.device = 0x1,
	.vendor_name = "OWC",
	.device_name = "Envoy Express",
	.uuid = "8a000000-0001-4d52-9a3c-17b2f5a0c4e8",
	.generation = 3,
	.speed = 20,
	.lanes = 2,
	.secure = true,
	.tag = "storage",
};

/*
 * egpu:      0-1 Blackmagic eGPU Pro (vendor 0x4, device 0xa153) behind the
 *            host router, the runbook's host.
 * egpu-boot: the same, connected at boot: the boot firmware opened its
 *            PCIe tunnel, so it arrives with boot 1 and authorized 1.
 * chain:     0-1 dock, 0-301 eGPU Pro, 0-30301 storage: a daisy chain of
 *            three.
 */
static int tbsim_preset(struct tbsim_domain *tb, const char *name)
{
	struct tbsim_swspec boot;
	int ret;

	if (!strcmp(name, "egpu"))
		return tbsim_add_switch(tb, 0x1, &tbsim_egpu_pro, NULL);
	if (!strcmp(name, "egpu-boot")) {
		boot = tbsim_egpu_pro;
		boot.boot = true;
		boot.authorized = 1;
		return tbsim_add_switch(tb, 0x1, &boot, NULL);
	}
	if (strcmp(name, "chain"))
		return -EINVAL;
	ret = tbsim_add_switch(tb, 0x1, &tbsim_dock, NULL);
	if (!ret)
		ret = tbsim_add_switch(tb, 0x301, &tbsim_egpu_pro, NULL);
	if (!ret)
		ret = tbsim_add_switch(tb, 0x30301, &tbsim_storage, NULL);
	return ret;
}

static void tbsim_domain_defaults(struct tbsim_domain *tb)
{
	tb->security = TBSIM_SEC_USER;
	tb->iommu_dma_protection = true;
	tb->can_deauthorize = true;
	tb->nboot_acl = TBSIM_MAX_BOOT_ACL;
	memset(tb->boot_acl, 0, sizeof(tb->boot_acl));
}

static int tbsim_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct tbsim_domain *tb;
	int ret;

	tb = kzalloc(sizeof(*tb), GFP_KERNEL);
	if (!tb)
		return -ENOMEM;
	ret = ida_alloc(&tbsim_domain_ida, GFP_KERNEL);
	if (ret < 0) {
		kfree(tb);
		return ret;
	}
	tb->index = ret;
	tb->pdev = pdev;
	mutex_init(&tb->lock);
	init_waitqueue_head(&tb->wq);
	init_completion(&tb->hold_taken);
	INIT_WORK(&tb->hold_work, tbsim_hold_work);
	INIT_LIST_HEAD(&tb->node);
	tbsim_domain_defaults(tb);

	device_initialize(&tb->dev);
	tb->dev.parent = &pdev->dev;
	tb->dev.bus = &tbsim_bus;
	tb->dev.type = &tbsim_domain_type;
	tb->dev.groups = tbsim_domain_groups;
	/* from here on, put_device() frees the domain */
	ret = dev_set_name(&tb->dev, "domain%d", tb->index);
	if (ret)
		goto err_put;

	mutex_lock(&tbsim_ctl_lock);
	ret = device_add(&tb->dev);
	if (ret)
		goto err_unlock;
	list_add_tail(&tb->node, &tbsim_domains);
	ret = tbsim_add_switch(tb, 0, &tbsim_host_router, NULL);
	if (ret)
		goto err_del;
	if (tb->index == 0 && preset && *preset) {
		ret = tbsim_preset(tb, preset);
		if (ret)
			dev_warn(&tb->dev, "preset %s: error %d\n", preset, ret);
	}
	mutex_unlock(&tbsim_ctl_lock);
	pci_set_drvdata(pdev, tb);
	dev_info(&pdev->dev, "tbsim: domain%d, security %s\n", tb->index,
		 tbsim_security_names[tb->security]);
	return 0;

err_del:
	list_del(&tb->node);
	device_del(&tb->dev);
err_unlock:
	mutex_unlock(&tbsim_ctl_lock);
err_put:
	put_device(&tb->dev);
	return ret;
}

static void tbsim_pci_remove(struct pci_dev *pdev)
{
	struct tbsim_domain *tb = pci_get_drvdata(pdev);

	/* end every simulated delay of this domain early */
	WRITE_ONCE(tb->dying, true);
	wake_up_all(&tb->wq);

	mutex_lock(&tbsim_ctl_lock);
	if (tb->root)
		tbsim_remove_switch(tb->root);
	list_del(&tb->node);
	mutex_unlock(&tbsim_ctl_lock);
	/* no new hold_lock can find the domain now */
	cancel_work_sync(&tb->hold_work);
	device_unregister(&tb->dev);
}

static const struct pci_device_id tbsim_pci_ids[] = {
	{ PCI_DEVICE(PCI_VENDOR_ID_REDHAT, 0x0005) },	/* QEMU pci-testdev */
	{ }
};

static struct pci_driver tbsim_pci_driver = {
	.name = "thunderbolt",
	.id_table = tbsim_pci_ids,
	.probe = tbsim_pci_probe,
	.remove = tbsim_pci_remove,
};

/* ---------------------------------------------------------------------- */
/* debugfs: ctl                                                           */

struct tbsim_args {
	int argc;
	char *argv[TBSIM_CTL_ARGS];
};

/*
 * Split @s in place into words separated by blanks; a word may contain
 * '...' or "..." quoted parts (quotes removed), e.g.
 * vendor_name='Blackmagic Design'.
 */
static int tbsim_split(char *s, struct tbsim_args *a)
{
	char *out;
	char quote;

	a->argc = 0;
	for (;;) {
		while (isspace(*s))
			s++;
		if (!*s)
			return 0;
		if (a->argc == TBSIM_CTL_ARGS)
			return -E2BIG;
		a->argv[a->argc++] = s;
		out = s;
		quote = 0;
		while (*s && (quote || !isspace(*s))) {
			if (quote && *s == quote)
				quote = 0;
			else if (!quote && (*s == '\'' || *s == '"'))
				quote = *s;
			else
				*out++ = *s;
			s++;
		}
		if (quote)
			return -EINVAL;
		if (*s)
			s++;
		*out = '\0';
	}
}

/* The value of "key=value" words from argv[1] on; NULL when absent. */
static const char *tbsim_opt(const struct tbsim_args *a, const char *key)
{
	size_t n = strlen(key);
	int i;

	for (i = 1; i < a->argc; i++)
		if (!strncmp(a->argv[i], key, n) && a->argv[i][n] == '=')
			return a->argv[i] + n + 1;
	return NULL;
}

/* Every word from argv[@first] on must be key=value with a known key. */
static int tbsim_check_opts(const struct tbsim_args *a, int first, const char * const *keys)
{
	const char * const *k;
	int i;

	for (i = first; i < a->argc; i++) {
		for (k = keys; *k; k++) {
			size_t n = strlen(*k);

			if (!strncmp(a->argv[i], *k, n) && a->argv[i][n] == '=')
				break;
		}
		if (!*k) {
			pr_warn("ctl: unknown argument '%s'\n", a->argv[i]);
			return -EINVAL;
		}
	}
	return 0;
}

static int tbsim_opt_uint(const struct tbsim_args *a, const char *key, unsigned int max,
			  unsigned int *val)
{
	const char *v = tbsim_opt(a, key);
	unsigned int x;

	if (!v)
		return 0;
	if (kstrtouint(v, 0, &x) || x > max) {
		pr_warn("ctl: bad %s=%s (0..%u)\n", key, v, max);
		return -EINVAL;
	}
	*val = x;
	return 0;
}

static int tbsim_opt_bool(const struct tbsim_args *a, const char *key, bool *val)
{
	unsigned int x = *val;
	int ret = tbsim_opt_uint(a, key, 1, &x);

	*val = x;
	return ret;
}

/* The domain named by domain=N (default 0). Caller holds tbsim_ctl_lock. */
static struct tbsim_domain *tbsim_opt_domain(const struct tbsim_args *a)
{
	unsigned int index = 0;

	if (tbsim_opt_uint(a, "domain", INT_MAX, &index))
		return NULL;
	return tbsim_domain_by_index(index);
}

static int tbsim_cmd_add(const struct tbsim_args *a)
{
	static const char * const keys[] = {
		"parent", "vendor", "device", "vendor_name", "device_name", "uuid",
		"generation", "speed", "lanes", "authorized", "boot", "secure", "hub",
		"key", "devkey", "tag", NULL };
	struct tbsim_swspec s = {
		.generation = 3, .speed = 20, .lanes = 2, .secure = true,
	};
	unsigned int vendor = 0, device = 0;
	struct tbsim_domain *tb;
	u64 route;
	int ret;

	if (a->argc < 2 || tbsim_check_opts(a, 2, keys))
		return -EINVAL;
	ret = tbsim_parse_name(a->argv[1], &tb, &route);
	if (ret)
		return ret;
	if (!route)
		return -EEXIST;	/* the host router comes with the domain */
	ret = tbsim_opt_uint(a, "vendor", 0xffff, &vendor) ?:
	      tbsim_opt_uint(a, "device", 0xffff, &device) ?:
	      tbsim_opt_uint(a, "generation", 4, &s.generation) ?:
	      tbsim_opt_uint(a, "speed", 80, &s.speed) ?:
	      tbsim_opt_uint(a, "lanes", 2, &s.lanes) ?:
	      tbsim_opt_uint(a, "authorized", 2, &s.authorized) ?:
	      tbsim_opt_bool(a, "boot", &s.boot) ?:
	      tbsim_opt_bool(a, "secure", &s.secure) ?:
	      tbsim_opt_bool(a, "hub", &s.hub);
	if (ret)
		return ret;
	s.vendor = vendor;
	s.device = device;
	s.parent = tbsim_opt(a, "parent");
	s.vendor_name = tbsim_opt(a, "vendor_name");
	s.device_name = tbsim_opt(a, "device_name");
	s.uuid = tbsim_opt(a, "uuid");
	s.key = tbsim_opt(a, "key");
	s.devkey = tbsim_opt(a, "devkey");
	s.tag = tbsim_opt(a, "tag");
	if (s.tag && (!*s.tag || strlen(s.tag) >= TBSIM_TAG_LEN))
		return -EINVAL;
	return tbsim_add_switch(tb, route, &s, NULL);
}

static int tbsim_cmd_domain(const struct tbsim_args *a)
{
	static const char * const keys[] = {
		"domain", "security", "iommu_dma_protection", "deauthorization",
		"nboot_acl", NULL };
	struct tbsim_domain *tb = tbsim_opt_domain(a);
	const char *secname = tbsim_opt(a, "security");
	enum tbsim_security sec;
	unsigned int nacl;
	bool iommu, deauth;
	int ret;

	if (!tb)
		return -ENODEV;
	if (tbsim_check_opts(a, 1, keys))
		return -EINVAL;
	mutex_lock(&tb->lock);
	sec = tb->security;
	iommu = tb->iommu_dma_protection;
	deauth = tb->can_deauthorize;
	nacl = tb->nboot_acl;
	mutex_unlock(&tb->lock);
	if (secname) {
		ret = match_string(tbsim_security_names, TBSIM_SEC_COUNT, secname);
		if (ret < 0)
			return -EINVAL;
		sec = ret;
	}
	ret = tbsim_opt_bool(a, "iommu_dma_protection", &iommu) ?:
	      tbsim_opt_bool(a, "deauthorization", &deauth) ?:
	      tbsim_opt_uint(a, "nboot_acl", TBSIM_MAX_BOOT_ACL, &nacl);
	if (ret)
		return ret;
	mutex_lock(&tb->lock);
	WRITE_ONCE(tb->security, sec);
	WRITE_ONCE(tb->iommu_dma_protection, iommu);
	WRITE_ONCE(tb->can_deauthorize, deauth);
	if (nacl != tb->nboot_acl) {
		memset(tb->boot_acl, 0, sizeof(tb->boot_acl));
		WRITE_ONCE(tb->nboot_acl, nacl);
	}
	mutex_unlock(&tb->lock);
	tbsim_update_visibility(tb);
	return 0;
}

static int tbsim_cmd_set(const struct tbsim_args *a)
{
	static const char * const keys[] = { "deauth_delay_ms", "auth_fail",
					     "auth_errno", NULL };
	struct tbsim_switch *sw;
	unsigned int ms, fail, err;
	int ret;

	if (a->argc < 2 || tbsim_check_opts(a, 2, keys))
		return -EINVAL;
	sw = tbsim_find(a->argv[1]);
	if (!sw)
		return -ENOENT;
	mutex_lock(&sw->tb->lock);
	ms = sw->deauth_delay_ms;
	fail = sw->auth_fail;
	err = sw->auth_errno ? sw->auth_errno : EBUSY;
	ret = tbsim_opt_uint(a, "deauth_delay_ms", TBSIM_MAX_WAIT_MS, &ms) ?:
	      tbsim_opt_uint(a, "auth_fail", TBSIM_MAX_AUTH_FAIL, &fail) ?:
	      tbsim_opt_uint(a, "auth_errno", MAX_ERRNO, &err);
	if (!ret && !err)
		ret = -EINVAL;
	if (!ret) {
		sw->deauth_delay_ms = ms;
		sw->auth_fail = fail;
		sw->auth_errno = err;
	}
	mutex_unlock(&sw->tb->lock);
	return ret;
}

static int tbsim_reset(void)
{
	struct tbsim_switch *child, *tmp;
	struct tbsim_domain *tb;

	list_for_each_entry(tb, &tbsim_domains, node) {
		WRITE_ONCE(tb->hold_cancel, true);
		wake_up_all(&tb->wq);
		flush_work(&tb->hold_work);
		if (tb->root)
			list_for_each_entry_safe_reverse(child, tmp, &tb->root->children, sibling)
				tbsim_remove_switch(child);
		mutex_lock(&tb->lock);
		tbsim_domain_defaults(tb);
		mutex_unlock(&tb->lock);
		tbsim_update_visibility(tb);
	}
	tbsim_events_clear();
	atomic_set(&tbsim_restarts, 0);
	return 0;
}

/*
 * Commands (one per write; numbers in C notation, strings may be quoted):
 *   add D-R [parent=D-R] [vendor=N] [device=N] [vendor_name=S]
 *       [device_name=S] [uuid=UUID] [generation=N] [speed=N] [lanes=N]
 *       [authorized=0|1|2] [boot=0|1] [secure=0|1] [hub=0|1]
 *       [key=HEX64] [devkey=HEX64] [tag=S]
 *                      plug a switch in below the switch its route names
 *                      (authorized=N: authorized before the OS, i.e. by the
 *                      firmware; devkey: key already in the device NVM;
 *                      tag: copied into its tunnel events)
 *   remove D-R         unplug a switch and its subtree
 *   domain [domain=N] [security=none|user|secure|dponly|usbonly|nopcie]
 *       [iommu_dma_protection=0|1] [deauthorization=0|1] [nboot_acl=N]
 *   set D-R [deauth_delay_ms=N] [auth_fail=N] [auth_errno=E]
 *                      de-authorization of D-R hangs N ms (<= 60000);
 *                      its next N approvals (authorized 1 or 2 with the
 *                      parent authorized, <= 1000) fail with -E (default
 *                      EBUSY), as a connection manager's error would
 *   hold_lock [domain=N] ms=N
 *                      a worker holds the domain lock for N ms (<= 60000);
 *                      the write returns once it holds it
 *   release_lock [domain=N]
 *                      end hold_lock early
 *   preset egpu|egpu-boot|chain [domain=N]
 *   clear_events       drop queued tunnel events
 *   reset              unplug all but the host routers, default settings,
 *                      no events, counters zero
 */
static int tbsim_ctl_exec(struct tbsim_args *a)
{
	const char *cmd = a->argv[0];
	struct tbsim_domain *tb;
	struct tbsim_switch *sw;
	unsigned int ms = 0;
	int ret;

	if (!strcmp(cmd, "add"))
		return tbsim_cmd_add(a);
	if (!strcmp(cmd, "remove")) {
		if (a->argc != 2)
			return -EINVAL;
		sw = tbsim_find(a->argv[1]);
		if (!sw)
			return -ENOENT;
		if (!sw->route)
			return -EPERM;	/* unbind the NHI instead */
		tbsim_remove_switch(sw);
		return 0;
	}
	if (!strcmp(cmd, "domain"))
		return tbsim_cmd_domain(a);
	if (!strcmp(cmd, "set"))
		return tbsim_cmd_set(a);
	if (!strcmp(cmd, "hold_lock") || !strcmp(cmd, "release_lock")) {
		static const char * const hkeys[] = { "domain", "ms", NULL };

		if (tbsim_check_opts(a, 1, hkeys))
			return -EINVAL;
		tb = tbsim_opt_domain(a);
		if (!tb)
			return -ENODEV;
		if (cmd[0] == 'r') {
			WRITE_ONCE(tb->hold_cancel, true);
			wake_up_all(&tb->wq);
			return 0;
		}
		ret = tbsim_opt_uint(a, "ms", TBSIM_MAX_WAIT_MS, &ms);
		if (ret || !ms)
			return -EINVAL;
		return tbsim_hold_lock(tb, ms);
	}
	if (!strcmp(cmd, "preset")) {
		static const char * const pkeys[] = { "domain", NULL };

		if (a->argc < 2 || tbsim_check_opts(a, 2, pkeys))
			return -EINVAL;
		tb = tbsim_opt_domain(a);
		if (!tb)
			return -ENODEV;
		return tbsim_preset(tb, a->argv[1]);
	}
	if (!strcmp(cmd, "clear_events")) {
		tbsim_events_clear();
		return 0;
	}
	if (!strcmp(cmd, "reset"))
		return tbsim_reset();
	pr_warn("ctl: unknown command '%s'\n", cmd);
	return -EINVAL;
}

static ssize_t tbsim_ctl_write(struct file *file, const char __user *ubuf, size_t count,
			       loff_t *ppos)
{
	struct tbsim_args a;
	char *buf;
	int ret;

	if (count > TBSIM_CTL_MAX)
		return -E2BIG;
	buf = memdup_user_nul(ubuf, count);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	ret = tbsim_split(buf, &a);
	if (!ret && !a.argc)
		ret = -EINVAL;
	if (!ret) {
		if (mutex_lock_interruptible(&tbsim_ctl_lock)) {
			ret = -ERESTARTSYS;
		} else {
			ret = tbsim_ctl_exec(&a);
			mutex_unlock(&tbsim_ctl_lock);
		}
	}
	if (ret)
		pr_info("ctl: '%s' failed: %d\n", a.argc ? a.argv[0] : "", ret);
	kfree(buf);
	return ret ? ret : count;
}

static void tbsim_show_tree(struct seq_file *m, struct tbsim_switch *sw)
{
	struct tbsim_switch *child;

	seq_printf(m, "%s parent=%s authorized=%u vendor=%#x device=%#x tag=%s deauth_delay_ms=%u key=%d devkey=%d approvals=%u auth_failed=%u auth_fail=%u\n",
		   dev_name(&sw->dev), sw->parent ? dev_name(&sw->parent->dev) : "-",
		   sw->authorized, sw->vendor, sw->device, sw->tag, sw->deauth_delay_ms,
		   !!sw->key, sw->has_devkey, sw->approvals, sw->auth_failed,
		   sw->auth_fail);
	list_for_each_entry(child, &sw->children, sibling)
		tbsim_show_tree(m, child);
}

static int tbsim_ctl_show(struct seq_file *m, void *v)
{
	struct tbsim_domain *tb;

	if (mutex_lock_interruptible(&tbsim_ctl_lock))
		return -ERESTARTSYS;
	list_for_each_entry(tb, &tbsim_domains, node) {
		seq_printf(m, "domain%d nhi=%s security=%s iommu_dma_protection=%d deauthorization=%d nboot_acl=%u\n",
			   tb->index, pci_name(tb->pdev), tbsim_security_names[tb->security],
			   tb->iommu_dma_protection, tb->can_deauthorize, tb->nboot_acl);
		/*
		 * Membership is stable under tbsim_ctl_lock; the values are a
		 * snapshot without tb->lock, so this never waits for hold_lock.
		 */
		if (tb->root)
			tbsim_show_tree(m, tb->root);
	}
	seq_printf(m, "restarts=%d events_queued=%u events_dropped=%u\n",
		   atomic_read(&tbsim_restarts), READ_ONCE(tbsim_ev_count),
		   READ_ONCE(tbsim_ev_dropped));
	mutex_unlock(&tbsim_ctl_lock);
	return 0;
}

static int tbsim_ctl_open(struct inode *inode, struct file *file)
{
	return single_open(file, tbsim_ctl_show, NULL);
}

static const struct file_operations tbsim_ctl_fops = {
	.owner = THIS_MODULE,
	.open = tbsim_ctl_open,
	.read = seq_read,
	.write = tbsim_ctl_write,
	.llseek = seq_lseek,
	.release = single_release,
};

/* ---------------------------------------------------------------------- */
/* debugfs: events                                                        */

struct tbsim_ev_reader {
	struct mutex lock;		/* concurrent reads of one open file */
	bool have;
	char line[TBSIM_EV_LEN];
};

static int tbsim_events_open(struct inode *inode, struct file *file)
{
	struct tbsim_ev_reader *r = kzalloc(sizeof(*r), GFP_KERNEL);

	if (!r)
		return -ENOMEM;
	mutex_init(&r->lock);
	file->private_data = r;
	return nonseekable_open(inode, file);
}

/*
 * One event per open file: the first read waits (interruptibly, at most
 * event_timeout_ms) for an event and takes it off the queue; reads then
 * return its line, then end of file. End of file at once on timeout.
 */
static ssize_t tbsim_events_read(struct file *file, char __user *ubuf, size_t count,
				 loff_t *ppos)
{
	struct tbsim_ev_reader *r = file->private_data;
	unsigned int ms = min_t(unsigned int, READ_ONCE(event_timeout_ms), TBSIM_MAX_WAIT_MS);
	loff_t pos = *ppos;
	ssize_t ret;
	long left;

	if (mutex_lock_interruptible(&r->lock))
		return -ERESTARTSYS;
	if (!r->have) {
		if (pos) {
			ret = 0;
			goto out;
		}
		if (!tbsim_event_pop(r->line)) {
			if (file->f_flags & O_NONBLOCK) {
				ret = -EAGAIN;
				goto out;
			}
			left = wait_event_interruptible_timeout(tbsim_ev_wq, tbsim_event_ready(),
								msecs_to_jiffies(ms));
			if (left < 0) {
				ret = left;
				goto out;
			}
			if (!tbsim_event_pop(r->line)) {
				ret = 0;	/* timeout (or unload): end of file */
				*ppos = 1;
				goto out;
			}
		}
		r->have = true;
	}
	ret = simple_read_from_buffer(ubuf, count, &pos, r->line, strlen(r->line));
	if (ret >= 0)
		*ppos = pos;
out:
	mutex_unlock(&r->lock);
	return ret;
}

static int tbsim_events_release(struct inode *inode, struct file *file)
{
	struct tbsim_ev_reader *r = file->private_data;

	mutex_destroy(&r->lock);
	kfree(r);
	return 0;
}

static const struct file_operations tbsim_events_fops = {
	.owner = THIS_MODULE,
	.open = tbsim_events_open,
	.read = tbsim_events_read,
	.release = tbsim_events_release,
	.llseek = noop_llseek,
};

/* ---------------------------------------------------------------------- */

static int __init tbsim_init(void)
{
	int ret;

	ret = bus_register(&tbsim_bus);
	if (ret)
		return ret;
	tbsim_debugfs = debugfs_create_dir("tbsim", NULL);
	debugfs_create_file("ctl", 0600, tbsim_debugfs, NULL, &tbsim_ctl_fops);
	debugfs_create_file("events", 0400, tbsim_debugfs, NULL, &tbsim_events_fops);
	ret = pci_register_driver(&tbsim_pci_driver);
	if (ret) {
		debugfs_remove_recursive(tbsim_debugfs);
		bus_unregister(&tbsim_bus);
		return ret;
	}
	return 0;
}

static void __exit tbsim_exit(void)
{
	WRITE_ONCE(tbsim_exiting, true);
	wake_up_all(&tbsim_ev_wq);
	debugfs_remove_recursive(tbsim_debugfs);
	pci_unregister_driver(&tbsim_pci_driver);
	bus_unregister(&tbsim_bus);
	ida_destroy(&tbsim_domain_ida);
}

module_init(tbsim_init);
module_exit(tbsim_exit);

MODULE_DESCRIPTION("Test-only Thunderbolt domain simulator for egpu-gate");
MODULE_AUTHOR("egpu-gate developers");
MODULE_LICENSE("GPL");
