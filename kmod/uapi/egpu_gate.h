/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * egpu_gate.h - the one user-space API of egpu-gate.
 *
 * Used by the kernel module (kmod/) and by egpuctl (userspace/); never copied.
 *
 * Transport: generic netlink family EGPU_GATE_GENL_NAME, version
 * EGPU_GATE_GENL_VERSION, in the initial network namespace only.  Every
 * command needs CAP_NET_ADMIN (the genl core, GENL_ADMIN_PERM) and
 * CAP_SYS_ADMIN (checked by the module), both in the initial user
 * namespace: root inside a container cannot read or control host devices.
 * Validation is strict: unknown attributes, attributes of the wrong size
 * and out-of-range values are rejected with an extended-ack message that
 * names the attribute.
 *
 * Enums are append-only; numbers never change once released.
 *
 * Attribute tree
 * --------------
 *
 * EGPU_CMD_GET_STATUS (doit)
 *   request:  no attributes
 *   reply:    EGPU_A_VERSION            string  module version ("0.1.0")
 *             EGPU_A_KERNEL_RELEASE     string  utsname release of the kernel
 *             EGPU_A_FEATURES           u64     EGPU_FEATURE_* bits
 *             EGPU_A_API_VERSION        u32     EGPU_GATE_GENL_VERSION
 *             EGPU_A_CONFIG             nest    current configuration:
 *               EGPU_A_CFG_AUTO_RESET_METHOD   u8   0/1
 *               EGPU_A_CFG_TEARDOWN_BUDGET_MS  u32  see limits below
 *               EGPU_A_CFG_RESET_LEAVE_D0      u8   0/1: leave a reset
 *                                                   GPU in D0 (default 1)
 *
 * EGPU_CMD_SET_CONFIG (doit, changes state)
 *   request:  EGPU_A_CONFIG             nest    required; at least one of
 *               EGPU_A_CFG_AUTO_RESET_METHOD   u8   0 or 1
 *               EGPU_A_CFG_TEARDOWN_BUDGET_MS  u32  in
 *                   [EGPU_TEARDOWN_BUDGET_MIN_MS, EGPU_TEARDOWN_BUDGET_MAX_MS]
 *               EGPU_A_CFG_RESET_LEAVE_D0      u8   0 or 1
 *   reply:    none (ack).  All given values are validated before any is
 *             applied: a request is applied whole or not at all.
 *   The same settings are module parameters (auto_reset_method,
 *   teardown_budget_ms, reset_leave_d0); both views always agree.
 *
 * EGPU_CMD_GPU_GET (dump only: NLM_F_DUMP)
 *   request:  no attributes
 *   reply:    one message per claimed (handled) device, in claim order,
 *             each holding one
 *             EGPU_A_GPU                nest
 *               EGPU_A_GPU_BDF          string  "0000:01:00.0"
 *               EGPU_A_GPU_VENDOR       u16     PCI vendor ID
 *               EGPU_A_GPU_DEVICE       u16     PCI device ID
 *               EGPU_A_GPU_FAMILY       string  reset family ("vega10")
 *               EGPU_A_GPU_RESET_METHOD_SET u8  1: device_specific was put
 *                                               first in reset_method
 *               EGPU_A_GPU_STATS        nest    since the device was claimed:
 *                 EGPU_A_STATS_COUNT            u64  device-specific resets
 *                 EGPU_A_STATS_FAILURES         u64  of which failed
 *                 EGPU_A_STATS_LAST_RESULT      s32  0 or -errno of the last
 *                 EGPU_A_STATS_LAST_DURATION_US u64  of the last reset
 *                 EGPU_A_STATS_LAST_METHOD      u8   enum egpu_reset_method
 *                 EGPU_A_STATS_SMU_STATE_BEFORE u32  family state word
 *                                                    before the last reset
 *   A dump larger than one message buffer continues where it stopped.
 *
 * EGPU_CMD_GPU_RESET (doit, changes state)
 *   request:  EGPU_A_GPU                nest    required:
 *               EGPU_A_GPU_BDF          string  required, "DDDD:BB:DD.F"
 *               EGPU_A_GPU_FORCE        flag    reset even when in use
 *   reply:    none (ack) once the reset has run.  Runs the device's
 *             reset_method like a write to its sysfs "reset" (the family's
 *             device-specific reset must be first).
 *   Errors:   -ENODEV no such PCI device or not handled by egpu_gate;
 *             -EOPNOTSUPP device_specific is not the first reset method;
 *             -EBUSY the device is bound to vfio-pci (or a vfio-pci
 *             variant driver) and in use (its vfio device is open, e.g. by
 *             a running VM; detected as: the PCI device is enabled, which
 *             vfio-pci does on open only) and EGPU_A_GPU_FORCE is absent;
 *             otherwise the reset's own result.
 *
 * EGPU_CMD_GPU_ID_ADD, EGPU_CMD_GPU_ID_DEL (doit, change state)
 *   request:  EGPU_A_GPU                nest    required, with all of
 *               EGPU_A_GPU_VENDOR       u16
 *               EGPU_A_GPU_DEVICE       u16
 *               EGPU_A_GPU_FAMILY       string  NUL-terminated, at most
 *                                               EGPU_FAMILY_NAME_MAX bytes
 *   reply:    none (ack).  ADD makes VENDOR:DEVICE a device of the family
 *             (present devices are claimed at once); DEL removes such a
 *             run-time ID (its devices are released).
 *   Errors:   -ENOENT unknown family (DEL: ID not added to that family);
 *             -EEXIST (ADD) the ID was already added.
 *   The same run-time IDs are the module parameter gpu_ids
 *   ("VVVV:DDDD:family[,...]", hex, e.g. gpu_ids=1002:6867:vega10), so a
 *   policy (modprobe.d, kernel command line) can name them at boot; at load
 *   they are added through the same code path as GPU_ID_ADD.  Reading the
 *   parameter shows the live set (netlink additions included); writing it
 *   replaces the set.  A value is checked whole first: a malformed entry,
 *   a duplicate or an unknown family is logged and nothing of the value is
 *   applied (a write fails with -EINVAL/-ENOENT; at load the module still
 *   loads, without the value's IDs).
 *
 * EGPU_CMD_TB_GET (dump only)
 *   request:  no attributes
 *   reply:    one message per Thunderbolt device egpu-gate has seen (host
 *             routers included), parents before children, each holding one
 *             EGPU_A_TB                 nest
 *               EGPU_A_TB_NAME          string  sysfs name, "0-1", "1-301"
 *               EGPU_A_TB_DOMAIN        u32     domain index
 *               EGPU_A_TB_PARENT        string  upstream device name (absent
 *                                               for a host router)
 *               EGPU_A_TB_UNIQUE_ID     string  UUID as in sysfs unique_id
 *               EGPU_A_TB_VENDOR        u32     Thunderbolt vendor ID
 *               EGPU_A_TB_DEVICE        u32     Thunderbolt device ID
 *               EGPU_A_TB_VENDOR_NAME   string  (absent when not set)
 *               EGPU_A_TB_DEVICE_NAME   string  (absent when not set)
 *               EGPU_A_TB_AUTHORIZED    u8      sysfs authorized: 0, 1, 2
 *               EGPU_A_TB_SECURITY      string  domain security level
 *               EGPU_A_TB_IOMMU_PROTECTION u8   domain iommu_dma_protection
 *               EGPU_A_TB_DEAUTHORIZATION  u8   domain deauthorization
 *               EGPU_A_TB_RULE_ID       u32     matched rule (absent: none)
 *               EGPU_A_TB_DECISION      u8      enum egpu_tb_decision
 *               EGPU_A_TB_REASON        string  why, in words
 *               EGPU_A_TB_BY_EGPU       flag    authorized by egpu-gate (it
 *                                               is torn down at shutdown)
 *               EGPU_A_TB_PCI           string  repeated: a PCI function
 *                                               found below the device
 *               EGPU_A_TB_AUTH_FAILURES u32     failed authorization attempts
 *                                               of the current round (a round
 *                                               starts at the plug, a rule or
 *                                               key change and TB_AUTHORIZE;
 *                                               kept after a success)
 *               EGPU_A_TB_AUTH_ERROR    s32     the last failure's -errno
 *                                               (absent: none this round)
 *               EGPU_A_TB_AUTH_RETRY_MS u32     ms until the next attempt
 *                                               (absent: none scheduled)
 *   A failed authorization by a rule whose error another attempt may fix
 *   (not -ENODEV/-ENOENT, -ENOKEY/-EKEYREJECTED, -EINVAL, -EPERM, -EACCES,
 *   -EOPNOTSUPP) is tried again after 1 s, 2 s, 4 s, EGPU_TB_AUTH_ATTEMPTS
 *   attempts in all; then the device stays unauthorized, decision FAILED,
 *   and the reason says so.
 *
 * EGPU_CMD_TB_AUTHORIZE, EGPU_CMD_TB_DEAUTHORIZE (doit, change state)
 *   request:  EGPU_A_TB                 nest    required:
 *               EGPU_A_TB_NAME          string  required, "0-1"
 *   reply:    none (ack) once done.  AUTHORIZE authorizes the device now
 *             (parents must be authorized; no rule needed: an explicit
 *             administrator action), through the same path as a rule.
 *             DEAUTHORIZE tears the device's subtree down in teardown order
 *             (deepest device first: its PCI functions unbound and removed,
 *             then the device de-authorized), within the teardown budget.
 *   Errors:   -ENODEV unknown device; -EOPNOTSUPP the domain's security
 *             level does not allow it (extack says which); -ETIMEDOUT a
 *             step overran its bound; otherwise the authorized store's
 *             error.  An already authorized device (AUTHORIZE) or an
 *             unauthorized one (DEAUTHORIZE) is success.
 *
 * EGPU_CMD_TB_RULE_GET (dump only)
 *   reply:    one message per rule, in match order (first match wins):
 *             EGPU_A_RULE               nest
 *               EGPU_A_RULE_ID          u32     stable until the rule is
 *                                               deleted or replaced
 *               EGPU_A_RULE_TEXT        string  canonical rule text
 *               EGPU_A_RULE_HITS        u64     devices matched so far
 *
 * EGPU_CMD_TB_RULE_ADD (doit, changes state)
 *   request:  EGPU_A_RULE               nest    required:
 *               EGPU_A_RULE_TEXT        string  one rule (grammar below)
 *             EGPU_A_RULE_POSITION is not defined: a rule is appended.
 *   reply:    EGPU_A_RULE {EGPU_A_RULE_ID, EGPU_A_RULE_TEXT (canonical)}.
 *             Present devices without a decision are evaluated again.
 *   Errors:   -EINVAL malformed (extack names the field), -ENOSPC more
 *             than EGPU_TB_RULES_MAX rules.
 *
 * EGPU_CMD_TB_RULE_DEL (doit): EGPU_A_RULE {EGPU_A_RULE_ID}; -ENOENT.
 *
 * EGPU_CMD_TB_RULES_SET (doit, changes state)
 *   request:  EGPU_A_RULES              string  whole rule set (";"-separated,
 *                                               "" clears it)
 *   reply:    none (ack).  Parsed whole before anything changes: a set is
 *             applied completely or not at all.  The module parameter
 *             tb_rules holds the same text, in the same grammar.
 *
 * EGPU_CMD_TB_KEY_SET (doit, changes state)
 *   request:  EGPU_A_TB                 nest    required:
 *               EGPU_A_TB_UNIQUE_ID     string  the device's UUID
 *               EGPU_A_TB_KEY           string  64 hex digits; "" deletes
 *   reply:    none (ack).  Keys are used at security level "secure" and
 *             never returned.
 *
 * EGPU_CMD_TEARDOWN_PLAN (dump only)
 *   reply:    one message per step, in execution order:
 *             EGPU_A_STEP               nest
 *               EGPU_A_STEP_INDEX       u32     0, 1, ...
 *               EGPU_A_STEP_ACTION      u8      enum egpu_step_action
 *               EGPU_A_STEP_TARGET      string  PCI BDF or Thunderbolt name
 *               EGPU_A_STEP_TB          string  device the step belongs to
 *               EGPU_A_STEP_NOTE        string  e.g. why a de-authorization
 *                                               is skipped
 *
 * EGPU_CMD_TEARDOWN_RUN (doit, changes state)
 *   request:  no attributes
 *   reply:    none (ack).  Runs the shutdown teardown now, as the reboot
 *             notifier would (for tests and benchmarks); each step is an
 *             event.  -ETIMEDOUT when the budget ran out.
 *
 * EGPU_CMD_EVENT (notification, multicast group EGPU_GATE_MCGRP_EVENTS;
 *             never a request)
 *             EGPU_A_EVENT              nest
 *               EGPU_A_EV_TYPE          u8      enum egpu_event_type
 *               EGPU_A_EV_TIME_NS       u64     CLOCK_BOOTTIME
 *               EGPU_A_EV_TB            string  Thunderbolt device name
 *               EGPU_A_EV_UNIQUE_ID     string
 *               EGPU_A_EV_BDF           string  PCI function
 *               EGPU_A_EV_RULE_ID       u32
 *               EGPU_A_EV_ERROR         s32     0 or -errno
 *               EGPU_A_EV_DURATION_US   u64     of the step reported
 *               EGPU_A_EV_MESSAGE       string  one line, human readable
 *             Only the attributes that apply are present.
 *
 * Thunderbolt rule grammar (module parameter tb_rules, EGPU_A_RULES,
 * EGPU_A_RULE_TEXT)
 * -------------------------------------------------------------------
 *   rules := rule { ";" rule }          empty rules between ";" are ignored
 *   rule  := field { "," field }        spaces around fields are ignored
 *   field := key "=" value
 *   match keys (at least one; all given must match):
 *     uuid=UUID            unique_id, 8-4-4-4-12 hex, case-insensitive
 *     id=VVVV:DDDD         Thunderbolt vendor and device ID, hex
 *     vendor_name=TEXT     exact; TEXT has no "," ";" "=" or control chars,
 *     device_name=TEXT       at most EGPU_TB_NAME_MAX bytes
 *     parent=UUID          the upstream device's unique_id
 *   options:
 *     action=authorize|ignore     default authorize
 *     iommu=required|optional     default required: the rule does not
 *                                 authorize on a domain whose
 *                                 iommu_dma_protection is 0
 *     bind=VVVV:DDDD[+VVVV:DDDD]  PCI functions below the device to bind
 *                                 to vfio-pci (at most EGPU_TB_BIND_MAX)
 *     chain=0|1                   authorize unauthorized parents first
 *                                 (default 0: the device waits, and the
 *                                 decision names the blocking parent)
 *   Canonical text: keys in the order above, defaults omitted, IDs as
 *   4-digit lower-case hex, UUIDs lower case.  A key given twice, an
 *   unknown key or value is an error naming the field: nothing is applied.
 *   Example:
 *     uuid=d1e2a3b4-0000-0000-0000-000000000001,bind=1002:687f+1002:aaf8
 *
 * Errors: -EPERM (not privileged), -EINVAL (missing/unknown/malformed
 * attribute; extack says which), -ERANGE (value out of range),
 * -EOPNOTSUPP (unknown command).
 */
#ifndef _UAPI_EGPU_GATE_H
#define _UAPI_EGPU_GATE_H

#include <linux/const.h>

#define EGPU_GATE_GENL_NAME "egpu_gate"
#define EGPU_GATE_GENL_VERSION 1

/* Limits of EGPU_A_CFG_TEARDOWN_BUDGET_MS (and module parameter). */
#define EGPU_TEARDOWN_BUDGET_MIN_MS 100
#define EGPU_TEARDOWN_BUDGET_MAX_MS 60000
#define EGPU_TEARDOWN_BUDGET_DEFAULT_MS 5000

/* Longest family name in EGPU_CMD_GPU_ID_ADD/DEL, without the NUL. */
#define EGPU_FAMILY_NAME_MAX 15

/* Multicast group of EGPU_CMD_EVENT notifications. */
#define EGPU_GATE_MCGRP_EVENTS "events"

/* Thunderbolt rules: limits of the rule set and of one rule. */
#define EGPU_TB_RULES_MAX 16384
#define EGPU_TB_RULE_TEXT_MAX 511	/* one rule, without the NUL */
#define EGPU_TB_NAME_MAX 63		/* vendor_name, device_name */
#define EGPU_TB_BIND_MAX 8		/* PCI IDs in bind= */
#define EGPU_TB_KEY_HEX_LEN 64		/* key: 32 bytes as hex */
#define EGPU_TB_AUTH_ATTEMPTS 4		/* authorization attempts per round */

enum egpu_gate_cmd {
	EGPU_CMD_UNSPEC,
	EGPU_CMD_GET_STATUS,
	EGPU_CMD_SET_CONFIG,
	EGPU_CMD_GPU_GET,
	EGPU_CMD_GPU_RESET,
	EGPU_CMD_GPU_ID_ADD,
	EGPU_CMD_GPU_ID_DEL,
	EGPU_CMD_TB_GET,
	EGPU_CMD_TB_AUTHORIZE,
	EGPU_CMD_TB_DEAUTHORIZE,
	EGPU_CMD_TB_RULE_GET,
	EGPU_CMD_TB_RULE_ADD,
	EGPU_CMD_TB_RULE_DEL,
	EGPU_CMD_TB_RULES_SET,
	EGPU_CMD_TB_KEY_SET,
	EGPU_CMD_TEARDOWN_PLAN,
	EGPU_CMD_TEARDOWN_RUN,
	EGPU_CMD_EVENT,

	__EGPU_CMD_MAX,
};

#define EGPU_CMD_MAX (__EGPU_CMD_MAX - 1)

/* Top-level attributes. */
enum egpu_gate_attr {
	EGPU_A_UNSPEC,
	EGPU_A_VERSION,		/* string */
	EGPU_A_KERNEL_RELEASE,	/* string */
	EGPU_A_FEATURES,	/* u64, EGPU_FEATURE_* */
	EGPU_A_API_VERSION,	/* u32 */
	EGPU_A_CONFIG,		/* nest, EGPU_A_CFG_* */
	EGPU_A_PAD,		/* padding for 64-bit attributes */
	EGPU_A_GPU,		/* nest, EGPU_A_GPU_* */
	EGPU_A_TB,		/* nest, EGPU_A_TB_* */
	EGPU_A_RULE,		/* nest, EGPU_A_RULE_* */
	EGPU_A_RULES,		/* string, whole rule set */
	EGPU_A_STEP,		/* nest, EGPU_A_STEP_* */
	EGPU_A_EVENT,		/* nest, EGPU_A_EV_* */

	__EGPU_A_MAX,
};

#define EGPU_A_MAX (__EGPU_A_MAX - 1)

/* Attributes nested in EGPU_A_CONFIG. */
enum egpu_gate_cfg_attr {
	EGPU_A_CFG_UNSPEC,
	EGPU_A_CFG_AUTO_RESET_METHOD,	/* u8, 0/1 */
	EGPU_A_CFG_TEARDOWN_BUDGET_MS,	/* u32 */
	EGPU_A_CFG_RESET_LEAVE_D0,	/* u8, 0/1 */

	__EGPU_A_CFG_MAX,
};

#define EGPU_A_CFG_MAX (__EGPU_A_CFG_MAX - 1)

/* Attributes nested in EGPU_A_GPU. */
enum egpu_gate_gpu_attr {
	EGPU_A_GPU_UNSPEC,
	EGPU_A_GPU_BDF,			/* string, "0000:01:00.0" */
	EGPU_A_GPU_VENDOR,		/* u16 */
	EGPU_A_GPU_DEVICE,		/* u16 */
	EGPU_A_GPU_FAMILY,		/* string */
	EGPU_A_GPU_RESET_METHOD_SET,	/* u8, 0/1 */
	EGPU_A_GPU_STATS,		/* nest, EGPU_A_STATS_* */
	EGPU_A_GPU_FORCE,		/* flag (GPU_RESET request) */
	EGPU_A_GPU_PAD,			/* padding for 64-bit attributes */

	__EGPU_A_GPU_MAX,
};

#define EGPU_A_GPU_MAX (__EGPU_A_GPU_MAX - 1)

/* Attributes nested in EGPU_A_GPU_STATS. */
enum egpu_gate_stats_attr {
	EGPU_A_STATS_UNSPEC,
	EGPU_A_STATS_COUNT,		/* u64 */
	EGPU_A_STATS_FAILURES,		/* u64 */
	EGPU_A_STATS_LAST_RESULT,	/* s32, 0 or -errno */
	EGPU_A_STATS_LAST_DURATION_US,	/* u64 */
	EGPU_A_STATS_LAST_METHOD,	/* u8, enum egpu_reset_method */
	EGPU_A_STATS_SMU_STATE_BEFORE,	/* u32 */
	EGPU_A_STATS_PAD,		/* padding for 64-bit attributes */

	__EGPU_A_STATS_MAX,
};

#define EGPU_A_STATS_MAX (__EGPU_A_STATS_MAX - 1)

/* Attributes nested in EGPU_A_TB. */
enum egpu_gate_tb_attr {
	EGPU_A_TB_UNSPEC,
	EGPU_A_TB_NAME,			/* string, "0-1" */
	EGPU_A_TB_DOMAIN,		/* u32 */
	EGPU_A_TB_PARENT,		/* string */
	EGPU_A_TB_UNIQUE_ID,		/* string, UUID */
	EGPU_A_TB_VENDOR,		/* u32 */
	EGPU_A_TB_DEVICE,		/* u32 */
	EGPU_A_TB_VENDOR_NAME,		/* string */
	EGPU_A_TB_DEVICE_NAME,		/* string */
	EGPU_A_TB_AUTHORIZED,		/* u8, 0/1/2 */
	EGPU_A_TB_SECURITY,		/* string */
	EGPU_A_TB_IOMMU_PROTECTION,	/* u8, 0/1 */
	EGPU_A_TB_DEAUTHORIZATION,	/* u8, 0/1 */
	EGPU_A_TB_RULE_ID,		/* u32 */
	EGPU_A_TB_DECISION,		/* u8, enum egpu_tb_decision */
	EGPU_A_TB_REASON,		/* string */
	EGPU_A_TB_BY_EGPU,		/* flag */
	EGPU_A_TB_PCI,			/* string, repeated */
	EGPU_A_TB_KEY,			/* string, TB_KEY_SET request only */
	EGPU_A_TB_AUTH_FAILURES,	/* u32 */
	EGPU_A_TB_AUTH_ERROR,		/* s32, -errno */
	EGPU_A_TB_AUTH_RETRY_MS,	/* u32 */

	__EGPU_A_TB_MAX,
};

#define EGPU_A_TB_MAX (__EGPU_A_TB_MAX - 1)

/* Attributes nested in EGPU_A_RULE. */
enum egpu_gate_rule_attr {
	EGPU_A_RULE_UNSPEC,
	EGPU_A_RULE_ID,			/* u32 */
	EGPU_A_RULE_TEXT,		/* string */
	EGPU_A_RULE_HITS,		/* u64 */
	EGPU_A_RULE_PAD,		/* padding for 64-bit attributes */

	__EGPU_A_RULE_MAX,
};

#define EGPU_A_RULE_MAX (__EGPU_A_RULE_MAX - 1)

/* Attributes nested in EGPU_A_STEP (teardown plan). */
enum egpu_gate_step_attr {
	EGPU_A_STEP_UNSPEC,
	EGPU_A_STEP_INDEX,		/* u32 */
	EGPU_A_STEP_ACTION,		/* u8, enum egpu_step_action */
	EGPU_A_STEP_TARGET,		/* string */
	EGPU_A_STEP_TB,			/* string */
	EGPU_A_STEP_NOTE,		/* string */

	__EGPU_A_STEP_MAX,
};

#define EGPU_A_STEP_MAX (__EGPU_A_STEP_MAX - 1)

/* Attributes nested in EGPU_A_EVENT. */
enum egpu_gate_event_attr {
	EGPU_A_EV_UNSPEC,
	EGPU_A_EV_TYPE,			/* u8, enum egpu_event_type */
	EGPU_A_EV_TIME_NS,		/* u64, CLOCK_BOOTTIME */
	EGPU_A_EV_TB,			/* string */
	EGPU_A_EV_UNIQUE_ID,		/* string */
	EGPU_A_EV_BDF,			/* string */
	EGPU_A_EV_RULE_ID,		/* u32 */
	EGPU_A_EV_ERROR,		/* s32 */
	EGPU_A_EV_DURATION_US,		/* u64 */
	EGPU_A_EV_MESSAGE,		/* string */
	EGPU_A_EV_PAD,			/* padding for 64-bit attributes */

	__EGPU_A_EV_MAX,
};

#define EGPU_A_EV_MAX (__EGPU_A_EV_MAX - 1)

/*
 * The policy decision for a Thunderbolt device (EGPU_A_TB_DECISION).
 * PENDING: matched, waiting (e.g. for an unauthorized parent);
 * NO_RULE: default deny; IGNORED: a rule with action=ignore;
 * AUTHORIZED: authorized by egpu-gate; ALREADY: found authorized (boot
 * firmware, security "none", another agent); DENIED: a rule matched but a
 * condition refused it (IOMMU protection, security level, missing key,
 * parent); FAILED: the authorization returned an error; HOST: host router.
 */
enum egpu_tb_decision {
	EGPU_TB_DECISION_NONE,
	EGPU_TB_DECISION_PENDING,
	EGPU_TB_DECISION_NO_RULE,
	EGPU_TB_DECISION_IGNORED,
	EGPU_TB_DECISION_AUTHORIZED,
	EGPU_TB_DECISION_ALREADY,
	EGPU_TB_DECISION_DENIED,
	EGPU_TB_DECISION_FAILED,
	EGPU_TB_DECISION_HOST,
};

/* A teardown step (EGPU_A_STEP_ACTION). */
enum egpu_step_action {
	EGPU_STEP_NONE,
	EGPU_STEP_UNBIND,	/* unbind the PCI function from its driver */
	EGPU_STEP_REMOVE,	/* remove the PCI function (pci_stop_and_remove) */
	EGPU_STEP_DEAUTHORIZE,	/* write 0 to the device's authorized */
	EGPU_STEP_SKIP,		/* nothing done; EGPU_A_STEP_NOTE says why */
};

/* Events on the multicast group (EGPU_A_EV_TYPE). */
enum egpu_event_type {
	EGPU_EVENT_NONE,
	EGPU_EVENT_TB_SEEN,		/* a Thunderbolt device appeared */
	EGPU_EVENT_TB_MATCHED,		/* a rule matched it */
	EGPU_EVENT_TB_AUTHORIZED,	/* egpu-gate authorized it */
	EGPU_EVENT_TB_DENIED,		/* not authorized; message says why */
	EGPU_EVENT_TB_GONE,		/* it was unplugged */
	EGPU_EVENT_PCI_BOUND,		/* a function was bound to vfio-pci */
	EGPU_EVENT_TEARDOWN_STEP,	/* one step done (or abandoned) */
	EGPU_EVENT_TEARDOWN_DONE,	/* teardown finished; duration */
	EGPU_EVENT_GPU_RESET,		/* a device-specific reset ran */
	EGPU_EVENT_ERROR,		/* anything else that failed */
	EGPU_EVENT_TB_DEAUTHORIZED,	/* egpu-gate de-authorized it */
};

/*
 * How a device-specific reset was carried out (per-device statistics).
 * MODE1: PSP mode-1 reset; BACO: bus-active chip-off cycle; CONFIG: PCI
 * config-space reset register (Polaris without BACO); OTHER: a family
 * registered by another module (test stand-ins).
 */
enum egpu_reset_method {
	EGPU_RESET_METHOD_NONE,
	EGPU_RESET_METHOD_MODE1,
	EGPU_RESET_METHOD_BACO,
	EGPU_RESET_METHOD_CONFIG,
	EGPU_RESET_METHOD_OTHER,
};

/*
 * Feature bits (EGPU_A_FEATURES): what this build of the module, on this
 * kernel, can do.  A bit is set only when the feature is compiled in and
 * usable on the running kernel.
 */
/* Generic netlink control interface (always set). */
#define EGPU_FEATURE_GENL		_BITULL(0)
/* Kernel offers the ftrace features the reset hook needs. */
#define EGPU_FEATURE_FTRACE_HOOK	_BITULL(1)
/* Built with KUnit suites (test kernels only). */
#define EGPU_FEATURE_KUNIT		_BITULL(2)
/* Thunderbolt policy engine (rules, authorization, teardown, events). */
#define EGPU_FEATURE_TB_POLICY		_BITULL(3)

#endif /* _UAPI_EGPU_GATE_H */
