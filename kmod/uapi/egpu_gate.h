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
 *
 * EGPU_CMD_SET_CONFIG (doit, changes state)
 *   request:  EGPU_A_CONFIG             nest    required; at least one of
 *               EGPU_A_CFG_AUTO_RESET_METHOD   u8   0 or 1
 *               EGPU_A_CFG_TEARDOWN_BUDGET_MS  u32  in
 *                   [EGPU_TEARDOWN_BUDGET_MIN_MS, EGPU_TEARDOWN_BUDGET_MAX_MS]
 *   reply:    none (ack).  All given values are validated before any is
 *             applied: a request is applied whole or not at all.
 *   The same settings are module parameters (auto_reset_method,
 *   teardown_budget_ms); both views always agree.
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

enum egpu_gate_cmd {
	EGPU_CMD_UNSPEC,
	EGPU_CMD_GET_STATUS,
	EGPU_CMD_SET_CONFIG,

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

	__EGPU_A_MAX,
};

#define EGPU_A_MAX (__EGPU_A_MAX - 1)

/* Attributes nested in EGPU_A_CONFIG. */
enum egpu_gate_cfg_attr {
	EGPU_A_CFG_UNSPEC,
	EGPU_A_CFG_AUTO_RESET_METHOD,	/* u8, 0/1 */
	EGPU_A_CFG_TEARDOWN_BUDGET_MS,	/* u32 */

	__EGPU_A_CFG_MAX,
};

#define EGPU_A_CFG_MAX (__EGPU_A_CFG_MAX - 1)

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

#endif /* _UAPI_EGPU_GATE_H */
