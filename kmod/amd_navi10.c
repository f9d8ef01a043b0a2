// SPDX-License-Identifier: GPL-2.0
/*
 * amd_navi10.c - Navi 10/12/14 (NV: NBIO 2.3, PSP v11.0, SMU11 on the
 * swsmu path, THM 11.0.2).
 *
 * Order: vendor-reset amd_navi10_reset() (sheet §6.4), without its VBIOS /
 * ATOM init and IP-discovery read (the seg0 bases are the same in the
 * discovery table and the hard-coded navi1x tables, sheet §1.3; BIOS
 * scratch is fixed at dw 0x4C, §1.9):
 *  1. window check, sign of life (C2PMSG_81, ~100 ms; all-ones -ENODEV),
 *     state: C2PMSG_90, MP1_FIRMWARE_FLAGS bit 0, C2PMSG_35 bit 31,
 *     C2PMSG_64.
 *  2. sol 0, MP1 firmware not running, PSP bootloader ready: the state a
 *     mode-1 reset leaves (sheet §6.5): nothing to do, method NONE.
 *  3. BIOS_SCRATCH_6/7 = 0.
 *  4. SMU not idle but its firmware running: MP1 reset through
 *     MP1_SMN_PUB_CTRL (1, then 0), wait for MP1_FIRMWARE_FLAGS bit 0 and
 *     for an SMU response.
 *  5. MP1 firmware running: DisallowGfxOff, PrepareMp1ForReset. Their
 *     errors are logged and ignored (vendor-reset); after a timeout the
 *     second message is not sent (the SMU is not answering).
 *  6. engine hung, PSP mode 1 (psp_v11_0.c psp_v11_0_mode1_reset(); the
 *     kernel's abort when the PSP is not ready, not vendor-reset's
 *     warn-and-continue), memsize wait (amdgpu_device_mode1_reset()).
 *  7. PSP bootloader back: C2PMSG_35 bit 31, bounded by
 *     EGPU_NAVI_BL_TIMEOUT_US; engine hung cleared.
 * There is no BACO fallback here: the kernel uses BACO only when the
 * PPTable says it is supported (navi10_ppt.c navi10_check_bxco_support()),
 * which needs the VBIOS; Navi 1x has no SMU mode-1 path (sheet §6.4).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/mod_devicetable.h>
#include <linux/pci.h>

#include "amd_common.h"
#include "amd_families.h"

/* Largest dword used: MP1 C2PMSG_90 (THM is not touched). */
#define NAVI_LAST_DW			EGPU_MP1_C2PMSG_90
/* SMN 0x03B00000 | 0x3010024 / 0x3010B14 (smu_v11_0.h, sheet §1.4). */
#define NAVI_MP1_FW_FLAGS		0x03B10024
#define NAVI_MP1_PUB_CTRL		0x03B10B14
/* smu_v11_0_ppsmc.h (navi10_ppt.c navi10_message_map[]). */
#define NAVI_MSG_DISALLOW_GFXOFF	0x2A
#define NAVI_MSG_PREPARE_MP1_RESET	0x33
/* C2PMSG_35 bit 31: bootloader ready (psp_v11_0_wait_for_bootloader()). */
#define NAVI_PSP_BL_READY		0x80000000
/*
 * Bootloader back after mode 1: the kernel waits 10 x 100 ms
 * (psp_v11_0_wait_for_bootloader()), vendor-reset up to 100 x msleep(100).
 * We take 3 s: three times the kernel's bound, and a Navi reset stays
 * within a few seconds even when the SMU does not answer.
 */
#define EGPU_NAVI_BL_TIMEOUT_US		3000000
/* MP1 firmware back after PUB_CTRL reset: vendor-reset 100000 x udelay(1). */
#define EGPU_NAVI_MP1_TIMEOUT_US	100000

/* vendor-reset navi10.c: PUB_CTRL.RESET 1 then 0, wait for fw flags. */
static int egpu_navi10_mp1_reset(struct egpu_hw *hw)
{
	u32 v;
	int ret;

	ret = egpu_amd_smn_write(hw, NAVI_MP1_PUB_CTRL, 1);
	if (!ret)
		ret = egpu_amd_smn_write(hw, NAVI_MP1_PUB_CTRL, 0);
	if (ret)
		return ret;
	ret = egpu_amd_smn_poll(hw, NAVI_MP1_FW_FLAGS, EGPU_MP1_FW_FLAGS_INTR_EN,
				EGPU_MP1_FW_FLAGS_INTR_EN, EGPU_NAVI_MP1_TIMEOUT_US, &v);
	if (ret) {
		egpu_amd_err(hw, "navi10: MP1 not back after reset: MP1_FIRMWARE_FLAGS 0x%x (%d)\n",
			     v, ret);
		return ret;
	}
	ret = egpu_amd_poll_ne(hw, EGPU_MP1_C2PMSG_90, 0xFFFFFFFF, 0,
			       EGPU_AMD_SMU_TIMEOUT_US, &v);
	if (ret)
		egpu_amd_err(hw, "navi10: SMU silent after MP1 reset: C2PMSG_90 0x%x (%d)\n",
			     v, ret);
	return ret;
}

static int egpu_navi10_reset(struct egpu_hw *hw, struct egpu_reset_report *report)
{
	u32 sol = 0, smu = 0, flags = 0, bl = 0, psp = 0;
	bool mp1_up;
	int ret;

	report->method = EGPU_RESET_METHOD_NONE;
	report->smu_state_before = 0;
	ret = egpu_amd_check_window(hw, NAVI_LAST_DW);
	if (ret)
		return ret;

	/* vendor-reset: a sign-of-life timeout only warns. */
	ret = egpu_amd_wait_sol(hw, &sol);
	if (ret && ret != -ETIMEDOUT)
		return ret;
	ret = egpu_amd_rreg(hw, EGPU_MP1_C2PMSG_90, &smu);
	if (!ret)
		ret = egpu_amd_smn_read(hw, NAVI_MP1_FW_FLAGS, &flags);
	if (!ret)
		ret = egpu_amd_rreg(hw, EGPU_MP0_C2PMSG_35, &bl);
	if (!ret)
		ret = egpu_amd_rreg(hw, EGPU_MP0_C2PMSG_64, &psp);
	if (ret)
		return ret;
	report->smu_state_before = smu;
	mp1_up = flags & EGPU_MP1_FW_FLAGS_INTR_EN;
	egpu_amd_info(hw, "navi10: sol 0x%x, SMU C2PMSG_90 0x%x, MP1 fw flags 0x%x, PSP C2PMSG_35 0x%x C2PMSG_64 0x%x\n",
		      sol, smu, flags, bl, psp);

	if (!sol && !mp1_up && (bl & NAVI_PSP_BL_READY)) {
		egpu_amd_info(hw, "navi10: sOS and SMU not running, bootloader ready: already reset\n");
		return 0;
	}

	/* "tell the driver that NVRAM is lost" (vendor-reset navi10.c). */
	ret = egpu_amd_scratch_invalidate(hw, EGPU_SOC15_BIOS_SCRATCH_0);
	if (ret)
		return ret;

	if (smu != EGPU_SMU_RESP_OK && mp1_up) {
		egpu_amd_warn(hw, "navi10: SMU not idle (C2PMSG_90 0x%x): resetting MP1\n", smu);
		if (egpu_navi10_mp1_reset(hw))
			mp1_up = false;
	}
	if (mp1_up) {
		ret = egpu_amd_smu_send(hw, NAVI_MSG_DISALLOW_GFXOFF, 0, NULL);
		if (ret != -ETIMEDOUT && ret != -ENODEV)
			ret = egpu_amd_smu_send(hw, NAVI_MSG_PREPARE_MP1_RESET, 0, NULL);
		if (ret)
			egpu_amd_warn(hw, "navi10: SMU preparation failed (%d), continuing with mode 1\n",
				      ret);
	}

	ret = egpu_amd_engine_hung(hw, EGPU_SOC15_BIOS_SCRATCH_0, true);
	if (ret)
		return ret;
	report->method = EGPU_RESET_METHOD_MODE1;
	ret = egpu_amd_psp_mode1(hw);
	if (ret)
		return ret;
	ret = egpu_amd_poll(hw, EGPU_MP0_C2PMSG_35, NAVI_PSP_BL_READY, NAVI_PSP_BL_READY,
			    EGPU_NAVI_BL_TIMEOUT_US, &bl);
	if (ret) {
		egpu_amd_err(hw, "navi10: PSP bootloader not back after mode 1: C2PMSG_35 0x%x (%d)\n",
			     bl, ret);
		return ret;
	}
	ret = egpu_amd_engine_hung(hw, EGPU_SOC15_BIOS_SCRATCH_0, false);
	if (!ret)
		egpu_amd_info(hw, "navi10: reset by PSP mode 1\n");
	return ret;
}

/* amdgpu_drv.c pciidlist CHIP_NAVI10/14/12 (= vendor-reset), sheet §6.1. */
static const struct pci_device_id egpu_navi10_ids[] = {
	/* Navi 10 */
	{ PCI_VDEVICE(ATI, 0x7310) }, { PCI_VDEVICE(ATI, 0x7312) },
	{ PCI_VDEVICE(ATI, 0x7318) }, { PCI_VDEVICE(ATI, 0x7319) },
	{ PCI_VDEVICE(ATI, 0x731A) }, { PCI_VDEVICE(ATI, 0x731B) },
	{ PCI_VDEVICE(ATI, 0x731E) }, { PCI_VDEVICE(ATI, 0x731F) },
	/* Navi 14 */
	{ PCI_VDEVICE(ATI, 0x7340) }, { PCI_VDEVICE(ATI, 0x7341) },
	{ PCI_VDEVICE(ATI, 0x7347) }, { PCI_VDEVICE(ATI, 0x734F) },
	/* Navi 12 */
	{ PCI_VDEVICE(ATI, 0x7360) }, { PCI_VDEVICE(ATI, 0x7362) },
	{ }
};

const struct egpu_reset_family egpu_family_navi10 = {
	.name = "navi10",
	.ids = egpu_navi10_ids,
	.mmio_bar = 5,
	.reset = egpu_navi10_reset,
};

#ifdef EGPU_KUNIT
#include "amd_navi10_test.c"
#endif
