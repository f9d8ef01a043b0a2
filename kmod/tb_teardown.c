// SPDX-License-Identifier: GPL-2.0
/*
 * tb_teardown.c - ordered, time-bounded teardown of the Thunderbolt devices
 * egpu-gate authorized, at shutdown/reboot and on request (see
 * tb_teardown.h for the order, the bounds and the log format).
 *
 * Locking and lifetimes:
 * - egpu_td_lock (mutex) serialises teardowns (reboot notifier, netlink
 *   TEARDOWN_RUN, TB_DEAUTHORIZE). Each is bounded by its budget, so a
 *   waiter waits at most one budget (plus its own).
 * - A plan is refcounted (kref): the runner holds one reference, every
 *   step worker one more for as long as it runs. The plan's steps hold a
 *   pci_dev reference (UNBIND, REMOVE) and a Thunderbolt device reference
 *   (every step), dropped through ops->put when the last reference goes.
 * - Step workers run on egpu_td_wq (WQ_UNBOUND): an abandoned worker does
 *   not delay the next step; destroy_workqueue() at exit waits for it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/device.h>
#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/netlink.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/pci.h>
#include <linux/reboot.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include "config.h"
#include "events.h"
#include "tb.h"
#include "tb_pci.h"
#include "tb_teardown.h"

/* Bound for taking egpu_tb_lock to build a plan. */
#define EGPU_TD_LOCK_MS 1000

struct egpu_td_plan_priv {
	struct egpu_td_plan plan;
	const struct egpu_td_ops *ops;
};

static DEFINE_MUTEX(egpu_td_lock);
static struct workqueue_struct *egpu_td_wq;

const char *egpu_td_action_name(enum egpu_step_action action)
{
	switch (action) {
	case EGPU_STEP_UNBIND:
		return "unbind";
	case EGPU_STEP_REMOVE:
		return "remove";
	case EGPU_STEP_DEAUTHORIZE:
		return "deauthorize";
	case EGPU_STEP_SKIP:
		return "skip";
	default:
		return "none";
	}
}

static const char *egpu_td_result_name(enum egpu_td_result r)
{
	switch (r) {
	case EGPU_TD_OK:
		return "ok";
	case EGPU_TD_FAILED:
		return "failed";
	case EGPU_TD_ABANDONED:
		return "abandoned";
	case EGPU_TD_SKIPPED:
		return "skipped";
	case EGPU_TD_NOT_RUN:
		return "not-run";
	default:
		return "pending";
	}
}

/* ---- plan ------------------------------------------------------------------ */

static void egpu_td_plan_free(struct kref *ref)
{
	struct egpu_td_plan_priv *p =
		container_of(ref, struct egpu_td_plan_priv, plan.ref);
	unsigned int i;

	for (i = 0; i < p->plan.n; i++)
		if (p->ops && p->ops->put)
			p->ops->put(&p->plan.steps[i]);
	kfree(p->plan.steps);
	kfree(p);
}

void egpu_td_plan_put(struct egpu_td_plan *plan)
{
	if (plan)
		kref_put(&plan->ref, egpu_td_plan_free);
}

/* Deepest first; equal depths: later in the snapshot first (children). */
static int egpu_td_cmp_dev(const void *a, const void *b)
{
	const struct egpu_td_dev *const *da = a, *const *db = b;

	if ((*da)->depth != (*db)->depth)
		return (*da)->depth < (*db)->depth ? 1 : -1;
	return *da < *db ? 1 : (*da > *db ? -1 : 0);
}

/* Highest function number first, function 0 last. */
static int egpu_td_cmp_fn(const void *a, const void *b)
{
	const struct egpu_td_fn *fa = a, *fb = b;

	if (fa->fn != fb->fn)
		return fa->fn < fb->fn ? 1 : -1;
	return strcmp(fa->bdf, fb->bdf);
}

static struct egpu_td_step *egpu_td_add(struct egpu_td_plan *plan,
					enum egpu_step_action action,
					const char *target,
					const struct egpu_td_dev *d)
{
	struct egpu_td_step *s = &plan->steps[plan->n++];

	s->action = action;
	s->dep = -1;
	strscpy(s->target, target, sizeof(s->target));
	strscpy(s->tb, d->name, sizeof(s->tb));
	return s;
}

/*
 * The plan owns the references of @devs from here on (also on failure:
 * then ops->put is called for them). A device or function reference is
 * given to exactly one step (the first of the device / the UNBIND of the
 * function); the other steps of it borrow it.
 */
struct egpu_td_plan *egpu_td_plan_build(struct egpu_td_dev *devs,
					unsigned int n,
					const struct egpu_td_ops *ops)
{
	struct egpu_td_plan_priv *p;
	struct egpu_td_dev **order;
	unsigned int i, j, steps = 0;

	for (i = 0; i < n; i++)
		steps += 2 * min_t(unsigned int, devs[i].nfn, EGPU_TD_FN_MAX) + 1;
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	order = kcalloc(max(n, 1U), sizeof(*order), GFP_KERNEL);
	if (p)
		p->plan.steps = kcalloc(max(steps, 1U), sizeof(*p->plan.steps),
					GFP_KERNEL);
	if (!p || !order || !p->plan.steps) {
		struct egpu_td_step tmp;

		/* hand every reference to ops->put, one step at a time */
		for (i = 0; ops && ops->put && i < n; i++) {
			for (j = 0; j < devs[i].nfn && j < EGPU_TD_FN_MAX; j++) {
				memset(&tmp, 0, sizeof(tmp));
				tmp.pdev = devs[i].fn[j].pdev;
				ops->put(&tmp);
			}
			memset(&tmp, 0, sizeof(tmp));
			tmp.tbdev = devs[i].tbdev;
			ops->put(&tmp);
		}
		if (p)
			kfree(p->plan.steps);
		kfree(p);
		kfree(order);
		return NULL;
	}
	kref_init(&p->plan.ref);
	p->ops = ops;
	for (i = 0; i < n; i++)
		order[i] = &devs[i];
	sort(order, n, sizeof(*order), egpu_td_cmp_dev, NULL);

	for (i = 0; i < n; i++) {
		struct egpu_td_dev *d = order[i];
		unsigned int nfn = min_t(unsigned int, d->nfn, EGPU_TD_FN_MAX);
		unsigned int first_unbind = p->plan.n;
		struct egpu_td_step *s;

		sort(d->fn, nfn, sizeof(d->fn[0]), egpu_td_cmp_fn, NULL);
		for (j = 0; j < nfn; j++) {
			s = egpu_td_add(&p->plan, EGPU_STEP_UNBIND, d->fn[j].bdf, d);
			s->pdev = d->fn[j].pdev;	/* owner of the reference */
			if (d->fn[j].driver[0])
				snprintf(s->note, sizeof(s->note), "driver %s",
					 d->fn[j].driver);
			else
				strscpy(s->note, "no driver", sizeof(s->note));
		}
		for (j = 0; j < nfn; j++) {
			s = egpu_td_add(&p->plan, EGPU_STEP_REMOVE, d->fn[j].bdf, d);
			s->dep = first_unbind + j;
		}
		if (!d->authorized) {
			s = egpu_td_add(&p->plan, EGPU_STEP_SKIP, d->name, d);
			strscpy(s->note, "not authorized: nothing to de-authorize",
				sizeof(s->note));
		} else if (!d->deauthorization) {
			s = egpu_td_add(&p->plan, EGPU_STEP_SKIP, d->name, d);
			snprintf(s->note, sizeof(s->note),
				 "domain%u deauthorization=0: PCI removal only",
				 d->domain);
		} else {
			s = egpu_td_add(&p->plan, EGPU_STEP_DEAUTHORIZE, d->name, d);
			snprintf(s->note, sizeof(s->note),
				 "domain%u deauthorization=1", d->domain);
		}
		s->tbdev = d->tbdev;	/* owner of the reference */
	}
	/* borrowed pointers, for the executor */
	for (i = 0; i < p->plan.n; i++) {
		struct egpu_td_step *s = &p->plan.steps[i];

		if (s->action == EGPU_STEP_REMOVE)
			s->pdev = p->plan.steps[s->dep].pdev;
	}
	kfree(order);
	return &p->plan;
}

/* ---- runner ---------------------------------------------------------------- */

u32 egpu_td_step_bound_ms(u32 budget_ms, u32 remaining_ms, unsigned int i,
			  unsigned int n)
{
	u32 reserve = clamp_t(u32, budget_ms / (2 * max(n, 1U)), 10, 100);
	unsigned int left = n > i + 1 ? n - i - 1 : 0;
	/* one reserve more when steps follow: a timed-out wait overshoots */
	u64 later = (u64)reserve * (left ? left + 1 : 0);
	u32 bound;

	if (!remaining_ms)
		return 0;
	bound = remaining_ms > later ? remaining_ms - (u32)later : 0;
	bound = max(bound, reserve);
	return min(bound, remaining_ms);
}

struct egpu_td_work {
	struct work_struct work;
	struct completion done;
	refcount_t ref;			/* runner + worker */
	struct egpu_td_plan *plan;	/* referenced by the worker */
	const struct egpu_td_ops *ops;
	unsigned int idx;
	int ret;
};

static void egpu_td_work_put(struct egpu_td_work *w)
{
	if (refcount_dec_and_test(&w->ref))
		kfree(w);
}

static void egpu_td_work_fn(struct work_struct *work)
{
	struct egpu_td_work *w = container_of(work, struct egpu_td_work, work);

	w->ret = w->ops->run(&w->plan->steps[w->idx]);
	complete(&w->done);
	egpu_td_plan_put(w->plan);
	egpu_td_work_put(w);
}

/* Run step @idx in a worker, waiting at most @bound_ms. */
static int egpu_td_run_step(struct egpu_td_plan *plan, unsigned int idx,
			    u32 bound_ms, bool *abandoned)
{
	struct egpu_td_plan_priv *p =
		container_of(plan, struct egpu_td_plan_priv, plan);
	struct egpu_td_work *w = kzalloc(sizeof(*w), GFP_KERNEL);
	int ret;

	*abandoned = false;
	if (!w)
		return -ENOMEM;
	INIT_WORK(&w->work, egpu_td_work_fn);
	init_completion(&w->done);
	refcount_set(&w->ref, 2);
	kref_get(&plan->ref);
	w->plan = plan;
	w->ops = p->ops;
	w->idx = idx;
	queue_work(egpu_td_wq, &w->work);
	if (wait_for_completion_timeout(&w->done, msecs_to_jiffies(bound_ms))) {
		ret = w->ret;
	} else {
		/* the worker keeps its references until it returns */
		*abandoned = true;
		ret = -ETIMEDOUT;
	}
	egpu_td_work_put(w);
	return ret;
}

static void egpu_td_log_step(const struct egpu_td_plan *plan, unsigned int i)
{
	const struct egpu_td_step *s = &plan->steps[i];
	char extra[40] = "";

	if (s->result == EGPU_TD_ABANDONED)
		snprintf(extra, sizeof(extra), " bound_ms=%u", s->bound_ms);
	else if (s->err)
		snprintf(extra, sizeof(extra), " err=%d", s->err);
	pr_info("teardown step %u/%u %s %s tb=%s: %s ms=%llu.%03llu%s%s%s\n",
		i + 1, plan->n, egpu_td_action_name(s->action), s->target,
		s->tb, egpu_td_result_name(s->result), s->duration_us / 1000,
		s->duration_us % 1000, extra, s->note[0] ? " note=" : "",
		s->note);
}

static void egpu_td_step_event(const struct egpu_td_step *s)
{
	struct egpu_event ev = {
		.type = EGPU_EVENT_TEARDOWN_STEP,
		.tb = s->tb,
		.bdf = s->action == EGPU_STEP_UNBIND ||
		       s->action == EGPU_STEP_REMOVE ? s->target : NULL,
		.has_error = true,
		.error = s->err,
		.has_duration = true,
		.duration_us = s->duration_us,
	};

	egpu_event_emit(&ev, "%s %s: %s%s%s", egpu_td_action_name(s->action),
			s->target, egpu_td_result_name(s->result),
			s->note[0] ? ": " : "", s->note);
}

int egpu_td_plan_run(struct egpu_td_plan *plan, u32 budget_ms,
		     const char *reason)
{
	struct egpu_td_plan_priv *p =
		container_of(plan, struct egpu_td_plan_priv, plan);
	unsigned int i, cnt[EGPU_TD_NOT_RUN + 1] = {};
	ktime_t start = ktime_get();
	int result = 0, first_err = 0;
	u64 total_us;

	pr_info("teardown begin: reason=%s steps=%u budget_ms=%u\n", reason,
		plan->n, budget_ms);
	for (i = 0; i < plan->n; i++) {
		struct egpu_td_step *s = &plan->steps[i];
		s64 used = ktime_ms_delta(ktime_get(), start);
		u32 remaining = used >= budget_ms ? 0 : budget_ms - (u32)used;
		ktime_t t0 = ktime_get();
		bool abandoned;
		int ret;

		s->bound_ms = egpu_td_step_bound_ms(budget_ms, remaining, i,
						    plan->n);
		if (s->action == EGPU_STEP_SKIP) {
			s->result = EGPU_TD_SKIPPED;
		} else if (!s->bound_ms) {
			s->result = EGPU_TD_NOT_RUN;
			strscpy(s->note, "budget spent", sizeof(s->note));
			result = -ETIMEDOUT;
		} else if (s->dep >= 0 &&
			   plan->steps[s->dep].result == EGPU_TD_ABANDONED) {
			s->result = EGPU_TD_SKIPPED;
			snprintf(s->note, sizeof(s->note), "%s of %s abandoned",
				 egpu_td_action_name(plan->steps[s->dep].action),
				 s->target);
		} else if (!p->ops || !p->ops->run) {
			s->result = EGPU_TD_FAILED;
			s->err = -EOPNOTSUPP;
		} else {
			ret = egpu_td_run_step(plan, i, s->bound_ms, &abandoned);
			s->err = ret;
			if (abandoned) {
				s->result = EGPU_TD_ABANDONED;
				result = -ETIMEDOUT;
			} else {
				s->result = ret ? EGPU_TD_FAILED : EGPU_TD_OK;
			}
			if (ret && !first_err)
				first_err = ret;
		}
		s->duration_us = ktime_us_delta(ktime_get(), t0);
		cnt[s->result]++;
		egpu_td_log_step(plan, i);
		egpu_td_step_event(s);
	}
	if (!result)
		result = first_err;
	total_us = ktime_us_delta(ktime_get(), start);
	pr_info("teardown end: reason=%s result=%d ms=%llu.%03llu budget_ms=%u ok=%u failed=%u abandoned=%u skipped=%u not_run=%u\n",
		reason, result, total_us / 1000, total_us % 1000, budget_ms,
		cnt[EGPU_TD_OK], cnt[EGPU_TD_FAILED], cnt[EGPU_TD_ABANDONED],
		cnt[EGPU_TD_SKIPPED], cnt[EGPU_TD_NOT_RUN]);
	{
		struct egpu_event ev = {
			.type = EGPU_EVENT_TEARDOWN_DONE,
			.has_error = true,
			.error = result,
			.has_duration = true,
			.duration_us = total_us,
		};

		egpu_event_emit(&ev,
				"%s: %u steps, %u ok, %u failed, %u abandoned, %u skipped, %u not run",
				reason, plan->n, cnt[EGPU_TD_OK],
				cnt[EGPU_TD_FAILED], cnt[EGPU_TD_ABANDONED],
				cnt[EGPU_TD_SKIPPED], cnt[EGPU_TD_NOT_RUN]);
	}
	return result;
}

/* ---- the real steps ----------------------------------------------------- */

static int egpu_td_do_unbind(struct pci_dev *pdev)
{
	/* driver_override stays "vfio-pci": no other driver takes it now */
	device_release_driver(&pdev->dev);
	return 0;
}

/*
 * Remove under the rescan lock, like sysfs "remove"; a function already
 * removed (unplugged meanwhile: its removal ran under the same lock) is
 * left alone.
 */
static int egpu_td_do_remove(struct pci_dev *pdev)
{
	pci_lock_rescan_remove();
	if (device_is_registered(&pdev->dev))
		pci_stop_and_remove_bus_device(pdev);
	pci_unlock_rescan_remove();
	return 0;
}

static int egpu_td_do_deauthorize(struct egpu_tb_dev *d)
{
	int ret = egpu_tb_lock_timeout(EGPU_TB_AUTH_TIMEOUT_MS);
	bool done = false;

	if (ret)
		return ret;
	if (d->gone || !d->dev) {
		ret = 0;	/* unplugged meanwhile: nothing left to do */
	} else {
		egpu_tb_pci_deactivate(d);
		ret = egpu_tb_write_authorized(d, 0, EGPU_TB_AUTH_TIMEOUT_MS);
		if (!ret) {
			egpu_tb_dev_deauthorized(d);
			done = true;
		} else if (ret == -ENODEV) {
			ret = 0;	/* unplugged during the write */
		}
	}
	egpu_tb_unlock();
	if (done) {
		struct egpu_event ev = {
			.type = EGPU_EVENT_TB_DEAUTHORIZED,
			.tb = d->name,
			.unique_id = d->unique_id[0] ? d->unique_id : NULL,
		};

		egpu_event_emit(&ev, "de-authorized by the teardown");
	}
	return ret;
}

static int egpu_td_real_run(const struct egpu_td_step *step)
{
	switch (step->action) {
	case EGPU_STEP_UNBIND:
		return step->pdev ? egpu_td_do_unbind(step->pdev) : -ENODEV;
	case EGPU_STEP_REMOVE:
		return step->pdev ? egpu_td_do_remove(step->pdev) : -ENODEV;
	case EGPU_STEP_DEAUTHORIZE:
		return step->tbdev ? egpu_td_do_deauthorize(step->tbdev) : -ENODEV;
	default:
		return -EINVAL;
	}
}

/* Only owners hold references (see egpu_td_plan_build()). */
static void egpu_td_real_put(struct egpu_td_step *step)
{
	if (step->action != EGPU_STEP_REMOVE && step->pdev)
		pci_dev_put(step->pdev);
	if (step->tbdev)
		egpu_tb_dev_put(step->tbdev);
	step->pdev = NULL;
	step->tbdev = NULL;
}

static const struct egpu_td_ops egpu_td_real_ops = {
	.run = egpu_td_real_run,
	.put = egpu_td_real_put,
};

/* ---- plans of the live devices --------------------------------------------- */

/* Fill @t from record @d. egpu_tb_lock held. */
static void egpu_td_fill_dev(struct egpu_td_dev *t, struct egpu_tb_dev *d)
{
	struct egpu_tb_domain_info info;
	int auth = egpu_tb_read_authorized(d);

	t->tbdev = egpu_tb_dev_get(d);
	strscpy(t->name, d->name, sizeof(t->name));
	t->domain = d->domain;
	t->depth = d->depth;
	t->authorized = (auth < 0 ? d->authorized : auth) != 0;
	t->deauthorization = !egpu_tb_domain_info(d, &info) &&
			     info.deauthorization == 1;
	t->nfn = egpu_tb_pci_snapshot(d, t->fn, EGPU_TD_FN_MAX);
}

struct egpu_td_plan *egpu_td_plan_now(const char *name)
{
	struct egpu_tb_dev **snap = NULL, *root = NULL;
	struct egpu_td_plan *plan;
	struct egpu_td_dev *devs;
	unsigned int n = 0, i, k = 0;
	int ret;

	ret = egpu_tb_snapshot(&snap, &n, EGPU_TD_LOCK_MS);
	if (ret)
		return ERR_PTR(ret);
	for (i = 0; name && i < n; i++)
		if (!strcmp(snap[i]->name, name))
			root = snap[i];
	if (name && !root) {
		egpu_tb_snapshot_put(snap, n);
		return ERR_PTR(-ENODEV);
	}
	devs = kcalloc(max(n, 1U), sizeof(*devs), GFP_KERNEL);
	if (!devs) {
		egpu_tb_snapshot_put(snap, n);
		return ERR_PTR(-ENOMEM);
	}
	ret = egpu_tb_lock_timeout(EGPU_TD_LOCK_MS);
	if (ret) {
		kfree(devs);
		egpu_tb_snapshot_put(snap, n);
		return ERR_PTR(ret);
	}
	for (i = 0; i < n; i++) {
		struct egpu_tb_dev *d = snap[i];

		if (d->gone || d->host)
			continue;
		if (root) {
			/* the subtree: the device, and what is authorized below */
			if (d != root && !(egpu_tb_dev_is_below(d, root) &&
					   (d->authorized || d->pci)))
				continue;
		} else if (!d->by_egpu) {
			continue;
		}
		egpu_td_fill_dev(&devs[k++], d);
	}
	egpu_tb_unlock();
	egpu_tb_snapshot_put(snap, n);
	plan = egpu_td_plan_build(devs, k, &egpu_td_real_ops);
	kfree(devs);
	return plan ? plan : ERR_PTR(-ENOMEM);
}

static int egpu_td_run(const char *name, const char *reason, bool shutdown,
		       struct netlink_ext_ack *extack)
{
	u32 budget = egpu_config_teardown_budget_ms();
	struct egpu_td_plan *plan;
	ktime_t t0 = ktime_get();
	s64 used;
	int ret;

	mutex_lock(&egpu_td_lock);
	if (shutdown) {
		/*
		 * Nothing is authorized any more on the way down. Never
		 * resumed. (A run on request does not pause: what it
		 * de-authorizes is marked so and not authorized again, and
		 * resuming would wait for egpu_tb_lock, which an abandoned
		 * de-authorization may hold for long.)
		 */
		ret = egpu_tb_policy_pause(min_t(u32, budget / 5, 1000));
		if (ret)
			pr_warn("teardown: policy worker busy (%d); tearing down anyway\n",
				ret);
	}
	plan = egpu_td_plan_now(name);
	if (IS_ERR(plan)) {
		ret = PTR_ERR(plan);
		pr_err("teardown: reason=%s: no plan: %d\n", reason, ret);
		goto out;
	}
	if (name && plan->n &&
	    plan->steps[plan->n - 1].action == EGPU_STEP_SKIP &&
	    !strcmp(plan->steps[plan->n - 1].tb, name) &&
	    strstr(plan->steps[plan->n - 1].note, "deauthorization=0")) {
		NL_SET_ERR_MSG(extack,
			       "egpu_gate: the device's domain does not support de-authorization (deauthorization=0)");
		egpu_td_plan_put(plan);
		ret = -EOPNOTSUPP;
		goto out;
	}
	used = ktime_ms_delta(ktime_get(), t0);
	ret = egpu_td_plan_run(plan, used >= budget ? 1 : budget - (u32)used,
			       reason);
	egpu_td_plan_put(plan);
out:
	mutex_unlock(&egpu_td_lock);
	return ret;
}

int egpu_td_run_now(const char *name, const char *reason,
		    struct netlink_ext_ack *extack)
{
	return egpu_td_run(name, reason, false, extack);
}

/* ---- reboot notifier -------------------------------------------------------- */

/*
 * Runs from kernel_restart_prepare() / kernel_shutdown_prepare(), before
 * device_shutdown() and whatever systemd did or did not do: the last
 * moment the devices and their drivers are all still up. The policy stays
 * paused afterwards: nothing is authorized again on the way down.
 */
static int egpu_td_reboot(struct notifier_block *nb, unsigned long action,
			  void *data)
{
	const char *reason = action == SYS_RESTART ? "reboot" :
			     action == SYS_POWER_OFF ? "poweroff" : "halt";

	egpu_td_run(NULL, reason, true, NULL);
	return NOTIFY_DONE;
}

static struct notifier_block egpu_td_reboot_nb = {
	.notifier_call = egpu_td_reboot,
};

/* ---- init / exit ----------------------------------------------------------- */

int egpu_td_init(void)
{
	int ret;

	egpu_td_wq = alloc_workqueue("egpu_teardown", WQ_UNBOUND, 0);
	if (!egpu_td_wq)
		return -ENOMEM;
	ret = register_reboot_notifier(&egpu_td_reboot_nb);
	if (ret) {
		pr_err("cannot register the reboot notifier: %d\n", ret);
		destroy_workqueue(egpu_td_wq);
	}
	return ret;
}

void egpu_td_exit(void)
{
	unregister_reboot_notifier(&egpu_td_reboot_nb);
	/* a teardown in progress (netlink) ends within its budget */
	mutex_lock(&egpu_td_lock);
	mutex_unlock(&egpu_td_lock);
	/* waits for abandoned step workers (they hold plan references) */
	destroy_workqueue(egpu_td_wq);
}

#ifdef EGPU_KUNIT
#include "tb_teardown_test.c"
#endif
