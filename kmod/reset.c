// SPDX-License-Identifier: GPL-2.0
/*
 * reset.c - the reset core.
 *
 * Registry: families (built-in ones first, then those of other modules, in
 * registration order), dynamic IDs, and the claimed devices ("rdevs").
 * A claimed device's "device_specific" reset method (the kernel's
 * pci_dev_specific_reset(), redirected by hook.c) runs egpu_reset_run():
 * driver check, every function of the slot saved and its bus mastering
 * turned off, IOMMU prepare (7.x), the family's sequence on a real
 * struct egpu_hw, then everything restored and the power state set.
 *
 * Locking and lifetimes:
 * - egpu_registry_lock (mutex) guards the family, dynamic ID and rdev lists
 *   and every reset_method write we make; it is never taken in the reset
 *   path, which may run inside one of those writes (the PCI core probes the
 *   methods it is given).
 * - egpu_rdevs is also read under RCU: by the ftrace callback (claims,
 *   preemption disabled) and by the reset path, which takes a kref on the
 *   rdev with kref_get_unless_zero(). Removal: list_del_rcu(),
 *   synchronize_rcu(), then the list's kref is dropped; the last put drops
 *   the pci_dev reference and frees.
 * - A reset holds a module reference on the family's owner (try_module_get;
 *   failing means the owner is unloading and the kernel's own function
 *   runs instead), so the family's code and data stay valid for the whole
 *   reset and the owner cannot start unloading meanwhile.
 * - rdev->reset_lock serialises resets of one device (the PCI core's device
 *   lock already does for its own callers; this covers any other path).
 *   rdev->stats_lock (spinlock) guards the statistics.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#define EGPU_COMPAT_WANT_PCI
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/kref.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/pci.h>
#include <linux/rculist.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "amd_families.h"
#include "compat.h"
#include "config.h"
#include "events.h"
#include "hook.h"
#include "reset.h"
#include "uapi/egpu_gate.h"

/* Built-in families (amd_*.c, declared in amd_families.h); NULL-terminated. */
static const struct egpu_reset_family *const egpu_builtin_families[] = {
	&egpu_family_vega10,
	&egpu_family_vega20,
	&egpu_family_polaris,
	&egpu_family_navi10,
	NULL,
};

#define EGPU_METHOD_LEN 128	/* a reset_method value */
#define EGPU_SLOT_FNS 8

struct egpu_family_entry {
	struct list_head node;		/* egpu_families */
	const struct egpu_reset_family *fam;
	struct module *owner;
};

struct egpu_dyn_id {
	struct list_head node;		/* egpu_dyn_ids */
	u16 vendor, device;
	struct egpu_family_entry *fe;
};

struct egpu_rdev {
	struct list_head node;		/* egpu_rdevs: registry lock + RCU */
	struct kref ref;		/* the list holds one */
	struct pci_dev *pdev;		/* referenced for the rdev's life */
	const struct egpu_reset_family *fam;	/* valid with a ref on owner */
	struct module *owner;
	char fam_name[EGPU_RESET_FAMILY_NAME_MAX];
	struct mutex reset_lock;	/* serialises resets of the device */
	spinlock_t stats_lock;		/* guards stats */
	struct egpu_reset_stats stats;
	/* reset_method bookkeeping, registry lock */
	bool method_set;
	u8 methods_saved[PCI_NUM_RESET_METHODS];
	u8 methods_ours[PCI_NUM_RESET_METHODS];
};

static DEFINE_MUTEX(egpu_registry_lock);
static LIST_HEAD(egpu_families);
static LIST_HEAD(egpu_dyn_ids);
static LIST_HEAD(egpu_rdevs);
/* Registry lock: devices are claimed only between init and exit. */
static bool egpu_reset_ready;

/* ---- hardware access for the families --------------------------------- */

struct egpu_pci_hw {
	struct egpu_hw hw;
	struct pci_dev *pdev;
	void __iomem *mmio;
};

static struct egpu_pci_hw *to_pci_hw(struct egpu_hw *hw)
{
	return container_of(hw, struct egpu_pci_hw, hw);
}

static u32 egpu_hw_rreg(struct egpu_hw *hw, u32 dw)
{
	if (WARN_ONCE(dw >= hw->mmio_dwords, "egpu_gate: rreg dw 0x%x beyond BAR\n", dw))
		return ~0U;
	return ioread32(to_pci_hw(hw)->mmio + (size_t)dw * 4);
}

static void egpu_hw_wreg(struct egpu_hw *hw, u32 dw, u32 val)
{
	if (WARN_ONCE(dw >= hw->mmio_dwords, "egpu_gate: wreg dw 0x%x beyond BAR\n", dw))
		return;
	iowrite32(val, to_pci_hw(hw)->mmio + (size_t)dw * 4);
}

static int egpu_hw_cfg_read(struct egpu_hw *hw, int where, u32 *val)
{
	return pcibios_err_to_errno(pci_read_config_dword(to_pci_hw(hw)->pdev,
							  where, val));
}

static int egpu_hw_cfg_write(struct egpu_hw *hw, int where, u32 val)
{
	return pcibios_err_to_errno(pci_write_config_dword(to_pci_hw(hw)->pdev,
							   where, val));
}

static void egpu_hw_udelay(struct egpu_hw *hw, unsigned int us)
{
	if (us <= 10)
		udelay(us);
	else
		usleep_range(us, us + us / 4);
}

static void egpu_hw_msleep(struct egpu_hw *hw, unsigned int ms)
{
	if (ms < 20)
		usleep_range(ms * 1000, ms * 1250 + 1);
	else
		msleep(ms);
}

static u64 egpu_hw_now_us(struct egpu_hw *hw)
{
	return ktime_to_us(ktime_get());
}

static const struct egpu_hw_ops egpu_pci_hw_ops = {
	.rreg = egpu_hw_rreg,
	.wreg = egpu_hw_wreg,
	.cfg_read = egpu_hw_cfg_read,
	.cfg_write = egpu_hw_cfg_write,
	.udelay = egpu_hw_udelay,
	.msleep = egpu_hw_msleep,
	.now_us = egpu_hw_now_us,
};

/* ---- the reset ------------------------------------------------------------ */

/* One function of the slot around a reset. */
struct egpu_fn_snap {
	struct pci_dev *pdev;		/* referenced; NULL: slot unused */
	struct pci_saved_state *prev;	/* its saved state before ours */
};

/*
 * Save @fdev's config space (keeping whatever saved state its owner had,
 * e.g. the PCI core's copy from before the reset) and turn its bus
 * mastering off. The command register is written directly, not through
 * pci_clear_master(), so that is_busmaster stays the owner's.
 */
static int egpu_fn_save(struct pci_dev *fdev, struct egpu_fn_snap *s)
{
	u16 cmd;
	int ret;

	s->prev = NULL;
	if (fdev->state_saved) {
		s->prev = pci_store_saved_state(fdev);
		if (!s->prev)
			return -ENOMEM;
	}
	ret = pci_save_state(fdev);
	if (ret) {
		kfree(s->prev);
		s->prev = NULL;
		return ret;
	}
	pci_read_config_word(fdev, PCI_COMMAND, &cmd);
	pci_write_config_word(fdev, PCI_COMMAND, cmd & ~PCI_COMMAND_MASTER);
	s->pdev = pci_dev_get(fdev);
	return 0;
}

static void egpu_fn_restore(struct egpu_fn_snap *s)
{
	pci_restore_state(s->pdev);
	/* Put the owner's saved state (or none) back. */
	pci_load_and_free_saved_state(s->pdev, &s->prev);
	pci_dev_put(s->pdev);
	s->pdev = NULL;
}

/* Save every function of @pdev's slot, @pdev first. Returns the count. */
static int egpu_slot_save(struct pci_dev *pdev, struct egpu_fn_snap *snap)
{
	unsigned int slot = PCI_SLOT(pdev->devfn);
	int n = 0, fn, ret;

	ret = egpu_fn_save(pdev, &snap[n]);
	if (ret)
		return ret;
	n++;
	for (fn = 0; fn < EGPU_SLOT_FNS; fn++) {
		struct pci_dev *f;

		if (PCI_DEVFN(slot, fn) == pdev->devfn)
			continue;
		f = pci_get_slot(pdev->bus, PCI_DEVFN(slot, fn));
		if (!f)
			continue;
		ret = egpu_fn_save(f, &snap[n]);
		if (ret)
			pci_err(f, "cannot save config space for the reset of %s: %d\n",
				pci_name(pdev), ret);
		pci_dev_put(f);
		if (ret) {
			while (n--)
				egpu_fn_restore(&snap[n]);
			return ret;
		}
		n++;
	}
	return n;
}

static bool egpu_dev_gone(struct pci_dev *pdev)
{
	u32 id;

	if (pci_dev_is_disconnected(pdev))
		return true;
	return pci_read_config_dword(pdev, PCI_VENDOR_ID, &id) || id == ~0U;
}

/* The family's sequence on a mapped register BAR. */
static int egpu_reset_hw(struct egpu_rdev *rdev,
			 struct egpu_reset_report *report)
{
	const struct egpu_reset_family *fam = rdev->fam;
	struct pci_dev *pdev = rdev->pdev;
	struct egpu_pci_hw phw = {
		.hw.ops = &egpu_pci_hw_ops,
		.hw.dev = &pdev->dev,
		.pdev = pdev,
	};
	resource_size_t len;
	u16 cmd;
	int ret;

	if (!(pci_resource_flags(pdev, fam->mmio_bar) & IORESOURCE_MEM) ||
	    !pci_resource_len(pdev, fam->mmio_bar)) {
		pci_err(pdev, "%s reset: BAR %d is not a memory BAR\n",
			fam->name, fam->mmio_bar);
		return -ENODEV;
	}
	len = pci_resource_len(pdev, fam->mmio_bar);
	phw.hw.mmio_dwords = min_t(resource_size_t, len / 4, U32_MAX);

	/* Memory decoding on (the PCI core turned it off), mastering off. */
	pci_read_config_word(pdev, PCI_COMMAND, &cmd);
	pci_write_config_word(pdev, PCI_COMMAND,
			      (cmd | PCI_COMMAND_MEMORY) & ~PCI_COMMAND_MASTER);

	phw.mmio = pci_iomap(pdev, fam->mmio_bar, 0);
	if (!phw.mmio) {
		pci_err(pdev, "%s reset: cannot map BAR %d\n", fam->name,
			fam->mmio_bar);
		return -ENOMEM;
	}
	ret = fam->reset(&phw.hw, report);
	pci_iounmap(pdev, phw.mmio);
	return ret;
}

static int egpu_reset_locked(struct egpu_rdev *rdev,
			     struct egpu_reset_report *report)
{
	struct egpu_fn_snap snap[EGPU_SLOT_FNS] = {};
	struct pci_dev *pdev = rdev->pdev;
	const char *drv;
	int n, ret, pm;

	if (egpu_dev_gone(pdev)) {
		pci_warn(pdev, "%s reset: device is gone\n", rdev->fam_name);
		return -ENODEV;
	}
	/* The caller (PCI core, VFIO) holds the device lock: driver is stable. */
	drv = pdev->dev.driver ? pdev->dev.driver->name : NULL;
	if (drv && strcmp(drv, "vfio-pci")) {
		pci_warn(pdev, "refusing %s device-specific reset: bound to driver %s (only vfio-pci or no driver)\n",
			 rdev->fam_name, drv);
		return -EBUSY;
	}

	ret = pci_set_power_state(pdev, PCI_D0);
	if (ret) {
		pci_err(pdev, "%s reset: cannot set D0: %d\n", rdev->fam_name, ret);
		return ret;
	}
	n = egpu_slot_save(pdev, snap);
	if (n < 0)
		return n;

	ret = egpu_pci_reset_iommu_prepare(pdev);
	if (ret) {
		pci_err(pdev, "failed to stop IOMMU for a PCI reset: %d\n", ret);
	} else {
		ret = egpu_reset_hw(rdev, report);
		egpu_pci_reset_iommu_done(pdev);
	}

	if (egpu_dev_gone(pdev)) {
		pci_warn(pdev, "%s reset: device disappeared during the reset\n",
			 rdev->fam_name);
		ret = -ENODEV;
	}
	while (n--)
		egpu_fn_restore(&snap[n]);
	if (!ret && !egpu_config_reset_leave_d0()) {
		/* Not an error of the reset: the device is reset, just not asleep. */
		pm = pci_set_power_state(pdev, PCI_D3hot);
		if (pm)
			pci_info(pdev, "%s reset: cannot put the device in D3hot: %d\n",
				 rdev->fam_name, pm);
	}
	return ret;
}

/* EGPU_EVENT_GPU_RESET once a reset has completed (or failed). */
static void egpu_reset_event(struct egpu_rdev *rdev, int ret, u64 us)
{
	struct egpu_event ev = {
		.type = EGPU_EVENT_GPU_RESET,
		.bdf = pci_name(rdev->pdev),
		.has_error = true,
		.error = ret,
		.has_duration = true,
		.duration_us = us,
	};

	egpu_event_emit(&ev, "%s device-specific reset %s", rdev->fam_name,
			ret ? "failed" : "done");
}

static int egpu_reset_run(struct egpu_rdev *rdev)
{
	struct egpu_reset_report report = { .method = EGPU_RESET_METHOD_NONE };
	struct egpu_reset_stats *st = &rdev->stats;
	ktime_t t0;
	u64 us;
	int ret;

	ret = mutex_lock_killable(&rdev->reset_lock);
	if (ret)
		return ret;
	t0 = ktime_get();
	ret = egpu_reset_locked(rdev, &report);
	us = ktime_us_delta(ktime_get(), t0);

	spin_lock(&rdev->stats_lock);
	st->method = report.method;
	st->count++;
	if (ret)
		st->failures++;
	st->last_result = ret;
	st->last_duration_us = us;
	st->smu_state_before = report.smu_state_before;
	spin_unlock(&rdev->stats_lock);
	mutex_unlock(&rdev->reset_lock);

	if (ret)
		pci_err(rdev->pdev, "%s device-specific reset failed: %d (%llu us)\n",
			rdev->fam_name, ret, us);
	else
		pci_info(rdev->pdev, "%s device-specific reset done in %llu us\n",
			 rdev->fam_name, us);
	egpu_reset_event(rdev, ret, us);
	return ret;
}

/* ---- claimed devices ------------------------------------------------------ */

static void egpu_rdev_free(struct kref *ref)
{
	struct egpu_rdev *rdev = container_of(ref, struct egpu_rdev, ref);

	pci_dev_put(rdev->pdev);
	mutex_destroy(&rdev->reset_lock);
	kfree(rdev);
}

/* With rcu_read_lock() or the registry lock held. */
static __always_inline struct egpu_rdev *egpu_rdev_find(struct pci_dev *pdev)
{
	struct egpu_rdev *rdev;

	list_for_each_entry_rcu(rdev, &egpu_rdevs, node,
				lockdep_is_held(&egpu_registry_lock))
		if (rdev->pdev == pdev)
			return rdev;
	return NULL;
}

/* Hook target: ftrace callback context (preemption off, no sleeping). */
static notrace bool egpu_reset_claims(struct pci_dev *pdev)
{
	bool found;

	rcu_read_lock_sched_notrace();
	found = egpu_rdev_find(pdev);
	rcu_read_unlock_sched_notrace();
	return found;
}

/* Hook target: replaces pci_dev_specific_reset() for claimed devices. */
static int egpu_reset_dev_specific(struct pci_dev *pdev, bool probe)
{
	struct egpu_rdev *rdev;
	int ret;

	rcu_read_lock();
	rdev = egpu_rdev_find(pdev);
	if (rdev && !kref_get_unless_zero(&rdev->ref))
		rdev = NULL;
	rcu_read_unlock();
	if (!rdev)	/* released since the callback saw it */
		return egpu_hook_call_orig(pdev, probe);

	if (probe) {
		ret = 0;
	} else if (try_module_get(rdev->owner)) {
		ret = egpu_reset_run(rdev);
		module_put(rdev->owner);
	} else {
		/* The family's module is unloading. */
		ret = egpu_hook_call_orig(pdev, probe);
	}
	kref_put(&rdev->ref, egpu_rdev_free);
	return ret;
}

static const struct egpu_hook_target egpu_reset_hook_target = {
	.claims = egpu_reset_claims,
	.reset = egpu_reset_dev_specific,
};

/* ---- reset_method --------------------------------------------------------- */

/*
 * The PCI core's reset_method attribute. Writing through its store() is
 * exactly what a sysfs write does (parse, probe each method, warn), also
 * when the attribute is hidden (a device whose only method is ours had no
 * method at enumeration). It lives in pci_dev_type's groups (5.15+); the
 * other group lists are searched too in case a kernel moves it.
 */
static struct device_attribute *egpu_reset_method_attr(struct device *dev)
{
	const struct attribute_group *const *lists[] = {
		dev->type ? dev->type->groups : NULL,
		dev->groups,
		dev->bus ? dev->bus->dev_groups : NULL,
	};
	int i, g, a;

	for (i = 0; i < ARRAY_SIZE(lists); i++) {
		for (g = 0; lists[i] && lists[i][g]; g++) {
			struct attribute **attrs = lists[i][g]->attrs;

			for (a = 0; attrs && attrs[a]; a++)
				if (!strcmp(attrs[a]->name, "reset_method"))
					return container_of(attrs[a],
							    struct device_attribute,
							    attr);
		}
	}
	return NULL;
}

/* Read reset_method into @out (EGPU_METHOD_LEN), newline stripped. */
static int egpu_method_show(struct pci_dev *pdev, struct device_attribute *attr,
			    char *out)
{
	char *page = (char *)__get_free_page(GFP_KERNEL);
	ssize_t n;

	if (!page)
		return -ENOMEM;
	n = attr->show(&pdev->dev, attr, page);
	if (n >= 0) {
		page[min_t(ssize_t, n, PAGE_SIZE - 1)] = '\0';
		strscpy(out, strim(page), EGPU_METHOD_LEN);
	}
	free_page((unsigned long)page);
	return n < 0 ? n : 0;
}

static int egpu_method_store(struct pci_dev *pdev, struct device_attribute *attr,
			     const char *val)
{
	ssize_t n = attr->store(&pdev->dev, attr, val, strlen(val));

	return n < 0 ? n : 0;
}

static bool egpu_method_ds_first(const char *methods)
{
	return !strncmp(methods, "device_specific", 15) &&
	       (!methods[15] || methods[15] == ' ');
}

/* Put device_specific first in @rdev's reset_method. Registry lock held. */
static int egpu_method_set(struct egpu_rdev *rdev)
{
	struct pci_dev *pdev = rdev->pdev;
	struct device_attribute *attr = egpu_reset_method_attr(&pdev->dev);
	char cur[EGPU_METHOD_LEN], want[EGPU_METHOD_LEN], was[EGPU_METHOD_LEN];
	char *p, *tok;
	int ret;

	if (!attr || !attr->show || !attr->store) {
		pci_warn(pdev, "no reset_method attribute: cannot select device_specific\n");
		return -ENOENT;
	}
	ret = egpu_method_show(pdev, attr, cur);
	if (ret)
		return ret;
	if (egpu_method_ds_first(cur))
		return 0;	/* already first: nothing to undo later */

	strscpy(want, "device_specific", sizeof(want));
	strscpy(was, cur, sizeof(was));
	memcpy(rdev->methods_saved, pdev->reset_methods,
	       sizeof(rdev->methods_saved));
	p = cur;
	while ((tok = strsep(&p, " ")) != NULL) {
		if (!*tok || !strcmp(tok, "device_specific"))
			continue;
		if (strlen(want) + 1 + strlen(tok) >= sizeof(want))
			break;
		strcat(want, " ");
		strcat(want, tok);
	}
	ret = egpu_method_store(pdev, attr, want);
	/* A method probed at enumeration may fail now (bus: a sibling came). */
	if (ret && strcmp(want, "device_specific"))
		ret = egpu_method_store(pdev, attr, "device_specific");
	if (ret) {
		pci_warn(pdev, "cannot put device_specific first in reset_method: %d\n",
			 ret);
		return ret;
	}
	memcpy(rdev->methods_ours, pdev->reset_methods,
	       sizeof(rdev->methods_ours));
	rdev->method_set = true;
	egpu_method_show(pdev, attr, cur);
	pci_info(pdev, "reset_method '%s' -> '%s'\n", was, cur);
	return 0;
}

/*
 * Undo egpu_method_set(), unless someone changed reset_method since: the
 * kernel's own list from before is put back as it was. (Writing its text
 * back could fail: a method probed at enumeration, such as "bus" before a
 * sibling function appeared, may not probe any more.) Registry lock held,
 * device already out of the claim list.
 */
static void egpu_method_restore(struct egpu_rdev *rdev)
{
	struct pci_dev *pdev = rdev->pdev;
	struct device_attribute *attr = egpu_reset_method_attr(&pdev->dev);
	char cur[EGPU_METHOD_LEN];

	rdev->method_set = false;
	if (memcmp(pdev->reset_methods, rdev->methods_ours,
		   sizeof(rdev->methods_ours))) {
		pci_info(pdev, "reset_method changed by someone else since we set it; left as is\n");
		return;
	}
	memcpy(pdev->reset_methods, rdev->methods_saved,
	       sizeof(pdev->reset_methods));
	if (attr && !egpu_method_show(pdev, attr, cur))
		pci_info(pdev, "reset_method restored to '%s'\n", cur);
}

/* ---- registry ------------------------------------------------------------- */

static struct egpu_family_entry *egpu_family_find(const char *name)
{
	struct egpu_family_entry *fe;

	list_for_each_entry(fe, &egpu_families, node)
		if (!strcmp(fe->fam->name, name))
			return fe;
	return NULL;
}

/* Which family handles @pdev, if any. Registry lock held. */
static struct egpu_family_entry *egpu_match(struct pci_dev *pdev)
{
	struct egpu_family_entry *fe;
	struct egpu_dyn_id *id;

	if (PCI_FUNC(pdev->devfn) != 0)
		return NULL;
	list_for_each_entry(id, &egpu_dyn_ids, node)
		if (id->vendor == pdev->vendor && id->device == pdev->device)
			return id->fe;
	list_for_each_entry(fe, &egpu_families, node)
		if (pci_match_id(fe->fam->ids, pdev))
			return fe;
	return NULL;
}

static int egpu_claim(struct pci_dev *pdev, struct egpu_family_entry *fe)
{
	struct egpu_rdev *rdev = kzalloc(sizeof(*rdev), GFP_KERNEL);

	if (!rdev)
		return -ENOMEM;
	kref_init(&rdev->ref);
	mutex_init(&rdev->reset_lock);
	spin_lock_init(&rdev->stats_lock);
	rdev->pdev = pci_dev_get(pdev);
	rdev->fam = fe->fam;
	rdev->owner = fe->owner;
	strscpy(rdev->fam_name, fe->fam->name, sizeof(rdev->fam_name));
	list_add_tail_rcu(&rdev->node, &egpu_rdevs);
	pci_info(pdev, "device-specific reset by egpu_gate family %s\n",
		 rdev->fam_name);
	if (egpu_config_auto_reset_method())
		egpu_method_set(rdev);	/* failure is logged; the claim stays */
	return 0;
}

/* Registry lock held. @restore: undo our reset_method change. */
static void egpu_release(struct egpu_rdev *rdev, bool restore)
{
	list_del_rcu(&rdev->node);
	synchronize_rcu();
	if (restore && rdev->method_set)
		egpu_method_restore(rdev);
	pci_info(rdev->pdev, "released by egpu_gate family %s\n", rdev->fam_name);
	kref_put(&rdev->ref, egpu_rdev_free);
}

/* Bring @pdev's claim in line with the registry. Registry lock held. */
static void egpu_sync_dev(struct pci_dev *pdev)
{
	struct egpu_family_entry *fe = egpu_match(pdev);
	struct egpu_rdev *rdev = egpu_rdev_find(pdev);

	if (rdev && (!fe || rdev->fam != fe->fam)) {
		egpu_release(rdev, true);
		rdev = NULL;
	}
	if (!rdev && fe && egpu_claim(pdev, fe))
		pci_err(pdev, "cannot claim for family %s: out of memory\n",
			fe->fam->name);
}

static void egpu_sync_all(void)
{
	struct pci_dev *pdev = NULL;

	if (!egpu_reset_ready)
		return;
	for_each_pci_dev(pdev)
		egpu_sync_dev(pdev);
}

int egpu_reset_register_family(const struct egpu_reset_family *family,
			       struct module *owner)
{
	struct egpu_family_entry *fe;
	int ret = 0;

	if (!family || !family->name || !family->ids || !family->reset ||
	    strlen(family->name) >= EGPU_RESET_FAMILY_NAME_MAX ||
	    family->mmio_bar < 0 || family->mmio_bar > PCI_STD_RESOURCE_END)
		return -EINVAL;
	fe = kzalloc(sizeof(*fe), GFP_KERNEL);
	if (!fe)
		return -ENOMEM;
	fe->fam = family;
	fe->owner = owner;

	mutex_lock(&egpu_registry_lock);
	if (egpu_family_find(family->name)) {
		ret = -EEXIST;
		kfree(fe);
	} else {
		list_add_tail(&fe->node, &egpu_families);
		pr_info("reset family %s registered%s%s\n", family->name,
			owner && owner != THIS_MODULE ? " by " : "",
			owner && owner != THIS_MODULE ? module_name(owner) : "");
		egpu_sync_all();
	}
	mutex_unlock(&egpu_registry_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(egpu_reset_register_family);

void egpu_reset_unregister_family(const struct egpu_reset_family *family)
{
	struct egpu_family_entry *fe, *found = NULL;
	struct egpu_dyn_id *id, *idn;
	struct egpu_rdev *rdev, *rn;

	mutex_lock(&egpu_registry_lock);
	list_for_each_entry(fe, &egpu_families, node)
		if (fe->fam == family)
			found = fe;
	if (WARN(!found, "egpu_gate: unregistering unknown reset family\n")) {
		mutex_unlock(&egpu_registry_lock);
		return;
	}
	list_for_each_entry_safe(rdev, rn, &egpu_rdevs, node)
		if (rdev->fam == family)
			egpu_release(rdev, true);
	list_for_each_entry_safe(id, idn, &egpu_dyn_ids, node) {
		if (id->fe == found) {
			list_del(&id->node);
			kfree(id);
		}
	}
	list_del(&found->node);
	kfree(found);
	pr_info("reset family %s unregistered\n", family->name);
	egpu_sync_all();	/* another family may handle its devices */
	mutex_unlock(&egpu_registry_lock);
}
EXPORT_SYMBOL_GPL(egpu_reset_unregister_family);

/*
 * The one place a run-time ID is added or removed, for EGPU_CMD_GPU_ID_ADD/DEL
 * and the gpu_ids parameter alike. Registry lock held; @id preallocated.
 * The caller brings the claims in line (egpu_sync_all()).
 */
static void egpu_dyn_id_link(struct egpu_dyn_id *id, struct egpu_family_entry *fe,
			     u16 vendor, u16 device)
{
	id->vendor = vendor;
	id->device = device;
	id->fe = fe;
	list_add_tail(&id->node, &egpu_dyn_ids);
	pr_info("dynamic ID %04x:%04x added to family %s\n", vendor, device,
		fe->fam->name);
}

static void egpu_dyn_id_unlink(struct egpu_dyn_id *id)
{
	list_del(&id->node);
	pr_info("dynamic ID %04x:%04x removed from family %s\n", id->vendor,
		id->device, id->fe->fam->name);
	kfree(id);
}

static struct egpu_dyn_id *egpu_dyn_id_find(u16 vendor, u16 device)
{
	struct egpu_dyn_id *id;

	list_for_each_entry(id, &egpu_dyn_ids, node)
		if (id->vendor == vendor && id->device == device)
			return id;
	return NULL;
}

int egpu_reset_add_id(const char *family, u16 vendor, u16 device)
{
	struct egpu_family_entry *fe;
	struct egpu_dyn_id *id;
	int ret = 0;

	id = kzalloc(sizeof(*id), GFP_KERNEL);
	if (!id)
		return -ENOMEM;
	mutex_lock(&egpu_registry_lock);
	fe = egpu_family_find(family);
	if (!fe)
		ret = -ENOENT;
	else if (egpu_dyn_id_find(vendor, device))
		ret = -EEXIST;
	if (ret) {
		kfree(id);
	} else {
		egpu_dyn_id_link(id, fe, vendor, device);
		egpu_sync_all();
	}
	mutex_unlock(&egpu_registry_lock);
	return ret;
}

int egpu_reset_remove_id(const char *family, u16 vendor, u16 device)
{
	struct egpu_dyn_id *id;
	int ret = -ENOENT;

	mutex_lock(&egpu_registry_lock);
	id = egpu_dyn_id_find(vendor, device);
	if (id && !strcmp(id->fe->fam->name, family)) {
		egpu_dyn_id_unlink(id);
		egpu_sync_all();
		ret = 0;
	}
	mutex_unlock(&egpu_registry_lock);
	return ret;
}

/* ---- the gpu_ids module parameter ------------------------------------------ */

/*
 * gpu_ids=VVVV:DDDD:FAMILY[,VVVV:DDDD:FAMILY...] (hex IDs, 1-4 digits):
 * the run-time IDs of EGPU_CMD_GPU_ID_ADD as a module parameter, so a
 * policy (modprobe.d, kernel command line) can name them at boot.
 * Writing it (at load or in sysfs) makes the list the whole set of run-time
 * IDs; reading it shows the live set, netlink additions included. A value
 * is checked whole (syntax, duplicates, family names) before anything
 * changes: it is applied completely or not at all, and every bad entry is
 * logged. At load, the value waits until the built-in families are
 * registered (egpu_reset_init()); a bad value is then logged and ignored
 * (the module loads, its built-in IDs work); a bad write at run time fails
 * with -EINVAL (syntax) or -ENOENT (unknown family) and changes nothing.
 *
 * Locking: the module core calls set/get under kernel_param_lock(THIS_MODULE);
 * the registry lock nests inside it, never the other way round.
 */
#define EGPU_GPU_IDS_MAX 64

struct egpu_id_spec {
	u16 vendor, device;
	char family[EGPU_FAMILY_NAME_MAX + 1];
};

enum egpu_ids_state { EGPU_IDS_LOADING, EGPU_IDS_LIVE, EGPU_IDS_GONE };

/* Registry lock. */
static enum egpu_ids_state egpu_ids_state;
static struct egpu_id_spec *egpu_ids_pending;	/* given at load */
static int egpu_ids_n_pending;

static bool egpu_parse_id16(const char *s, u16 *out)
{
	size_t len = strlen(s);

	return len >= 1 && len <= 4 && strspn(s, "0123456789abcdefABCDEF") == len &&
	       !kstrtou16(s, 16, out);
}

/*
 * Parse a gpu_ids value into @specs (room for EGPU_GPU_IDS_MAX). Returns
 * the number of entries, or -EINVAL after logging every bad entry.
 */
static int egpu_gpu_ids_parse(const char *val, struct egpu_id_spec *specs)
{
	char *buf, *p, *ent, *v, *d;
	char shown[48];
	int n = 0, bad = 0, i;

	buf = kstrdup(val, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	p = strim(buf);
	while ((ent = strsep(&p, ",")) != NULL) {
		ent = strim(ent);
		if (!*ent)
			continue;
		strscpy(shown, ent, sizeof(shown));
		if (n == EGPU_GPU_IDS_MAX) {
			pr_err("gpu_ids: more than %d entries, from \"%s\" on\n",
			       EGPU_GPU_IDS_MAX, shown);
			bad++;
			break;
		}
		v = strsep(&ent, ":");
		d = strsep(&ent, ":");
		if (!d || !ent || !egpu_parse_id16(v, &specs[n].vendor) ||
		    !egpu_parse_id16(d, &specs[n].device) || !*ent ||
		    strlen(ent) > EGPU_FAMILY_NAME_MAX || strpbrk(ent, ": \t")) {
			pr_err("gpu_ids: malformed entry \"%s\" (want VVVV:DDDD:family)\n",
			       shown);
			bad++;
			continue;
		}
		for (i = 0; i < n; i++)
			if (specs[i].vendor == specs[n].vendor &&
			    specs[i].device == specs[n].device)
				break;
		if (i < n) {
			pr_err("gpu_ids: %04x:%04x given twice\n", specs[n].vendor,
			       specs[n].device);
			bad++;
			continue;
		}
		strscpy(specs[n].family, ent, sizeof(specs[n].family));
		n++;
	}
	kfree(buf);
	return bad ? -EINVAL : n;
}

/*
 * Make @specs the whole set of run-time IDs, or change nothing. Registry
 * lock held; the caller runs egpu_sync_all().
 */
static int egpu_gpu_ids_apply_locked(const struct egpu_id_spec *specs, int n)
{
	struct egpu_family_entry **fes;
	struct egpu_dyn_id **fresh, *id, *idn;
	int i, ret = 0;

	fes = kcalloc(max(n, 1), sizeof(*fes), GFP_KERNEL);
	fresh = kcalloc(max(n, 1), sizeof(*fresh), GFP_KERNEL);
	if (!fes || !fresh) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		fes[i] = egpu_family_find(specs[i].family);
		if (!fes[i]) {
			pr_err("gpu_ids: %04x:%04x: no family \"%s\"\n",
			       specs[i].vendor, specs[i].device, specs[i].family);
			ret = -ENOENT;
		}
	}
	for (i = 0; !ret && i < n; i++) {
		fresh[i] = kzalloc(sizeof(*fresh[i]), GFP_KERNEL);
		if (!fresh[i])
			ret = -ENOMEM;
	}
	if (ret)
		goto out;

	/* Nothing can fail from here on. */
	list_for_each_entry_safe(id, idn, &egpu_dyn_ids, node) {
		for (i = 0; i < n; i++)
			if (specs[i].vendor == id->vendor &&
			    specs[i].device == id->device && fes[i] == id->fe)
				break;
		if (i == n)
			egpu_dyn_id_unlink(id);
	}
	for (i = 0; i < n; i++) {
		if (!egpu_dyn_id_find(specs[i].vendor, specs[i].device)) {
			egpu_dyn_id_link(fresh[i], fes[i], specs[i].vendor,
					 specs[i].device);
			fresh[i] = NULL;
		}
	}
out:
	for (i = 0; fresh && i < n; i++)
		kfree(fresh[i]);
	kfree(fresh);
	kfree(fes);
	return ret;
}

static int egpu_gpu_ids_set(const char *val, const struct kernel_param *kp)
{
	struct egpu_id_spec *specs;
	int n, ret = 0;

	specs = kcalloc(EGPU_GPU_IDS_MAX, sizeof(*specs), GFP_KERNEL);
	if (!specs)
		return -ENOMEM;
	n = egpu_gpu_ids_parse(val, specs);

	mutex_lock(&egpu_registry_lock);
	switch (egpu_ids_state) {
	case EGPU_IDS_LOADING:
		/* Before init: keep it; a bad value must not stop the load. */
		if (n < 0) {
			pr_err("gpu_ids ignored: nothing of it is applied\n");
		} else {
			kfree(egpu_ids_pending);
			egpu_ids_pending = specs;
			egpu_ids_n_pending = n;
			specs = NULL;
		}
		break;
	case EGPU_IDS_LIVE:
		ret = n < 0 ? n : egpu_gpu_ids_apply_locked(specs, n);
		if (!ret)
			egpu_sync_all();
		break;
	default:
		ret = -ENODEV;	/* unloading */
	}
	mutex_unlock(&egpu_registry_lock);
	kfree(specs);
	return ret;
}

static int egpu_gpu_ids_get(char *buf, const struct kernel_param *kp)
{
	struct egpu_dyn_id *id;
	int i, len = 0;

	mutex_lock(&egpu_registry_lock);
	if (egpu_ids_state == EGPU_IDS_LOADING) {
		for (i = 0; i < egpu_ids_n_pending; i++)
			len += scnprintf(buf + len, PAGE_SIZE - len, "%s%04x:%04x:%s",
					 len ? "," : "", egpu_ids_pending[i].vendor,
					 egpu_ids_pending[i].device,
					 egpu_ids_pending[i].family);
	} else {
		list_for_each_entry(id, &egpu_dyn_ids, node)
			len += scnprintf(buf + len, PAGE_SIZE - len, "%s%04x:%04x:%s",
					 len ? "," : "", id->vendor, id->device,
					 id->fe->fam->name);
	}
	mutex_unlock(&egpu_registry_lock);
	len += scnprintf(buf + len, PAGE_SIZE - len, "\n");
	return len;
}

static const struct kernel_param_ops egpu_gpu_ids_ops = {
	.set = egpu_gpu_ids_set,
	.get = egpu_gpu_ids_get,
};
module_param_cb(gpu_ids, &egpu_gpu_ids_ops, NULL, 0644);
MODULE_PARM_DESC(gpu_ids,
		 "Run-time GPU IDs, VVVV:DDDD:family[,...] (e.g. 1002:6867:vega10); reading shows the live set");

int egpu_reset_iterate_devs(egpu_reset_dev_fn_t fn, void *ctx)
{
	struct egpu_reset_dev_info *info;
	struct egpu_rdev *rdev;
	int ret = 0;

	info = kmalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return -ENOMEM;
	mutex_lock(&egpu_registry_lock);
	list_for_each_entry(rdev, &egpu_rdevs, node) {
		info->pdev = rdev->pdev;
		info->vendor = rdev->pdev->vendor;
		info->device = rdev->pdev->device;
		strscpy(info->family, rdev->fam_name, sizeof(info->family));
		info->reset_method_set = rdev->method_set;
		spin_lock(&rdev->stats_lock);
		info->stats = rdev->stats;
		spin_unlock(&rdev->stats_lock);
		ret = fn(info, ctx);
		if (ret)
			break;
	}
	mutex_unlock(&egpu_registry_lock);
	kfree(info);
	return ret;
}

int egpu_reset_iterate_families(egpu_reset_family_fn_t fn, void *ctx)
{
	struct egpu_reset_family_info info;
	struct egpu_family_entry *fe;
	struct egpu_dyn_id *id;
	unsigned int n, max = 0;
	u32 *ids = NULL;
	int ret = 0;

	mutex_lock(&egpu_registry_lock);
	list_for_each_entry(id, &egpu_dyn_ids, node)
		max++;
	if (max) {
		ids = kcalloc(max, sizeof(*ids), GFP_KERNEL);
		if (!ids) {
			ret = -ENOMEM;
			goto out;
		}
	}
	list_for_each_entry(fe, &egpu_families, node) {
		n = 0;
		list_for_each_entry(id, &egpu_dyn_ids, node)
			if (id->fe == fe)
				ids[n++] = (u32)id->vendor << 16 | id->device;
		info.name = fe->fam->name;
		info.owner = fe->owner ? module_name(fe->owner) : "kernel";
		info.builtin = fe->owner == THIS_MODULE;
		info.ids = fe->fam->ids;
		info.dyn_ids = ids;
		info.n_dyn_ids = n;
		ret = fn(&info, ctx);
		if (ret)
			break;
	}
out:
	mutex_unlock(&egpu_registry_lock);
	kfree(ids);
	return ret;
}

int egpu_reset_device(struct pci_dev *pdev)
{
	struct device_attribute *attr;
	char cur[EGPU_METHOD_LEN];
	bool claimed;
	int ret;

	rcu_read_lock();
	claimed = egpu_rdev_find(pdev);
	rcu_read_unlock();
	if (!claimed)
		return -ENODEV;
	attr = egpu_reset_method_attr(&pdev->dev);
	if (!attr || !attr->show)
		return -EOPNOTSUPP;
	ret = egpu_method_show(pdev, attr, cur);
	if (ret)
		return ret;
	if (!egpu_method_ds_first(cur))
		return -EOPNOTSUPP;
	return pci_reset_function(pdev);
}

int egpu_reset_select_method(struct pci_dev *pdev)
{
	struct egpu_rdev *rdev;
	int ret = -ENODEV;

	mutex_lock(&egpu_registry_lock);
	rdev = egpu_rdev_find(pdev);
	if (rdev)
		ret = egpu_method_set(rdev);
	mutex_unlock(&egpu_registry_lock);
	return ret;
}

/* ---- hot-plug --------------------------------------------------------------- */

static int egpu_bus_notify(struct notifier_block *nb, unsigned long action,
			   void *data)
{
	struct pci_dev *pdev = to_pci_dev((struct device *)data);
	struct egpu_rdev *rdev;

	switch (action) {
	case BUS_NOTIFY_ADD_DEVICE:
		mutex_lock(&egpu_registry_lock);
		if (egpu_reset_ready)
			egpu_sync_dev(pdev);
		mutex_unlock(&egpu_registry_lock);
		break;
	case BUS_NOTIFY_DEL_DEVICE:
		mutex_lock(&egpu_registry_lock);
		rdev = egpu_rdev_find(pdev);
		if (rdev)
			egpu_release(rdev, false);	/* going: nothing to restore */
		mutex_unlock(&egpu_registry_lock);
		break;
	}
	return NOTIFY_DONE;
}

static struct notifier_block egpu_bus_nb = {
	.notifier_call = egpu_bus_notify,
};

/* ---- init / exit ---------------------------------------------------------- */

static void egpu_reset_free_registry(void)
{
	struct egpu_family_entry *fe, *fen;
	struct egpu_dyn_id *id, *idn;
	struct egpu_rdev *rdev, *rn;

	mutex_lock(&egpu_registry_lock);
	egpu_reset_ready = false;
	egpu_ids_state = EGPU_IDS_GONE;
	kfree(egpu_ids_pending);
	egpu_ids_pending = NULL;
	list_for_each_entry_safe(rdev, rn, &egpu_rdevs, node)
		egpu_release(rdev, true);
	list_for_each_entry_safe(id, idn, &egpu_dyn_ids, node) {
		list_del(&id->node);
		kfree(id);
	}
	list_for_each_entry_safe(fe, fen, &egpu_families, node) {
		/* Only ours can be left: other owners depend on this module. */
		WARN_ON(fe->owner != THIS_MODULE);
		list_del(&fe->node);
		kfree(fe);
	}
	mutex_unlock(&egpu_registry_lock);
}

int egpu_reset_init(void)
{
	int i, ret;

	for (i = 0; egpu_builtin_families[i]; i++) {
		ret = egpu_reset_register_family(egpu_builtin_families[i],
						 THIS_MODULE);
		if (ret) {
			pr_err("cannot register built-in family %s: %d\n",
			       egpu_builtin_families[i]->name, ret);
			goto err_registry;
		}
	}
	ret = egpu_hook_init(&egpu_reset_hook_target);
	if (ret)
		goto err_registry;
	ret = bus_register_notifier(&pci_bus_type, &egpu_bus_nb);
	if (ret) {
		pr_err("cannot register the PCI bus notifier: %d\n", ret);
		goto err_hook;
	}
	mutex_lock(&egpu_registry_lock);
	egpu_reset_ready = true;
	if (egpu_ids_pending &&
	    egpu_gpu_ids_apply_locked(egpu_ids_pending, egpu_ids_n_pending))
		pr_err("gpu_ids not applied: nothing of it is\n");
	kfree(egpu_ids_pending);
	egpu_ids_pending = NULL;
	egpu_ids_state = EGPU_IDS_LIVE;
	egpu_sync_all();
	mutex_unlock(&egpu_registry_lock);
	return 0;

err_hook:
	egpu_hook_exit();
err_registry:
	egpu_reset_free_registry();
	return ret;
}

void egpu_reset_exit(void)
{
	mutex_lock(&egpu_registry_lock);
	egpu_reset_ready = false;
	mutex_unlock(&egpu_registry_lock);
	bus_unregister_notifier(&pci_bus_type, &egpu_bus_nb);
	egpu_reset_free_registry();
	egpu_hook_exit();
}

#ifdef EGPU_KUNIT
#include "reset_test.c"
#endif
