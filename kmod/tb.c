// SPDX-License-Identifier: GPL-2.0
/*
 * tb.c - the Thunderbolt policy engine (see tb.h): discovery, rule
 * evaluation and authorization.
 *
 * Discovery and lifetime rules
 * ----------------------------
 * The thunderbolt bus_type is not exported. We find it through the PCI
 * devices bound to the PCI driver named "thunderbolt" (the NHIs): each
 * NHI's domain device (type "thunderbolt_domain", added in the NHI's
 * probe) is on the thunderbolt bus, so its dev->bus is the bus. The NHIs
 * are found by walking the PCI devices and checking dev->driver->name under
 * each device's lock rather than through driver_find(): driver_find()
 * returns a driver pointer nothing keeps valid, while a bound driver
 * cannot go away as long as we hold the device lock. At load, NHIs already
 * bound are attached by a scan; later, a PCI bus notifier
 * (BUS_NOTIFY_BOUND_DRIVER) hands a newly bound NHI to egpu_tb_attach_work,
 * which attaches it under its device lock (registering a notifier on the
 * thunderbolt bus takes a lock of the same lockdep class as the PCI
 * notifier chain, so never from inside that chain).
 *
 * No module reference is taken on thunderbolt.ko (that would make it
 * impossible to unload). Instead, everything we hold that belongs to it
 * is bounded by the NHI binding: the thunderbolt bus notifier is
 * registered while at least one NHI is attached; the get_device()
 * references on its devices (records, queued add events) are dropped at
 * the latest when their NHI detaches. An attached NHI carries a devres
 * action (devm_add_action()) that detaches it when its driver unbinds:
 * devres actions run in device_release_driver() right after the driver's
 * remove() (its Thunderbolt devices are gone by then), with the NHI's
 * device lock held and outside any notifier chain, and before
 * pci_unregister_driver() returns, i.e. before thunderbolt.ko's exit can
 * unregister its bus or free its code. Our unload removes the action and
 * detaches under the same device lock. So unloading either module, in
 * any order, leaves nothing behind.
 *
 * Attach and detach run under the NHI's device lock, then
 * egpu_tb_attach_lock, then (detach) egpu_tb_lock.
 *
 * Events and the worker
 * ---------------------
 * The thunderbolt bus notifier only queues (egpu_tb_evq_lock, a spinlock):
 * an add event holds a get_device() reference, a delete event only the
 * pointer (compared with the records, which hold their own reference, so
 * the address cannot be reused while a record has it). All evaluation
 * happens in one ordered workqueue item (egpu_tb_work) that takes
 * egpu_tb_lock, drains the queue (so a detach, which also takes
 * egpu_tb_lock, never races with a half-processed event), then evaluates
 * every record marked ->eval in list order (parents before children).
 *
 * Locking order: NHI device lock -> egpu_tb_attach_lock -> egpu_tb_lock
 * -> egpu_tb_evq_lock / egpu_tb_keys_lock. egpu_tb_lock is held across
 * authorized writes, each bounded (EGPU_TB_AUTH_TIMEOUT_MS), and across
 * egpu_tb_pci_authorized() (tb_pci.c binds from its own work, never under
 * our locks). No lock of ours is taken in a bus notifier callback except
 * the spinlock of the queues.
 *
 * Retries
 * -------
 * A failed authorization by the policy whose error another attempt may
 * fix (egpu_tb_err_transient(): -EBUSY, -ETIMEDOUT, -EIO, ...) is tried
 * again: the record gets retry_pending and retry_at, and one delayed work
 * (egpu_tb_retry_work, on egpu_tb_wq) is armed for the earliest retry_at
 * of all records by egpu_tb_retry_arm(), under egpu_tb_lock, after every
 * pass of the worker and every detach; it only kicks the worker, which
 * evaluates the records whose time has come (nothing sleeps under a lock
 * meanwhile). At most EGPU_TB_AUTH_ATTEMPTS attempts per round, then the
 * record stays FAILED with the reason. A retry is dropped when its record
 * goes (unplug, detach), is evaluated for another reason, or a rule or key
 * change starts a new round; the work is cancelled when no record waits
 * and, at unload, after egpu_tb_wq is cleared (so nothing re-arms it).
 *
 * Authorized by someone else
 * --------------------------
 * The thunderbolt driver announces every change of a switch's authorized
 * with a KOBJ_CHANGE uevent carrying AUTHORIZED=<value>
 * (tb_switch_set_authorized(), drivers/thunderbolt/switch.c, since 5.15;
 * the bus notifier has no "changed" action and the attribute is not
 * sysfs_notify()'d). A kernel socket on the uevent netlink group
 * (egpu_tb_uev_sock, init_net, group 1, the channel udev reads) is how we
 * see it: its data-ready callback only schedules egpu_tb_uev_work, which
 * reads the queued uevents without waiting (bounded per run) and, for a
 * Thunderbolt AUTHORIZED=1/2 or a lost uevent (-ENOBUFS), has the worker
 * look again at the records waiting for a parent (PENDING) and at those
 * now found authorized. The uevent is only a trigger: every decision reads
 * the state from sysfs, so a forged or lost uevent changes nothing else.
 *
 * Authorized writes go through a kernel-internal mount of sysfs
 * (kern_mount()), file_open_root_mnt() and kernel_write(): exactly what a
 * write(2) to the attribute does (kernfs active reference, so a device
 * removed meanwhile gives -ENODEV/-ENOENT instead of a store on a
 * half-removed device, then the driver's own store with all its checks).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/ctype.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/err.h>
#include <linux/errno.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/kobject.h>
#include <linux/ktime.h>
#include <linux/mount.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/netlink.h>
#include <linux/pci.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>
#include <net/netlink.h>
#include <net/sock.h>

#define EGPU_COMPAT_WANT_SOCKET
#include "compat.h"
#include "events.h"
#include "tb.h"
#include "tb_rule.h"

#define EGPU_TB_NHI_DRIVER	"thunderbolt"
#define EGPU_TB_DOMAIN_TYPE	"thunderbolt_domain"
#define EGPU_TB_SWITCH_TYPE	"thunderbolt_device"
#define EGPU_TB_ATTR_MAX	128	/* longest attribute value we read */

static DEFINE_MUTEX(egpu_tb_lock);
static LIST_HEAD(egpu_tb_devs);			/* egpu_tb_lock */
static bool egpu_tb_paused;			/* egpu_tb_lock */

static struct workqueue_struct *egpu_tb_wq;
static struct work_struct egpu_tb_work;
static struct delayed_work egpu_tb_retry_work;	/* kicks egpu_tb_work */

/* Notifier -> worker queue. */
enum egpu_tb_ev_kind { EGPU_TB_EV_ADD, EGPU_TB_EV_DEL };
struct egpu_tb_ev {
	struct list_head node;
	enum egpu_tb_ev_kind kind;
	struct device *dev;	/* ADD: referenced; DEL: pointer only */
};

static DEFINE_SPINLOCK(egpu_tb_evq_lock);
static LIST_HEAD(egpu_tb_evq);			/* egpu_tb_evq_lock */
static LIST_HEAD(egpu_tb_reqs);			/* egpu_tb_evq_lock */
static bool egpu_tb_reeval;			/* egpu_tb_evq_lock */
static bool egpu_tb_auth_seen;			/* egpu_tb_evq_lock */

/* Attach state. */
struct egpu_tb_nhi {
	struct list_head node;
	struct pci_dev *pdev;	/* referenced */
};

static DEFINE_MUTEX(egpu_tb_attach_lock);
static LIST_HEAD(egpu_tb_nhis);			/* egpu_tb_attach_lock */
static typeof_member(struct device, bus) egpu_tb_bus;	/* attach_lock */
static bool egpu_tb_exiting;			/* egpu_tb_attach_lock */

static struct vfsmount *egpu_tb_mnt;		/* sysfs, set at init */

/* Keys for security level "secure", per UUID. */
struct egpu_tb_key {
	struct list_head node;
	uuid_t uuid;
	char hex[EGPU_TB_KEY_HEX_LEN + 1];
};

static DEFINE_MUTEX(egpu_tb_keys_lock);
static LIST_HEAD(egpu_tb_keys);			/* egpu_tb_keys_lock */

/* A netlink EGPU_CMD_TB_AUTHORIZE handed to the worker. */
struct egpu_tb_req {
	struct list_head node;
	struct kref ref;
	struct completion done;
	int ret;
	char name[EGPU_TB_DEV_NAME_MAX];
	char msg[EGPU_TB_REASON_MAX];
};

/*
 * Queue the evaluation work. egpu_tb_wq is read under egpu_tb_evq_lock:
 * a tb_rules parameter write can still arrive while the module unloads
 * (its sysfs file goes after the exit function), and egpu_tb_exit()
 * clears the pointer under the same lock before destroying the queue.
 */
static void egpu_tb_kick(void)
{
	spin_lock(&egpu_tb_evq_lock);
	if (egpu_tb_wq)
		queue_work(egpu_tb_wq, &egpu_tb_work);
	spin_unlock(&egpu_tb_evq_lock);
}

/* ---- locking and references ----------------------------------------------- */

int egpu_tb_lock_timeout(unsigned int timeout_ms)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);

	for (;;) {
		if (mutex_trylock(&egpu_tb_lock))
			return 0;
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
		usleep_range(500, 2000);
	}
}

void egpu_tb_unlock(void)
{
	mutex_unlock(&egpu_tb_lock);
}

void egpu_tb_assert_locked(void)
{
	lockdep_assert_held(&egpu_tb_lock);
}

static void egpu_tb_dev_release(struct kref *ref)
{
	struct egpu_tb_dev *d = container_of(ref, struct egpu_tb_dev, ref);

	WARN_ON(d->dev);
	if (d->rule)
		egpu_tb_rule_put(d->rule);
	if (d->parent)
		egpu_tb_dev_put(d->parent);
	kfree(d);
}

struct egpu_tb_dev *egpu_tb_dev_get(struct egpu_tb_dev *d)
{
	kref_get(&d->ref);
	return d;
}

void egpu_tb_dev_put(struct egpu_tb_dev *d)
{
	if (d)
		kref_put(&d->ref, egpu_tb_dev_release);
}

static struct egpu_tb_dev *egpu_tb_find_locked(const char *name)
{
	struct egpu_tb_dev *d;

	list_for_each_entry(d, &egpu_tb_devs, node)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}

static struct egpu_tb_dev *egpu_tb_find_dev_locked(const struct device *dev)
{
	struct egpu_tb_dev *d;

	list_for_each_entry(d, &egpu_tb_devs, node)
		if (d->dev == dev)
			return d;
	return NULL;
}

struct egpu_tb_dev *egpu_tb_dev_find(const char *name)
{
	struct egpu_tb_dev *d;

	mutex_lock(&egpu_tb_lock);
	d = egpu_tb_find_locked(name);
	if (d)
		egpu_tb_dev_get(d);
	mutex_unlock(&egpu_tb_lock);
	return d;
}

int egpu_tb_snapshot(struct egpu_tb_dev ***out, unsigned int *n,
		     unsigned int timeout_ms)
{
	struct egpu_tb_dev **devs = NULL, *d;
	unsigned int count = 0, i = 0;
	int ret;

	*out = NULL;
	*n = 0;
	ret = egpu_tb_lock_timeout(timeout_ms);
	if (ret)
		return ret;
	list_for_each_entry(d, &egpu_tb_devs, node)
		count++;
	if (count) {
		devs = kcalloc(count, sizeof(*devs), GFP_KERNEL);
		if (!devs) {
			mutex_unlock(&egpu_tb_lock);
			return -ENOMEM;
		}
		list_for_each_entry(d, &egpu_tb_devs, node)
			devs[i++] = egpu_tb_dev_get(d);
	}
	mutex_unlock(&egpu_tb_lock);
	*out = devs;
	*n = count;
	return 0;
}

void egpu_tb_snapshot_put(struct egpu_tb_dev **devs, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		egpu_tb_dev_put(devs[i]);
	kfree(devs);
}

bool egpu_tb_dev_is_below(const struct egpu_tb_dev *d,
			  const struct egpu_tb_dev *ancestor)
{
	for (d = d->parent; d; d = d->parent)
		if (d == ancestor)
			return true;
	return false;
}

/* ---- sysfs attribute access ----------------------------------------------- */

/* Open @dev's attribute @attr through our sysfs mount. */
static struct file *egpu_tb_attr_open(struct device *dev, const char *attr,
				      int flags)
{
	struct file *f;
	char *kpath, *path;

	if (!egpu_tb_mnt)
		return ERR_PTR(-ENODEV);
	kpath = kobject_get_path(&dev->kobj, GFP_KERNEL);
	if (!kpath)
		return ERR_PTR(-ENOMEM);
	/* kobject paths start with '/': relative to the sysfs root */
	path = kasprintf(GFP_KERNEL, "%s/%s", kpath + 1, attr);
	kfree(kpath);
	if (!path)
		return ERR_PTR(-ENOMEM);
	f = file_open_root_mnt(egpu_tb_mnt, path, flags, 0);
	kfree(path);
	return f;
}

static bool egpu_tb_is_restart(ssize_t ret)
{
	return ret == -ERESTARTSYS || ret == -ERESTARTNOINTR ||
	       ret == -ERESTARTNOHAND || ret == -ERESTART_RESTARTBLOCK;
}

/*
 * restart_syscall() set TIF_SIGPENDING on us. Recompute it from the
 * signals really pending (none for a kworker; a user thread keeps a real
 * one), as the signal code does, under the siglock.
 */
static void egpu_tb_clear_restart(void)
{
	spin_lock_irq(&current->sighand->siglock);
	recalc_sigpending();
	spin_unlock_irq(&current->sighand->siglock);
}

/*
 * After a restart: clear it, then sleep *@delay ms (1, 2, 4, ... 50 ms
 * across calls) and return 0 for another try, or -ETIMEDOUT when the sleep
 * would pass @deadline.
 */
static int egpu_tb_restart_wait(unsigned int *delay, unsigned long deadline)
{
	egpu_tb_clear_restart();
	if (time_after(jiffies + msecs_to_jiffies(*delay), deadline))
		return -ETIMEDOUT;
	msleep(*delay);
	*delay = min(*delay * 2, 50U);
	return 0;
}

/*
 * One read of attribute @attr into @buf (NUL-terminated, trailing
 * newline removed), retrying restarts within @timeout_ms.
 */
static int egpu_tb_attr_read(struct device *dev, const char *attr, char *buf,
			     size_t len, unsigned int timeout_ms)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);
	unsigned int delay = 1;
	struct file *f;
	loff_t pos;
	ssize_t ret;

	f = egpu_tb_attr_open(dev, attr, O_RDONLY);
	if (IS_ERR(f))
		return PTR_ERR(f);
	for (;;) {
		pos = 0;
		ret = kernel_read(f, buf, len - 1, &pos);
		if (!egpu_tb_is_restart(ret))
			break;
		ret = egpu_tb_restart_wait(&delay, deadline);
		if (ret)
			break;
	}
	fput(f);
	if (ret < 0)
		return ret;
	buf[ret] = '\0';
	while (ret > 0 && isspace(buf[ret - 1]))
		buf[--ret] = '\0';
	return 0;
}

/*
 * Write @buf to attribute @attr the way write(2) does; a restart (the
 * store's trylock of the domain lock failed) is retried with
 * egpu_tb_restart_wait()'s backoff until @timeout_ms, then -ETIMEDOUT. *restarts
 * counts them. Returns 0 or the store's error.
 */
static int egpu_tb_attr_write(struct device *dev, const char *attr,
			      const char *buf, size_t len,
			      unsigned int timeout_ms, unsigned int *restarts)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);
	unsigned int delay = 1;
	struct file *f;
	loff_t pos;
	ssize_t ret;

	f = egpu_tb_attr_open(dev, attr, O_WRONLY);
	if (IS_ERR(f))
		return PTR_ERR(f);
	for (;;) {
		pos = 0;
		ret = kernel_write(f, buf, len, &pos);
		if (!egpu_tb_is_restart(ret))
			break;
		if (restarts)
			(*restarts)++;
		ret = egpu_tb_restart_wait(&delay, deadline);
		if (ret)
			break;
	}
	fput(f);
	if (ret < 0)
		return ret;
	return ret == len ? 0 : -EIO;
}

static int egpu_tb_attr_u32(struct device *dev, const char *attr, u32 *val)
{
	char buf[32];
	int ret;

	ret = egpu_tb_attr_read(dev, attr, buf, sizeof(buf),
				EGPU_TB_AUTH_TIMEOUT_MS);
	if (ret)
		return ret;
	return kstrtou32(buf, 0, val);
}

int egpu_tb_read_authorized(struct egpu_tb_dev *d)
{
	u32 val;
	int ret;

	lockdep_assert_held(&egpu_tb_lock);
	if (!d->dev)
		return -ENODEV;
	ret = egpu_tb_attr_u32(d->dev, "authorized", &val);
	if (ret)
		return ret;
	if (val > 2)
		return -ERANGE;
	d->authorized = val;
	return val;
}

static int egpu_tb_write_authorized_count(struct egpu_tb_dev *d,
					  unsigned int val,
					  unsigned int timeout_ms,
					  unsigned int *restarts)
{
	char buf[4];
	int ret, cur;

	lockdep_assert_held(&egpu_tb_lock);
	if (!d->dev)
		return -ENODEV;
	if (val > 2)
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%u\n", val);
	ret = egpu_tb_attr_write(d->dev, "authorized", buf, strlen(buf),
				 timeout_ms, restarts);
	if (ret == -EINVAL) {
		/* the store refuses a write of the state it already has */
		cur = egpu_tb_read_authorized(d);
		if (cur >= 0 && !!cur == !!val)
			return 0;
		return ret;
	}
	if (!ret)
		d->authorized = val;
	return ret;
}

int egpu_tb_write_authorized(struct egpu_tb_dev *d, unsigned int val,
			     unsigned int timeout_ms)
{
	return egpu_tb_write_authorized_count(d, val, timeout_ms, NULL);
}

/* The domain device above a switch (its host router's parent). */
static struct device *egpu_tb_domain_of(struct device *dev)
{
	for (; dev; dev = dev->parent)
		if (dev->type && dev->type->name &&
		    !strcmp(dev->type->name, EGPU_TB_DOMAIN_TYPE))
			return dev;
	return NULL;
}

int egpu_tb_domain_info(struct egpu_tb_dev *d, struct egpu_tb_domain_info *info)
{
	struct device *dom;
	u32 val;
	int ret;

	lockdep_assert_held(&egpu_tb_lock);
	info->security[0] = '\0';
	info->iommu_dma_protection = -ENODEV;
	info->deauthorization = -ENODEV;
	if (!d->dev)
		return -ENODEV;
	dom = egpu_tb_domain_of(d->dev);
	if (!dom)
		return -ENODEV;
	ret = egpu_tb_attr_read(dom, "security", info->security,
				sizeof(info->security), EGPU_TB_AUTH_TIMEOUT_MS);
	if (ret)
		info->security[0] = '\0';
	ret = egpu_tb_attr_u32(dom, "iommu_dma_protection", &val);
	info->iommu_dma_protection = ret ? ret : !!val;
	ret = egpu_tb_attr_u32(dom, "deauthorization", &val);
	info->deauthorization = ret ? ret : !!val;
	d->dom = *info;
	return 0;
}

/* ---- events ------------------------------------------------------------- */

static void egpu_tb_event(const struct egpu_tb_dev *d, enum egpu_event_type type,
			  int error, const char *msg)
{
	struct egpu_event ev = {
		.type = type,
		.tb = d->name,
		.unique_id = d->unique_id,
	};

	if (d->rule) {
		ev.has_rule_id = true;
		ev.rule_id = d->rule->id;
	}
	if (error) {
		ev.has_error = true;
		ev.error = error;
	}
	egpu_event_emit(&ev, "%s", msg);
}

/* ---- the decision ------------------------------------------------------- */

/* Inputs of egpu_tb_decide(): what the engine knows about a device now. */
struct egpu_tb_decide_in {
	bool host;
	int authorized;			/* 0/1/2, -errno: unreadable */
	const struct egpu_tb_rule *rule;	/* first match or NULL */
	const char *security;		/* domain security level */
	int iommu_dma_protection;	/* 0/1, -errno: unreadable */
	bool has_key;			/* a key is stored for its UUID */
	const char *parent_name;	/* upstream device, NULL: host router */
	int parent_authorized;		/* of the parent: 0/1/2 */
	const char *blocker;		/* topmost unauthorized ancestor */
};

enum egpu_tb_act {
	EGPU_TB_ACT_NONE,	/* report out->decision, do nothing */
	EGPU_TB_ACT_ADOPT,	/* already authorized: adopt (by_egpu) */
	EGPU_TB_ACT_AUTHORIZE,	/* write authorized (secure: key first) */
	EGPU_TB_ACT_CHAIN,	/* authorize the parents first, then it */
};

struct egpu_tb_decide_out {
	enum egpu_tb_decision decision;
	enum egpu_tb_act act;
	bool secure;		/* authorize with the stored key */
	char reason[EGPU_TB_REASON_MAX];
};

static bool egpu_tb_security_authorizes(const char *sec)
{
	return !strcmp(sec, "user") || !strcmp(sec, "secure");
}

/*
 * The policy, pure (no I/O, KUnit-tested): what to do with a device given
 * @in. Order: host router; no rule (default deny); action=ignore; already
 * authorized (adopt); security level; IOMMU requirement; key; parent.
 */
static void egpu_tb_decide(const struct egpu_tb_decide_in *in,
			   struct egpu_tb_decide_out *out)
{
	const struct egpu_tb_rule *r = in->rule;
	char *reason = out->reason;
	size_t len = sizeof(out->reason);

	out->act = EGPU_TB_ACT_NONE;
	out->secure = false;
	if (in->host) {
		out->decision = EGPU_TB_DECISION_HOST;
		scnprintf(reason, len, "host router");
		return;
	}
	if (!r) {
		if (in->authorized > 0) {
			out->decision = EGPU_TB_DECISION_ALREADY;
			scnprintf(reason, len,
				  "already authorized (%d), no rule: left alone",
				  in->authorized);
		} else {
			out->decision = EGPU_TB_DECISION_NO_RULE;
			scnprintf(reason, len, "no rule matches (default deny)");
		}
		return;
	}
	if (r->action == EGPU_TB_ACTION_IGNORE) {
		out->decision = EGPU_TB_DECISION_IGNORED;
		scnprintf(reason, len, "rule %u: action=ignore", r->id);
		return;
	}
	if (in->authorized > 0) {
		out->decision = EGPU_TB_DECISION_ALREADY;
		out->act = EGPU_TB_ACT_ADOPT;
		scnprintf(reason, len,
			  "found authorized (%d), adopted by rule %u (torn down at shutdown)",
			  in->authorized, r->id);
		return;
	}
	if (!egpu_tb_security_authorizes(in->security)) {
		out->decision = EGPU_TB_DECISION_DENIED;
		scnprintf(reason, len,
			  "rule %u: domain security level '%s' has no per-device authorization: nothing done",
			  r->id, in->security[0] ? in->security : "unknown");
		return;
	}
	if (in->authorized < 0) {
		out->decision = EGPU_TB_DECISION_FAILED;
		scnprintf(reason, len, "rule %u: cannot read authorized (%d)",
			  r->id, in->authorized);
		return;
	}
	if (in->iommu_dma_protection != 1 && !r->iommu_optional) {
		out->decision = EGPU_TB_DECISION_DENIED;
		if (in->iommu_dma_protection < 0)
			scnprintf(reason, len,
				  "rule %u: domain iommu_dma_protection unreadable (%d) and the rule requires it (iommu=optional allows)",
				  r->id, in->iommu_dma_protection);
		else
			scnprintf(reason, len,
				  "rule %u: domain has iommu_dma_protection=0 and the rule requires it (iommu=optional allows)",
				  r->id);
		return;
	}
	if (!strcmp(in->security, "secure")) {
		if (!in->has_key) {
			out->decision = EGPU_TB_DECISION_DENIED;
			scnprintf(reason, len,
				  "rule %u: security level secure and no key stored for this device (egpuctl tb key set)",
				  r->id);
			return;
		}
		out->secure = true;
	}
	if (in->parent_name && in->parent_authorized <= 0) {
		if (r->chain) {
			out->decision = EGPU_TB_DECISION_AUTHORIZED;
			out->act = EGPU_TB_ACT_CHAIN;
			scnprintf(reason, len,
				  "authorized by rule %u after its parents (chain=1)",
				  r->id);
			return;
		}
		out->decision = EGPU_TB_DECISION_PENDING;
		if (in->blocker && strcmp(in->blocker, in->parent_name))
			scnprintf(reason, len,
				  "rule %u: parent %s not authorized (nor %s upstream): waiting; chain=1 authorizes parents first",
				  r->id, in->parent_name, in->blocker);
		else
			scnprintf(reason, len,
				  "rule %u: parent %s not authorized: waiting; chain=1 authorizes parents first",
				  r->id, in->parent_name);
		return;
	}
	out->decision = EGPU_TB_DECISION_AUTHORIZED;
	out->act = EGPU_TB_ACT_AUTHORIZE;
	scnprintf(reason, len, "authorized by rule %u", r->id);
}

/* ---- retries (see the top) ---------------------------------------------------- */

/*
 * May another attempt succeed after @err? Not when the device is gone,
 * a key is missing or rejected (an administrator's turn), the store
 * refused the request itself (-EINVAL: parent not authorized, bad state)
 * or the domain does not allow it. Pure, KUnit-tested.
 */
static bool egpu_tb_err_transient(int err)
{
	switch (err) {
	case 0:
	case -ENODEV:
	case -ENOENT:
	case -ENOKEY:
	case -EKEYREJECTED:
	case -EINVAL:
	case -EPERM:
	case -EACCES:
	case -EOPNOTSUPP:
		return false;
	default:
		return true;
	}
}

/*
 * The delay in ms before the attempt that follows failed attempt number
 * @failures (1-based) of a round: 1 s, 2 s, 4 s; 0 once
 * EGPU_TB_AUTH_ATTEMPTS attempts were made. Pure, KUnit-tested.
 */
static unsigned int egpu_tb_retry_delay_ms(unsigned int failures)
{
	if (!failures || failures >= EGPU_TB_AUTH_ATTEMPTS)
		return 0;
	return EGPU_TB_RETRY_BASE_MS << (failures - 1);
}

/* A new round: no failures, no retry. Locked. */
static void egpu_tb_retry_reset(struct egpu_tb_dev *d)
{
	d->auth_failures = 0;
	d->auth_error = 0;
	d->retry_pending = false;
}

/*
 * Arm egpu_tb_retry_work for the earliest retry of all records, or
 * cancel it when none waits (or the policy is paused: resuming starts a
 * new round). Never sleeps. Locked.
 */
static void egpu_tb_retry_arm(void)
{
	unsigned long next = 0, now = jiffies;
	struct egpu_tb_dev *d;
	bool any = false;

	lockdep_assert_held(&egpu_tb_lock);
	if (!egpu_tb_paused) {
		list_for_each_entry(d, &egpu_tb_devs, node) {
			if (!d->retry_pending)
				continue;
			if (!any || time_before(d->retry_at, next))
				next = d->retry_at;
			any = true;
		}
	}
	spin_lock(&egpu_tb_evq_lock);
	if (any && egpu_tb_wq)
		mod_delayed_work(egpu_tb_wq, &egpu_tb_retry_work,
				 time_after(next, now) ? next - now : 0);
	else
		cancel_delayed_work(&egpu_tb_retry_work);
	spin_unlock(&egpu_tb_evq_lock);
}

/*
 * Account for a failed attempt (@err; @why: what failed) of @d and, when
 * @retry (the policy, not an administrator's request) and another attempt
 * may help, schedule it. The reason goes to @msg. Locked.
 */
static void egpu_tb_auth_failed(struct egpu_tb_dev *d, int err, bool retry,
				const char *why, char *msg, size_t len)
{
	unsigned int delay;

	d->auth_failures++;
	d->auth_error = err;
	if (!retry || !egpu_tb_err_transient(err)) {
		scnprintf(msg, len, "authorization failed: %s", why);
		return;
	}
	delay = egpu_tb_retry_delay_ms(d->auth_failures);
	if (!delay) {
		scnprintf(msg, len,
			  "authorization failed (attempt %u of %u): %s; gave up (a rule or key change or a replug tries again)",
			  d->auth_failures, EGPU_TB_AUTH_ATTEMPTS, why);
		return;
	}
	d->retry_pending = true;
	d->retry_at = jiffies + msecs_to_jiffies(delay);
	scnprintf(msg, len,
		  "authorization failed (attempt %u of %u): %s; next attempt in %u ms",
		  d->auth_failures, EGPU_TB_AUTH_ATTEMPTS, why, delay);
}

static void egpu_tb_retry_workfn(struct work_struct *work)
{
	egpu_tb_kick();
}

/* ---- keys ----------------------------------------------------------------- */

/* Copy the key for @uuid into @hex (EGPU_TB_KEY_HEX_LEN + 1); false if none. */
static bool egpu_tb_key_get(const uuid_t *uuid, char *hex)
{
	struct egpu_tb_key *k;
	bool found = false;

	mutex_lock(&egpu_tb_keys_lock);
	list_for_each_entry(k, &egpu_tb_keys, node) {
		if (uuid_equal(&k->uuid, uuid)) {
			memcpy(hex, k->hex, sizeof(k->hex));
			found = true;
			break;
		}
	}
	mutex_unlock(&egpu_tb_keys_lock);
	return found;
}

int egpu_tb_key_set(const char *unique_id, const char *hex,
		    struct netlink_ext_ack *extack)
{
	struct egpu_tb_key *k, *new = NULL;
	uuid_t uuid;
	size_t i, len = strlen(hex);

	if (uuid_parse(unique_id, &uuid)) {
		NL_SET_ERR_MSG(extack, "egpu_gate: EGPU_A_TB_UNIQUE_ID is not a UUID");
		return -EINVAL;
	}
	if (len) {
		if (len != EGPU_TB_KEY_HEX_LEN)
			goto bad_key;
		for (i = 0; i < len; i++)
			if (!isxdigit(hex[i]))
				goto bad_key;
		new = kzalloc(sizeof(*new), GFP_KERNEL);
		if (!new)
			return -ENOMEM;
		new->uuid = uuid;
		memcpy(new->hex, hex, len);
	}
	mutex_lock(&egpu_tb_keys_lock);
	list_for_each_entry(k, &egpu_tb_keys, node) {
		if (uuid_equal(&k->uuid, &uuid)) {
			list_del(&k->node);
			kfree_sensitive(k);
			break;
		}
	}
	if (new)
		list_add_tail(&new->node, &egpu_tb_keys);
	mutex_unlock(&egpu_tb_keys_lock);
	pr_info("key for %pUb %s\n", &uuid, new ? "stored" : "deleted");
	/* a device may be waiting for this key */
	egpu_tb_policy_rules_changed();
	return 0;

bad_key:
	NL_SET_ERR_MSG(extack,
		       "egpu_gate: EGPU_A_TB_KEY must be 64 hex digits (or empty to delete)");
	return -EINVAL;
}

static void egpu_tb_keys_free(void)
{
	struct egpu_tb_key *k, *tmp;

	mutex_lock(&egpu_tb_keys_lock);
	list_for_each_entry_safe(k, tmp, &egpu_tb_keys, node) {
		list_del(&k->node);
		kfree_sensitive(k);
	}
	mutex_unlock(&egpu_tb_keys_lock);
}

/* ---- authorization ---------------------------------------------------- */

/*
 * Authorize @d now: security "secure" writes the stored key, then 2
 * (challenge), or 1 when the device has no key yet (-ENOKEY: 1 with a
 * key enrolls it); otherwise 1. Fills @why on failure. Locked.
 */
static int egpu_tb_authorize_one(struct egpu_tb_dev *d, bool secure,
				 unsigned int *restarts, char *why, size_t len)
{
	char key[EGPU_TB_KEY_HEX_LEN + 2];
	int ret;

	if (!secure) {
		ret = egpu_tb_write_authorized_count(d, 1,
						     EGPU_TB_AUTH_TIMEOUT_MS,
						     restarts);
		if (ret)
			scnprintf(why, len, "writing 1 to authorized failed (%d)",
				  ret);
		return ret;
	}
	if (!d->has_uuid || !egpu_tb_key_get(&d->uuid, key)) {
		scnprintf(why, len, "security secure and no key stored");
		return -ENOKEY;
	}
	strcat(key, "\n");
	ret = egpu_tb_attr_write(d->dev, "key", key, strlen(key),
				 EGPU_TB_AUTH_TIMEOUT_MS, restarts);
	memzero_explicit(key, sizeof(key));
	if (ret) {
		scnprintf(why, len, "writing the key failed (%d)", ret);
		return ret;
	}
	ret = egpu_tb_write_authorized_count(d, 2, EGPU_TB_AUTH_TIMEOUT_MS,
					     restarts);
	if (ret == -ENOKEY) {
		/* the device has no key yet: 1 with a key enrolls it */
		ret = egpu_tb_write_authorized_count(d, 1,
						     EGPU_TB_AUTH_TIMEOUT_MS,
						     restarts);
		if (!ret)
			scnprintf(why, len, "key enrolled");
	}
	if (ret == -EKEYREJECTED)
		scnprintf(why, len, "the device rejected the stored key");
	else if (ret)
		scnprintf(why, len, "writing authorized failed (%d)", ret);
	return ret;
}

/* Mark @d's children for evaluation (after @d was authorized). Locked. */
static void egpu_tb_eval_children(struct egpu_tb_dev *d)
{
	struct egpu_tb_dev *c;

	list_for_each_entry(c, &egpu_tb_devs, node)
		if (c->parent == d && !c->no_reeval)
			c->eval = true;
}

/* Record a decision; events only when it changed. Locked. */
static void egpu_tb_set_decision(struct egpu_tb_dev *d,
				 enum egpu_tb_decision decision,
				 const char *reason, int error)
{
	bool changed = d->decision != decision || strcmp(d->reason, reason);
	enum egpu_event_type type;

	d->decision = decision;
	strscpy(d->reason, reason, sizeof(d->reason));
	if (!changed)
		return;
	switch (decision) {
	case EGPU_TB_DECISION_AUTHORIZED:
		type = EGPU_EVENT_TB_AUTHORIZED;
		break;
	case EGPU_TB_DECISION_ALREADY:
	case EGPU_TB_DECISION_HOST:
		type = d->by_egpu ? EGPU_EVENT_TB_MATCHED : EGPU_EVENT_NONE;
		break;
	case EGPU_TB_DECISION_FAILED:
		type = EGPU_EVENT_ERROR;
		break;
	default:
		type = EGPU_EVENT_TB_DENIED;
		break;
	}
	if (type != EGPU_EVENT_NONE)
		egpu_tb_event(d, type, error, reason);
	else
		pr_info("tb %s: %s\n", d->name, reason);
}

/*
 * Authorize @d and account for it; a failure the policy may retry
 * (@retry) is scheduled (egpu_tb_auth_failed()). Returns 0 or -errno.
 * Locked.
 */
static int egpu_tb_authorize_record(struct egpu_tb_dev *d, bool secure,
				    const char *reason, bool retry)
{
	char why[EGPU_TB_REASON_MAX] = "";
	char msg[EGPU_TB_REASON_MAX];
	unsigned int restarts = 0;
	ktime_t start = ktime_get();
	int ret;

	ret = egpu_tb_authorize_one(d, secure, &restarts, why, sizeof(why));
	if (test_thread_flag(TIF_SIGPENDING) && (current->flags & PF_KTHREAD))
		pr_err("tb %s: stray pending-signal flag after authorizing\n",
		       d->name);
	if (ret) {
		if (ret == -ENODEV || ret == -ENOENT)
			scnprintf(msg, sizeof(msg),
				  "unplugged during authorization (%d)", ret);
		else
			egpu_tb_auth_failed(d, ret, retry, why, msg,
					    sizeof(msg));
		egpu_tb_set_decision(d, ret == -ENOKEY ? EGPU_TB_DECISION_DENIED :
				     EGPU_TB_DECISION_FAILED, msg, ret);
		return ret;
	}
	d->by_egpu = true;
	d->authorized = d->authorized ? d->authorized : 1;
	if (d->auth_failures)
		scnprintf(msg, sizeof(msg),
			  "%s%s%s in %lld us (%u restarts), after %u failed attempt(s), last %d",
			  reason, why[0] ? ", " : "", why,
			  ktime_us_delta(ktime_get(), start), restarts,
			  d->auth_failures, d->auth_error);
	else
		scnprintf(msg, sizeof(msg), "%s%s%s in %lld us (%u restarts)",
			  reason, why[0] ? ", " : "", why,
			  ktime_us_delta(ktime_get(), start), restarts);
	egpu_tb_set_decision(d, EGPU_TB_DECISION_AUTHORIZED, msg, 0);
	egpu_tb_pci_authorized(d);
	egpu_tb_eval_children(d);
	return 0;
}

/* Topmost unauthorized ancestor of @d (NULL: all authorized). Locked. */
static struct egpu_tb_dev *egpu_tb_blocker(struct egpu_tb_dev *d)
{
	struct egpu_tb_dev *p, *top = NULL;

	for (p = d->parent; p && !p->host; p = p->parent)
		if (p->authorized == 0)
			top = p;
	return top;
}

/* chain=1: authorize d's unauthorized ancestors, top first. Locked. */
static int egpu_tb_authorize_parents(struct egpu_tb_dev *d, bool secure)
{
	struct egpu_tb_dev *p, *chain[16];
	char reason[EGPU_TB_REASON_MAX];
	unsigned int n = 0;
	int ret;

	for (p = d->parent; p && !p->host && n < ARRAY_SIZE(chain); p = p->parent)
		if (egpu_tb_read_authorized(p) == 0)
			chain[n++] = p;
	while (n--) {
		p = chain[n];
		scnprintf(reason, sizeof(reason),
			  "authorized as a parent of %s (rule %u, chain=1)",
			  d->name, d->rule ? d->rule->id : 0);
		ret = egpu_tb_authorize_record(p, secure, reason, false);
		if (ret)
			return ret;
	}
	return 0;
}

/* Evaluate one record. Locked, not paused. */
static void egpu_tb_evaluate(struct egpu_tb_dev *d)
{
	struct egpu_tb_match_info mi = { };
	struct egpu_tb_decide_in in = { };
	struct egpu_tb_decide_out out;
	struct egpu_tb_domain_info dom;
	struct egpu_tb_rule *rule = NULL, *old;
	struct egpu_tb_dev *blocker;
	char hex[EGPU_TB_KEY_HEX_LEN + 1];
	char msg[EGPU_TB_REASON_MAX];
	int ret;

	d->eval = false;
	d->retry_pending = false;	/* this is the attempt */
	/* ours already (authorized or adopted): nothing to decide again */
	if (!d->dev || d->no_reeval || d->by_egpu)
		return;
	egpu_tb_domain_info(d, &dom);
	in.host = d->host;
	in.security = dom.security;
	in.iommu_dma_protection = dom.iommu_dma_protection;
	in.authorized = d->host ? 1 : egpu_tb_read_authorized(d);
	if (in.authorized == -ENOENT)	/* dponly/nopcie: no attribute */
		in.authorized = 0;
	if (!d->host) {
		mi.uuid = d->has_uuid ? &d->uuid : NULL;
		mi.vendor = d->vendor;
		mi.device = d->device;
		mi.vendor_name = d->vendor_name;
		mi.device_name = d->device_name;
		mi.parent_uuid = d->parent && d->parent->has_uuid ?
				 &d->parent->uuid : NULL;
		rule = egpu_tb_rules_match(&mi);
	}
	old = d->rule;
	d->rule = rule;
	if (rule && (!old || old->id != rule->id)) {
		scnprintf(msg, sizeof(msg), "rule %u matches", rule->id);
		egpu_tb_event(d, EGPU_EVENT_TB_MATCHED, 0, msg);
	}
	if (old)
		egpu_tb_rule_put(old);
	in.rule = rule;
	in.has_key = d->has_uuid && egpu_tb_key_get(&d->uuid, hex);
	memzero_explicit(hex, sizeof(hex));
	if (d->parent && !d->parent->host) {
		in.parent_name = d->parent->name;
		in.parent_authorized = egpu_tb_read_authorized(d->parent);
		blocker = egpu_tb_blocker(d);
		in.blocker = blocker ? blocker->name : NULL;
	}
	egpu_tb_decide(&in, &out);

	/* attempts used up: no more until a new round (FAILED stays) */
	if ((out.act == EGPU_TB_ACT_AUTHORIZE || out.act == EGPU_TB_ACT_CHAIN) &&
	    d->auth_failures >= EGPU_TB_AUTH_ATTEMPTS)
		return;

	switch (out.act) {
	case EGPU_TB_ACT_NONE:
		egpu_tb_set_decision(d, out.decision, out.reason, 0);
		break;
	case EGPU_TB_ACT_ADOPT:
		d->by_egpu = true;
		egpu_tb_set_decision(d, out.decision, out.reason, 0);
		egpu_tb_pci_authorized(d);
		egpu_tb_eval_children(d);
		break;
	case EGPU_TB_ACT_CHAIN:
		ret = egpu_tb_authorize_parents(d, out.secure);
		if (ret) {
			char why[EGPU_TB_REASON_MAX];

			scnprintf(why, sizeof(why),
				  "rule %u: authorizing a parent failed (%d), see its decision",
				  rule->id, ret);
			egpu_tb_auth_failed(d, ret, true, why, msg, sizeof(msg));
			egpu_tb_set_decision(d, EGPU_TB_DECISION_PENDING, msg,
					     ret);
			break;
		}
		egpu_tb_authorize_record(d, out.secure, out.reason, true);
		break;
	case EGPU_TB_ACT_AUTHORIZE:
		egpu_tb_authorize_record(d, out.secure, out.reason, true);
		break;
	}
}

/* ---- records ------------------------------------------------------------ */

/* Create the record of @dev (the caller's reference moves to it). Locked. */
static int egpu_tb_add_record(struct device *dev)
{
	struct egpu_tb_dev *d, *parent;
	struct egpu_event ev = { .type = EGPU_EVENT_TB_SEEN };
	u32 val;
	int ret;

	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	kref_init(&d->ref);
	strscpy(d->name, dev_name(dev), sizeof(d->name));
	if (sscanf(d->name, "%u-", &d->domain) != 1)
		d->domain = 0;
	ret = egpu_tb_attr_read(dev, "unique_id", d->unique_id,
				sizeof(d->unique_id), EGPU_TB_AUTH_TIMEOUT_MS);
	if (ret) {
		/* gone already (or not a switch we understand) */
		kfree(d);
		return ret;
	}
	d->has_uuid = !uuid_parse(d->unique_id, &d->uuid);
	if (!egpu_tb_attr_u32(dev, "vendor", &val))
		d->vendor = val;
	if (!egpu_tb_attr_u32(dev, "device", &val))
		d->device = val;
	if (egpu_tb_attr_read(dev, "vendor_name", d->vendor_name,
			      sizeof(d->vendor_name), EGPU_TB_AUTH_TIMEOUT_MS))
		d->vendor_name[0] = '\0';
	if (egpu_tb_attr_read(dev, "device_name", d->device_name,
			      sizeof(d->device_name), EGPU_TB_AUTH_TIMEOUT_MS))
		d->device_name[0] = '\0';
	parent = egpu_tb_find_dev_locked(dev->parent);
	if (parent) {
		d->parent = egpu_tb_dev_get(parent);
		d->depth = parent->depth + 1;
	} else {
		d->host = dev->parent && egpu_tb_domain_of(dev->parent) ==
					 dev->parent;
	}
	d->dev = dev;
	d->eval = true;
	list_add_tail(&d->node, &egpu_tb_devs);

	ev.tb = d->name;
	ev.unique_id = d->unique_id;
	egpu_event_emit(&ev, "%s %s (%#x:%#x) %s %s",
			d->vendor_name[0] ? d->vendor_name : "-",
			d->device_name[0] ? d->device_name : "-",
			d->vendor, d->device,
			d->host ? "host router of" : "below",
			d->parent ? d->parent->name :
			dev_name(dev->parent));
	return 0;
}

/* The record's device is gone (unplugged or detached). Locked. */
static void egpu_tb_gone(struct egpu_tb_dev *d, const char *why)
{
	egpu_tb_event(d, EGPU_EVENT_TB_GONE, 0, why);
	egpu_tb_pci_gone(d);
	d->gone = true;
	d->eval = false;
	d->retry_pending = false;
	list_del_init(&d->node);
	put_device(d->dev);
	d->dev = NULL;
	egpu_tb_dev_put(d);	/* the list's reference */
}

/* ---- the worker --------------------------------------------------------- */

static void egpu_tb_req_release(struct kref *ref)
{
	kfree(container_of(ref, struct egpu_tb_req, ref));
}

/* EGPU_CMD_TB_AUTHORIZE in the worker. Locked. */
static int egpu_tb_do_request(struct egpu_tb_req *req)
{
	struct egpu_tb_domain_info dom;
	struct egpu_tb_dev *d;
	char why[EGPU_TB_REASON_MAX] = "";
	int ret;

	if (egpu_tb_paused) {
		scnprintf(req->msg, sizeof(req->msg),
			  "egpu_gate: the policy is paused (shutdown teardown)");
		return -EBUSY;
	}
	d = egpu_tb_find_locked(req->name);
	if (!d) {
		scnprintf(req->msg, sizeof(req->msg),
			  "egpu_gate: no such Thunderbolt device");
		return -ENODEV;
	}
	if (d->host)
		return 0;
	egpu_tb_domain_info(d, &dom);
	if (!egpu_tb_security_authorizes(dom.security)) {
		scnprintf(req->msg, sizeof(req->msg),
			  "egpu_gate: domain security level '%s' has no per-device authorization",
			  dom.security);
		return -EOPNOTSUPP;
	}
	ret = egpu_tb_read_authorized(d);
	if (ret > 0)
		return 0;
	d->no_reeval = false;
	egpu_tb_retry_reset(d);
	ret = egpu_tb_authorize_record(d, !strcmp(dom.security, "secure"),
				       "authorized by an administrator (netlink)",
				       false);
	if (ret) {
		scnprintf(why, sizeof(why), "egpu_gate: %s", d->reason);
		strscpy(req->msg, why, sizeof(req->msg));
	}
	return ret;
}

static void egpu_tb_workfn(struct work_struct *work)
{
	struct egpu_tb_ev *ev, *tmp;
	struct egpu_tb_req *req;
	struct egpu_tb_dev *d;
	LIST_HEAD(evs);
	bool reeval, auth_seen, again;
	unsigned long now;
	unsigned int passes;

	mutex_lock(&egpu_tb_lock);
	spin_lock(&egpu_tb_evq_lock);
	list_splice_init(&egpu_tb_evq, &evs);
	reeval = egpu_tb_reeval;
	egpu_tb_reeval = false;
	auth_seen = egpu_tb_auth_seen;
	egpu_tb_auth_seen = false;
	spin_unlock(&egpu_tb_evq_lock);

	list_for_each_entry_safe(ev, tmp, &evs, node) {
		list_del(&ev->node);
		d = egpu_tb_find_dev_locked(ev->dev);
		if (ev->kind == EGPU_TB_EV_ADD) {
			if (d || egpu_tb_add_record(ev->dev))
				put_device(ev->dev);
		} else if (d) {
			egpu_tb_gone(d, "unplugged");
		}
		kfree(ev);
	}
	if (reeval) {
		/* a rule or key change (or a resume): a new round */
		list_for_each_entry(d, &egpu_tb_devs, node)
			if (!d->no_reeval && !d->by_egpu &&
			    d->decision != EGPU_TB_DECISION_HOST) {
				d->eval = true;
				egpu_tb_retry_reset(d);
			}
	}
	if (auth_seen && !egpu_tb_paused) {
		/*
		 * Some device became authorized (not necessarily by us):
		 * children waiting for a parent, and devices now found
		 * authorized (adopted, or reported ALREADY), are looked at
		 * again; failure counts are kept.
		 */
		list_for_each_entry(d, &egpu_tb_devs, node) {
			if (d->no_reeval || d->by_egpu || d->host || !d->dev)
				continue;
			if (d->decision == EGPU_TB_DECISION_PENDING ||
			    (d->decision != EGPU_TB_DECISION_ALREADY &&
			     egpu_tb_read_authorized(d) > 0))
				d->eval = true;
		}
	}
	now = jiffies;
	list_for_each_entry(d, &egpu_tb_devs, node)
		if (d->retry_pending && !time_before(now, d->retry_at))
			d->eval = true;
	/* Authorizing a parent marks its children, which come later. */
	for (passes = 0, again = true; again && !egpu_tb_paused && passes < 8;
	     passes++) {
		again = false;
		list_for_each_entry(d, &egpu_tb_devs, node) {
			if (!d->eval)
				continue;
			egpu_tb_evaluate(d);
			again = true;
		}
	}

	for (;;) {
		spin_lock(&egpu_tb_evq_lock);
		req = list_first_entry_or_null(&egpu_tb_reqs, struct egpu_tb_req,
					       node);
		if (req)
			list_del_init(&req->node);
		spin_unlock(&egpu_tb_evq_lock);
		if (!req)
			break;
		req->ret = egpu_tb_do_request(req);
		complete(&req->done);
		kref_put(&req->ref, egpu_tb_req_release);
	}
	/* children of a device authorized by a request */
	list_for_each_entry(d, &egpu_tb_devs, node)
		if (d->eval && !egpu_tb_paused)
			egpu_tb_evaluate(d);
	egpu_tb_retry_arm();
	mutex_unlock(&egpu_tb_lock);
}

int egpu_tb_authorize_by_name(const char *name, struct netlink_ext_ack *extack)
{
	struct egpu_tb_req *req;
	unsigned long left;
	int ret;

	req = kzalloc(sizeof(*req), GFP_KERNEL);
	if (!req)
		return -ENOMEM;
	kref_init(&req->ref);
	kref_get(&req->ref);	/* the worker's */
	init_completion(&req->done);
	strscpy(req->name, name, sizeof(req->name));
	spin_lock(&egpu_tb_evq_lock);
	list_add_tail(&req->node, &egpu_tb_reqs);
	spin_unlock(&egpu_tb_evq_lock);
	egpu_tb_kick();

	/* The worker may be on other devices first: each write is bounded. */
	left = wait_for_completion_timeout(&req->done,
					   msecs_to_jiffies(4 * EGPU_TB_AUTH_TIMEOUT_MS));
	if (!left) {
		spin_lock(&egpu_tb_evq_lock);
		if (!list_empty(&req->node)) {
			list_del_init(&req->node);
			kref_put(&req->ref, egpu_tb_req_release); /* worker's */
		}
		spin_unlock(&egpu_tb_evq_lock);
		NL_SET_ERR_MSG(extack, "egpu_gate: authorization timed out");
		ret = -ETIMEDOUT;
	} else {
		ret = req->ret;
		if (ret == -ENODEV)
			NL_SET_ERR_MSG(extack, "egpu_gate: no such Thunderbolt device");
		else if (ret == -EOPNOTSUPP)
			NL_SET_ERR_MSG(extack,
				       "egpu_gate: the domain's security level has no per-device authorization");
		else if (ret == -EBUSY)
			NL_SET_ERR_MSG(extack,
				       "egpu_gate: the policy is paused (shutdown teardown)");
		else if (ret)
			NL_SET_ERR_MSG(extack,
				       "egpu_gate: the authorization failed (the kernel log says why)");
		if (ret && req->msg[0])
			pr_info("tb authorize %s: %s\n", req->name, req->msg);
	}
	kref_put(&req->ref, egpu_tb_req_release);
	return ret;
}

void egpu_tb_policy_rules_changed(void)
{
	spin_lock(&egpu_tb_evq_lock);
	egpu_tb_reeval = true;
	spin_unlock(&egpu_tb_evq_lock);
	egpu_tb_kick();
}

int egpu_tb_policy_pause(unsigned int timeout_ms)
{
	int ret;

	ret = egpu_tb_lock_timeout(timeout_ms);
	if (ret)
		return ret;
	egpu_tb_paused = true;
	mutex_unlock(&egpu_tb_lock);
	return 0;
}

void egpu_tb_policy_resume(void)
{
	mutex_lock(&egpu_tb_lock);
	egpu_tb_paused = false;
	mutex_unlock(&egpu_tb_lock);
	egpu_tb_policy_rules_changed();
}

void egpu_tb_dev_deauthorized(struct egpu_tb_dev *d)
{
	lockdep_assert_held(&egpu_tb_lock);
	d->by_egpu = false;
	d->no_reeval = true;
	d->retry_pending = false;
	d->authorized = 0;
	egpu_tb_set_decision(d, EGPU_TB_DECISION_DENIED,
			     "de-authorized by egpu-gate", 0);
}

/* ---- discovery ---------------------------------------------------------- */

static bool egpu_tb_is_switch(const struct device *dev)
{
	return dev->type && dev->type->name &&
	       !strcmp(dev->type->name, EGPU_TB_SWITCH_TYPE);
}

static void egpu_tb_queue_ev(enum egpu_tb_ev_kind kind, struct device *dev)
{
	struct egpu_tb_ev *ev;

	ev = kzalloc(sizeof(*ev), GFP_KERNEL);
	if (!ev)
		return;	/* the allocator logged it; the device is missed */
	ev->kind = kind;
	ev->dev = kind == EGPU_TB_EV_ADD ? get_device(dev) : dev;
	spin_lock(&egpu_tb_evq_lock);
	list_add_tail(&ev->node, &egpu_tb_evq);
	spin_unlock(&egpu_tb_evq_lock);
	egpu_tb_kick();
}

static int egpu_tb_bus_notify(struct notifier_block *nb, unsigned long action,
			      void *data)
{
	struct device *dev = data;

	if (!egpu_tb_is_switch(dev))
		return NOTIFY_DONE;
	if (action == BUS_NOTIFY_ADD_DEVICE)
		egpu_tb_queue_ev(EGPU_TB_EV_ADD, dev);
	else if (action == BUS_NOTIFY_DEL_DEVICE)
		egpu_tb_queue_ev(EGPU_TB_EV_DEL, dev);
	return NOTIFY_OK;
}

static struct notifier_block egpu_tb_bus_nb = {
	.notifier_call = egpu_tb_bus_notify,
};

static int egpu_tb_enum_one(struct device *dev, void *data)
{
	if (egpu_tb_is_switch(dev))
		egpu_tb_queue_ev(EGPU_TB_EV_ADD, dev);
	return 0;
}

static int egpu_tb_find_domain(struct device *dev, void *data)
{
	struct device **out = data;

	if (dev->type && dev->type->name &&
	    !strcmp(dev->type->name, EGPU_TB_DOMAIN_TYPE)) {
		*out = dev;
		return 1;
	}
	return 0;
}

static bool egpu_tb_is_nhi(struct device *dev)
{
	return dev->driver && dev->driver->name &&
	       !strcmp(dev->driver->name, EGPU_TB_NHI_DRIVER);
}

static struct egpu_tb_nhi *egpu_tb_nhi_find(struct pci_dev *pdev)
{
	struct egpu_tb_nhi *n;

	list_for_each_entry(n, &egpu_tb_nhis, node)
		if (n->pdev == pdev)
			return n;
	return NULL;
}

static void egpu_tb_nhi_unbound(void *data);

/*
 * @pdev's driver "thunderbolt" is bound; its device lock is held (no bus
 * notifier chain is: registering ours on the thunderbolt bus takes a lock
 * of the same class as the PCI chain's).
 */
static void egpu_tb_attach_nhi(struct pci_dev *pdev)
{
	struct device *domain = NULL;
	struct egpu_tb_nhi *n;
	int ret;

	mutex_lock(&egpu_tb_attach_lock);
	if (egpu_tb_exiting || egpu_tb_nhi_find(pdev))
		goto out;
	device_for_each_child(&pdev->dev, &domain, egpu_tb_find_domain);
	if (!domain) {
		pr_warn("thunderbolt NHI %s has no domain device: not attached\n",
			pci_name(pdev));
		goto out;
	}
	if (egpu_tb_bus && egpu_tb_bus != domain->bus) {
		pr_warn("thunderbolt NHI %s: domain on another bus: not attached\n",
			pci_name(pdev));
		goto out;
	}
	n = kzalloc(sizeof(*n), GFP_KERNEL);
	if (!n)
		goto out;
	if (!egpu_tb_bus) {
		ret = bus_register_notifier(domain->bus, &egpu_tb_bus_nb);
		if (ret) {
			pr_err("cannot register the thunderbolt bus notifier: %d\n",
			       ret);
			kfree(n);
			goto out;
		}
		egpu_tb_bus = domain->bus;
	}
	n->pdev = pci_dev_get(pdev);
	/* runs when the driver unbinds, after its remove(), see the top */
	ret = devm_add_action(&pdev->dev, egpu_tb_nhi_unbound, n);
	if (ret) {
		pr_err("thunderbolt NHI %s: cannot watch its unbinding: %d\n",
		       pci_name(pdev), ret);
		pci_dev_put(n->pdev);
		kfree(n);
		if (list_empty(&egpu_tb_nhis)) {
			bus_unregister_notifier(egpu_tb_bus, &egpu_tb_bus_nb);
			egpu_tb_bus = NULL;
		}
		goto out;
	}
	list_add_tail(&n->node, &egpu_tb_nhis);
	pr_info("attached to thunderbolt NHI %s (%s)\n", pci_name(pdev),
		dev_name(domain));
	/* devices already present are evaluated like new ones */
	bus_for_each_dev(egpu_tb_bus, NULL, NULL, egpu_tb_enum_one);
out:
	mutex_unlock(&egpu_tb_attach_lock);
}

static bool egpu_tb_dev_below(const struct device *dev,
			      const struct device *ancestor)
{
	for (; dev; dev = dev->parent)
		if (dev == ancestor)
			return true;
	return false;
}

/*
 * Drop everything we hold below @pdev (all NHIs when NULL). Called with
 * egpu_tb_attach_lock held; takes egpu_tb_lock (waits for the worker's
 * current step, which is bounded).
 */
static void egpu_tb_release_below(struct pci_dev *pdev, const char *why)
{
	struct egpu_tb_dev *d, *tmp;
	struct egpu_tb_ev *ev, *etmp;
	LIST_HEAD(drop);

	mutex_lock(&egpu_tb_lock);
	spin_lock(&egpu_tb_evq_lock);
	list_for_each_entry_safe(ev, etmp, &egpu_tb_evq, node)
		if (!pdev || ev->kind == EGPU_TB_EV_DEL ||
		    egpu_tb_dev_below(ev->dev, &pdev->dev))
			list_move_tail(&ev->node, &drop);
	spin_unlock(&egpu_tb_evq_lock);
	list_for_each_entry_safe(ev, etmp, &drop, node) {
		/* a DEL of a record below is handled as gone just below */
		if (ev->kind == EGPU_TB_EV_ADD) {
			put_device(ev->dev);
		} else {
			d = egpu_tb_find_dev_locked(ev->dev);
			if (d)
				egpu_tb_gone(d, "unplugged");
		}
		list_del(&ev->node);
		kfree(ev);
	}
	/* children before parents: walk backwards */
	list_for_each_entry_safe_reverse(d, tmp, &egpu_tb_devs, node)
		if (!pdev || egpu_tb_dev_below(d->dev, &pdev->dev))
			egpu_tb_gone(d, why);
	egpu_tb_retry_arm();	/* cancelled when none is left */
	mutex_unlock(&egpu_tb_lock);
}

/*
 * Detach @n. Called with egpu_tb_attach_lock and the NHI's device lock
 * held: from its devres action when the driver unbinds (after the
 * driver's remove(), before thunderbolt.ko can unregister its bus), or
 * at our unload after the action was removed.
 */
static void egpu_tb_detach_locked(struct egpu_tb_nhi *n, const char *why)
{
	lockdep_assert_held(&egpu_tb_attach_lock);
	list_del(&n->node);
	if (list_empty(&egpu_tb_nhis) && egpu_tb_bus) {
		bus_unregister_notifier(egpu_tb_bus, &egpu_tb_bus_nb);
		egpu_tb_bus = NULL;
	}
	egpu_tb_release_below(list_empty(&egpu_tb_nhis) ? NULL : n->pdev, why);
	pr_info("detached from thunderbolt NHI %s (%s)\n", pci_name(n->pdev),
		why);
	pci_dev_put(n->pdev);
	kfree(n);
}

/* devres action of an attached NHI: its driver is unbinding. */
static void egpu_tb_nhi_unbound(void *data)
{
	mutex_lock(&egpu_tb_attach_lock);
	egpu_tb_detach_locked(data, "thunderbolt driver unbound");
	mutex_unlock(&egpu_tb_attach_lock);
}

/* NHIs whose driver bound, attached by egpu_tb_attach_work (referenced). */
struct egpu_tb_pending {
	struct list_head node;
	struct pci_dev *pdev;
};

static LIST_HEAD(egpu_tb_pending_nhis);		/* egpu_tb_evq_lock */
static struct work_struct egpu_tb_attach_work;

static void egpu_tb_attach_workfn(struct work_struct *work)
{
	struct egpu_tb_pending *p;

	for (;;) {
		spin_lock(&egpu_tb_evq_lock);
		p = list_first_entry_or_null(&egpu_tb_pending_nhis,
					     struct egpu_tb_pending, node);
		if (p)
			list_del(&p->node);
		spin_unlock(&egpu_tb_evq_lock);
		if (!p)
			return;
		device_lock(&p->pdev->dev);
		/* still bound? (it may have unbound since) */
		if (egpu_tb_is_nhi(&p->pdev->dev))
			egpu_tb_attach_nhi(p->pdev);
		device_unlock(&p->pdev->dev);
		pci_dev_put(p->pdev);
		kfree(p);
	}
}

/*
 * PCI bus notifier: an NHI's driver bound. Attaching registers a notifier
 * on the thunderbolt bus, which must not happen inside this chain, so it
 * is handed to egpu_tb_attach_work. Unbinding is seen by the devres
 * action egpu_tb_attach_nhi() adds.
 */
static int egpu_tb_pci_notify(struct notifier_block *nb, unsigned long action,
			      void *data)
{
	struct device *dev = data;
	struct egpu_tb_pending *p;

	/* BOUND_DRIVER runs with dev's device lock held: driver stable */
	if (action != BUS_NOTIFY_BOUND_DRIVER || !egpu_tb_is_nhi(dev))
		return NOTIFY_DONE;
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return NOTIFY_DONE;	/* the allocator logged it */
	p->pdev = pci_dev_get(to_pci_dev(dev));
	spin_lock(&egpu_tb_evq_lock);
	list_add_tail(&p->node, &egpu_tb_pending_nhis);
	spin_unlock(&egpu_tb_evq_lock);
	queue_work(egpu_tb_wq, &egpu_tb_attach_work);
	return NOTIFY_DONE;
}

static struct notifier_block egpu_tb_pci_nb = {
	.notifier_call = egpu_tb_pci_notify,
};

static int egpu_tb_scan_one(struct device *dev, void *data)
{
	device_lock(dev);
	if (egpu_tb_is_nhi(dev))
		egpu_tb_attach_nhi(to_pci_dev(dev));
	device_unlock(dev);
	return 0;
}

/* ---- netlink (genl.c) ------------------------------------------------- */

/* ms until d's scheduled retry (0: due). Locked. */
static u32 egpu_tb_retry_left_ms(const struct egpu_tb_dev *d)
{
	unsigned long now = jiffies;

	if (!time_before(now, d->retry_at))
		return 0;
	return jiffies_to_msecs(d->retry_at - now);
}

int egpu_tb_fill_dev(struct sk_buff *skb, const struct egpu_tb_dev *d)
{
	struct nlattr *nest;

	lockdep_assert_held(&egpu_tb_lock);
	nest = nla_nest_start(skb, EGPU_A_TB);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_string(skb, EGPU_A_TB_NAME, d->name) ||
	    nla_put_u32(skb, EGPU_A_TB_DOMAIN, d->domain) ||
	    (d->parent && nla_put_string(skb, EGPU_A_TB_PARENT, d->parent->name)) ||
	    (d->unique_id[0] &&
	     nla_put_string(skb, EGPU_A_TB_UNIQUE_ID, d->unique_id)) ||
	    nla_put_u32(skb, EGPU_A_TB_VENDOR, d->vendor) ||
	    nla_put_u32(skb, EGPU_A_TB_DEVICE, d->device) ||
	    (d->vendor_name[0] &&
	     nla_put_string(skb, EGPU_A_TB_VENDOR_NAME, d->vendor_name)) ||
	    (d->device_name[0] &&
	     nla_put_string(skb, EGPU_A_TB_DEVICE_NAME, d->device_name)) ||
	    nla_put_u8(skb, EGPU_A_TB_AUTHORIZED, d->host ? 1 : d->authorized) ||
	    (d->dom.security[0] &&
	     nla_put_string(skb, EGPU_A_TB_SECURITY, d->dom.security)) ||
	    (d->dom.iommu_dma_protection >= 0 &&
	     nla_put_u8(skb, EGPU_A_TB_IOMMU_PROTECTION,
			d->dom.iommu_dma_protection)) ||
	    (d->dom.deauthorization >= 0 &&
	     nla_put_u8(skb, EGPU_A_TB_DEAUTHORIZATION,
			d->dom.deauthorization)) ||
	    (d->rule && nla_put_u32(skb, EGPU_A_TB_RULE_ID, d->rule->id)) ||
	    nla_put_u8(skb, EGPU_A_TB_DECISION, d->decision) ||
	    nla_put_string(skb, EGPU_A_TB_REASON, d->reason) ||
	    (d->by_egpu && nla_put_flag(skb, EGPU_A_TB_BY_EGPU)) ||
	    nla_put_u32(skb, EGPU_A_TB_AUTH_FAILURES, d->auth_failures) ||
	    (d->auth_error &&
	     nla_put_s32(skb, EGPU_A_TB_AUTH_ERROR, d->auth_error)) ||
	    (d->retry_pending &&
	     nla_put_u32(skb, EGPU_A_TB_AUTH_RETRY_MS, egpu_tb_retry_left_ms(d))) ||
	    egpu_tb_pci_fill(skb, EGPU_A_TB_PCI, d)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* ---- uevents: authorized by someone else (see the top) ------------------- */

#define EGPU_TB_UEV_BUF		4096	/* a uevent: <= 2048 of env + path */
#define EGPU_TB_UEV_BATCH	64	/* uevents read per run of the work */

static DEFINE_MUTEX(egpu_tb_uev_lock);
static struct socket *egpu_tb_uev_sock;		/* egpu_tb_uev_lock */
static char egpu_tb_uev_buf[EGPU_TB_UEV_BUF];	/* egpu_tb_uev_lock */
static struct work_struct egpu_tb_uev_work;

/*
 * Is the kernel uevent @buf (@len bytes: "ACTION@DEVPATH" then
 * "KEY=VALUE" strings, each NUL-terminated) a Thunderbolt device becoming
 * authorized (change, SUBSYSTEM=thunderbolt, AUTHORIZED=1 or 2)? Pure,
 * KUnit-tested.
 */
static bool egpu_tb_uevent_authorizes(const char *buf, size_t len)
{
	bool tb = false, auth = false;
	size_t i, n;

	if (len < 7 || memcmp(buf, "change@", 7))
		return false;
	for (i = 0; i < len; i += n + 1) {
		n = strnlen(buf + i, len - i);
		if (n == 21 && !memcmp(buf + i, "SUBSYSTEM=thunderbolt", 21))
			tb = true;
		else if (n == 12 && (!memcmp(buf + i, "AUTHORIZED=1", 12) ||
				     !memcmp(buf + i, "AUTHORIZED=2", 12)))
			auth = true;
	}
	return tb && auth;
}

/* Data ready (or an overrun) on the uevent socket: any context, no locks. */
static void egpu_tb_uev_ready(struct sock *sk)
{
	schedule_work(&egpu_tb_uev_work);
}

/*
 * Read what the uevent socket holds, never waiting, at most
 * EGPU_TB_UEV_BATCH uevents per run (then it runs again); a Thunderbolt
 * authorization or a lost uevent has the worker look again.
 */
static void egpu_tb_uev_workfn(struct work_struct *work)
{
	struct sockaddr_nl from;
	struct msghdr msg;
	struct kvec vec;
	bool seen = false, more = false;
	unsigned int n;
	int ret;

	mutex_lock(&egpu_tb_uev_lock);
	for (n = 0; egpu_tb_uev_sock; n++) {
		if (n == EGPU_TB_UEV_BATCH) {
			more = true;
			break;
		}
		memset(&msg, 0, sizeof(msg));
		memset(&from, 0, sizeof(from));
		msg.msg_name = &from;
		msg.msg_namelen = sizeof(from);
		vec.iov_base = egpu_tb_uev_buf;
		vec.iov_len = sizeof(egpu_tb_uev_buf);
		ret = kernel_recvmsg(egpu_tb_uev_sock, &msg, &vec, 1,
				     vec.iov_len, MSG_DONTWAIT);
		if (ret == -ENOBUFS) {
			seen = true;	/* uevents were lost: look anyway */
			continue;
		}
		if (ret < 0)
			break;		/* -EAGAIN: empty */
		/* the kernel's own (port 0), not a forwarded one */
		if (!from.nl_pid &&
		    egpu_tb_uevent_authorizes(egpu_tb_uev_buf,
					      min_t(size_t, ret, sizeof(egpu_tb_uev_buf))))
			seen = true;
	}
	mutex_unlock(&egpu_tb_uev_lock);
	if (seen) {
		spin_lock(&egpu_tb_evq_lock);
		egpu_tb_auth_seen = true;
		spin_unlock(&egpu_tb_evq_lock);
		egpu_tb_kick();
	}
	if (more)
		schedule_work(&egpu_tb_uev_work);
}

/*
 * Listen to the kernel's uevents (init_net, group 1). Without it the
 * policy still works; children then wait for the next rule change.
 */
static void egpu_tb_uev_start(void)
{
	struct sockaddr_nl addr = {
		.nl_family = AF_NETLINK,
		.nl_groups = 1,
	};
	struct socket *sock;
	int ret;

	INIT_WORK(&egpu_tb_uev_work, egpu_tb_uev_workfn);
	ret = sock_create_kern(&init_net, AF_NETLINK, SOCK_DGRAM,
			       NETLINK_KOBJECT_UEVENT, &sock);
	if (ret) {
		pr_warn("tb: no uevent socket (%d): a parent authorized by someone else is seen at the next rule change only\n",
			ret);
		return;
	}
	write_lock_bh(&sock->sk->sk_callback_lock);
	sock->sk->sk_data_ready = egpu_tb_uev_ready;
	sock->sk->sk_error_report = egpu_tb_uev_ready;
	write_unlock_bh(&sock->sk->sk_callback_lock);
	ret = egpu_kernel_bind(sock, (struct sockaddr *)&addr, sizeof(addr));
	if (ret) {
		pr_warn("tb: cannot join the uevent group (%d): a parent authorized by someone else is seen at the next rule change only\n",
			ret);
		sock_release(sock);
		return;
	}
	mutex_lock(&egpu_tb_uev_lock);
	egpu_tb_uev_sock = sock;
	mutex_unlock(&egpu_tb_uev_lock);
}

/*
 * Close the socket, then wait for the work: after sock_release() no
 * uevent reaches the socket (netlink's release excludes broadcasts in
 * progress), so nothing schedules the work again, and a run still pending
 * finds no socket.
 */
static void egpu_tb_uev_stop(void)
{
	struct socket *sock;

	mutex_lock(&egpu_tb_uev_lock);
	sock = egpu_tb_uev_sock;
	egpu_tb_uev_sock = NULL;
	mutex_unlock(&egpu_tb_uev_lock);
	if (sock)
		sock_release(sock);
	cancel_work_sync(&egpu_tb_uev_work);
}

/* ---- init / exit ---------------------------------------------------------- */

int egpu_tb_init(void)
{
	struct file_system_type *sysfs;
	int ret;

	sysfs = get_fs_type("sysfs");
	if (!sysfs) {
		pr_err("tb: no sysfs file system type\n");
		return -ENODEV;
	}
	/* built in: get_fs_type() took no module reference to drop */
	egpu_tb_mnt = kern_mount(sysfs);
	if (IS_ERR(egpu_tb_mnt)) {
		ret = PTR_ERR(egpu_tb_mnt);
		egpu_tb_mnt = NULL;
		pr_err("tb: cannot mount sysfs internally: %d\n", ret);
		return ret;
	}
	egpu_tb_wq = alloc_ordered_workqueue("egpu_tb", 0);
	if (!egpu_tb_wq) {
		ret = -ENOMEM;
		goto err_umount;
	}
	INIT_WORK(&egpu_tb_work, egpu_tb_workfn);
	INIT_DELAYED_WORK(&egpu_tb_retry_work, egpu_tb_retry_workfn);
	INIT_WORK(&egpu_tb_attach_work, egpu_tb_attach_workfn);
	egpu_tb_uev_start();
	ret = bus_register_notifier(&pci_bus_type, &egpu_tb_pci_nb);
	if (ret) {
		pr_err("tb: cannot register the PCI bus notifier: %d\n", ret);
		egpu_tb_uev_stop();
		goto err_wq;
	}
	/* after the notifier: an NHI binding now is seen by one or both */
	bus_for_each_dev(&pci_bus_type, NULL, NULL, egpu_tb_scan_one);
	return 0;

err_wq:
	destroy_workqueue(egpu_tb_wq);
	egpu_tb_wq = NULL;
err_umount:
	kern_unmount(egpu_tb_mnt);
	egpu_tb_mnt = NULL;
	return ret;
}

void egpu_tb_exit(void)
{
	struct workqueue_struct *wq;
	struct egpu_tb_req *req;
	struct egpu_tb_nhi *n;

	struct egpu_tb_pending *p;
	struct pci_dev *pdev;

	/* No new attachments: notifier gone, pending ones dropped. */
	bus_unregister_notifier(&pci_bus_type, &egpu_tb_pci_nb);
	egpu_tb_uev_stop();
	mutex_lock(&egpu_tb_attach_lock);
	egpu_tb_exiting = true;
	mutex_unlock(&egpu_tb_attach_lock);
	cancel_work_sync(&egpu_tb_attach_work);
	spin_lock(&egpu_tb_evq_lock);
	while ((p = list_first_entry_or_null(&egpu_tb_pending_nhis,
					     struct egpu_tb_pending, node))) {
		list_del(&p->node);
		pci_dev_put(p->pdev);
		kfree(p);
	}
	spin_unlock(&egpu_tb_evq_lock);

	/*
	 * Detach each NHI under its device lock (taken before
	 * egpu_tb_attach_lock, as everywhere), removing its devres action;
	 * one unbinding meanwhile detaches itself first.
	 */
	for (;;) {
		mutex_lock(&egpu_tb_attach_lock);
		n = list_first_entry_or_null(&egpu_tb_nhis, struct egpu_tb_nhi,
					     node);
		pdev = n ? pci_dev_get(n->pdev) : NULL;
		mutex_unlock(&egpu_tb_attach_lock);
		if (!pdev)
			break;
		device_lock(&pdev->dev);
		mutex_lock(&egpu_tb_attach_lock);
		n = egpu_tb_nhi_find(pdev);
		if (n) {
			devm_remove_action(&pdev->dev, egpu_tb_nhi_unbound, n);
			egpu_tb_detach_locked(n, "egpu_gate unloading");
		}
		mutex_unlock(&egpu_tb_attach_lock);
		device_unlock(&pdev->dev);
		pci_dev_put(pdev);
	}

	spin_lock(&egpu_tb_evq_lock);
	wq = egpu_tb_wq;
	egpu_tb_wq = NULL;	/* egpu_tb_kick() queues nothing from now on */
	spin_unlock(&egpu_tb_evq_lock);
	/* nothing re-arms it now (egpu_tb_retry_arm() checks egpu_tb_wq) */
	cancel_delayed_work_sync(&egpu_tb_retry_work);
	destroy_workqueue(wq);	/* runs what is queued: no events */
	spin_lock(&egpu_tb_evq_lock);
	while ((req = list_first_entry_or_null(&egpu_tb_reqs,
					       struct egpu_tb_req, node))) {
		list_del_init(&req->node);
		req->ret = -ENODEV;
		complete(&req->done);
		kref_put(&req->ref, egpu_tb_req_release);
	}
	spin_unlock(&egpu_tb_evq_lock);
	egpu_tb_keys_free();
	kern_unmount(egpu_tb_mnt);
	egpu_tb_mnt = NULL;
}

#ifdef EGPU_KUNIT
#include "tb_test.c"
#endif
