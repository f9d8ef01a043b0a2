// SPDX-License-Identifier: GPL-2.0
/*
 * amd_vega20.c - Vega 20 (SOC15: NBIO 7.4, PSP v11.0, SMU11 on the
 * powerplay path, THM 11.0.2).
 *
 * Order (sheet §5.4; amd_common.c egpu_amd_soc15_reset()): sign of life,
 * state report, PSP mode 1, BACO as the fallback - vendor-reset's
 * amd_vega20_reset() order, with its two bugs fixed: "engine hung" goes to
 * BIOS_SCRATCH_3 (dw 0x4F, not dw 0x3), and an SMU timeout is a failure.
 * The kernel prefers BACO when the PSP SOS firmware is >= 0x80067 (soc15.c
 * soc15_asic_reset_method()); we cannot read that version without the
 * driver, and mode 1 does not depend on the SMU.
 *
 * BACO is the kernel's vega20_baco.c vega20_baco_set_state() without RAS
 * (the reset runs without a driver, so RAS is not enabled): enter =
 * THM_BACO_CNTL |= 0x80000000, EnterBaco(0); exit = ExitBaco, BIOS scratch
 * 6/7 = 0. The kernel polls nothing; we additionally wait (bounded) for
 * NBIO BACO_CNTL.BACO_MODE to be set after EnterBaco and clear after
 * ExitBaco, the bit vega20_baco_get_state() reads as the BACO state
 * (sheet §5.5) - a check that is ours, not the kernel's.
 *
 * Arcturus (MI100, 1002:738C), which vendor-reset routes here, is a
 * different chip for the kernel (THM_BACO_CNTL at 0xA7): not included
 * (sheet §5.1).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/mod_devicetable.h>
#include <linux/pci.h>

#include "amd_common.h"
#include "amd_families.h"

/* THM 11.0.2 THM_BACO_CNTL: THM seg0 0x16600 + 0x081 (thm_11_0_2_offset.h). */
#define V20_T				0x16681
/* Raw bit set before EnterBaco (vega20_baco_set_state(); name unknown). */
#define V20_T_BIT31			0x80000000
/* MP1_FIRMWARE_FLAGS, SMN 0x03B00000 | 0x3010024 (vega20_smumgr.c). */
#define V20_MP1_FW_FLAGS		0x03B10024
/* PPSMC_MSG_EnterBaco / ExitBaco (vega20_ppsmc.h). */
#define V20_MSG_ENTER_BACO		0x25
#define V20_MSG_EXIT_BACO		0x58

static int egpu_vega20_baco_state(struct egpu_hw *hw, bool in)
{
	u32 v;
	int ret;

	ret = egpu_amd_poll(hw, EGPU_SOC15_BACO_CNTL, EGPU_SOC15_BACO_CNTL_MODE,
			    in ? EGPU_SOC15_BACO_CNTL_MODE : 0,
			    EGPU_AMD_BACO_WAIT_MS * 1000, &v);
	if (ret == -ETIMEDOUT)
		egpu_amd_err(hw, "vega20: BACO_CNTL 0x%08x: BACO_MODE not %s after %u ms\n",
			     v, in ? "set" : "clear", EGPU_AMD_BACO_WAIT_MS);
	return ret;
}

static int egpu_vega20_baco(struct egpu_hw *hw, bool in_baco)
{
	int ret;

	if (!in_baco) {
		/* vega20_baco_set_state(IN), non-RAS. */
		ret = egpu_amd_rmw(hw, V20_T, 0, V20_T_BIT31);
		if (!ret)
			ret = egpu_amd_smu_send(hw, V20_MSG_ENTER_BACO, 0, NULL);
		if (!ret)
			ret = egpu_vega20_baco_state(hw, true);
		if (ret)
			return ret;
	}
	/* vega20_baco_set_state(OUT): ExitBaco (C2PMSG_82 = 0 too, as vendor-reset). */
	ret = egpu_amd_smu_send(hw, V20_MSG_EXIT_BACO, 0, NULL);
	if (ret)
		return ret;
	/* clean_baco_tbl: BIOS_SCRATCH_6/7 = 0. */
	ret = egpu_amd_scratch_invalidate(hw, EGPU_SOC15_BIOS_SCRATCH_0);
	if (ret)
		return ret;
	return egpu_vega20_baco_state(hw, false);
}

static const struct egpu_amd_soc15_flow egpu_vega20_flow = {
	.name = "vega20",
	.last_dw = V20_T,
	.mp1_fw_flags = V20_MP1_FW_FLAGS,
	.baco = egpu_vega20_baco,
};

static int egpu_vega20_reset(struct egpu_hw *hw, struct egpu_reset_report *report)
{
	return egpu_amd_soc15_reset(hw, report, &egpu_vega20_flow);
}

/* amdgpu_drv.c pciidlist CHIP_VEGA20 (= vendor-reset), sheet §5.1. */
static const struct pci_device_id egpu_vega20_ids[] = {
	{ PCI_VDEVICE(ATI, 0x66A0) }, { PCI_VDEVICE(ATI, 0x66A1) },
	{ PCI_VDEVICE(ATI, 0x66A2) }, { PCI_VDEVICE(ATI, 0x66A3) },
	{ PCI_VDEVICE(ATI, 0x66A4) }, { PCI_VDEVICE(ATI, 0x66A7) },
	{ PCI_VDEVICE(ATI, 0x66AF) },
	{ }
};

const struct egpu_reset_family egpu_family_vega20 = {
	.name = "vega20",
	.ids = egpu_vega20_ids,
	.mmio_bar = 5,
	.reset = egpu_vega20_reset,
};

#ifdef EGPU_KUNIT
#include "amd_vega20_test.c"
#endif
