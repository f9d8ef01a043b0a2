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

enum egpu_gate_cmd {
	EGPU_CMD_UNSPEC,
	EGPU_CMD_GET_STATUS,
	EGPU_CMD_SET_CONFIG,
	EGPU_CMD_GPU_GET,
	EGPU_CMD_GPU_RESET,
	EGPU_CMD_GPU_ID_ADD,
	EGPU_CMD_GPU_ID_DEL,

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
