// SPDX-License-Identifier: GPL-2.0
/*
 * tb_test.c - KUnit suite of the Thunderbolt policy decision
 * (egpu_tb_decide(), pure): every decision, action and reason from fake
 * device, domain and rule inputs; the retry policy of a failed
 * authorization (which errors, delays, attempts, reasons) on a fake
 * record; the uevent filter that sees a device authorized by someone
 * else. #included at the end of tb.c when built
 * with EGPU_KUNIT=1.
 */
#include <kunit/test.h>

/* A user-level, IOMMU-protected domain, device unauthorized below the host. */
static void egpu_tb_test_in(struct egpu_tb_decide_in *in,
			    const struct egpu_tb_rule *rule)
{
	memset(in, 0, sizeof(*in));
	in->rule = rule;
	in->security = "user";
	in->iommu_dma_protection = 1;
}

static void egpu_tb_test_rule(struct egpu_tb_rule *r, u32 id)
{
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->match = EGPU_TB_MATCH_UUID;
	r->action = EGPU_TB_ACTION_AUTHORIZE;
}

static void egpu_tb_expect(struct kunit *test,
			   const struct egpu_tb_decide_out *out,
			   enum egpu_tb_decision dec, enum egpu_tb_act act,
			   const char *substr)
{
	KUNIT_EXPECT_EQ(test, (int)out->decision, (int)dec);
	KUNIT_EXPECT_EQ(test, (int)out->act, (int)act);
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(out->reason, substr),
				  "reason '%s' lacks '%s'", out->reason, substr);
}

static void egpu_tb_test_host(struct kunit *test)
{
	struct egpu_tb_decide_in in;
	struct egpu_tb_decide_out out;

	egpu_tb_test_in(&in, NULL);
	in.host = true;
	in.authorized = 1;
	egpu_tb_decide(&in, &out);
	egpu_tb_expect(test, &out, EGPU_TB_DECISION_HOST, EGPU_TB_ACT_NONE,
		       "host router");
}

static void egpu_tb_test_default_deny(struct kunit *test)
{
	struct egpu_tb_decide_in in;
	struct egpu_tb_decide_out out;

	egpu_tb_test_in(&in, NULL);
	egpu_tb_decide(&in, &out);
	egpu_tb_expect(test, &out, EGPU_TB_DECISION_NO_RULE, EGPU_TB_ACT_NONE,
		       "default deny");
}

static void egpu_tb_test_no_rule_already(struct kunit *test)
{
	struct egpu_tb_decide_in in;
	struct egpu_tb_decide_out out;

	egpu_tb_test_in(&in, NULL);
	in.authorized = 1;
	egpu_tb_decide(&in, &out);
	/* found authorized without a rule: reported, not adopted */
	egpu_tb_expect(test, &out, EGPU_TB_DECISION_ALREADY, EGPU_TB_ACT_NONE,
		       "no rule");
}

static void egpu_tb_test_ignore(struct kunit *test)
{
	struct egpu_tb_decide_in in;
	struct egpu_tb_decide_out out;
	struct egpu_tb_rule r;

	egpu_tb_test_rule(&r, 3);
	r.action = EGPU_TB_ACTION_IGNORE;
	egpu_tb_test_in(&in, &r);
	egpu_tb_decide(&in, &out);
	egpu_tb_expect(test, &out, EGPU_TB_DECISION_IGNORED, EGPU_TB_ACT_NONE,
		       "rule 3: action=ignore");
	/* ignore wins over "already authorized": never adopted */
	in.authorized = 1;
	egpu_tb_decide(&in, &out);
	egpu_tb_expect(test, &out, EGPU_TB_DECISION_IGNORED, EGPU_TB_ACT_NONE,
		       "action=ignore");
}

static void egpu_tb_test_adopt(struct kunit *test)
{
	struct egpu_tb_decide_in in;
	struct egpu_tb_decide_out out;
	struct egpu_tb_rule r;

	egpu_tb_test_rule(&r, 7);
	egpu_tb_test_in(&in, &r);
	in.authorized = 1;
	/* adopted whatever the domain says now (warm reboot case) */
	in.iommu_dma_protection = 0;
	egpu_tb_decide(&in, &out);
	egpu_tb_expect(test, &out, EGPU_TB_DECISION_ALREADY, EGPU_TB_ACT_ADOPT,
		       "adopted by rule 7");
	in.authorized = 2;
	egpu_tb_decide(&in, &out);
	egpu_tb_expect(test, &out, EGPU_TB_DECISION_ALREADY, EGPU_TB_ACT_ADOPT,
		       "found authorized (2)");
}

static void egpu_tb_test_user(struct kunit *test)
{
	struct egpu_tb_decide_in in;
	struct egpu_tb_decide_out out;
	struct egpu_tb_rule r;

	egpu_tb_test_rule(&r, 1);
	egpu_tb_test_in(&in, &r);
	egpu_tb_decide(&in, &out);
	egpu_tb_expect(test, &out, EGPU_TB_DECISION_AUTHORIZED,
		       EGPU_TB_ACT_AUTHORIZE, "authorized by rule 1");
	KUNIT_EXPECT_FALSE(test, out.secure);
}

static void egpu_tb_test_security_levels(struct kunit *test)
{
	static const char *const levels[] = {
		"none", "dponly", "usbonly", "nopcie", "",
	};
	struct egpu_tb_decide_in in;
	struct egpu_tb_decide_out out;
	struct egpu_tb_rule r;
	unsigned int i;

	egpu_tb_test_rule(&r, 2);
	for (i = 0; i < ARRAY_SIZE(levels); i++) {
		egpu_tb_test_in(&in, &r);
		in.security = levels[i];
		egpu_tb_decide(&in, &out);
		egpu_tb_expect(test, &out, EGPU_TB_DECISION_DENIED,
			       EGPU_TB_ACT_NONE, "no per-device authorization");
		KUNIT_EXPECT_NOT_NULL(test, strstr(out.reason, levels[i][0] ?
						   levels[i] : "unknown"));
	}
}

static void egpu_tb_test_unreadable(struct kunit *test)
{
	struct egpu_tb_decide_in in;
	struct egpu_tb_decide_out out;
	struct egpu_tb_rule r;

	egpu_tb_test_rule(&r, 2);
	egpu_tb_test_in(&in, &r);
	in.authorized = -EIO;
	egpu_tb_decide(&in, &out);
	egpu_tb_expect(test, &out, EGPU_TB_DECISION_FAILED, EGPU_TB_ACT_NONE,
		       "cannot read authorized (-5)");
}

static void egpu_tb_test_iommu(struct kunit *test)
{
	struct egpu_tb_decide_in in;
	struct egpu_tb_decide_out out;
	struct egpu_tb_rule r;

	egpu_tb_test_rule(&r, 4);
	r.match = EGPU_TB_MATCH_ID;
	egpu_tb_test_in(&in, &r);
	in.iommu_dma_protection = 0;
	egpu_tb_decide(&in, &out);
	egpu_tb_expect(test, &out, EGPU_TB_DECISION_DENIED, EGPU_TB_ACT_NONE,
		       "iommu_dma_protection=0");
	in.iommu_dma_protection = -ENOENT;
	egpu_tb_decide(&in, &out);
	egpu_tb_expect(test, &out, EGPU_TB_DECISION_DENIED, EGPU_TB_ACT_NONE,
		       "unreadable");
	r.iommu_optional = true;
	egpu_tb_decide(&in, &out);
	egpu_tb_expect(test, &out, EGPU_TB_DECISION_AUTHORIZED,
		       EGPU_TB_ACT_AUTHORIZE, "authorized by rule 4");
	in.iommu_dma_protection = 0;
	egpu_tb_decide(&in, &out);
	KUNIT_EXPECT_EQ(test, (int)out.act, (int)EGPU_TB_ACT_AUTHORIZE);
}

static void egpu_tb_test_secure(struct kunit *test)
{
	struct egpu_tb_decide_in in;
	struct egpu_tb_decide_out out;
	struct egpu_tb_rule r;

	egpu_tb_test_rule(&r, 5);
	egpu_tb_test_in(&in, &r);
	in.security = "secure";
	egpu_tb_decide(&in, &out);
	egpu_tb_expect(test, &out, EGPU_TB_DECISION_DENIED, EGPU_TB_ACT_NONE,
		       "no key stored");
	in.has_key = true;
	egpu_tb_decide(&in, &out);
	egpu_tb_expect(test, &out, EGPU_TB_DECISION_AUTHORIZED,
		       EGPU_TB_ACT_AUTHORIZE, "authorized by rule 5");
	KUNIT_EXPECT_TRUE(test, out.secure);
}

static void egpu_tb_test_parent(struct kunit *test)
{
	struct egpu_tb_decide_in in;
	struct egpu_tb_decide_out out;
	struct egpu_tb_rule r;

	egpu_tb_test_rule(&r, 6);
	egpu_tb_test_in(&in, &r);
	in.parent_name = "0-301";
	in.parent_authorized = 0;
	in.blocker = "0-301";
	egpu_tb_decide(&in, &out);
	egpu_tb_expect(test, &out, EGPU_TB_DECISION_PENDING, EGPU_TB_ACT_NONE,
		       "parent 0-301 not authorized");
	KUNIT_EXPECT_NULL(test, strstr(out.reason, "upstream"));
	/* the topmost unauthorized ancestor is named too */
	in.blocker = "0-1";
	egpu_tb_decide(&in, &out);
	egpu_tb_expect(test, &out, EGPU_TB_DECISION_PENDING, EGPU_TB_ACT_NONE,
		       "nor 0-1 upstream");
	/* chain=1: parents first */
	r.chain = true;
	egpu_tb_decide(&in, &out);
	egpu_tb_expect(test, &out, EGPU_TB_DECISION_AUTHORIZED,
		       EGPU_TB_ACT_CHAIN, "after its parents");
	/* an authorized parent does not block */
	r.chain = false;
	in.parent_authorized = 1;
	egpu_tb_decide(&in, &out);
	KUNIT_EXPECT_EQ(test, (int)out.act, (int)EGPU_TB_ACT_AUTHORIZE);
	/* IOMMU and key checks come before the parent wait */
	in.parent_authorized = 0;
	in.iommu_dma_protection = 0;
	egpu_tb_decide(&in, &out);
	KUNIT_EXPECT_EQ(test, (int)out.decision, (int)EGPU_TB_DECISION_DENIED);
}

static void egpu_tb_test_err_transient(struct kunit *test)
{
	static const int transient[] = { -EBUSY, -ETIMEDOUT, -EIO, -EAGAIN,
					 -ENOMEM, -ENOSPC, -EINTR };
	static const int final[] = { 0, -ENODEV, -ENOENT, -ENOKEY,
				     -EKEYREJECTED, -EINVAL, -EPERM, -EACCES,
				     -EOPNOTSUPP };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(transient); i++)
		KUNIT_EXPECT_TRUE_MSG(test, egpu_tb_err_transient(transient[i]),
				      "%d", transient[i]);
	for (i = 0; i < ARRAY_SIZE(final); i++)
		KUNIT_EXPECT_FALSE_MSG(test, egpu_tb_err_transient(final[i]),
				       "%d", final[i]);
}

static void egpu_tb_test_retry_delay(struct kunit *test)
{
	unsigned int n, attempts = 1;

	KUNIT_EXPECT_EQ(test, egpu_tb_retry_delay_ms(0), 0U);
	KUNIT_EXPECT_EQ(test, egpu_tb_retry_delay_ms(1), 1000U);
	KUNIT_EXPECT_EQ(test, egpu_tb_retry_delay_ms(2), 2000U);
	KUNIT_EXPECT_EQ(test, egpu_tb_retry_delay_ms(3), 4000U);
	KUNIT_EXPECT_EQ(test, egpu_tb_retry_delay_ms(4), 0U);
	KUNIT_EXPECT_EQ(test, egpu_tb_retry_delay_ms(UINT_MAX), 0U);
	/* every attempt after the first follows a delay: bounded in all */
	for (n = 1; egpu_tb_retry_delay_ms(n); n++)
		attempts++;
	KUNIT_EXPECT_EQ(test, attempts, (unsigned int)EGPU_TB_AUTH_ATTEMPTS);
}

static void egpu_tb_expect_msg(struct kunit *test, const char *msg,
			       const char *substr)
{
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(msg, substr),
				  "reason '%s' lacks '%s'", msg, substr);
}

/* The policy's attempts on a fake record, as egpu_tb_evaluate() runs them. */
static void egpu_tb_test_auth_failed(struct kunit *test)
{
	struct egpu_tb_dev *d;
	char msg[EGPU_TB_REASON_MAX];
	unsigned long before;
	unsigned int i;

	d = kunit_kzalloc(test, sizeof(*d), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, d);
	for (i = 1; i < EGPU_TB_AUTH_ATTEMPTS; i++) {
		d->retry_pending = false;	/* the attempt clears it */
		before = jiffies;
		egpu_tb_auth_failed(d, -EBUSY, true, "writing 1 failed (-16)",
				    msg, sizeof(msg));
		KUNIT_EXPECT_EQ(test, d->auth_failures, i);
		KUNIT_EXPECT_EQ(test, d->auth_error, -EBUSY);
		KUNIT_EXPECT_TRUE(test, d->retry_pending);
		KUNIT_EXPECT_FALSE(test, time_before(d->retry_at, before +
			msecs_to_jiffies(egpu_tb_retry_delay_ms(i))));
		egpu_tb_expect_msg(test, msg, "next attempt in");
		egpu_tb_expect_msg(test, msg, "writing 1 failed (-16)");
	}
	egpu_tb_expect_msg(test, msg, "attempt 3 of 4");
	egpu_tb_expect_msg(test, msg, "in 4000 ms");
	/* the last attempt: no retry, the reason says so */
	d->retry_pending = false;
	egpu_tb_auth_failed(d, -ETIMEDOUT, true, "timed out", msg, sizeof(msg));
	KUNIT_EXPECT_EQ(test, d->auth_failures, 4U);
	KUNIT_EXPECT_EQ(test, d->auth_error, -ETIMEDOUT);
	KUNIT_EXPECT_FALSE(test, d->retry_pending);
	egpu_tb_expect_msg(test, msg, "attempt 4 of 4");
	egpu_tb_expect_msg(test, msg, "gave up");
	/* a new round */
	egpu_tb_retry_reset(d);
	KUNIT_EXPECT_EQ(test, d->auth_failures, 0U);
	KUNIT_EXPECT_EQ(test, d->auth_error, 0);
	/* an error another attempt cannot fix: counted, not retried */
	egpu_tb_auth_failed(d, -EKEYREJECTED, true, "key rejected", msg,
			    sizeof(msg));
	KUNIT_EXPECT_EQ(test, d->auth_failures, 1U);
	KUNIT_EXPECT_FALSE(test, d->retry_pending);
	KUNIT_EXPECT_STREQ(test, msg, "authorization failed: key rejected");
	/* an administrator's request is never retried */
	egpu_tb_retry_reset(d);
	egpu_tb_auth_failed(d, -EBUSY, false, "busy", msg, sizeof(msg));
	KUNIT_EXPECT_EQ(test, d->auth_failures, 1U);
	KUNIT_EXPECT_FALSE(test, d->retry_pending);
	KUNIT_EXPECT_STREQ(test, msg, "authorization failed: busy");
}

static const char egpu_tb_uev_auth1[] =
	"change@/devices/pci0000:00/0000:00:03.0/domain0/0-0/0-1\0"
	"ACTION=change\0DEVPATH=/devices/pci0000:00/0000:00:03.0/domain0/0-0/0-1\0"
	"SUBSYSTEM=thunderbolt\0DEVTYPE=thunderbolt_device\0"
	"AUTHORIZED=1\0SEQNUM=1234\0";
static const char egpu_tb_uev_auth2[] =
	"change@/d/0-301\0SUBSYSTEM=thunderbolt\0AUTHORIZED=2\0";
static const char egpu_tb_uev_deauth[] =
	"change@/d/0-1\0SUBSYSTEM=thunderbolt\0AUTHORIZED=0\0";
static const char egpu_tb_uev_add[] =
	"add@/d/0-1\0SUBSYSTEM=thunderbolt\0AUTHORIZED=1\0";
static const char egpu_tb_uev_usb[] =
	"change@/d/usb1\0SUBSYSTEM=usb\0AUTHORIZED=1\0";
static const char egpu_tb_uev_subsys[] =
	"change@/d/0-1\0SUBSYSTEM=thunderbolt_x\0AUTHORIZED=1\0";
static const char egpu_tb_uev_value[] =
	"change@/d/0-1\0SUBSYSTEM=thunderbolt\0AUTHORIZED=10\0";
static const char egpu_tb_uev_domain[] =
	"change@/d/domain0\0SUBSYSTEM=thunderbolt\0";
/* no NUL after the last string (only the array's own) */
static const char egpu_tb_uev_open[] =
	"change@/d/0-1\0SUBSYSTEM=thunderbolt\0AUTHORIZED=1";

static void egpu_tb_test_uevent(struct kunit *test)
{
	static const struct {
		const char *buf;
		size_t len;
		bool want;
	} cases[] = {
		{ egpu_tb_uev_auth1, sizeof(egpu_tb_uev_auth1) - 1, true },
		{ egpu_tb_uev_auth2, sizeof(egpu_tb_uev_auth2) - 1, true },
		{ egpu_tb_uev_deauth, sizeof(egpu_tb_uev_deauth) - 1, false },
		{ egpu_tb_uev_add, sizeof(egpu_tb_uev_add) - 1, false },
		{ egpu_tb_uev_usb, sizeof(egpu_tb_uev_usb) - 1, false },
		{ egpu_tb_uev_subsys, sizeof(egpu_tb_uev_subsys) - 1, false },
		{ egpu_tb_uev_value, sizeof(egpu_tb_uev_value) - 1, false },
		{ egpu_tb_uev_domain, sizeof(egpu_tb_uev_domain) - 1, false },
		{ egpu_tb_uev_open, sizeof(egpu_tb_uev_open) - 1, true },
		/* cut short before AUTHORIZED; empty */
		{ egpu_tb_uev_auth1, 60, false },
		{ egpu_tb_uev_auth1, 0, false },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		KUNIT_EXPECT_EQ_MSG(test,
				    egpu_tb_uevent_authorizes(cases[i].buf,
							      cases[i].len),
				    cases[i].want, "case %u", i);
}

static struct kunit_case egpu_tb_test_cases[] = {
	KUNIT_CASE(egpu_tb_test_host),
	KUNIT_CASE(egpu_tb_test_default_deny),
	KUNIT_CASE(egpu_tb_test_no_rule_already),
	KUNIT_CASE(egpu_tb_test_ignore),
	KUNIT_CASE(egpu_tb_test_adopt),
	KUNIT_CASE(egpu_tb_test_user),
	KUNIT_CASE(egpu_tb_test_security_levels),
	KUNIT_CASE(egpu_tb_test_unreadable),
	KUNIT_CASE(egpu_tb_test_iommu),
	KUNIT_CASE(egpu_tb_test_secure),
	KUNIT_CASE(egpu_tb_test_parent),
	KUNIT_CASE(egpu_tb_test_err_transient),
	KUNIT_CASE(egpu_tb_test_retry_delay),
	KUNIT_CASE(egpu_tb_test_auth_failed),
	KUNIT_CASE(egpu_tb_test_uevent),
	{}
};

static struct kunit_suite egpu_tb_test_suite = {
	.name = "egpu_gate_tb",
	.test_cases = egpu_tb_test_cases,
};

kunit_test_suite(egpu_tb_test_suite);
