// SPDX-License-Identifier: GPL-2.0
/*
 * genl.c - the generic netlink family "egpu_gate".
 *
 * The attribute tree is documented in uapi/egpu_gate.h. Policies are
 * strict: the genl core rejects unknown attributes, wrong sizes and
 * out-of-range values before a handler runs, with an extack message that
 * names the attribute. The family exists only in the initial network
 * namespace (netnsok is false), every operation needs CAP_NET_ADMIN
 * (GENL_ADMIN_PERM) and CAP_SYS_ADMIN, both in the initial user namespace
 * (netlink_capable()), so root in a container controls nothing here.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/module.h>
#include <linux/utsname.h>
#include <net/genetlink.h>

#include "compat.h"
#include "config.h"
#include "genl.h"
#include "uapi/egpu_gate.h"

/* Not const: the policy's range pointer is non-const before 6.5 or so. */
static struct netlink_range_validation egpu_budget_range = {
	.min = EGPU_TEARDOWN_BUDGET_MIN_MS,
	.max = EGPU_TEARDOWN_BUDGET_MAX_MS,
};

static const struct nla_policy egpu_cfg_policy[EGPU_A_CFG_MAX + 1] = {
	[EGPU_A_CFG_AUTO_RESET_METHOD] = NLA_POLICY_MAX(NLA_U8, 1),
	[EGPU_A_CFG_TEARDOWN_BUDGET_MS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &egpu_budget_range),
};

/*
 * Request policy. Reply-only attributes (version, features, ...) are left
 * NLA_UNSPEC, which strict validation rejects in a request.
 */
static const struct nla_policy egpu_policy[EGPU_A_MAX + 1] = {
	[EGPU_A_CONFIG] = NLA_POLICY_NESTED(egpu_cfg_policy),
};

static struct genl_family egpu_genl_family;

u64 egpu_genl_features(void)
{
	u64 features = EGPU_FEATURE_GENL;

	if (EGPU_COMPAT_FTRACE_HOOK)
		features |= EGPU_FEATURE_FTRACE_HOOK;
#ifdef EGPU_KUNIT
	features |= EGPU_FEATURE_KUNIT;
#endif
	return features;
}

static int egpu_genl_require_admin(struct sk_buff *skb, struct genl_info *info)
{
	if (netlink_capable(skb, CAP_SYS_ADMIN))
		return 0;
	NL_SET_ERR_MSG(info->extack,
		       "egpu_gate: CAP_SYS_ADMIN in the initial user namespace required");
	return -EPERM;
}

static int egpu_genl_fill_status(struct sk_buff *skb)
{
	struct nlattr *cfg;

	if (nla_put_string(skb, EGPU_A_VERSION, EGPU_GATE_VERSION) ||
	    nla_put_string(skb, EGPU_A_KERNEL_RELEASE, init_utsname()->release) ||
	    nla_put_u64_64bit(skb, EGPU_A_FEATURES, egpu_genl_features(),
			      EGPU_A_PAD) ||
	    nla_put_u32(skb, EGPU_A_API_VERSION, EGPU_GATE_GENL_VERSION))
		return -EMSGSIZE;

	cfg = nla_nest_start(skb, EGPU_A_CONFIG);
	if (!cfg)
		return -EMSGSIZE;
	if (nla_put_u8(skb, EGPU_A_CFG_AUTO_RESET_METHOD,
		       egpu_config_auto_reset_method()) ||
	    nla_put_u32(skb, EGPU_A_CFG_TEARDOWN_BUDGET_MS,
			egpu_config_teardown_budget_ms())) {
		nla_nest_cancel(skb, cfg);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, cfg);
	return 0;
}

static int egpu_genl_get_status(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;
	int ret;

	ret = egpu_genl_require_admin(skb, info);
	if (ret)
		return ret;

	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &egpu_genl_family, 0,
				EGPU_CMD_GET_STATUS);
	if (!hdr) {
		ret = -EMSGSIZE;
		goto err_free;
	}
	ret = egpu_genl_fill_status(msg);
	if (ret)
		goto err_free;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

err_free:
	nlmsg_free(msg);
	return ret;
}

/*
 * Turn the (already policy-validated) EGPU_A_CONFIG nest into a change.
 * Fails with -EINVAL when the nest is missing or holds no setting.
 */
static int egpu_genl_parse_config(struct nlattr **attrs,
				  struct egpu_config_change *change,
				  struct netlink_ext_ack *extack)
{
	struct nlattr *tb[EGPU_A_CFG_MAX + 1];
	int ret;

	if (NL_REQ_ATTR_CHECK(extack, NULL, attrs, EGPU_A_CONFIG)) {
		NL_SET_ERR_MSG(extack, "egpu_gate: EGPU_A_CONFIG missing");
		return -EINVAL;
	}
	ret = nla_parse_nested(tb, EGPU_A_CFG_MAX, attrs[EGPU_A_CONFIG],
			       egpu_cfg_policy, extack);
	if (ret)
		return ret;

	memset(change, 0, sizeof(*change));
	if (tb[EGPU_A_CFG_AUTO_RESET_METHOD]) {
		change->has_auto_reset_method = true;
		change->auto_reset_method =
			nla_get_u8(tb[EGPU_A_CFG_AUTO_RESET_METHOD]);
	}
	if (tb[EGPU_A_CFG_TEARDOWN_BUDGET_MS]) {
		change->has_teardown_budget_ms = true;
		change->teardown_budget_ms =
			nla_get_u32(tb[EGPU_A_CFG_TEARDOWN_BUDGET_MS]);
	}
	if (!change->has_auto_reset_method && !change->has_teardown_budget_ms) {
		NL_SET_ERR_MSG_ATTR(extack, attrs[EGPU_A_CONFIG],
				    "egpu_gate: EGPU_A_CONFIG holds no setting");
		return -EINVAL;
	}
	return 0;
}

static int egpu_genl_set_config(struct sk_buff *skb, struct genl_info *info)
{
	struct egpu_config_change change;
	int ret;

	ret = egpu_genl_require_admin(skb, info);
	if (ret)
		return ret;
	ret = egpu_genl_parse_config(info->attrs, &change, info->extack);
	if (ret)
		return ret;
	return egpu_config_apply(&change);
}

static const struct genl_small_ops egpu_genl_ops[] = {
	{
		.cmd = EGPU_CMD_GET_STATUS,
		.doit = egpu_genl_get_status,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = EGPU_CMD_SET_CONFIG,
		.doit = egpu_genl_set_config,
		.flags = GENL_ADMIN_PERM,
	},
};

static struct genl_family egpu_genl_family __ro_after_init = {
	.name = EGPU_GATE_GENL_NAME,
	.version = EGPU_GATE_GENL_VERSION,
	.maxattr = EGPU_A_MAX,
	.policy = egpu_policy,
	.module = THIS_MODULE,
	.small_ops = egpu_genl_ops,
	.n_small_ops = ARRAY_SIZE(egpu_genl_ops),
	/* Strict header and attribute checks for every command. */
	.resv_start_op = EGPU_CMD_GET_STATUS,
};

int __init egpu_genl_init(void)
{
	return genl_register_family(&egpu_genl_family);
}

void egpu_genl_exit(void)
{
	genl_unregister_family(&egpu_genl_family);
}

#ifdef EGPU_KUNIT
#include "genl_test.c"
#endif
