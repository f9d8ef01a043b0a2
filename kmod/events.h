/* SPDX-License-Identifier: GPL-2.0 */
/*
 * events.h - egpu-gate events: one EGPU_CMD_EVENT notification on the
 * multicast group EGPU_GATE_MCGRP_EVENTS (uapi/egpu_gate.h) plus one
 * matching console line per event.
 *
 * Console line (tests and the demo read it; keep it stable):
 *
 *   egpu_gate: event TYPE [tb=NAME] [uuid=UUID] [bdf=BDF] [rule=ID]
 *              [error=-ERRNO] [us=DURATION]: MESSAGE
 *
 * TYPE is the lower-case enum name without EGPU_EVENT_ ("tb_seen",
 * "tb_authorized", "pci_bound", "teardown_step", ...); fields appear only
 * when set, in this order. Example:
 *
 *   egpu_gate: event tb_denied tb=0-301 uuid=...: parent 0-1 not authorized
 *
 * Callable from any process or worker context that may sleep (GFP_KERNEL);
 * never from atomic context. Sending never fails the caller: with no
 * listener or no memory the notification is dropped (the console line is
 * always written).
 */
#ifndef EGPU_EVENTS_H
#define EGPU_EVENTS_H

#include <linux/compiler_attributes.h>
#include <linux/types.h>

#include "uapi/egpu_gate.h"

/* What one event carries; unset fields (NULL, has_* false) are omitted. */
struct egpu_event {
	enum egpu_event_type type;
	const char *tb;			/* Thunderbolt device name, "0-1" */
	const char *unique_id;		/* its UUID string */
	const char *bdf;		/* PCI function, "0000:05:00.0" */
	bool has_rule_id;
	u32 rule_id;
	bool has_error;
	int error;			/* 0 or -errno */
	bool has_duration;
	u64 duration_us;
};

/*
 * Emit @ev with a printf-style message (one line, no trailing newline;
 * longer than 255 bytes is cut).
 */
__printf(2, 3)
void egpu_event_emit(const struct egpu_event *ev, const char *fmt, ...);

/* Lower-case name of @type ("tb_seen"), "unknown" out of range. */
const char *egpu_event_type_name(enum egpu_event_type type);

/*
 * Wiring (genl.c): the family registers the group; events.c sends through
 * it. egpu_events_set_family() is called once the family is registered
 * (before that, and after egpu_events_set_family(NULL), only the console
 * line is written).
 */
struct genl_family;
void egpu_events_set_family(struct genl_family *family);

#endif /* EGPU_EVENTS_H */
