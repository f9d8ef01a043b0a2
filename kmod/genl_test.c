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
	saved->has_reset_leave_d0 = true;
	saved->reset_leave_d0 = egpu_config_reset_leave_d0();
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
	KUNIT_ASSERT_NOT_NULL(test, cfg[EGPU_A_CFG_RESET_LEAVE_D0]);
	KUNIT_EXPECT_EQ(test, nla_get_u8(cfg[EGPU_A_CFG_RESET_LEAVE_D0]),
			(u8)egpu_config_reset_leave_d0());
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
	bool d0_flipped = !egpu_config_reset_leave_d0();

	egpu_test_save_config(test);
	nest = nla_nest_start(skb, EGPU_A_CONFIG);
	KUNIT_ASSERT_NOT_NULL(test, nest);
	KUNIT_ASSERT_EQ(test, 0, nla_put_u8(skb, EGPU_A_CFG_AUTO_RESET_METHOD, flipped));
	KUNIT_ASSERT_EQ(test, 0, nla_put_u32(skb, EGPU_A_CFG_TEARDOWN_BUDGET_MS, 1234));
	KUNIT_ASSERT_EQ(test, 0, nla_put_u8(skb, EGPU_A_CFG_RESET_LEAVE_D0, d0_flipped));
	nla_nest_end(skb, nest);

	KUNIT_ASSERT_EQ(test, 0, egpu_test_parse_request(skb, tb, &extack));
	KUNIT_ASSERT_EQ(test, 0, egpu_genl_parse_config(tb, &change, &extack));
	KUNIT_ASSERT_EQ(test, 0, egpu_config_apply(&change));
	KUNIT_EXPECT_EQ(test, egpu_config_auto_reset_method(), flipped);
	KUNIT_EXPECT_EQ(test, egpu_config_teardown_budget_ms(), 1234U);
	KUNIT_EXPECT_EQ(test, egpu_config_reset_leave_d0(), d0_flipped);
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
	KUNIT_EXPECT_FALSE(test, change.has_reset_leave_d0);
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

/* ---- GPU commands ---- */

/* Parse skb's attribute stream with a GPU command's top-level policy. */
static int egpu_test_parse_gpu_request(struct sk_buff *skb,
				       const struct nla_policy *top,
				       const struct nla_policy *nest,
				       struct nlattr **gpu,
				       struct netlink_ext_ack *extack)
{
	struct nlattr *tb[EGPU_A_MAX + 1];
	int ret;

	ret = nla_parse(tb, EGPU_A_MAX, (struct nlattr *)skb->data, skb->len,
			top, extack);
	if (ret)
		return ret;
	if (!tb[EGPU_A_GPU])
		return -ENOENT;
	return nla_parse_nested(gpu, EGPU_A_GPU_MAX, tb[EGPU_A_GPU], nest, extack);
}

/* A GPU_RESET or ID_ADD/DEL request with one EGPU_A_GPU nest. */
static struct nlattr *egpu_test_gpu_nest(struct kunit *test, struct sk_buff *skb)
{
	struct nlattr *nest = nla_nest_start(skb, EGPU_A_GPU);

	KUNIT_ASSERT_NOT_NULL(test, nest);
	return nest;
}

static void egpu_test_gpu_reset_policy_ok(struct kunit *test)
{
	struct nlattr *gpu[EGPU_A_GPU_MAX + 1], *nest;
	struct netlink_ext_ack extack = {};
	struct sk_buff *skb = egpu_test_skb(test);

	nest = egpu_test_gpu_nest(test, skb);
	KUNIT_ASSERT_EQ(test, 0, nla_put_string(skb, EGPU_A_GPU_BDF, "0000:01:00.0"));
	KUNIT_ASSERT_EQ(test, 0, nla_put_flag(skb, EGPU_A_GPU_FORCE));
	nla_nest_end(skb, nest);
	KUNIT_ASSERT_EQ(test, 0, egpu_test_parse_gpu_request(skb, egpu_gpu_reset_policy,
							     egpu_gpu_reset_nest_policy,
							     gpu, &extack));
	KUNIT_ASSERT_NOT_NULL(test, gpu[EGPU_A_GPU_BDF]);
	KUNIT_EXPECT_STREQ(test, (char *)nla_data(gpu[EGPU_A_GPU_BDF]), "0000:01:00.0");
	KUNIT_EXPECT_NOT_NULL(test, gpu[EGPU_A_GPU_FORCE]);
}

/* One attribute @type/@data/@len in the nest must be rejected with @err. */
static void egpu_test_reject_gpu(struct kunit *test, const struct nla_policy *top,
				 const struct nla_policy *nest_policy, int type,
				 const void *data, int len, int err)
{
	struct nlattr *gpu[EGPU_A_GPU_MAX + 1], *nest;
	struct netlink_ext_ack extack = {};
	struct sk_buff *skb = egpu_test_skb(test);

	nest = egpu_test_gpu_nest(test, skb);
	KUNIT_ASSERT_EQ(test, 0, nla_put(skb, type, len, data));
	nla_nest_end(skb, nest);
	KUNIT_EXPECT_EQ(test, err, egpu_test_parse_gpu_request(skb, top, nest_policy,
							       gpu, &extack));
	KUNIT_EXPECT_NOT_NULL(test, extack._msg);
}

static void egpu_test_gpu_reset_policy_rejects(struct kunit *test)
{
	static const char unterminated[] = { '0', '0', '0', '0' };
	static const char too_long[] = "0000:01:00.0.0.0.0.0";
	u16 vendor = 0x1002;
	u8 force = 1;

	/* NUL_STRING: must be terminated and short. */
	egpu_test_reject_gpu(test, egpu_gpu_reset_policy, egpu_gpu_reset_nest_policy,
			     EGPU_A_GPU_BDF, unterminated, sizeof(unterminated), -EINVAL);
	egpu_test_reject_gpu(test, egpu_gpu_reset_policy, egpu_gpu_reset_nest_policy,
			     EGPU_A_GPU_BDF, too_long, sizeof(too_long), -EINVAL);
	/* A flag carries no payload. */
	egpu_test_reject_gpu(test, egpu_gpu_reset_policy, egpu_gpu_reset_nest_policy,
			     EGPU_A_GPU_FORCE, &force, sizeof(force), -ERANGE);
	/* Attributes of other commands are not accepted. */
	egpu_test_reject_gpu(test, egpu_gpu_reset_policy, egpu_gpu_reset_nest_policy,
			     EGPU_A_GPU_VENDOR, &vendor, sizeof(vendor), -EINVAL);
}

static void egpu_test_gpu_id_policy_ok(struct kunit *test)
{
	struct nlattr *gpu[EGPU_A_GPU_MAX + 1], *nest;
	struct netlink_ext_ack extack = {};
	struct sk_buff *skb = egpu_test_skb(test);

	nest = egpu_test_gpu_nest(test, skb);
	KUNIT_ASSERT_EQ(test, 0, nla_put_u16(skb, EGPU_A_GPU_VENDOR, 0x1002));
	KUNIT_ASSERT_EQ(test, 0, nla_put_u16(skb, EGPU_A_GPU_DEVICE, 0x687f));
	KUNIT_ASSERT_EQ(test, 0, nla_put_string(skb, EGPU_A_GPU_FAMILY, "vega10"));
	nla_nest_end(skb, nest);
	KUNIT_ASSERT_EQ(test, 0, egpu_test_parse_gpu_request(skb, egpu_gpu_id_policy,
							     egpu_gpu_id_nest_policy,
							     gpu, &extack));
	KUNIT_EXPECT_EQ(test, nla_get_u16(gpu[EGPU_A_GPU_VENDOR]), 0x1002);
	KUNIT_EXPECT_EQ(test, nla_get_u16(gpu[EGPU_A_GPU_DEVICE]), 0x687f);
	KUNIT_EXPECT_STREQ(test, (char *)nla_data(gpu[EGPU_A_GPU_FAMILY]), "vega10");
}

static void egpu_test_gpu_id_policy_rejects(struct kunit *test)
{
	static const char long_family[] = "a-family-name-of-16";
	u32 wide = 0x1002;

	egpu_test_reject_gpu(test, egpu_gpu_id_policy, egpu_gpu_id_nest_policy,
			     EGPU_A_GPU_VENDOR, &wide, sizeof(wide), -EINVAL);
	egpu_test_reject_gpu(test, egpu_gpu_id_policy, egpu_gpu_id_nest_policy,
			     EGPU_A_GPU_FAMILY, long_family, sizeof(long_family), -EINVAL);
	egpu_test_reject_gpu(test, egpu_gpu_id_policy, egpu_gpu_id_nest_policy,
			     EGPU_A_GPU_FORCE, NULL, 0, -EINVAL);
}

/* GPU_GET takes nothing, not even the nest. */
static void egpu_test_gpu_get_policy_rejects(struct kunit *test)
{
	struct nlattr *tb[EGPU_A_MAX + 1], *nest;
	struct netlink_ext_ack extack = {};
	struct sk_buff *skb = egpu_test_skb(test);

	nest = egpu_test_gpu_nest(test, skb);
	nla_nest_end(skb, nest);
	KUNIT_EXPECT_EQ(test, -EINVAL,
			nla_parse(tb, EGPU_A_MAX, (struct nlattr *)skb->data, skb->len,
				  egpu_gpu_get_policy, &extack));
}

static void egpu_test_gpu_fill(struct kunit *test)
{
	static const struct nla_policy gpu_reply[EGPU_A_GPU_MAX + 1] = {
		[EGPU_A_GPU_BDF] = { .type = NLA_NUL_STRING },
		[EGPU_A_GPU_VENDOR] = { .type = NLA_U16 },
		[EGPU_A_GPU_DEVICE] = { .type = NLA_U16 },
		[EGPU_A_GPU_FAMILY] = { .type = NLA_NUL_STRING },
		[EGPU_A_GPU_RESET_METHOD_SET] = { .type = NLA_U8 },
		[EGPU_A_GPU_STATS] = { .type = NLA_NESTED },
	};
	static const struct nla_policy stats_reply[EGPU_A_STATS_MAX + 1] = {
		[EGPU_A_STATS_COUNT] = { .type = NLA_U64 },
		[EGPU_A_STATS_FAILURES] = { .type = NLA_U64 },
		[EGPU_A_STATS_LAST_RESULT] = { .type = NLA_S32 },
		[EGPU_A_STATS_LAST_DURATION_US] = { .type = NLA_U64 },
		[EGPU_A_STATS_LAST_METHOD] = { .type = NLA_U8 },
		[EGPU_A_STATS_SMU_STATE_BEFORE] = { .type = NLA_U32 },
	};
	static const struct egpu_reset_dev_info info = {
		.vendor = 0x1002,
		.device = 0x687f,
		.family = "vega10",
		.reset_method_set = true,
		.stats = {
			.method = EGPU_RESET_METHOD_BACO,
			.count = 3,
			.failures = 1,
			.last_result = -ETIMEDOUT,
			.last_duration_us = 123456,
			.smu_state_before = 0x80000000,
		},
	};
	struct nlattr *top[EGPU_A_MAX + 1], *gpu[EGPU_A_GPU_MAX + 1];
	struct nlattr *st[EGPU_A_STATS_MAX + 1];
	struct sk_buff *skb = egpu_test_skb(test);

	KUNIT_ASSERT_EQ(test, 0, egpu_genl_fill_gpu(skb, "0000:0a:00.0", &info));
	KUNIT_ASSERT_EQ(test, 0, nla_parse_deprecated(top, EGPU_A_MAX,
						      (struct nlattr *)skb->data,
						      skb->len, NULL, NULL));
	KUNIT_ASSERT_NOT_NULL(test, top[EGPU_A_GPU]);
	KUNIT_ASSERT_EQ(test, 0, nla_parse_nested(gpu, EGPU_A_GPU_MAX, top[EGPU_A_GPU],
						  gpu_reply, NULL));
	KUNIT_EXPECT_STREQ(test, (char *)nla_data(gpu[EGPU_A_GPU_BDF]), "0000:0a:00.0");
	KUNIT_EXPECT_EQ(test, nla_get_u16(gpu[EGPU_A_GPU_VENDOR]), 0x1002);
	KUNIT_EXPECT_EQ(test, nla_get_u16(gpu[EGPU_A_GPU_DEVICE]), 0x687f);
	KUNIT_EXPECT_STREQ(test, (char *)nla_data(gpu[EGPU_A_GPU_FAMILY]), "vega10");
	KUNIT_EXPECT_EQ(test, nla_get_u8(gpu[EGPU_A_GPU_RESET_METHOD_SET]), 1);
	KUNIT_ASSERT_NOT_NULL(test, gpu[EGPU_A_GPU_STATS]);
	KUNIT_ASSERT_EQ(test, 0, nla_parse_nested(st, EGPU_A_STATS_MAX,
						  gpu[EGPU_A_GPU_STATS], stats_reply, NULL));
	KUNIT_EXPECT_EQ(test, nla_get_u64(st[EGPU_A_STATS_COUNT]), 3ULL);
	KUNIT_EXPECT_EQ(test, nla_get_u64(st[EGPU_A_STATS_FAILURES]), 1ULL);
	KUNIT_EXPECT_EQ(test, nla_get_s32(st[EGPU_A_STATS_LAST_RESULT]), -ETIMEDOUT);
	KUNIT_EXPECT_EQ(test, nla_get_u64(st[EGPU_A_STATS_LAST_DURATION_US]), 123456ULL);
	KUNIT_EXPECT_EQ(test, nla_get_u8(st[EGPU_A_STATS_LAST_METHOD]),
			(u8)EGPU_RESET_METHOD_BACO);
	KUNIT_EXPECT_EQ(test, nla_get_u32(st[EGPU_A_STATS_SMU_STATE_BEFORE]), 0x80000000U);
}

/* A full skb: the entry is cancelled whole, nothing half-written stays. */
static void egpu_test_gpu_fill_full(struct kunit *test)
{
	static const struct egpu_reset_dev_info info = { .family = "vega10" };
	struct sk_buff *skb = alloc_skb(64, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, skb);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, egpu_test_free_skb, skb));
	skb_put(skb, skb_tailroom(skb) - 60);
	KUNIT_EXPECT_EQ(test, -EMSGSIZE, egpu_genl_fill_gpu(skb, "0000:0a:00.0", &info));
	KUNIT_EXPECT_EQ(test, skb_tailroom(skb), 60);
}

static void egpu_test_bdf_parse(struct kunit *test)
{
	KUNIT_EXPECT_NULL(test, egpu_genl_get_pdev("0000:01:00"));
	KUNIT_EXPECT_NULL(test, egpu_genl_get_pdev("0000:01:00.8"));
	KUNIT_EXPECT_NULL(test, egpu_genl_get_pdev("0000:01:20.0"));
	KUNIT_EXPECT_NULL(test, egpu_genl_get_pdev("0000:01:00.0x"));
	KUNIT_EXPECT_NULL(test, egpu_genl_get_pdev("ffff:ff:1f.7"));
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
	KUNIT_CASE(egpu_test_gpu_reset_policy_ok),
	KUNIT_CASE(egpu_test_gpu_reset_policy_rejects),
	KUNIT_CASE(egpu_test_gpu_id_policy_ok),
	KUNIT_CASE(egpu_test_gpu_id_policy_rejects),
	KUNIT_CASE(egpu_test_gpu_get_policy_rejects),
	KUNIT_CASE(egpu_test_gpu_fill),
	KUNIT_CASE(egpu_test_gpu_fill_full),
	KUNIT_CASE(egpu_test_bdf_parse),
	{}
};

static struct kunit_suite egpu_genl_test_suite = {
	.name = "egpu_gate_genl",
	.test_cases = egpu_genl_test_cases,
};

kunit_test_suite(egpu_genl_test_suite);
