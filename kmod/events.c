// SPDX-License-Identifier: GPL-2.0
/*
 * events.c - egpu-gate events (see events.h): a console line and an
 * EGPU_CMD_EVENT notification on the "events" multicast group.
 *
 * The family pointer is published by genl.c once the family is registered
 * and withdrawn before it is unregistered; egpu_events_rwsem makes the
 * withdrawal wait for a send in progress (sends may sleep: GFP_KERNEL).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/printk.h>
#include <linux/rwsem.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <net/genetlink.h>

#include "events.h"

#define EGPU_EVENT_MSG_MAX 256

static DECLARE_RWSEM(egpu_events_rwsem);
static struct genl_family *egpu_events_family;	/* egpu_events_rwsem */

static const char *const egpu_event_names[] = {
	[EGPU_EVENT_NONE] = "none",
	[EGPU_EVENT_TB_SEEN] = "tb_seen",
	[EGPU_EVENT_TB_MATCHED] = "tb_matched",
	[EGPU_EVENT_TB_AUTHORIZED] = "tb_authorized",
	[EGPU_EVENT_TB_DENIED] = "tb_denied",
	[EGPU_EVENT_TB_GONE] = "tb_gone",
	[EGPU_EVENT_PCI_BOUND] = "pci_bound",
	[EGPU_EVENT_TEARDOWN_STEP] = "teardown_step",
	[EGPU_EVENT_TEARDOWN_DONE] = "teardown_done",
	[EGPU_EVENT_GPU_RESET] = "gpu_reset",
	[EGPU_EVENT_ERROR] = "error",
	[EGPU_EVENT_TB_DEAUTHORIZED] = "tb_deauthorized",
};

const char *egpu_event_type_name(enum egpu_event_type type)
{
	if ((unsigned int)type < ARRAY_SIZE(egpu_event_names) &&
	    egpu_event_names[type])
		return egpu_event_names[type];
	return "unknown";
}

void egpu_events_set_family(struct genl_family *family)
{
	down_write(&egpu_events_rwsem);
	egpu_events_family = family;
	up_write(&egpu_events_rwsem);
}

static int egpu_event_fill(struct sk_buff *skb, const struct egpu_event *ev,
			   const char *msg)
{
	struct nlattr *nest;

	nest = nla_nest_start(skb, EGPU_A_EVENT);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u8(skb, EGPU_A_EV_TYPE, ev->type) ||
	    nla_put_u64_64bit(skb, EGPU_A_EV_TIME_NS, ktime_get_boottime_ns(),
			      EGPU_A_EV_PAD) ||
	    (ev->tb && nla_put_string(skb, EGPU_A_EV_TB, ev->tb)) ||
	    (ev->unique_id && ev->unique_id[0] &&
	     nla_put_string(skb, EGPU_A_EV_UNIQUE_ID, ev->unique_id)) ||
	    (ev->bdf && nla_put_string(skb, EGPU_A_EV_BDF, ev->bdf)) ||
	    (ev->has_rule_id &&
	     nla_put_u32(skb, EGPU_A_EV_RULE_ID, ev->rule_id)) ||
	    (ev->has_error && nla_put_s32(skb, EGPU_A_EV_ERROR, ev->error)) ||
	    (ev->has_duration &&
	     nla_put_u64_64bit(skb, EGPU_A_EV_DURATION_US, ev->duration_us,
			       EGPU_A_EV_PAD)) ||
	    nla_put_string(skb, EGPU_A_EV_MESSAGE, msg)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* Multicast @ev; dropped silently without family, listener or memory. */
static void egpu_event_send(const struct egpu_event *ev, const char *msg)
{
	struct sk_buff *skb;
	void *hdr;

	down_read(&egpu_events_rwsem);
	if (!egpu_events_family)
		goto out;
	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		goto out;
	hdr = genlmsg_put(skb, 0, 0, egpu_events_family, 0, EGPU_CMD_EVENT);
	if (!hdr || egpu_event_fill(skb, ev, msg)) {
		nlmsg_free(skb);
		goto out;
	}
	genlmsg_end(skb, hdr);
	/* group 0: the family's only group, EGPU_GATE_MCGRP_EVENTS */
	genlmsg_multicast(egpu_events_family, skb, 0, 0, GFP_KERNEL);
out:
	up_read(&egpu_events_rwsem);
}

void egpu_event_emit(const struct egpu_event *ev, const char *fmt, ...)
{
	char msg[EGPU_EVENT_MSG_MAX];
	char fields[160];
	int n = 0;
	va_list args;

	va_start(args, fmt);
	vscnprintf(msg, sizeof(msg), fmt, args);
	va_end(args);

	fields[0] = '\0';
	if (ev->tb)
		n += scnprintf(fields + n, sizeof(fields) - n, " tb=%s", ev->tb);
	if (ev->unique_id && ev->unique_id[0])
		n += scnprintf(fields + n, sizeof(fields) - n, " uuid=%s",
			       ev->unique_id);
	if (ev->bdf)
		n += scnprintf(fields + n, sizeof(fields) - n, " bdf=%s",
			       ev->bdf);
	if (ev->has_rule_id)
		n += scnprintf(fields + n, sizeof(fields) - n, " rule=%u",
			       ev->rule_id);
	if (ev->has_error)
		n += scnprintf(fields + n, sizeof(fields) - n, " error=%d",
			       ev->error);
	if (ev->has_duration)
		n += scnprintf(fields + n, sizeof(fields) - n, " us=%llu",
			       ev->duration_us);
	pr_info("event %s%s: %s\n", egpu_event_type_name(ev->type), fields,
		msg);
	egpu_event_send(ev, msg);
}
