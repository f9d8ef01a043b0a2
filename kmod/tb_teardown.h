/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tb_teardown.h - the ordered, time-bounded teardown of the Thunderbolt
 * devices egpu-gate authorized (issue 4, requirement 5).
 *
 * A teardown is a plan (struct egpu_td_plan): a list of steps built from a
 * snapshot of the devices, then run one step at a time, each in a worker
 * of its own, the caller waiting for it with a timeout. Order:
 *
 *   devices deepest first (depth = route depth in the daisy chain; equal
 *   depths keep the snapshot's order, parents before children, reversed);
 *   for each device
 *     UNBIND every PCI function found below it, highest function number
 *            first, function 0 last (an audio or USB function goes before
 *            the GPU function its driver may still talk to);
 *     REMOVE the same functions in the same order
 *            (pci_stop_and_remove_bus_device() under the rescan lock);
 *     DEAUTHORIZE the device (write 0 to its authorized attribute) when
 *            its domain has deauthorization=1; otherwise a SKIP step whose
 *            note says why (the PCI removal is all that happens).
 *
 * Bounds: the whole run has the budget B = teardown_budget_ms (config.h).
 * Step i of n gets  min(remaining, max(remaining - reserve * (n - i), reserve))
 * milliseconds (the last step: all that remains), where reserve =
 * clamp(B / (2 * n), 10, 100) ms is kept for each later step, plus one
 * for the overshoot of a timed-out wait (timer rounding, console output,
 * which count against the budget), so one hanging step cannot starve the
 * steps after it; when nothing remains the rest are "not run". A step
 * that does not finish within its bound is abandoned: the caller stops
 * waiting, logs it and goes on. The REMOVE of a function whose UNBIND was
 * abandoned is skipped (it would wait for the same device lock).
 *
 * At shutdown (reboot notifier) the policy worker is paused first
 * (egpu_tb_policy_pause(), bounded by min(B / 5, 1 s), counted in the
 * budget) and never resumed: nothing is authorized on the way down.
 *
 * Abandoned steps: the worker keeps running in the teardown workqueue
 * (WQ_UNBOUND, so later steps get other workers) until the blocking call
 * returns. It holds a reference on the plan, so the plan, its pci_dev and
 * Thunderbolt device references stay valid until it returns; the last
 * reference frees them. At shutdown the reboot then proceeds with the
 * worker still blocked (device_shutdown() runs next; the machine goes
 * down). At module unload, egpu_td_exit() destroys the workqueue, which
 * waits for such a worker to return.
 *
 * Console log (stable; tests and the demo parse it):
 *   egpu_gate: teardown begin: reason=REASON steps=N budget_ms=B
 *   egpu_gate: teardown step I/N ACTION TARGET tb=NAME: RESULT ms=D.DDD
 *              [bound_ms=M] [err=E] [note=TEXT]
 *   egpu_gate: teardown end: reason=REASON result=E ms=D.DDD budget_ms=B
 *              ok=K failed=F abandoned=A skipped=S not_run=R
 * ACTION: unbind, remove, deauthorize, skip; RESULT: ok, failed,
 * abandoned, skipped, not-run; note= is always last (free text).
 */
#ifndef EGPU_TB_TEARDOWN_H
#define EGPU_TB_TEARDOWN_H

#include <linux/kref.h>
#include <linux/types.h>

#include "uapi/egpu_gate.h"

struct pci_dev;
struct egpu_tb_dev;
struct netlink_ext_ack;

#define EGPU_TD_NAME_MAX 32	/* BDF or Thunderbolt device name */
#define EGPU_TD_NOTE_MAX 96
#define EGPU_TD_FN_MAX 8	/* PCI functions per device in a plan */

enum egpu_td_result {
	EGPU_TD_PENDING,
	EGPU_TD_OK,
	EGPU_TD_FAILED,
	EGPU_TD_ABANDONED,
	EGPU_TD_SKIPPED,
	EGPU_TD_NOT_RUN,
};

struct egpu_td_step {
	enum egpu_step_action action;
	char target[EGPU_TD_NAME_MAX];	/* BDF or Thunderbolt name */
	char tb[EGPU_TD_NAME_MAX];	/* the device the step belongs to */
	char note[EGPU_TD_NOTE_MAX];
	struct pci_dev *pdev;		/* UNBIND, REMOVE: referenced */
	struct egpu_tb_dev *tbdev;	/* every step: referenced, may be NULL */
	int dep;			/* index of the step this one needs, -1 */
	/* results */
	enum egpu_td_result result;
	int err;			/* 0 or -errno */
	u64 duration_us;
	u32 bound_ms;
};

/*
 * Planner input: one Thunderbolt device with the PCI functions below it.
 * References in it (pdev, tbdev) are taken over by the plan.
 */
struct egpu_td_fn {
	struct pci_dev *pdev;		/* referenced, may be NULL (tests) */
	char bdf[EGPU_TD_NAME_MAX];
	u8 fn;				/* PCI function number */
	char driver[EGPU_TD_NAME_MAX];	/* bound driver, "" none */
};

struct egpu_td_dev {
	struct egpu_tb_dev *tbdev;	/* referenced, may be NULL (tests) */
	char name[EGPU_TD_NAME_MAX];
	u32 domain;
	unsigned int depth;
	bool authorized;		/* authorized != 0 now */
	bool deauthorization;		/* domain's deauthorization attribute */
	unsigned int nfn;
	struct egpu_td_fn fn[EGPU_TD_FN_MAX];
};

struct egpu_td_plan {
	struct kref ref;
	unsigned int n;
	struct egpu_td_step *steps;
};

/*
 * Executes one step (UNBIND, REMOVE or DEAUTHORIZE; never SKIP) and
 * returns 0 or -errno. May block; it runs in a worker. @put releases a
 * step's references when the plan is freed. Tests substitute fakes.
 */
struct egpu_td_ops {
	int (*run)(const struct egpu_td_step *step);
	void (*put)(struct egpu_td_step *step);
};

/* Build a plan from @n devices (any order; the planner sorts). */
struct egpu_td_plan *egpu_td_plan_build(struct egpu_td_dev *devs,
					unsigned int n,
					const struct egpu_td_ops *ops);
void egpu_td_plan_put(struct egpu_td_plan *plan);

/* Bound of step @i of @n with @remaining_ms left of @budget_ms. */
u32 egpu_td_step_bound_ms(u32 budget_ms, u32 remaining_ms, unsigned int i,
			  unsigned int n);

/*
 * Run @plan within @budget_ms (see above), logging every step. Returns 0,
 * -ETIMEDOUT when a step was abandoned or the budget ran out before the
 * last step, else the first step error.
 */
int egpu_td_plan_run(struct egpu_td_plan *plan, u32 budget_ms,
		     const char *reason);

/* Name of an action in the log ("unbind", ...). */
const char *egpu_td_action_name(enum egpu_step_action action);

/*
 * The plan the shutdown teardown would run now (every device authorized
 * or adopted by egpu-gate), or the teardown of @name's subtree (@name
 * non-NULL: every authorized device at or below it). NULL on -ENOMEM,
 * ERR_PTR(-ENODEV) for an unknown @name. Put with egpu_td_plan_put().
 */
struct egpu_td_plan *egpu_td_plan_now(const char *name);

/*
 * Build and run the shutdown teardown (@name NULL) or the subtree
 * teardown of @name, within the configured budget, serialised with every
 * other teardown. Returns as egpu_td_plan_run(), or -ENODEV; for @name,
 * -EOPNOTSUPP (nothing done, @extack says why) when its domain has
 * deauthorization=0. Every wait in it is bounded; a step abandoned may
 * keep egpu_tb_lock (a hanging de-authorization) after this returns.
 */
int egpu_td_run_now(const char *name, const char *reason,
		    struct netlink_ext_ack *extack);

int egpu_td_init(void);
void egpu_td_exit(void);

#endif /* EGPU_TB_TEARDOWN_H */
