// SPDX-License-Identifier: GPL-2.0
/*
 * tb_test.c - KUnit suite of the Thunderbolt policy decision
 * (egpu_tb_decide(), pure): every decision, action and reason from fake
 * device, domain and rule inputs. #included at the end of tb.c when built
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
	{}
};

static struct kunit_suite egpu_tb_test_suite = {
	.name = "egpu_gate_tb",
	.test_cases = egpu_tb_test_cases,
};

kunit_test_suite(egpu_tb_test_suite);
