// SPDX-License-Identifier: GPL-2.0
/*
 * tb_teardown_test.c - KUnit suite for tb_teardown.c: plan order (depth,
 * functions before their device, non-zero functions first, notes when a
 * domain has deauthorization=0) and the budget logic with fake steps (a
 * step that overruns is abandoned, later steps are still bounded, the
 * abandoned worker keeps the plan until it returns). #included at the end
 * of tb_teardown.c when built with EGPU_KUNIT=1. No real device is used.
 */
#include <kunit/test.h>
#include <linux/delay.h>

/* ---- fakes ---------------------------------------------------------------- */

/*
 * Behaviour by target name: "hang*" blocks until egpu_td_test_release is
 * completed (or 5 s pass), "fail*" returns -EIO, "slow*" takes 30 ms,
 * anything else succeeds at once. Every run is counted.
 */
static DECLARE_COMPLETION(egpu_td_test_release);
static atomic_t egpu_td_test_runs;
static atomic_t egpu_td_test_puts;
static atomic_t egpu_td_test_hang_done;

static int egpu_td_test_run(const struct egpu_td_step *step)
{
	atomic_inc(&egpu_td_test_runs);
	if (!strncmp(step->target, "hang", 4)) {
		wait_for_completion_timeout(&egpu_td_test_release, 5 * HZ);
		atomic_inc(&egpu_td_test_hang_done);
		return 0;
	}
	if (!strncmp(step->target, "fail", 4))
		return -EIO;
	if (!strncmp(step->target, "slow", 4))
		msleep(30);
	return 0;
}

/* Fake references: an owned non-NULL pointer counts one put. */
static void egpu_td_test_put(struct egpu_td_step *step)
{
	if (step->pdev && step->action != EGPU_STEP_REMOVE)
		atomic_inc(&egpu_td_test_puts);
	if (step->tbdev)
		atomic_inc(&egpu_td_test_puts);
}

static const struct egpu_td_ops egpu_td_test_ops = {
	.run = egpu_td_test_run,
	.put = egpu_td_test_put,
};

#define FAKE_REF(n) ((void *)(unsigned long)(0x1000 + (n)))

static void egpu_td_test_dev(struct egpu_td_dev *d, const char *name,
			     unsigned int depth, bool deauth)
{
	memset(d, 0, sizeof(*d));
	strscpy(d->name, name, sizeof(d->name));
	d->depth = depth;
	d->authorized = true;
	d->deauthorization = deauth;
	d->tbdev = FAKE_REF(depth);
}

static void egpu_td_test_fn(struct egpu_td_dev *d, const char *bdf, u8 fn)
{
	struct egpu_td_fn *f = &d->fn[d->nfn++];

	strscpy(f->bdf, bdf, sizeof(f->bdf));
	f->fn = fn;
	f->pdev = FAKE_REF(100 + fn);
	strscpy(f->driver, "vfio-pci", sizeof(f->driver));
}

static void egpu_td_test_expect(struct kunit *test, struct egpu_td_plan *plan,
				unsigned int i, enum egpu_step_action action,
				const char *target, const char *tb)
{
	KUNIT_ASSERT_LT(test, i, plan->n);
	KUNIT_EXPECT_EQ_MSG(test, (int)action, (int)plan->steps[i].action,
			    "step %u", i);
	KUNIT_EXPECT_STREQ_MSG(test, target, plan->steps[i].target, "step %u", i);
	KUNIT_EXPECT_STREQ_MSG(test, tb, plan->steps[i].tb, "step %u", i);
}

static void egpu_td_test_reset_counters(void)
{
	atomic_set(&egpu_td_test_runs, 0);
	atomic_set(&egpu_td_test_puts, 0);
	atomic_set(&egpu_td_test_hang_done, 0);
	reinit_completion(&egpu_td_test_release);
}

/* ---- plan order ------------------------------------------------------------ */

/* A chain 0-1 -> 0-301 -> 0-30301, snapshot parents first. */
static void egpu_td_test_order(struct kunit *test)
{
	struct egpu_td_dev *devs = kunit_kcalloc(test, 3, sizeof(*devs), GFP_KERNEL);
	struct egpu_td_plan *plan;

	KUNIT_ASSERT_NOT_NULL(test, devs);
	egpu_td_test_reset_counters();
	egpu_td_test_dev(&devs[0], "0-1", 1, true);
	egpu_td_test_fn(&devs[0], "0000:01:00.0", 0);
	egpu_td_test_fn(&devs[0], "0000:01:00.1", 1);
	egpu_td_test_dev(&devs[1], "0-301", 2, true);
	egpu_td_test_dev(&devs[2], "0-30301", 3, true);
	egpu_td_test_fn(&devs[2], "0000:05:00.0", 0);
	egpu_td_test_fn(&devs[2], "0000:05:00.3", 3);
	egpu_td_test_fn(&devs[2], "0000:05:00.1", 1);

	plan = egpu_td_plan_build(devs, 3, &egpu_td_test_ops);
	KUNIT_ASSERT_NOT_NULL(test, plan);
	KUNIT_ASSERT_EQ(test, 3 * 2 + 1 + 1 + 2 * 2 + 1, plan->n);
	/* deepest device first, its functions high to low, unbind then remove */
	egpu_td_test_expect(test, plan, 0, EGPU_STEP_UNBIND, "0000:05:00.3", "0-30301");
	egpu_td_test_expect(test, plan, 1, EGPU_STEP_UNBIND, "0000:05:00.1", "0-30301");
	egpu_td_test_expect(test, plan, 2, EGPU_STEP_UNBIND, "0000:05:00.0", "0-30301");
	egpu_td_test_expect(test, plan, 3, EGPU_STEP_REMOVE, "0000:05:00.3", "0-30301");
	egpu_td_test_expect(test, plan, 4, EGPU_STEP_REMOVE, "0000:05:00.1", "0-30301");
	egpu_td_test_expect(test, plan, 5, EGPU_STEP_REMOVE, "0000:05:00.0", "0-30301");
	egpu_td_test_expect(test, plan, 6, EGPU_STEP_DEAUTHORIZE, "0-30301", "0-30301");
	egpu_td_test_expect(test, plan, 7, EGPU_STEP_DEAUTHORIZE, "0-301", "0-301");
	egpu_td_test_expect(test, plan, 8, EGPU_STEP_UNBIND, "0000:01:00.1", "0-1");
	egpu_td_test_expect(test, plan, 9, EGPU_STEP_UNBIND, "0000:01:00.0", "0-1");
	egpu_td_test_expect(test, plan, 10, EGPU_STEP_REMOVE, "0000:01:00.1", "0-1");
	egpu_td_test_expect(test, plan, 11, EGPU_STEP_REMOVE, "0000:01:00.0", "0-1");
	egpu_td_test_expect(test, plan, 12, EGPU_STEP_DEAUTHORIZE, "0-1", "0-1");
	/* a REMOVE borrows the pci_dev of its UNBIND and depends on it */
	KUNIT_EXPECT_EQ(test, 0, plan->steps[3].dep);
	KUNIT_EXPECT_PTR_EQ(test, plan->steps[0].pdev, plan->steps[3].pdev);
	KUNIT_EXPECT_PTR_EQ(test, (void *)FAKE_REF(103), (void *)plan->steps[0].pdev);
	KUNIT_EXPECT_STREQ(test, "driver vfio-pci", plan->steps[0].note);
	KUNIT_EXPECT_STREQ(test, "domain0 deauthorization=1", plan->steps[12].note);
	egpu_td_plan_put(plan);
	/* every reference put exactly once: 5 functions + 3 devices */
	KUNIT_EXPECT_EQ(test, 8, atomic_read(&egpu_td_test_puts));
	KUNIT_EXPECT_EQ(test, 0, atomic_read(&egpu_td_test_runs));
}

/* Two devices, equal depth: the later in the snapshot goes first. */
static void egpu_td_test_siblings(struct kunit *test)
{
	struct egpu_td_dev *devs = kunit_kcalloc(test, 2, sizeof(*devs), GFP_KERNEL);
	struct egpu_td_plan *plan;

	KUNIT_ASSERT_NOT_NULL(test, devs);
	egpu_td_test_dev(&devs[0], "0-1", 1, true);
	egpu_td_test_dev(&devs[1], "0-3", 1, true);
	plan = egpu_td_plan_build(devs, 2, &egpu_td_test_ops);
	KUNIT_ASSERT_NOT_NULL(test, plan);
	KUNIT_ASSERT_EQ(test, 2, plan->n);
	egpu_td_test_expect(test, plan, 0, EGPU_STEP_DEAUTHORIZE, "0-3", "0-3");
	egpu_td_test_expect(test, plan, 1, EGPU_STEP_DEAUTHORIZE, "0-1", "0-1");
	egpu_td_plan_put(plan);
}

/* deauthorization=0: PCI removal, then a SKIP whose note says why. */
static void egpu_td_test_no_deauth(struct kunit *test)
{
	struct egpu_td_dev *devs = kunit_kcalloc(test, 2, sizeof(*devs), GFP_KERNEL);
	struct egpu_td_plan *plan;

	KUNIT_ASSERT_NOT_NULL(test, devs);
	egpu_td_test_dev(&devs[0], "1-1", 1, false);
	devs[0].domain = 1;
	egpu_td_test_fn(&devs[0], "0000:02:00.0", 0);
	egpu_td_test_dev(&devs[1], "0-1", 1, true);
	devs[1].authorized = false;
	plan = egpu_td_plan_build(devs, 2, &egpu_td_test_ops);
	KUNIT_ASSERT_NOT_NULL(test, plan);
	KUNIT_ASSERT_EQ(test, 4, plan->n);
	egpu_td_test_expect(test, plan, 0, EGPU_STEP_SKIP, "0-1", "0-1");
	KUNIT_EXPECT_STREQ(test, "not authorized: nothing to de-authorize",
			   plan->steps[0].note);
	egpu_td_test_expect(test, plan, 1, EGPU_STEP_UNBIND, "0000:02:00.0", "1-1");
	egpu_td_test_expect(test, plan, 2, EGPU_STEP_REMOVE, "0000:02:00.0", "1-1");
	egpu_td_test_expect(test, plan, 3, EGPU_STEP_SKIP, "1-1", "1-1");
	KUNIT_EXPECT_STREQ(test, "domain1 deauthorization=0: PCI removal only",
			   plan->steps[3].note);
	KUNIT_EXPECT_EQ(test, 0, egpu_td_plan_run(plan, 1000, "kunit"));
	KUNIT_EXPECT_EQ(test, (int)EGPU_TD_SKIPPED, (int)plan->steps[3].result);
	KUNIT_EXPECT_EQ(test, (int)EGPU_TD_OK, (int)plan->steps[2].result);
	egpu_td_plan_put(plan);
}

static void egpu_td_test_empty(struct kunit *test)
{
	struct egpu_td_plan *plan = egpu_td_plan_build(NULL, 0, &egpu_td_test_ops);

	KUNIT_ASSERT_NOT_NULL(test, plan);
	KUNIT_EXPECT_EQ(test, 0U, plan->n);
	KUNIT_EXPECT_EQ(test, 0, egpu_td_plan_run(plan, 100, "kunit"));
	egpu_td_plan_put(plan);
}

/* ---- budget ---------------------------------------------------------------- */

static void egpu_td_test_bound(struct kunit *test)
{
	/* 5000 ms, 5 steps: reserve 100 ms for each later step, plus one */
	KUNIT_EXPECT_EQ(test, 4500U, egpu_td_step_bound_ms(5000, 5000, 0, 5));
	KUNIT_EXPECT_EQ(test, 4800U, egpu_td_step_bound_ms(5000, 5000, 3, 5));
	KUNIT_EXPECT_EQ(test, 5000U, egpu_td_step_bound_ms(5000, 5000, 4, 5));
	/* little left: at least the reserve, never more than what remains */
	KUNIT_EXPECT_EQ(test, 100U, egpu_td_step_bound_ms(5000, 150, 0, 5));
	KUNIT_EXPECT_EQ(test, 50U, egpu_td_step_bound_ms(5000, 50, 0, 5));
	KUNIT_EXPECT_EQ(test, 0U, egpu_td_step_bound_ms(5000, 0, 0, 5));
	/* small budget, many steps: reserve = B / 2n, at least 10 ms */
	KUNIT_EXPECT_EQ(test, 10U, egpu_td_step_bound_ms(100, 100, 0, 20));
	KUNIT_EXPECT_EQ(test, 100U, egpu_td_step_bound_ms(100, 100, 0, 1));
	/* the last of 20 steps gets what remains */
	KUNIT_EXPECT_EQ(test, 37U, egpu_td_step_bound_ms(100, 37, 19, 20));
}

/*
 * One device whose de-authorization hangs, behind a slow and a failing
 * step, followed by another device: the hanging step is abandoned within
 * its bound, the next device still runs, the run reports -ETIMEDOUT, the
 * whole run stays within the budget, and the abandoned worker keeps the
 * plan alive until it returns.
 */
static void egpu_td_test_hang(struct kunit *test)
{
	struct egpu_td_dev *devs = kunit_kcalloc(test, 2, sizeof(*devs), GFP_KERNEL);
	struct egpu_td_plan *plan;
	ktime_t t0;
	s64 ms;
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, devs);
	KUNIT_ASSERT_NOT_NULL(test, egpu_td_wq);
	egpu_td_test_reset_counters();
	egpu_td_test_dev(&devs[0], "0-1", 1, true);		/* last */
	egpu_td_test_dev(&devs[1], "hang-dev", 2, true);	/* first */
	egpu_td_test_fn(&devs[1], "slow-fn1", 1);
	egpu_td_test_fn(&devs[1], "fail-fn0", 0);
	plan = egpu_td_plan_build(devs, 2, &egpu_td_test_ops);
	KUNIT_ASSERT_NOT_NULL(test, plan);
	KUNIT_ASSERT_EQ(test, 6, plan->n);
	egpu_td_test_expect(test, plan, 4, EGPU_STEP_DEAUTHORIZE, "hang-dev", "hang-dev");

	t0 = ktime_get();
	/*
	 * 1000 ms for 6 steps: reserve = 83 ms for each later step (plus
	 * one for the overshoot of a timed-out wait). The
	 * log lines (a serial console under TCG takes ms per line) and timer
	 * rounding count against the budget: the last step keeps most of
	 * its reserve.
	 */
	ret = egpu_td_plan_run(plan, 1000, "kunit");
	ms = ktime_ms_delta(ktime_get(), t0);
	KUNIT_EXPECT_EQ(test, -ETIMEDOUT, ret);
	/* within the budget, plus scheduling slack for a loaded debug kernel */
	KUNIT_EXPECT_LT(test, ms, 1000 + 500);
	KUNIT_EXPECT_EQ(test, (int)EGPU_TD_OK, (int)plan->steps[0].result);
	KUNIT_EXPECT_EQ(test, (int)EGPU_TD_FAILED, (int)plan->steps[1].result);
	KUNIT_EXPECT_EQ(test, -EIO, plan->steps[1].err);
	KUNIT_EXPECT_EQ(test, (int)EGPU_TD_ABANDONED, (int)plan->steps[4].result);
	/* the later step got its reserve: it ran */
	KUNIT_EXPECT_EQ(test, (int)EGPU_TD_OK, (int)plan->steps[5].result);
	KUNIT_EXPECT_GE(test, plan->steps[5].bound_ms, 10U);
	KUNIT_EXPECT_EQ(test, 0, atomic_read(&egpu_td_test_hang_done));

	/* the abandoned worker holds the plan: nothing is put yet */
	egpu_td_plan_put(plan);
	KUNIT_EXPECT_EQ(test, 0, atomic_read(&egpu_td_test_puts));
	complete_all(&egpu_td_test_release);
	flush_workqueue(egpu_td_wq);
	KUNIT_EXPECT_EQ(test, 1, atomic_read(&egpu_td_test_hang_done));
	KUNIT_EXPECT_EQ(test, 4, atomic_read(&egpu_td_test_puts));
}

/* An abandoned UNBIND: its REMOVE is skipped, not run. */
static void egpu_td_test_dep_skip(struct kunit *test)
{
	struct egpu_td_dev *devs = kunit_kcalloc(test, 1, sizeof(*devs), GFP_KERNEL);
	struct egpu_td_plan *plan;

	KUNIT_ASSERT_NOT_NULL(test, devs);
	egpu_td_test_reset_counters();
	egpu_td_test_dev(&devs[0], "0-1", 1, true);
	egpu_td_test_fn(&devs[0], "hang-fn0", 0);
	plan = egpu_td_plan_build(devs, 1, &egpu_td_test_ops);
	KUNIT_ASSERT_NOT_NULL(test, plan);
	KUNIT_ASSERT_EQ(test, 3, plan->n);
	/* 1000 ms: the hang gets 700, the deauthorize keeps 300 (TCG slack) */
	KUNIT_EXPECT_EQ(test, -ETIMEDOUT, egpu_td_plan_run(plan, 1000, "kunit"));
	KUNIT_EXPECT_EQ(test, (int)EGPU_TD_ABANDONED, (int)plan->steps[0].result);
	KUNIT_EXPECT_EQ(test, (int)EGPU_TD_SKIPPED, (int)plan->steps[1].result);
	KUNIT_EXPECT_STREQ(test, "unbind of hang-fn0 abandoned", plan->steps[1].note);
	KUNIT_EXPECT_EQ(test, (int)EGPU_TD_OK, (int)plan->steps[2].result);
	KUNIT_EXPECT_EQ(test, 2, atomic_read(&egpu_td_test_runs));
	egpu_td_plan_put(plan);
	complete_all(&egpu_td_test_release);
	flush_workqueue(egpu_td_wq);
}

/*
 * Every step overruns: each is abandoned after its bound (or not run once
 * nothing remains), every step ends with a verdict, and the whole run
 * stays within the budget (plus timer rounding and scheduling slack).
 */
static void egpu_td_test_all_hang(struct kunit *test)
{
	struct egpu_td_dev *devs = kunit_kcalloc(test, 4, sizeof(*devs), GFP_KERNEL);
	struct egpu_td_plan *plan;
	unsigned int i;
	ktime_t t0;

	KUNIT_ASSERT_NOT_NULL(test, devs);
	egpu_td_test_reset_counters();
	for (i = 0; i < 4; i++)
		egpu_td_test_dev(&devs[i], "hang", 4 - i, true);
	plan = egpu_td_plan_build(devs, 4, &egpu_td_test_ops);
	KUNIT_ASSERT_NOT_NULL(test, plan);
	t0 = ktime_get();
	KUNIT_EXPECT_EQ(test, -ETIMEDOUT, egpu_td_plan_run(plan, 120, "kunit"));
	/* the budget plus slack: the debug kernel under TCG on a loaded host */
	KUNIT_EXPECT_LT(test, ktime_ms_delta(ktime_get(), t0), 120 + 500);
	/*
	 * reserve = clamp(120 / 8, 10, 100) = 15 ms: the first gets
	 * 120 - 4 * 15 = 60 ms, less what logging the start took
	 */
	KUNIT_EXPECT_LE(test, plan->steps[0].bound_ms, 60U);
	KUNIT_EXPECT_GT(test, plan->steps[0].bound_ms, 15U);
	for (i = 0; i < plan->n; i++) {
		enum egpu_td_result r = plan->steps[i].result;

		KUNIT_EXPECT_TRUE_MSG(test, r == EGPU_TD_ABANDONED ||
				      r == EGPU_TD_NOT_RUN, "step %u: %d", i, r);
	}
	KUNIT_EXPECT_EQ(test, (int)EGPU_TD_ABANDONED, (int)plan->steps[0].result);
	egpu_td_plan_put(plan);
	complete_all(&egpu_td_test_release);
	flush_workqueue(egpu_td_wq);
	KUNIT_EXPECT_EQ(test, 4, atomic_read(&egpu_td_test_puts));
}

static struct kunit_case egpu_td_test_cases[] = {
	KUNIT_CASE(egpu_td_test_order),
	KUNIT_CASE(egpu_td_test_siblings),
	KUNIT_CASE(egpu_td_test_no_deauth),
	KUNIT_CASE(egpu_td_test_empty),
	KUNIT_CASE(egpu_td_test_bound),
	KUNIT_CASE(egpu_td_test_hang),
	KUNIT_CASE(egpu_td_test_dep_skip),
	KUNIT_CASE(egpu_td_test_all_hang),
	{}
};

static struct kunit_suite egpu_td_test_suite = {
	.name = "egpu_tb_teardown",
	.test_cases = egpu_td_test_cases,
};

kunit_test_suite(egpu_td_test_suite);
