// SPDX-License-Identifier: GPL-2.0
/*
 * genl_test.c - KUnit suite for genl.c: request validation against the
 * family's policies (as the genl core applies them: strict parsing) and the
 * GET_STATUS reply contents. #included at the end of genl.c when built with
 * EGPU_KUNIT=1, so it sees the file's static policies and helpers.
 */
#include <kunit/test.h>

static void egpu_test_free_skb(void *skb)
{
	kfree_skb(skb);
}

/* A fresh skb for building an attribute stream, freed when the test ends. */
static struct sk_buff *egpu_test_skb(struct kunit *test)
{
	struct sk_buff *skb = alloc_skb(NLMSG_GOODSIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, skb);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, egpu_test_free_skb, skb));
	return skb;
}

/* Parse skb's attribute stream as a request, like the genl core does. */
static int egpu_test_parse_request(struct sk_buff *skb, struct nlattr **tb,
				   struct netlink_ext_ack *extack)
{
	return nla_parse(tb, EGPU_A_MAX, (struct nlattr *)skb->data, skb->len,
			 egpu_policy, extack);
}

/* Save the configuration and restore it when the test ends. */
static void egpu_test_restore_config(void *saved)
{
	egpu_config_apply(saved);
}

static void egpu_test_save_config(struct kunit *test)
{
	struct egpu_config_change *saved;

	saved = kunit_kzalloc(test, sizeof(*saved), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, saved);
	saved->has_auto_reset_method = true;
	saved->auto_reset_method = egpu_config_auto_reset_method();
	saved->has_teardown_budget_ms = true;
	saved->teardown_budget_ms = egpu_config_teardown_budget_ms();
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, egpu_test_restore_config, saved));
}

static void egpu_test_status_reply(struct kunit *test)
{
	static const struct nla_policy reply_policy[EGPU_A_MAX + 1] = {
		[EGPU_A_VERSION] = { .type = NLA_NUL_STRING },
		[EGPU_A_KERNEL_RELEASE] = { .type = NLA_NUL_STRING },
		[EGPU_A_FEATURES] = { .type = NLA_U64 },
		[EGPU_A_API_VERSION] = { .type = NLA_U32 },
		[EGPU_A_CONFIG] = NLA_POLICY_NESTED(egpu_cfg_policy),
		[EGPU_A_PAD] = { .type = NLA_UNSPEC },
	};
	struct nlattr *tb[EGPU_A_MAX + 1], *cfg[EGPU_A_CFG_MAX + 1];
	struct sk_buff *skb = egpu_test_skb(test);
	u64 features;
	int ret;

	KUNIT_ASSERT_EQ(test, 0, egpu_genl_fill_status(skb));
	ret = nla_parse_deprecated(tb, EGPU_A_MAX, (struct nlattr *)skb->data,
				   skb->len, reply_policy, NULL);
	KUNIT_ASSERT_EQ(test, 0, ret);

	KUNIT_ASSERT_NOT_NULL(test, tb[EGPU_A_VERSION]);
	KUNIT_EXPECT_STREQ(test, (char *)nla_data(tb[EGPU_A_VERSION]), EGPU_GATE_VERSION);
	KUNIT_EXPECT_STREQ(test, (char *)nla_data(tb[EGPU_A_VERSION]), THIS_MODULE->version);
	KUNIT_ASSERT_NOT_NULL(test, tb[EGPU_A_KERNEL_RELEASE]);
	KUNIT_EXPECT_STREQ(test, (char *)nla_data(tb[EGPU_A_KERNEL_RELEASE]),
			   init_utsname()->release);
	KUNIT_ASSERT_NOT_NULL(test, tb[EGPU_A_API_VERSION]);
	KUNIT_EXPECT_EQ(test, nla_get_u32(tb[EGPU_A_API_VERSION]), EGPU_GATE_GENL_VERSION);

	KUNIT_ASSERT_NOT_NULL(test, tb[EGPU_A_FEATURES]);
	features = nla_get_u64(tb[EGPU_A_FEATURES]);
	KUNIT_EXPECT_TRUE(test, features & EGPU_FEATURE_GENL);
	KUNIT_EXPECT_TRUE(test, features & EGPU_FEATURE_KUNIT);
	KUNIT_EXPECT_EQ(test, !!(features & EGPU_FEATURE_FTRACE_HOOK),
			!!EGPU_COMPAT_FTRACE_HOOK);
	KUNIT_EXPECT_EQ(test, features, egpu_genl_features());

	KUNIT_ASSERT_NOT_NULL(test, tb[EGPU_A_CONFIG]);
	KUNIT_ASSERT_EQ(test, 0, nla_parse_nested(cfg, EGPU_A_CFG_MAX, tb[EGPU_A_CONFIG],
						  egpu_cfg_policy, NULL));
	KUNIT_ASSERT_NOT_NULL(test, cfg[EGPU_A_CFG_AUTO_RESET_METHOD]);
	KUNIT_EXPECT_EQ(test, nla_get_u8(cfg[EGPU_A_CFG_AUTO_RESET_METHOD]),
			(u8)egpu_config_auto_reset_method());
	KUNIT_ASSERT_NOT_NULL(test, cfg[EGPU_A_CFG_TEARDOWN_BUDGET_MS]);
	KUNIT_EXPECT_EQ(test, nla_get_u32(cfg[EGPU_A_CFG_TEARDOWN_BUDGET_MS]),
			egpu_config_teardown_budget_ms());
}

/* The reply must fit the buffer GET_STATUS allocates for it. */
static void egpu_test_status_fits(struct kunit *test)
{
	struct sk_buff *skb = egpu_test_skb(test);

	KUNIT_ASSERT_EQ(test, 0, egpu_genl_fill_status(skb));
	KUNIT_EXPECT_LT(test, skb->len, (unsigned int)NLMSG_DEFAULT_SIZE);
}

static void egpu_test_set_config_applies(struct kunit *test)
{
	struct nlattr *tb[EGPU_A_MAX + 1], *nest;
	struct netlink_ext_ack extack = {};
	struct egpu_config_change change;
	struct sk_buff *skb = egpu_test_skb(test);
	bool flipped = !egpu_config_auto_reset_method();

	egpu_test_save_config(test);
	nest = nla_nest_start(skb, EGPU_A_CONFIG);
	KUNIT_ASSERT_NOT_NULL(test, nest);
	KUNIT_ASSERT_EQ(test, 0, nla_put_u8(skb, EGPU_A_CFG_AUTO_RESET_METHOD, flipped));
	KUNIT_ASSERT_EQ(test, 0, nla_put_u32(skb, EGPU_A_CFG_TEARDOWN_BUDGET_MS, 1234));
	nla_nest_end(skb, nest);

	KUNIT_ASSERT_EQ(test, 0, egpu_test_parse_request(skb, tb, &extack));
	KUNIT_ASSERT_EQ(test, 0, egpu_genl_parse_config(tb, &change, &extack));
	KUNIT_ASSERT_EQ(test, 0, egpu_config_apply(&change));
	KUNIT_EXPECT_EQ(test, egpu_config_auto_reset_method(), flipped);
	KUNIT_EXPECT_EQ(test, egpu_config_teardown_budget_ms(), 1234U);
}

static void egpu_test_set_config_one_setting(struct kunit *test)
{
	struct nlattr *tb[EGPU_A_MAX + 1], *nest;
	struct netlink_ext_ack extack = {};
	struct egpu_config_change change;
	struct sk_buff *skb = egpu_test_skb(test);
	bool before = egpu_config_auto_reset_method();

	egpu_test_save_config(test);
	nest = nla_nest_start(skb, EGPU_A_CONFIG);
	KUNIT_ASSERT_NOT_NULL(test, nest);
	KUNIT_ASSERT_EQ(test, 0, nla_put_u32(skb, EGPU_A_CFG_TEARDOWN_BUDGET_MS,
					     EGPU_TEARDOWN_BUDGET_MAX_MS));
	nla_nest_end(skb, nest);

	KUNIT_ASSERT_EQ(test, 0, egpu_test_parse_request(skb, tb, &extack));
	KUNIT_ASSERT_EQ(test, 0, egpu_genl_parse_config(tb, &change, &extack));
	KUNIT_EXPECT_FALSE(test, change.has_auto_reset_method);
	KUNIT_ASSERT_EQ(test, 0, egpu_config_apply(&change));
	KUNIT_EXPECT_EQ(test, egpu_config_auto_reset_method(), before);
	KUNIT_EXPECT_EQ(test, egpu_config_teardown_budget_ms(),
			(u32)EGPU_TEARDOWN_BUDGET_MAX_MS);
}

static void egpu_test_set_config_missing_nest(struct kunit *test)
{
	struct nlattr *tb[EGPU_A_MAX + 1];
	struct netlink_ext_ack extack = {};
	struct egpu_config_change change;
	struct sk_buff *skb = egpu_test_skb(test);

	KUNIT_ASSERT_EQ(test, 0, egpu_test_parse_request(skb, tb, &extack));
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_genl_parse_config(tb, &change, &extack));
	KUNIT_EXPECT_EQ(test, extack.miss_type, (u32)EGPU_A_CONFIG);
	KUNIT_EXPECT_NOT_NULL(test, extack._msg);
}

static void egpu_test_set_config_empty_nest(struct kunit *test)
{
	struct nlattr *tb[EGPU_A_MAX + 1], *nest;
	struct netlink_ext_ack extack = {};
	struct egpu_config_change change;
	struct sk_buff *skb = egpu_test_skb(test);

	nest = nla_nest_start(skb, EGPU_A_CONFIG);
	KUNIT_ASSERT_NOT_NULL(test, nest);
	nla_nest_end(skb, nest);

	KUNIT_ASSERT_EQ(test, 0, egpu_test_parse_request(skb, tb, &extack));
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_genl_parse_config(tb, &change, &extack));
	KUNIT_EXPECT_PTR_EQ(test, extack.bad_attr, (const struct nlattr *)tb[EGPU_A_CONFIG]);
}

/* One bad attribute in a nest; the policy must reject it with @err. */
static void egpu_test_reject_cfg(struct kunit *test, int type, const void *data,
				 int len, int err)
{
	struct nlattr *tb[EGPU_A_MAX + 1], *nest;
	struct netlink_ext_ack extack = {};
	struct sk_buff *skb = egpu_test_skb(test);
	u32 budget = egpu_config_teardown_budget_ms();

	nest = nla_nest_start(skb, EGPU_A_CONFIG);
	KUNIT_ASSERT_NOT_NULL(test, nest);
	KUNIT_ASSERT_EQ(test, 0, nla_put(skb, type, len, data));
	nla_nest_end(skb, nest);

	KUNIT_EXPECT_EQ(test, err, egpu_test_parse_request(skb, tb, &extack));
	KUNIT_EXPECT_NOT_NULL(test, extack._msg);
	KUNIT_EXPECT_NOT_NULL(test, extack.bad_attr);
	KUNIT_EXPECT_EQ(test, egpu_config_teardown_budget_ms(), budget);
}

static void egpu_test_budget_below_range(struct kunit *test)
{
	u32 v = EGPU_TEARDOWN_BUDGET_MIN_MS - 1;

	egpu_test_reject_cfg(test, EGPU_A_CFG_TEARDOWN_BUDGET_MS, &v, sizeof(v), -ERANGE);
}

static void egpu_test_budget_above_range(struct kunit *test)
{
	u32 v = EGPU_TEARDOWN_BUDGET_MAX_MS + 1;

	egpu_test_reject_cfg(test, EGPU_A_CFG_TEARDOWN_BUDGET_MS, &v, sizeof(v), -ERANGE);
}

static void egpu_test_budget_oversized(struct kunit *test)
{
	u64 v = 1000;

	egpu_test_reject_cfg(test, EGPU_A_CFG_TEARDOWN_BUDGET_MS, &v, sizeof(v), -EINVAL);
}

static void egpu_test_auto_reset_not_bool(struct kunit *test)
{
	u8 v = 2;

	egpu_test_reject_cfg(test, EGPU_A_CFG_AUTO_RESET_METHOD, &v, sizeof(v), -ERANGE);
}

static void egpu_test_unknown_cfg_attr(struct kunit *test)
{
	u32 v = 1;

	egpu_test_reject_cfg(test, EGPU_A_CFG_MAX + 1, &v, sizeof(v), -EINVAL);
}

static void egpu_test_reply_attr_in_request(struct kunit *test)
{
	struct nlattr *tb[EGPU_A_MAX + 1];
	struct netlink_ext_ack extack = {};
	struct sk_buff *skb = egpu_test_skb(test);

	KUNIT_ASSERT_EQ(test, 0, nla_put_string(skb, EGPU_A_VERSION, "9.9.9"));
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_test_parse_request(skb, tb, &extack));
	KUNIT_EXPECT_NOT_NULL(test, extack.bad_attr);
}

static void egpu_test_unknown_top_attr(struct kunit *test)
{
	struct nlattr *tb[EGPU_A_MAX + 1];
	struct netlink_ext_ack extack = {};
	struct sk_buff *skb = egpu_test_skb(test);

	KUNIT_ASSERT_EQ(test, 0, nla_put_u32(skb, EGPU_A_MAX + 1, 1));
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_test_parse_request(skb, tb, &extack));
}

/* A change with one bad value applies nothing, not even the good one. */
static void egpu_test_apply_all_or_nothing(struct kunit *test)
{
	bool before = egpu_config_auto_reset_method();
	u32 budget = egpu_config_teardown_budget_ms();
	struct egpu_config_change change = {
		.has_auto_reset_method = true,
		.auto_reset_method = !before,
		.has_teardown_budget_ms = true,
		.teardown_budget_ms = EGPU_TEARDOWN_BUDGET_MAX_MS + 1,
	};

	egpu_test_save_config(test);
	KUNIT_EXPECT_EQ(test, -ERANGE, egpu_config_apply(&change));
	KUNIT_EXPECT_EQ(test, egpu_config_auto_reset_method(), before);
	KUNIT_EXPECT_EQ(test, egpu_config_teardown_budget_ms(), budget);
}

static struct kunit_case egpu_genl_test_cases[] = {
	KUNIT_CASE(egpu_test_status_reply),
	KUNIT_CASE(egpu_test_status_fits),
	KUNIT_CASE(egpu_test_set_config_applies),
	KUNIT_CASE(egpu_test_set_config_one_setting),
	KUNIT_CASE(egpu_test_set_config_missing_nest),
	KUNIT_CASE(egpu_test_set_config_empty_nest),
	KUNIT_CASE(egpu_test_budget_below_range),
	KUNIT_CASE(egpu_test_budget_above_range),
	KUNIT_CASE(egpu_test_budget_oversized),
	KUNIT_CASE(egpu_test_auto_reset_not_bool),
	KUNIT_CASE(egpu_test_unknown_cfg_attr),
	KUNIT_CASE(egpu_test_reply_attr_in_request),
	KUNIT_CASE(egpu_test_unknown_top_attr),
	KUNIT_CASE(egpu_test_apply_all_or_nothing),
	{}
};

static struct kunit_suite egpu_genl_test_suite = {
	.name = "egpu_gate_genl",
	.test_cases = egpu_genl_test_cases,
};

kunit_test_suite(egpu_genl_test_suite);
