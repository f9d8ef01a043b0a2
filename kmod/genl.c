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
#include <linux/device.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/string.h>
#include <linux/utsname.h>
#include <linux/uuid.h>
#include <net/genetlink.h>

#include "compat.h"
#include "config.h"
#include "events.h"
#include "genl.h"
#include "reset.h"
#include "tb.h"
#include "tb_rule.h"
#include "tb_teardown.h"
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
	[EGPU_A_CFG_RESET_LEAVE_D0] = NLA_POLICY_MAX(NLA_U8, 1),
};

/*
 * Request policy. Reply-only attributes (version, features, ...) are left
 * NLA_UNSPEC, which strict validation rejects in a request.
 */
static const struct nla_policy egpu_policy[EGPU_A_MAX + 1] = {
	[EGPU_A_CONFIG] = NLA_POLICY_NESTED(egpu_cfg_policy),
};

/* "DDDD:BB:DD.F" is 12 characters; room for a 5-digit domain. */
#define EGPU_BDF_MAX 16

/*
 * Per-command policies of the GPU commands: each admits exactly the
 * attributes its command reads; every other one (including reply-only
 * attributes, left NLA_UNSPEC) is rejected by strict validation.
 */
static const struct nla_policy egpu_gpu_reset_nest_policy[EGPU_A_GPU_MAX + 1] = {
	[EGPU_A_GPU_BDF] = { .type = NLA_NUL_STRING, .len = EGPU_BDF_MAX },
	[EGPU_A_GPU_FORCE] = { .type = NLA_FLAG },
};

static const struct nla_policy egpu_gpu_reset_policy[EGPU_A_MAX + 1] = {
	[EGPU_A_GPU] = NLA_POLICY_NESTED(egpu_gpu_reset_nest_policy),
};

static const struct nla_policy egpu_gpu_id_nest_policy[EGPU_A_GPU_MAX + 1] = {
	[EGPU_A_GPU_VENDOR] = { .type = NLA_U16 },
	[EGPU_A_GPU_DEVICE] = { .type = NLA_U16 },
	[EGPU_A_GPU_FAMILY] = { .type = NLA_NUL_STRING,
				.len = EGPU_FAMILY_NAME_MAX },
};

static const struct nla_policy egpu_gpu_id_policy[EGPU_A_MAX + 1] = {
	[EGPU_A_GPU] = NLA_POLICY_NESTED(egpu_gpu_id_nest_policy),
};

/* GPU_GET takes no attributes. */
static const struct nla_policy egpu_gpu_get_policy[EGPU_A_MAX + 1] = {};

static struct genl_family egpu_genl_family;

u64 egpu_genl_features(void)
{
	u64 features = EGPU_FEATURE_GENL;

	if (EGPU_COMPAT_FTRACE_HOOK)
		features |= EGPU_FEATURE_FTRACE_HOOK;
#ifdef EGPU_KUNIT
	features |= EGPU_FEATURE_KUNIT;
#endif
	features |= EGPU_FEATURE_TB_POLICY;
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
			egpu_config_teardown_budget_ms()) ||
	    nla_put_u8(skb, EGPU_A_CFG_RESET_LEAVE_D0,
		       egpu_config_reset_leave_d0())) {
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
	if (tb[EGPU_A_CFG_RESET_LEAVE_D0]) {
		change->has_reset_leave_d0 = true;
		change->reset_leave_d0 = nla_get_u8(tb[EGPU_A_CFG_RESET_LEAVE_D0]);
	}
	if (!change->has_auto_reset_method && !change->has_teardown_budget_ms &&
	    !change->has_reset_leave_d0) {
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

/* ---- GPU commands ---------------------------------------------------------- */

/* Put one EGPU_A_GPU nest for the device @bdf described by @info. */
static int egpu_genl_fill_gpu(struct sk_buff *skb, const char *bdf,
			      const struct egpu_reset_dev_info *info)
{
	const struct egpu_reset_stats *st = &info->stats;
	struct nlattr *gpu, *stats;

	gpu = nla_nest_start(skb, EGPU_A_GPU);
	if (!gpu)
		return -EMSGSIZE;
	if (nla_put_string(skb, EGPU_A_GPU_BDF, bdf) ||
	    nla_put_u16(skb, EGPU_A_GPU_VENDOR, info->vendor) ||
	    nla_put_u16(skb, EGPU_A_GPU_DEVICE, info->device) ||
	    nla_put_string(skb, EGPU_A_GPU_FAMILY, info->family) ||
	    nla_put_u8(skb, EGPU_A_GPU_RESET_METHOD_SET, info->reset_method_set))
		goto cancel;
	stats = nla_nest_start(skb, EGPU_A_GPU_STATS);
	if (!stats)
		goto cancel;
	if (nla_put_u64_64bit(skb, EGPU_A_STATS_COUNT, st->count,
			      EGPU_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, EGPU_A_STATS_FAILURES, st->failures,
			      EGPU_A_STATS_PAD) ||
	    nla_put_s32(skb, EGPU_A_STATS_LAST_RESULT, st->last_result) ||
	    nla_put_u64_64bit(skb, EGPU_A_STATS_LAST_DURATION_US,
			      st->last_duration_us, EGPU_A_STATS_PAD) ||
	    nla_put_u8(skb, EGPU_A_STATS_LAST_METHOD, st->method) ||
	    nla_put_u32(skb, EGPU_A_STATS_SMU_STATE_BEFORE,
			st->smu_state_before))
		goto cancel;
	nla_nest_end(skb, stats);
	nla_nest_end(skb, gpu);
	return 0;

cancel:
	nla_nest_cancel(skb, gpu);
	return -EMSGSIZE;
}

/* State of one GPU_GET dump pass; cb->args[0] = devices already sent. */
struct egpu_gpu_dump {
	struct sk_buff *skb;
	struct netlink_callback *cb;
	unsigned long idx;	/* of the device being visited */
	unsigned int sent;	/* messages put in this pass */
};

static int egpu_genl_dump_one(const struct egpu_reset_dev_info *info, void *ctx)
{
	struct egpu_gpu_dump *d = ctx;
	void *hdr;

	if (d->idx++ < d->cb->args[0])
		return 0;
	hdr = genlmsg_put(d->skb, NETLINK_CB(d->cb->skb).portid,
			  d->cb->nlh->nlmsg_seq, &egpu_genl_family,
			  NLM_F_MULTI, EGPU_CMD_GPU_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (egpu_genl_fill_gpu(d->skb, pci_name(info->pdev), info)) {
		genlmsg_cancel(d->skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(d->skb, hdr);
	d->cb->args[0] = d->idx;
	d->sent++;
	return 0;
}

/*
 * Dump: as many devices as fit, resuming after the last one sent. A device
 * claimed or released between two passes may shift the order (the walk is
 * by index): a dump is a snapshot per pass, not an atomic one.
 */
static int egpu_genl_gpu_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct egpu_gpu_dump d = { .skb = skb, .cb = cb };
	int ret;

	if (!netlink_capable(cb->skb, CAP_SYS_ADMIN)) {
		NL_SET_ERR_MSG(cb->extack,
			       "egpu_gate: CAP_SYS_ADMIN in the initial user namespace required");
		return -EPERM;
	}
	ret = egpu_reset_iterate_devs(egpu_genl_dump_one, &d);
	if (ret == -EMSGSIZE && d.sent)
		return skb->len;	/* full: continue in the next pass */
	if (ret)
		return ret;
	return skb->len;
}

/*
 * Is @pdev in use through vfio? vfio-pci and its variant drivers (all
 * vfio-pci-core based, with "vfio" in their names: "vfio-pci",
 * "mlx5_vfio_pci", "nvgrace_gpu_vfio_pci", ...) enable the PCI device when
 * their vfio device is first opened (vfio_pci_core_enable() ->
 * pci_enable_device()) and disable it on the last close
 * (vfio_pci_core_disable()); while merely bound it stays disabled. The
 * open count itself is internal to vfio (struct vfio_device, whose layout
 * changed between 6.1 and 7.x), so the pci_dev's enable count
 * (pci_is_enabled(), stable API on every kernel we support) is the proxy.
 * Checked under the device lock; a VM may open the device right after the
 * check (it then sees a device being reset, as with a sysfs reset).
 */
static bool egpu_genl_vfio_busy(struct pci_dev *pdev)
{
	const struct device_driver *drv;
	bool busy = false;

	device_lock(&pdev->dev);
	drv = pdev->dev.driver;
	if (drv && drv->name && strstr(drv->name, "vfio"))
		busy = pci_is_enabled(pdev);
	device_unlock(&pdev->dev);
	return busy;
}

/* The device named by "DDDD:BB:DD.F" (referenced) or NULL. */
static struct pci_dev *egpu_genl_get_pdev(const char *bdf)
{
	unsigned int domain, bus, dev, fn;
	char end;

	if (sscanf(bdf, "%x:%x:%x.%x%c", &domain, &bus, &dev, &fn, &end) != 4 ||
	    bus > 0xff || dev > 0x1f || fn > 7)
		return NULL;
	return pci_get_domain_bus_and_slot(domain, bus, PCI_DEVFN(dev, fn));
}

/* info->attrs[EGPU_A_GPU] parsed with @policy into @tb, or -EINVAL. */
static int egpu_genl_parse_gpu(struct genl_info *info,
			       const struct nla_policy *policy,
			       struct nlattr **tb)
{
	if (NL_REQ_ATTR_CHECK(info->extack, NULL, info->attrs, EGPU_A_GPU)) {
		NL_SET_ERR_MSG(info->extack, "egpu_gate: EGPU_A_GPU missing");
		return -EINVAL;
	}
	return nla_parse_nested(tb, EGPU_A_GPU_MAX, info->attrs[EGPU_A_GPU],
				policy, info->extack);
}

static int egpu_genl_gpu_reset(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[EGPU_A_GPU_MAX + 1];
	struct pci_dev *pdev;
	int ret;

	ret = egpu_genl_require_admin(skb, info);
	if (ret)
		return ret;
	ret = egpu_genl_parse_gpu(info, egpu_gpu_reset_nest_policy, tb);
	if (ret)
		return ret;
	if (NL_REQ_ATTR_CHECK(info->extack, info->attrs[EGPU_A_GPU], tb,
			      EGPU_A_GPU_BDF)) {
		NL_SET_ERR_MSG(info->extack, "egpu_gate: EGPU_A_GPU_BDF missing");
		return -EINVAL;
	}
	pdev = egpu_genl_get_pdev(nla_data(tb[EGPU_A_GPU_BDF]));
	if (!pdev) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[EGPU_A_GPU_BDF],
				    "egpu_gate: no such PCI device");
		return -ENODEV;
	}
	if (!tb[EGPU_A_GPU_FORCE] && egpu_genl_vfio_busy(pdev)) {
		NL_SET_ERR_MSG(info->extack,
			       "device in use by a running VM (vfio device open); use --force");
		ret = -EBUSY;
		goto out;
	}
	ret = egpu_reset_device(pdev);
	if (ret == -ENODEV)
		NL_SET_ERR_MSG_ATTR(info->extack, tb[EGPU_A_GPU_BDF],
				    "egpu_gate: device not handled by egpu_gate");
	else if (ret == -EOPNOTSUPP)
		NL_SET_ERR_MSG(info->extack,
			       "egpu_gate: device_specific is not the first reset_method");
	else if (ret)
		NL_SET_ERR_MSG(info->extack, "egpu_gate: the reset failed");
out:
	pci_dev_put(pdev);
	return ret;
}

static int egpu_genl_gpu_id(struct sk_buff *skb, struct genl_info *info,
			    bool add)
{
	struct nlattr *tb[EGPU_A_GPU_MAX + 1];
	const char *family;
	u16 vendor, device;
	int ret;

	ret = egpu_genl_require_admin(skb, info);
	if (ret)
		return ret;
	ret = egpu_genl_parse_gpu(info, egpu_gpu_id_nest_policy, tb);
	if (ret)
		return ret;
	if (NL_REQ_ATTR_CHECK(info->extack, info->attrs[EGPU_A_GPU], tb,
			      EGPU_A_GPU_VENDOR) ||
	    NL_REQ_ATTR_CHECK(info->extack, info->attrs[EGPU_A_GPU], tb,
			      EGPU_A_GPU_DEVICE) ||
	    NL_REQ_ATTR_CHECK(info->extack, info->attrs[EGPU_A_GPU], tb,
			      EGPU_A_GPU_FAMILY)) {
		NL_SET_ERR_MSG(info->extack,
			       "egpu_gate: EGPU_A_GPU_VENDOR, _DEVICE and _FAMILY required");
		return -EINVAL;
	}
	vendor = nla_get_u16(tb[EGPU_A_GPU_VENDOR]);
	device = nla_get_u16(tb[EGPU_A_GPU_DEVICE]);
	family = nla_data(tb[EGPU_A_GPU_FAMILY]);
	ret = add ? egpu_reset_add_id(family, vendor, device) :
		    egpu_reset_remove_id(family, vendor, device);
	if (ret == -ENOENT && add)
		NL_SET_ERR_MSG_ATTR(info->extack, tb[EGPU_A_GPU_FAMILY],
				    "egpu_gate: no such family");
	else if (ret == -ENOENT)
		NL_SET_ERR_MSG(info->extack,
			       "egpu_gate: no such family, or the ID was not added to it");
	else if (ret == -EEXIST)
		NL_SET_ERR_MSG(info->extack,
			       "egpu_gate: the ID was already added (remove it first)");
	return ret;
}

static int egpu_genl_gpu_id_add(struct sk_buff *skb, struct genl_info *info)
{
	return egpu_genl_gpu_id(skb, info, true);
}

static int egpu_genl_gpu_id_del(struct sk_buff *skb, struct genl_info *info)
{
	return egpu_genl_gpu_id(skb, info, false);
}

/* ---- Thunderbolt devices and keys (tb.c) ------------------------------ */

static const struct nla_policy egpu_tb_name_nest_policy[EGPU_A_TB_MAX + 1] = {
	[EGPU_A_TB_NAME] = { .type = NLA_NUL_STRING,
			     .len = EGPU_TB_DEV_NAME_MAX - 1 },
};

static const struct nla_policy egpu_tb_name_policy[EGPU_A_MAX + 1] = {
	[EGPU_A_TB] = NLA_POLICY_NESTED(egpu_tb_name_nest_policy),
};

static const struct nla_policy egpu_tb_key_nest_policy[EGPU_A_TB_MAX + 1] = {
	[EGPU_A_TB_UNIQUE_ID] = { .type = NLA_NUL_STRING,
				  .len = UUID_STRING_LEN },
	[EGPU_A_TB_KEY] = { .type = NLA_NUL_STRING,
			    .len = EGPU_TB_KEY_HEX_LEN },
};

static const struct nla_policy egpu_tb_key_policy[EGPU_A_MAX + 1] = {
	[EGPU_A_TB] = NLA_POLICY_NESTED(egpu_tb_key_nest_policy),
};

static const struct nla_policy egpu_tb_get_policy[EGPU_A_MAX + 1] = {};

/* Dump: cb->args[0] = records already sent (a snapshot per pass). */
static int egpu_genl_tb_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct egpu_tb_dev **devs;
	unsigned int i, n, sent = 0;
	int ret;
	void *hdr;

	if (!netlink_capable(cb->skb, CAP_SYS_ADMIN)) {
		NL_SET_ERR_MSG(cb->extack,
			       "egpu_gate: CAP_SYS_ADMIN in the initial user namespace required");
		return -EPERM;
	}
	ret = egpu_tb_snapshot(&devs, &n, EGPU_TB_AUTH_TIMEOUT_MS);
	if (ret)
		return ret;
	ret = egpu_tb_lock_timeout(EGPU_TB_AUTH_TIMEOUT_MS);
	if (ret)
		goto out;
	for (i = cb->args[0]; i < n; i++) {
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &egpu_genl_family,
				  NLM_F_MULTI, EGPU_CMD_TB_GET);
		if (!hdr)
			break;
		egpu_tb_read_authorized(devs[i]);	/* live, if still there */
		if (egpu_tb_fill_dev(skb, devs[i])) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
		sent++;
	}
	egpu_tb_unlock();
	if (i < n && !sent)
		ret = -EMSGSIZE;	/* one record larger than a message */
	cb->args[0] = i;
out:
	egpu_tb_snapshot_put(devs, n);
	return ret ? ret : skb->len;
}

/* info->attrs[EGPU_A_TB] parsed with @policy into @tb, or -EINVAL. */
static int egpu_genl_parse_tb(struct genl_info *info,
			      const struct nla_policy *policy,
			      struct nlattr **tb)
{
	if (NL_REQ_ATTR_CHECK(info->extack, NULL, info->attrs, EGPU_A_TB)) {
		NL_SET_ERR_MSG(info->extack, "egpu_gate: EGPU_A_TB missing");
		return -EINVAL;
	}
	return nla_parse_nested(tb, EGPU_A_TB_MAX, info->attrs[EGPU_A_TB],
				policy, info->extack);
}

static int egpu_genl_tb_authorize(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[EGPU_A_TB_MAX + 1];
	int ret;

	ret = egpu_genl_require_admin(skb, info);
	if (ret)
		return ret;
	ret = egpu_genl_parse_tb(info, egpu_tb_name_nest_policy, tb);
	if (ret)
		return ret;
	if (NL_REQ_ATTR_CHECK(info->extack, info->attrs[EGPU_A_TB], tb,
			      EGPU_A_TB_NAME)) {
		NL_SET_ERR_MSG(info->extack, "egpu_gate: EGPU_A_TB_NAME missing");
		return -EINVAL;
	}
	return egpu_tb_authorize_by_name(nla_data(tb[EGPU_A_TB_NAME]),
					 info->extack);
}

static int egpu_genl_tb_key_set(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[EGPU_A_TB_MAX + 1];
	int ret;

	ret = egpu_genl_require_admin(skb, info);
	if (ret)
		return ret;
	ret = egpu_genl_parse_tb(info, egpu_tb_key_nest_policy, tb);
	if (ret)
		return ret;
	if (NL_REQ_ATTR_CHECK(info->extack, info->attrs[EGPU_A_TB], tb,
			      EGPU_A_TB_UNIQUE_ID) ||
	    NL_REQ_ATTR_CHECK(info->extack, info->attrs[EGPU_A_TB], tb,
			      EGPU_A_TB_KEY)) {
		NL_SET_ERR_MSG(info->extack,
			       "egpu_gate: EGPU_A_TB_UNIQUE_ID and EGPU_A_TB_KEY required");
		return -EINVAL;
	}
	return egpu_tb_key_set(nla_data(tb[EGPU_A_TB_UNIQUE_ID]),
			       nla_data(tb[EGPU_A_TB_KEY]), info->extack);
}

/* ---- teardown (tb_teardown.c): TEARDOWN_PLAN, TEARDOWN_RUN, TB_DEAUTHORIZE */

static const struct nla_policy egpu_td_none_policy[EGPU_A_MAX + 1] = {};

static int egpu_genl_fill_step(struct sk_buff *skb, unsigned int idx,
			       const struct egpu_td_step *st)
{
	struct nlattr *nest = nla_nest_start(skb, EGPU_A_STEP);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(skb, EGPU_A_STEP_INDEX, idx) ||
	    nla_put_u8(skb, EGPU_A_STEP_ACTION, st->action) ||
	    nla_put_string(skb, EGPU_A_STEP_TARGET, st->target) ||
	    nla_put_string(skb, EGPU_A_STEP_TB, st->tb) ||
	    (st->note[0] && nla_put_string(skb, EGPU_A_STEP_NOTE, st->note))) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/*
 * One message per step, from a plan built at the first pass and kept in
 * cb->args[1] until the dump ends (cb->args[0]: steps sent).
 */
static int egpu_genl_td_plan_dump(struct sk_buff *skb,
				  struct netlink_callback *cb)
{
	struct egpu_td_plan *plan = (struct egpu_td_plan *)cb->args[1];
	unsigned int i;
	void *hdr;

	if (!netlink_capable(cb->skb, CAP_SYS_ADMIN)) {
		NL_SET_ERR_MSG(cb->extack,
			       "egpu_gate: CAP_SYS_ADMIN in the initial user namespace required");
		return -EPERM;
	}
	if (!plan) {
		plan = egpu_td_plan_now(NULL);
		if (IS_ERR(plan))
			return PTR_ERR(plan);
		cb->args[1] = (unsigned long)plan;
	}
	for (i = cb->args[0]; i < plan->n; i++) {
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &egpu_genl_family,
				  NLM_F_MULTI, EGPU_CMD_TEARDOWN_PLAN);
		if (!hdr)
			break;
		if (egpu_genl_fill_step(skb, i, &plan->steps[i])) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
	}
	if (i == cb->args[0] && i < plan->n)
		return -EMSGSIZE;	/* one step does not fit a message */
	cb->args[0] = i;
	return skb->len;
}

static int egpu_genl_td_plan_done(struct netlink_callback *cb)
{
	egpu_td_plan_put((struct egpu_td_plan *)cb->args[1]);
	return 0;
}

static int egpu_genl_td_run(struct sk_buff *skb, struct genl_info *info)
{
	int ret = egpu_genl_require_admin(skb, info);

	if (ret)
		return ret;
	ret = egpu_td_run_now(NULL, "netlink", info->extack);
	if (ret == -ETIMEDOUT)
		NL_SET_ERR_MSG(info->extack,
			       "egpu_gate: teardown budget ran out; see the kernel log");
	return ret;
}

static int egpu_genl_tb_deauthorize(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[EGPU_A_TB_MAX + 1];
	int ret;

	ret = egpu_genl_require_admin(skb, info);
	if (ret)
		return ret;
	ret = egpu_genl_parse_tb(info, egpu_tb_name_nest_policy, tb);
	if (ret)
		return ret;
	if (NL_REQ_ATTR_CHECK(info->extack, info->attrs[EGPU_A_TB], tb,
			      EGPU_A_TB_NAME)) {
		NL_SET_ERR_MSG(info->extack, "egpu_gate: EGPU_A_TB_NAME missing");
		return -EINVAL;
	}
	ret = egpu_td_run_now(nla_data(tb[EGPU_A_TB_NAME]), "deauthorize",
			      info->extack);
	if (ret == -ENODEV)
		NL_SET_ERR_MSG_ATTR(info->extack, tb[EGPU_A_TB_NAME],
				    "egpu_gate: no such Thunderbolt device");
	else if (ret == -ETIMEDOUT)
		NL_SET_ERR_MSG(info->extack,
			       "egpu_gate: a teardown step overran its bound; see the kernel log");
	return ret;
}

/* ---- Thunderbolt rule commands (tb_rule.c) ----------------------------------- */

static const struct nla_policy egpu_rule_get_policy[EGPU_A_MAX + 1] = {};

static const struct nla_policy egpu_rule_add_nest_policy[EGPU_A_RULE_MAX + 1] = {
	[EGPU_A_RULE_TEXT] = { .type = NLA_NUL_STRING,
			       .len = EGPU_TB_RULE_TEXT_MAX },
};

static const struct nla_policy egpu_rule_add_policy[EGPU_A_MAX + 1] = {
	[EGPU_A_RULE] = NLA_POLICY_NESTED(egpu_rule_add_nest_policy),
};

static const struct nla_policy egpu_rule_del_nest_policy[EGPU_A_RULE_MAX + 1] = {
	[EGPU_A_RULE_ID] = { .type = NLA_U32 },
};

static const struct nla_policy egpu_rule_del_policy[EGPU_A_MAX + 1] = {
	[EGPU_A_RULE] = NLA_POLICY_NESTED(egpu_rule_del_nest_policy),
};

/* A whole set: at most one attribute's worth (64 KiB) of text. */
static const struct nla_policy egpu_rules_set_policy[EGPU_A_MAX + 1] = {
	[EGPU_A_RULES] = { .type = NLA_NUL_STRING },
};

/* One EGPU_A_RULE nest: ID, canonical text and, for a dump, the hits. */
static int egpu_genl_fill_rule(struct sk_buff *skb, u32 id, const char *text,
			       const struct egpu_tb_rule *hits_of)
{
	struct nlattr *nest = nla_nest_start(skb, EGPU_A_RULE);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(skb, EGPU_A_RULE_ID, id) ||
	    nla_put_string(skb, EGPU_A_RULE_TEXT, text) ||
	    (hits_of && nla_put_u64_64bit(skb, EGPU_A_RULE_HITS,
					  atomic64_read(&hits_of->hits),
					  EGPU_A_RULE_PAD))) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/*
 * TB_RULE_GET dump: one snapshot of the set (a reference taken in .start,
 * dropped in .done) sent over as many messages as it needs, so a dump is
 * consistent even when the set changes meanwhile. cb->args[0] = the set,
 * cb->args[1] = rules already sent.
 */
static int egpu_genl_rule_dump_start(struct netlink_callback *cb)
{
	struct egpu_tb_ruleset *set = egpu_tb_ruleset_get();

	if (!set)
		return -ENOMEM;
	cb->args[0] = (unsigned long)set;
	cb->args[1] = 0;
	return 0;
}

static int egpu_genl_rule_dump_done(struct netlink_callback *cb)
{
	egpu_tb_ruleset_put((struct egpu_tb_ruleset *)cb->args[0]);
	cb->args[0] = 0;
	return 0;
}

static int egpu_genl_rule_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct egpu_tb_ruleset *set = (struct egpu_tb_ruleset *)cb->args[0];
	char text[EGPU_TB_RULE_TEXT_MAX + 1];
	unsigned long i;
	void *hdr;

	if (!netlink_capable(cb->skb, CAP_SYS_ADMIN)) {
		NL_SET_ERR_MSG(cb->extack,
			       "egpu_gate: CAP_SYS_ADMIN in the initial user namespace required");
		return -EPERM;
	}
	for (i = cb->args[1]; set && i < set->n; i++) {
		const struct egpu_tb_rule *r = set->rules[i];

		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &egpu_genl_family,
				  NLM_F_MULTI, EGPU_CMD_TB_RULE_GET);
		if (!hdr)
			break;
		egpu_tb_rule_format(r, text, sizeof(text));
		if (egpu_genl_fill_rule(skb, r->id, text, r)) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
	}
	if (set && i == cb->args[1] && i < set->n)
		return -EMSGSIZE;	/* one rule larger than a message */
	cb->args[1] = i;
	return skb->len;	/* 0 once everything is sent: done */
}

/* info->attrs[EGPU_A_RULE] parsed with @policy into @tb, or -EINVAL. */
static int egpu_genl_parse_rule(struct genl_info *info,
				const struct nla_policy *policy,
				struct nlattr **tb, int attr)
{
	if (NL_REQ_ATTR_CHECK(info->extack, NULL, info->attrs, EGPU_A_RULE)) {
		NL_SET_ERR_MSG(info->extack, "egpu_gate: EGPU_A_RULE missing");
		return -EINVAL;
	}
	if (nla_parse_nested(tb, EGPU_A_RULE_MAX, info->attrs[EGPU_A_RULE],
			     policy, info->extack))
		return -EINVAL;
	if (NL_REQ_ATTR_CHECK(info->extack, info->attrs[EGPU_A_RULE], tb, attr)) {
		if (attr == EGPU_A_RULE_ID)
			NL_SET_ERR_MSG(info->extack, "egpu_gate: EGPU_A_RULE_ID missing");
		else
			NL_SET_ERR_MSG(info->extack, "egpu_gate: EGPU_A_RULE_TEXT missing");
		return -EINVAL;
	}
	return 0;
}

static int egpu_genl_rule_add(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[EGPU_A_RULE_MAX + 1];
	char text[EGPU_TB_RULE_TEXT_MAX + 1];
	struct egpu_tb_rule *rule;
	struct sk_buff *msg;
	void *hdr;
	u32 id;
	int ret;

	ret = egpu_genl_require_admin(skb, info);
	if (ret)
		return ret;
	ret = egpu_genl_parse_rule(info, egpu_rule_add_nest_policy, tb,
				   EGPU_A_RULE_TEXT);
	if (ret)
		return ret;
	rule = egpu_tb_rule_alloc();
	if (!rule)
		return -ENOMEM;
	ret = egpu_tb_rule_parse(nla_data(tb[EGPU_A_RULE_TEXT]), rule,
				 info->extack, NULL, 0);
	if (ret) {
		egpu_tb_rule_put(rule);
		return ret;
	}
	egpu_tb_rule_format(rule, text, sizeof(text));
	/* The reply first: once the rule is added, nothing may fail. */
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	hdr = msg ? genlmsg_put_reply(msg, info, &egpu_genl_family, 0,
				      EGPU_CMD_TB_RULE_ADD) : NULL;
	if (!hdr) {
		nlmsg_free(msg);
		egpu_tb_rule_put(rule);
		return -ENOMEM;
	}
	ret = egpu_tb_rules_add_rule(rule, &id, info->extack);	/* owns rule */
	if (!ret)
		ret = egpu_genl_fill_rule(msg, id, text, NULL);
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int egpu_genl_rule_del(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[EGPU_A_RULE_MAX + 1];
	int ret;

	ret = egpu_genl_require_admin(skb, info);
	if (ret)
		return ret;
	ret = egpu_genl_parse_rule(info, egpu_rule_del_nest_policy, tb,
				   EGPU_A_RULE_ID);
	if (ret)
		return ret;
	ret = egpu_tb_rules_del(nla_get_u32(tb[EGPU_A_RULE_ID]));
	if (ret == -ENOENT)
		NL_SET_ERR_MSG_ATTR(info->extack, tb[EGPU_A_RULE_ID],
				    "egpu_gate: no rule has this ID");
	return ret;
}

static int egpu_genl_rules_set(struct sk_buff *skb, struct genl_info *info)
{
	int ret;

	ret = egpu_genl_require_admin(skb, info);
	if (ret)
		return ret;
	if (NL_REQ_ATTR_CHECK(info->extack, NULL, info->attrs, EGPU_A_RULES)) {
		NL_SET_ERR_MSG(info->extack, "egpu_gate: EGPU_A_RULES missing");
		return -EINVAL;
	}
	return egpu_tb_rules_replace(nla_data(info->attrs[EGPU_A_RULES]),
				     info->extack);
}

/* GPU commands: per-command policies (genl_ops, not small ops). */
static const struct genl_ops egpu_genl_gpu_ops[] = {
	{
		.cmd = EGPU_CMD_GPU_GET,
		.dumpit = egpu_genl_gpu_dump,
		.policy = egpu_gpu_get_policy,
		.maxattr = EGPU_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = EGPU_CMD_GPU_RESET,
		.doit = egpu_genl_gpu_reset,
		.policy = egpu_gpu_reset_policy,
		.maxattr = EGPU_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = EGPU_CMD_GPU_ID_ADD,
		.doit = egpu_genl_gpu_id_add,
		.policy = egpu_gpu_id_policy,
		.maxattr = EGPU_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = EGPU_CMD_GPU_ID_DEL,
		.doit = egpu_genl_gpu_id_del,
		.policy = egpu_gpu_id_policy,
		.maxattr = EGPU_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = EGPU_CMD_TB_GET,
		.dumpit = egpu_genl_tb_dump,
		.policy = egpu_tb_get_policy,
		.maxattr = EGPU_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = EGPU_CMD_TB_AUTHORIZE,
		.doit = egpu_genl_tb_authorize,
		.policy = egpu_tb_name_policy,
		.maxattr = EGPU_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = EGPU_CMD_TB_KEY_SET,
		.doit = egpu_genl_tb_key_set,
		.policy = egpu_tb_key_policy,
		.maxattr = EGPU_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	/* teardown (tb_teardown.c) */
	{
		.cmd = EGPU_CMD_TEARDOWN_PLAN,
		.dumpit = egpu_genl_td_plan_dump,
		.done = egpu_genl_td_plan_done,
		.policy = egpu_td_none_policy,
		.maxattr = EGPU_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = EGPU_CMD_TEARDOWN_RUN,
		.doit = egpu_genl_td_run,
		.policy = egpu_td_none_policy,
		.maxattr = EGPU_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = EGPU_CMD_TB_DEAUTHORIZE,
		.doit = egpu_genl_tb_deauthorize,
		.policy = egpu_tb_name_policy,
		.maxattr = EGPU_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	/* Thunderbolt rules */
	{
		.cmd = EGPU_CMD_TB_RULE_GET,
		.start = egpu_genl_rule_dump_start,
		.dumpit = egpu_genl_rule_dump,
		.done = egpu_genl_rule_dump_done,
		.policy = egpu_rule_get_policy,
		.maxattr = EGPU_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = EGPU_CMD_TB_RULE_ADD,
		.doit = egpu_genl_rule_add,
		.policy = egpu_rule_add_policy,
		.maxattr = EGPU_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = EGPU_CMD_TB_RULE_DEL,
		.doit = egpu_genl_rule_del,
		.policy = egpu_rule_del_policy,
		.maxattr = EGPU_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = EGPU_CMD_TB_RULES_SET,
		.doit = egpu_genl_rules_set,
		.policy = egpu_rules_set_policy,
		.maxattr = EGPU_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
};

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

/* Events (events.c): only CAP_SYS_ADMIN may listen (device identities). */
static const struct genl_multicast_group egpu_genl_mcgrps[] = {
	{ .name = EGPU_GATE_MCGRP_EVENTS, .flags = GENL_MCAST_CAP_SYS_ADMIN },
};

static struct genl_family egpu_genl_family __ro_after_init = {
	.name = EGPU_GATE_GENL_NAME,
	.version = EGPU_GATE_GENL_VERSION,
	.maxattr = EGPU_A_MAX,
	.policy = egpu_policy,
	.module = THIS_MODULE,
	.small_ops = egpu_genl_ops,
	.n_small_ops = ARRAY_SIZE(egpu_genl_ops),
	.ops = egpu_genl_gpu_ops,
	.n_ops = ARRAY_SIZE(egpu_genl_gpu_ops),
	.mcgrps = egpu_genl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(egpu_genl_mcgrps),
	/* Strict header and attribute checks for every command. */
	.resv_start_op = EGPU_CMD_GET_STATUS,
};

int __init egpu_genl_init(void)
{
	int ret;

	ret = genl_register_family(&egpu_genl_family);
	if (!ret)
		egpu_events_set_family(&egpu_genl_family);
	return ret;
}

void egpu_genl_exit(void)
{
	egpu_events_set_family(NULL);
	genl_unregister_family(&egpu_genl_family);
}

#ifdef EGPU_KUNIT
#include "genl_test.c"
#endif
