// SPDX-License-Identifier: GPL-2.0
/*
 * amd_vega10.c - Vega 10 (SOC15: NBIO 6.1, PSP v3.1, SMU9, THM 9.0).
 *
 * Order (sheet §4; amd_common.c egpu_amd_soc15_reset()): sign of life,
 * state report, PSP mode 1 first, then the kernel's BACO cycle as the
 * fallback (vega10_baco.c vega10_baco_set_state() enter then exit, as
 * amdgpu_dpm_baco_reset() does). Mode 1 goes first because it needs only
 * the PSP: after a guest driver has shut the SMU down, SMU messages (and so
 * EnterBaco) fail (vendor-reset PR #109, sheet §4.5).
 *
 * Not done, on purpose: vendor-reset's SMU feature disabling and
 * GfxDeviceDriverReset(2) before BACO (an observed macOS shutdown sequence,
 * not part of the kernel's BACO reset), the VBIOS read (BIOS_SCRATCH_0 is
 * fixed at dw 0x4C, sheet §1.9) and the kernel's BACO capability probe,
 * whose RSMU index write 0x12074 <- 0xFFF0003B has an undocumented meaning
 * (smu9_baco.c smu9_get_bamaco_support()); PX_CAPABLE is logged only.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/mod_devicetable.h>
#include <linux/pci.h>

#include "amd_common.h"
#include "amd_families.h"

/* NBIO 6.1 (nbio_6_1_offset.h; seg2 0xD20 + offset, sheet §1.4). */
#define V10_BIF_DOORBELL_CNTL		0x0E1C	/* 0x0FC */
#define V10_DOORBELL_MONITOR_EN		0x10	/* shift 4 */
#define V10_BIF_FB_EN			0x0E1F	/* 0x0FF */
#define V10_B				EGPU_SOC15_BACO_CNTL	/* 0x10B */
/* BACO_CNTL fields (nbio_6_1_sh_mask.h). */
#define V10_B_BACO_EN			0x001	/* shift 0 */
#define V10_B_LCLK_SWITCH		0x002	/* shift 1 */
#define V10_B_DUMMY_EN			0x004	/* shift 2 */
#define V10_B_POWER_OFF			0x008	/* shift 3 */
#define V10_B_DSTATE_BYPASS		0x020	/* shift 5 */
#define V10_B_RST_INTR_MASK		0x040	/* shift 6 */
#define V10_B_BACO_MODE			0x100
/* THM 9.0 THM_BACO_CNTL: THM seg0 0x16600 + 0x07C (thm_9_0_offset.h). */
#define V10_T				0x1667C
/* THM_BACO_CNTL fields (thm_9_0_sh_mask.h). */
#define V10_T_BACO_MODE			0x00000001
#define V10_T_ISO_EN			0x00000002	/* shift 1 */
#define V10_T_PWROKRAW_CNTL		0x00000004	/* shift 2 */
#define V10_T_RESET_EN			0x00000008	/* shift 3 */
#define V10_T_SOC_VDCI_RESET		0x00000010	/* shift 4 */
#define V10_T_SMNCLK_MUX		0x00000020	/* shift 5 */
#define V10_T_SOC_REFCLK_OFF		0x00000040	/* shift 6 */
#define V10_T_AEB_ISO_EN		0x00000080	/* shift 7 */
#define V10_T_EXIT			0x00000100	/* shift 8 */
#define V10_T_ANA_ISO_EN		0x00000200	/* shift 9 */
#define V10_T_SB_AXI_FENCE		0x40000000	/* shift 30 */
#define V10_T_SOC_DOMAIN_IDLE		0x80000000
/* MP1_FIRMWARE_FLAGS, SMN 0x03B00000 | 0x3010028 (smu9_smumgr.c). */
#define V10_MP1_FW_FLAGS		0x03B10028
/* PPSMC_MSG_EnterBaco (vega10_ppsmc.h). Vega 10 has no ExitBaco. */
#define V10_MSG_ENTER_BACO		0x1E

/* vega10_baco.c pre_baco_tbl. */
static const struct egpu_baco_cmd egpu_vega10_pre_baco[] = {
	EGPU_BACO_M(V10_BIF_DOORBELL_CNTL, V10_DOORBELL_MONITOR_EN, 4, 1),
	EGPU_BACO_W(V10_BIF_FB_EN, 0),
	EGPU_BACO_M(V10_B, V10_B_DSTATE_BYPASS, 5, 1),
	EGPU_BACO_M(V10_B, V10_B_RST_INTR_MASK, 6, 1),
};

/* vega10_baco.c enter_baco_tbl. */
static const struct egpu_baco_cmd egpu_vega10_enter_baco[] = {
	EGPU_BACO_WAIT(V10_T, V10_T_SOC_DOMAIN_IDLE, V10_T_SOC_DOMAIN_IDLE),
	EGPU_BACO_M(V10_B, V10_B_BACO_EN, 0, 1),
	EGPU_BACO_M(V10_B, V10_B_LCLK_SWITCH, 1, 1),
	EGPU_BACO_M(V10_B, V10_B_DUMMY_EN, 2, 1),
	EGPU_BACO_M(V10_T, V10_T_SOC_VDCI_RESET, 4, 1),
	EGPU_BACO_M(V10_T, V10_T_SMNCLK_MUX, 5, 1),
	EGPU_BACO_M(V10_T, V10_T_ISO_EN, 1, 1),
	EGPU_BACO_M(V10_T, V10_T_AEB_ISO_EN, 7, 1),
	EGPU_BACO_M(V10_T, V10_T_ANA_ISO_EN, 9, 1),
	EGPU_BACO_M(V10_T, V10_T_SOC_REFCLK_OFF, 6, 1),
	EGPU_BACO_M(V10_B, V10_B_POWER_OFF, 3, 1),
	EGPU_BACO_MS(5),
	EGPU_BACO_M(V10_T, V10_T_RESET_EN, 3, 1),
	EGPU_BACO_M(V10_T, V10_T_PWROKRAW_CNTL, 2, 0),
	EGPU_BACO_WAIT(V10_B, V10_B_BACO_MODE, V10_B_BACO_MODE),
};

/* vega10_baco.c exit_baco_tbl. */
static const struct egpu_baco_cmd egpu_vega10_exit_baco[] = {
	EGPU_BACO_M(V10_B, V10_B_POWER_OFF, 3, 0),
	EGPU_BACO_MS(10),
	EGPU_BACO_M(V10_T, V10_T_SOC_REFCLK_OFF, 6, 0),
	EGPU_BACO_M(V10_T, V10_T_ANA_ISO_EN, 9, 0),
	EGPU_BACO_M(V10_T, V10_T_AEB_ISO_EN, 7, 0),
	EGPU_BACO_M(V10_T, V10_T_ISO_EN, 1, 0),
	EGPU_BACO_M(V10_T, V10_T_PWROKRAW_CNTL, 2, 1),
	EGPU_BACO_M(V10_T, V10_T_SMNCLK_MUX, 5, 0),
	EGPU_BACO_M(V10_T, V10_T_SOC_VDCI_RESET, 4, 0),
	EGPU_BACO_M(V10_T, V10_T_EXIT, 8, 1),
	EGPU_BACO_M(V10_T, V10_T_RESET_EN, 3, 0),
	EGPU_BACO_WAIT(V10_T, V10_T_EXIT, 0),
	EGPU_BACO_M(V10_T, V10_T_SB_AXI_FENCE, 30, 0),
	EGPU_BACO_M(V10_B, V10_B_DUMMY_EN, 2, 0),
	EGPU_BACO_M(V10_B, V10_B_LCLK_SWITCH, 1, 0),
	EGPU_BACO_M(V10_B, V10_B_BACO_EN, 0, 0),
	EGPU_BACO_WAIT(V10_B, V10_B_BACO_MODE, 0),
};

/*
 * vega10_baco.c vega10_baco_set_state(IN) then (OUT); unlike smu9's
 * send_msg (which always returns 0), a failed EnterBaco is returned.
 */
static int egpu_vega10_baco(struct egpu_hw *hw, bool in_baco)
{
	u32 strap;
	int ret;

	/* RCC_BIF_STRAP0.STRAP_PX_CAPABLE (smu9_get_bamaco_support()). */
	ret = egpu_amd_rreg(hw, EGPU_SOC15_RCC_BIF_STRAP0, &strap);
	if (ret)
		return ret;
	if (!(strap & EGPU_SOC15_STRAP_PX_CAPABLE))
		egpu_amd_warn(hw, "vega10: RCC_BIF_STRAP0 0x%x: not PX capable, trying BACO anyway\n",
			      strap);

	if (!in_baco) {
		ret = egpu_amd_baco_run(hw, "vega10 pre", egpu_vega10_pre_baco,
					ARRAY_SIZE(egpu_vega10_pre_baco));
		if (ret)
			return ret;
		/* vendor-reset writes argument 0; smu9 writes none. */
		ret = egpu_amd_smu_send(hw, V10_MSG_ENTER_BACO, 0, NULL);
		if (ret)
			return ret;
		ret = egpu_amd_baco_run(hw, "vega10 enter", egpu_vega10_enter_baco,
					ARRAY_SIZE(egpu_vega10_enter_baco));
		if (ret)
			return ret;
	}
	/* "HW requires at least 20ms between regulator off and on". */
	egpu_amd_sleep_ms(hw, 20);
	ret = egpu_amd_baco_run(hw, "vega10 exit", egpu_vega10_exit_baco,
				ARRAY_SIZE(egpu_vega10_exit_baco));
	if (ret)
		return ret;
	/* clean_baco_tbl: BIOS_SCRATCH_6/7 = 0. */
	return egpu_amd_scratch_invalidate(hw, EGPU_SOC15_BIOS_SCRATCH_0);
}

static const struct egpu_amd_soc15_flow egpu_vega10_flow = {
	.name = "vega10",
	.last_dw = V10_T,
	.mp1_fw_flags = V10_MP1_FW_FLAGS,
	.baco = egpu_vega10_baco,
};

static int egpu_vega10_reset(struct egpu_hw *hw, struct egpu_reset_report *report)
{
	return egpu_amd_soc15_reset(hw, report, &egpu_vega10_flow);
}

/* amdgpu_drv.c pciidlist CHIP_VEGA10 (= vendor-reset device-db.h), sheet §4.1. */
static const struct pci_device_id egpu_vega10_ids[] = {
	{ PCI_VDEVICE(ATI, 0x6860) }, { PCI_VDEVICE(ATI, 0x6861) },
	{ PCI_VDEVICE(ATI, 0x6862) }, { PCI_VDEVICE(ATI, 0x6863) },
	{ PCI_VDEVICE(ATI, 0x6864) }, { PCI_VDEVICE(ATI, 0x6867) },
	{ PCI_VDEVICE(ATI, 0x6868) }, { PCI_VDEVICE(ATI, 0x6869) },
	{ PCI_VDEVICE(ATI, 0x686A) }, { PCI_VDEVICE(ATI, 0x686B) },
	{ PCI_VDEVICE(ATI, 0x686C) }, { PCI_VDEVICE(ATI, 0x686D) },
	{ PCI_VDEVICE(ATI, 0x686E) }, { PCI_VDEVICE(ATI, 0x686F) },
	{ PCI_VDEVICE(ATI, 0x687F) },
	{ }
};

const struct egpu_reset_family egpu_family_vega10 = {
	.name = "vega10",
	.ids = egpu_vega10_ids,
	.mmio_bar = 5,
	.reset = egpu_vega10_reset,
};

#ifdef EGPU_KUNIT
#include "amd_vega10_test.c"
#endif
