// SPDX-License-Identifier: GPL-2.0
/*
 * tb_pci.c - the PCI side of the Thunderbolt policy: association of PCI
 * functions with the Thunderbolt devices egpu-gate authorized, binding to
 * vfio-pci, device_specific in reset_method (see tb_pci.h).
 *
 * Objects, locking and references:
 * - struct egpu_tbp_dev (d->pci of an engine record d): created by
 *   egpu_tb_pci_authorized(), freed by egpu_tb_pci_gone() (both called
 *   with egpu_tb_lock held). It holds a reference on d, a copy of the bind
 *   list, and the functions associated with d.
 * - struct egpu_tbp_fn: one associated function; holds a pci_dev
 *   reference. Refcounted (kref): the owner's list holds one, a queued or
 *   running bind work one more. Unlinked at BUS_NOTIFY_DEL_DEVICE or when
 *   the owner goes.
 * - egpu_tbp_lock (mutex) guards egpu_tbp_devs, every dev's fns list and
 *   its active flag. The PCI notifier takes only this lock (never
 *   egpu_tb_lock); the order is egpu_tb_lock -> egpu_tbp_lock.
 * - Bind works run on egpu_tbp_wq (ordered): one function at a time; the
 *   work never holds a lock of ours while it calls into the driver core.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#define EGPU_COMPAT_WANT_DRIVER_OVERRIDE
#include <linux/device.h>
#include <linux/kmod.h>
#include <linux/kref.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/workqueue.h>
#include <net/netlink.h>

#include "compat.h"
#include "events.h"
#include "reset.h"
#include "tb.h"
#include "tb_pci.h"
#include "tb_rule.h"

#define EGPU_VFIO_DRIVER "vfio-pci"

struct egpu_tbp_dev {
	struct list_head node;		/* egpu_tbp_devs */
	struct egpu_tb_dev *tbdev;	/* referenced */
	bool active;			/* new functions may be associated */
	unsigned int nbind;
	struct egpu_tb_pci_id bind[EGPU_TB_BIND_MAX];
	struct list_head fns;		/* struct egpu_tbp_fn */
};

struct egpu_tbp_fn {
	struct list_head node;		/* owner's fns; empty when unlinked */
	struct kref ref;
	struct pci_dev *pdev;		/* referenced */
	char tb[EGPU_TB_DEV_NAME_MAX];	/* owner's name (for events) */
	struct work_struct work;
	ktime_t since;			/* when it appeared / was found */
};

static DEFINE_MUTEX(egpu_tbp_lock);
static LIST_HEAD(egpu_tbp_devs);
static struct workqueue_struct *egpu_tbp_wq;
static bool egpu_tbp_ready;		/* egpu_tbp_lock */

static void egpu_tbp_fn_free(struct kref *ref)
{
	struct egpu_tbp_fn *f = container_of(ref, struct egpu_tbp_fn, ref);

	pci_dev_put(f->pdev);
	kfree(f);
}

static void egpu_tbp_fn_put(struct egpu_tbp_fn *f)
{
	kref_put(&f->ref, egpu_tbp_fn_free);
}

static void egpu_tbp_event(enum egpu_event_type type, const char *tb,
			   struct pci_dev *pdev, int err, s64 us,
			   const char *msg)
{
	struct egpu_event ev = {
		.type = type,
		.tb = tb,
		.bdf = pdev ? pci_name(pdev) : NULL,
		.has_error = err != 0,
		.error = err,
		.has_duration = us >= 0,
		.duration_us = us >= 0 ? us : 0,
	};

	egpu_event_emit(&ev, "%s", msg);
}

/* ---- association ------------------------------------------------------------ */

/* Is the port above @pdev a hot-plug capable PCIe port? */
static bool egpu_tbp_hotplug_port(struct pci_dev *pdev)
{
	struct pci_dev *port = pdev->bus ? pdev->bus->self : NULL;
	u32 cap = 0;

	if (!port || !pci_is_pcie(port))
		return false;
	if (pcie_capability_read_dword(port, PCI_EXP_SLTCAP, &cap))
		return false;
	return cap & PCI_EXP_SLTCAP_HPC;
}

/* Rule 3 of tb_pci.h: can @pdev have come out of a tunnel? */
static bool egpu_tbp_external(struct pci_dev *pdev)
{
	return pci_is_thunderbolt_attached(pdev) || pdev->untrusted ||
	       dev_is_removable(&pdev->dev) || egpu_tbp_hotplug_port(pdev);
}

static bool egpu_tbp_in_bind(const struct egpu_tbp_dev *p,
			     const struct pci_dev *pdev)
{
	unsigned int i;

	for (i = 0; i < p->nbind; i++)
		if (p->bind[i].vendor == pdev->vendor &&
		    p->bind[i].device == pdev->device)
			return true;
	return false;
}

/*
 * The device @pdev belongs to (tb_pci.h rules 1-3), NULL if none. Sets
 * *other to a second candidate when ambiguous. egpu_tbp_lock held.
 */
static struct egpu_tbp_dev *egpu_tbp_owner(struct pci_dev *pdev,
					   struct egpu_tbp_dev **other)
{
	struct egpu_tbp_dev *p, *found = NULL;

	*other = NULL;
	if (pdev->hdr_type != PCI_HEADER_TYPE_NORMAL)
		return NULL;
	list_for_each_entry(p, &egpu_tbp_devs, node) {
		if (!p->active || !egpu_tbp_in_bind(p, pdev))
			continue;
		if (found) {
			*other = p;
			return NULL;
		}
		found = p;
	}
	if (found && !egpu_tbp_external(pdev)) {
		pci_info(pdev, "in the bind list of %s but not external (not Thunderbolt-attached, not on a hot-plug port): left alone\n",
			 found->tbdev->name);
		return NULL;
	}
	return found;
}

static struct egpu_tbp_fn *egpu_tbp_fn_find(struct pci_dev *pdev)
{
	struct egpu_tbp_dev *p;
	struct egpu_tbp_fn *f;

	list_for_each_entry(p, &egpu_tbp_devs, node)
		list_for_each_entry(f, &p->fns, node)
			if (f->pdev == pdev)
				return f;
	return NULL;
}

/* ---- binding -------------------------------------------------------------------- */

static bool egpu_tbp_driver_is(struct pci_dev *pdev, const char *name,
			       char *cur, size_t len)
{
	bool is;

	device_lock(&pdev->dev);
	if (pdev->dev.driver)
		strscpy(cur, pdev->dev.driver->name, len);
	else
		cur[0] = '\0';
	is = !strcmp(cur, name);
	device_unlock(&pdev->dev);
	return is;
}

/*
 * Make vfio-pci the driver of @pdev: driver_override, unbind a host driver,
 * attach; load vfio-pci when no driver matched. Returns 0 or -errno with
 * what failed in @why.
 */
static int egpu_tbp_bind_vfio(struct pci_dev *pdev, char *why, size_t len)
{
	char cur[32];
	int ret;

	ret = egpu_pci_set_driver_override(pdev, EGPU_VFIO_DRIVER);
	if (ret) {
		snprintf(why, len, "cannot set driver_override: %d", ret);
		return ret;
	}
	if (egpu_tbp_driver_is(pdev, EGPU_VFIO_DRIVER, cur, sizeof(cur)))
		return 0;
	if (cur[0]) {
		pci_info(pdev, "unbinding host driver %s for vfio-pci\n", cur);
		device_release_driver(&pdev->dev);
	}
	ret = device_attach(&pdev->dev);
	if (ret == 0) {
		/* no driver matched: vfio-pci is not loaded (its init binds) */
		ret = request_module(EGPU_VFIO_DRIVER);
		if (!egpu_tbp_driver_is(pdev, EGPU_VFIO_DRIVER, cur, sizeof(cur)))
			ret = device_attach(&pdev->dev) == 1 ? 0 :
				(ret ? ret : -ENOENT);
		else
			ret = 0;
		if (ret) {
			snprintf(why, len,
				 "vfio-pci is not available (request_module: %d); load vfio-pci",
				 ret);
			return ret < 0 ? ret : -ENOENT;
		}
	} else if (ret < 0) {
		snprintf(why, len, "probe failed: %d", ret);
		return ret;
	}
	if (!egpu_tbp_driver_is(pdev, EGPU_VFIO_DRIVER, cur, sizeof(cur))) {
		snprintf(why, len, "bound to %s instead of vfio-pci",
			 cur[0] ? cur : "no driver");
		return -EBUSY;
	}
	return 0;
}

static void egpu_tbp_work(struct work_struct *work)
{
	struct egpu_tbp_fn *f = container_of(work, struct egpu_tbp_fn, work);
	struct pci_dev *pdev = f->pdev;
	char why[128] = "";
	bool linked;
	int ret;

	mutex_lock(&egpu_tbp_lock);
	linked = !list_empty(&f->node);
	mutex_unlock(&egpu_tbp_lock);
	if (!linked)
		goto out;	/* removed or its device went meanwhile */

	ret = egpu_tbp_bind_vfio(pdev, why, sizeof(why));
	if (ret) {
		pci_err(pdev, "tb %s: not bound to vfio-pci: %s\n", f->tb, why);
		egpu_tbp_event(EGPU_EVENT_ERROR, f->tb, pdev, ret, -1, why);
		goto out;
	}
	ret = egpu_reset_select_method(pdev);
	if (ret == -ENODEV)
		strscpy(why, "bound to vfio-pci (no reset family)", sizeof(why));
	else if (ret)
		snprintf(why, sizeof(why),
			 "bound to vfio-pci; reset_method not set: %d", ret);
	else
		strscpy(why, "bound to vfio-pci; device_specific first in reset_method",
			sizeof(why));
	egpu_tbp_event(EGPU_EVENT_PCI_BOUND, f->tb, pdev, 0,
		       ktime_us_delta(ktime_get(), f->since), why);
out:
	egpu_tbp_fn_put(f);
}

/* Associate @pdev with @p and queue its bind. egpu_tbp_lock held. */
static void egpu_tbp_take(struct egpu_tbp_dev *p, struct pci_dev *pdev,
			  bool set_override)
{
	struct egpu_tbp_fn *f = kzalloc(sizeof(*f), GFP_KERNEL);

	if (!f) {
		egpu_tbp_event(EGPU_EVENT_ERROR, p->tbdev->name, pdev, -ENOMEM,
			       -1, "not bound to vfio-pci: no memory");
		return;
	}
	kref_init(&f->ref);
	f->pdev = pci_dev_get(pdev);
	strscpy(f->tb, p->tbdev->name, sizeof(f->tb));
	f->since = ktime_get();
	INIT_WORK(&f->work, egpu_tbp_work);
	list_add_tail(&f->node, &p->fns);
	/* before the probe that follows ADD_DEVICE: no host driver binds */
	if (set_override && egpu_pci_set_driver_override(pdev, EGPU_VFIO_DRIVER))
		pci_warn(pdev, "cannot set driver_override now; the worker retries\n");
	pci_info(pdev, "below Thunderbolt device %s: binding to vfio-pci\n",
		 p->tbdev->name);
	kref_get(&f->ref);
	queue_work(egpu_tbp_wq, &f->work);
}

static void egpu_tbp_unlink(struct egpu_tbp_fn *f)
{
	list_del_init(&f->node);
	egpu_tbp_fn_put(f);
}

/* ---- PCI notifier ------------------------------------------------------------- */

static int egpu_tbp_notify(struct notifier_block *nb, unsigned long action,
			   void *data)
{
	struct pci_dev *pdev = to_pci_dev((struct device *)data);
	struct egpu_tbp_dev *p, *other;
	struct egpu_tbp_fn *f;
	char msg[96];

	switch (action) {
	case BUS_NOTIFY_ADD_DEVICE:
		mutex_lock(&egpu_tbp_lock);
		if (!egpu_tbp_ready || egpu_tbp_fn_find(pdev)) {
			mutex_unlock(&egpu_tbp_lock);
			break;
		}
		p = egpu_tbp_owner(pdev, &other);
		if (p) {
			egpu_tbp_take(p, pdev, true);
		} else if (other) {
			snprintf(msg, sizeof(msg),
				 "%04x:%04x is in the bind list of several authorized devices; not bound",
				 pdev->vendor, pdev->device);
			mutex_unlock(&egpu_tbp_lock);
			pci_warn(pdev, "%s\n", msg);
			egpu_tbp_event(EGPU_EVENT_ERROR, NULL, pdev, -EEXIST,
				       -1, msg);
			break;
		}
		mutex_unlock(&egpu_tbp_lock);
		break;
	case BUS_NOTIFY_DEL_DEVICE:
		mutex_lock(&egpu_tbp_lock);
		f = egpu_tbp_fn_find(pdev);
		if (f)
			egpu_tbp_unlink(f);
		mutex_unlock(&egpu_tbp_lock);
		break;
	}
	return NOTIFY_DONE;
}

static struct notifier_block egpu_tbp_nb = {
	.notifier_call = egpu_tbp_notify,
};

/* ---- hooks of the engine (tb.h) --------------------------------------------- */

void egpu_tb_pci_authorized(struct egpu_tb_dev *d)
{
	struct egpu_tbp_dev *p = d->pci, *owner, *other;
	struct pci_dev *pdev = NULL;
	const struct egpu_tb_rule *rule = d->rule;

	egpu_tb_assert_locked();
	if (!rule || !rule->nbind)
		return;		/* nothing to bind */
	if (!p) {
		p = kzalloc(sizeof(*p), GFP_KERNEL);
		if (!p) {
			egpu_tbp_event(EGPU_EVENT_ERROR, d->name, NULL, -ENOMEM,
				       -1, "PCI functions not bound: no memory");
			return;
		}
		INIT_LIST_HEAD(&p->fns);
		p->tbdev = egpu_tb_dev_get(d);
		d->pci = p;
		mutex_lock(&egpu_tbp_lock);
		list_add_tail(&p->node, &egpu_tbp_devs);
	} else {
		mutex_lock(&egpu_tbp_lock);
	}
	p->nbind = min_t(unsigned int, rule->nbind, EGPU_TB_BIND_MAX);
	memcpy(p->bind, rule->bind, p->nbind * sizeof(p->bind[0]));
	p->active = true;
	/* functions already present (the tunnel was up before us) */
	if (egpu_tbp_ready) {
		for_each_pci_dev(pdev) {
			if (egpu_tbp_fn_find(pdev))
				continue;
			owner = egpu_tbp_owner(pdev, &other);
			if (owner == p)
				egpu_tbp_take(p, pdev, false);
		}
	}
	mutex_unlock(&egpu_tbp_lock);
}

void egpu_tb_pci_deactivate(struct egpu_tb_dev *d)
{
	struct egpu_tbp_dev *p = d->pci;

	egpu_tb_assert_locked();
	if (!p)
		return;
	mutex_lock(&egpu_tbp_lock);
	p->active = false;
	mutex_unlock(&egpu_tbp_lock);
}

void egpu_tb_pci_gone(struct egpu_tb_dev *d)
{
	struct egpu_tbp_dev *p = d->pci;
	struct egpu_tbp_fn *f, *n;

	egpu_tb_assert_locked();
	if (!p)
		return;
	mutex_lock(&egpu_tbp_lock);
	list_del(&p->node);
	list_for_each_entry_safe(f, n, &p->fns, node)
		egpu_tbp_unlink(f);
	mutex_unlock(&egpu_tbp_lock);
	d->pci = NULL;
	egpu_tb_dev_put(p->tbdev);
	kfree(p);
}

int egpu_tb_pci_fill(struct sk_buff *skb, int attrtype,
		     const struct egpu_tb_dev *d)
{
	struct egpu_tbp_dev *p = d->pci;
	struct egpu_tbp_fn *f;
	int ret = 0;

	egpu_tb_assert_locked();
	if (!p)
		return 0;
	mutex_lock(&egpu_tbp_lock);
	list_for_each_entry(f, &p->fns, node) {
		ret = nla_put_string(skb, attrtype, pci_name(f->pdev));
		if (ret)
			break;
	}
	mutex_unlock(&egpu_tbp_lock);
	return ret ? -EMSGSIZE : 0;
}

unsigned int egpu_tb_pci_snapshot(struct egpu_tb_dev *d,
				  struct egpu_td_fn *out, unsigned int max)
{
	struct egpu_tbp_dev *p = d->pci;
	struct egpu_tbp_fn *f;
	unsigned int i, n = 0;

	egpu_tb_assert_locked();
	if (!p)
		return 0;
	mutex_lock(&egpu_tbp_lock);
	list_for_each_entry(f, &p->fns, node) {
		if (n == max) {
			pr_warn("tb %s: more than %u PCI functions; the teardown removes the first %u\n",
				d->name, max, max);
			break;
		}
		out[n].pdev = pci_dev_get(f->pdev);
		strscpy(out[n].bdf, pci_name(f->pdev), sizeof(out[n].bdf));
		out[n].fn = PCI_FUNC(f->pdev->devfn);
		n++;
	}
	mutex_unlock(&egpu_tbp_lock);
	/* driver names outside egpu_tbp_lock: device_lock nests outside it */
	for (i = 0; i < n; i++)
		egpu_tbp_driver_is(out[i].pdev, "", out[i].driver,
				   sizeof(out[i].driver));
	return n;
}

/* ---- init / exit ------------------------------------------------------------ */

int egpu_tb_pci_init(void)
{
	int ret;

	egpu_tbp_wq = alloc_ordered_workqueue("egpu_tb_pci", 0);
	if (!egpu_tbp_wq)
		return -ENOMEM;
	ret = bus_register_notifier(&pci_bus_type, &egpu_tbp_nb);
	if (ret) {
		pr_err("cannot register the PCI bus notifier: %d\n", ret);
		destroy_workqueue(egpu_tbp_wq);
		return ret;
	}
	mutex_lock(&egpu_tbp_lock);
	egpu_tbp_ready = true;
	mutex_unlock(&egpu_tbp_lock);
	return 0;
}

/*
 * After egpu_tb_exit(): the engine has called egpu_tb_pci_gone() for every
 * record, so nothing is left on egpu_tbp_devs (a leftover is unlinked
 * here, its record reference dropped).
 */
void egpu_tb_pci_exit(void)
{
	struct egpu_tbp_dev *p, *pn;
	struct egpu_tbp_fn *f, *n;

	mutex_lock(&egpu_tbp_lock);
	egpu_tbp_ready = false;
	mutex_unlock(&egpu_tbp_lock);
	bus_unregister_notifier(&pci_bus_type, &egpu_tbp_nb);
	destroy_workqueue(egpu_tbp_wq);		/* waits for bind works */
	mutex_lock(&egpu_tbp_lock);
	list_for_each_entry_safe(p, pn, &egpu_tbp_devs, node) {
		WARN_ON_ONCE(1);
		list_del(&p->node);
		list_for_each_entry_safe(f, n, &p->fns, node)
			egpu_tbp_unlink(f);
		p->tbdev->pci = NULL;
		egpu_tb_dev_put(p->tbdev);
		kfree(p);
	}
	mutex_unlock(&egpu_tbp_lock);
}
