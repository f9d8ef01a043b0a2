/* SPDX-License-Identifier: GPL-2.0 */
/*
 * reset_family.h - the contract between the reset core (reset.c) and the
 * GPU families (amd_*.c, and test stand-ins registered by other modules).
 *
 * A family sees its device only through struct egpu_hw: register reads and
 * writes in the register BAR, config-space access, delays and a clock. The
 * core backs it with the real PCI device; KUnit backs it with a register
 * model whose clock advances only through ops->udelay/ops->msleep, so every
 * bound can be checked exactly and no test waits in real time.
 *
 * The core, not the family, owns everything PCI-level around a reset:
 * driver check, bus mastering off, saving and restoring the config space
 * of every function of the slot, power state afterwards, serialisation and
 * statistics. A family only runs its register sequence.
 */
#ifndef EGPU_RESET_FAMILY_H
#define EGPU_RESET_FAMILY_H

#include <linux/mod_devicetable.h>
#include <linux/types.h>

#include "uapi/egpu_gate.h"

struct device;
struct egpu_hw;

struct egpu_hw_ops {
	/* Register dword @dw (byte offset dw * 4) of the register BAR. */
	u32 (*rreg)(struct egpu_hw *hw, u32 dw);
	void (*wreg)(struct egpu_hw *hw, u32 dw, u32 val);
	/* PCI config space of the function being reset; 0 or -errno. */
	int (*cfg_read)(struct egpu_hw *hw, int where, u32 *val);
	int (*cfg_write)(struct egpu_hw *hw, int where, u32 val);
	/* Busy wait (short waits only) and sleeping wait. */
	void (*udelay)(struct egpu_hw *hw, unsigned int us);
	void (*msleep)(struct egpu_hw *hw, unsigned int ms);
	/* Monotonic time in microseconds (model time in tests). */
	u64 (*now_us)(struct egpu_hw *hw);
};

struct egpu_hw {
	const struct egpu_hw_ops *ops;
	void *priv;
	/* For dev_*() logging; NULL in models (pr_*() is used then). */
	struct device *dev;
	/* Size of the register window in dwords; rreg/wreg stay below it. */
	u32 mmio_dwords;
};

/* What a family reports about one reset, for statistics and logs. */
struct egpu_reset_report {
	enum egpu_reset_method method;
	/* Family-specific state word read before the reset (e.g. C2PMSG_90). */
	u32 smu_state_before;
};

struct egpu_reset_family {
	/* Unique short name used over netlink ("vega10", "polaris", ...). */
	const char *name;
	/* Built-in IDs, terminated by an empty entry. */
	const struct pci_device_id *ids;
	/* BAR holding the registers (5 on every supported AMD family). */
	int mmio_bar;
	/*
	 * Run the reset sequence. Returns 0 on a verified good reset, or
	 * -errno (-ETIMEDOUT, -EIO, -ENODEV, ...) that is passed unchanged to
	 * whoever asked for the reset. Must bound every wait.
	 */
	int (*reset)(struct egpu_hw *hw, struct egpu_reset_report *report);
};

#endif /* EGPU_RESET_FAMILY_H */
