// SPDX-License-Identifier: GPL-2.0
/*
 * amd_polaris.c - Polaris 10/11/12 (VI: BIF 5.0, SMU7 / SMC).
 *
 * Order (sheet §3.3): vendor-reset amd_polaris10_reset() = the kernel's
 * vi.c choice (vi_asic_reset_method()):
 *  1. window check; SMC state (vi.c vi_need_reset_on_init()): the SMC is
 *     running, so a reset is needed, when SMC_SYSCON_CLOCK_CNTL_0.ck_disable
 *     is 0 and SMC_PC_C >= 0x20100; otherwise the ASIC is in its power-on
 *     state and nothing is done (method NONE). All-ones: -ENODEV.
 *  2. ATOM "engine hung" in BIOS_SCRATCH_3 (dw 0x5CC).
 *  3. PX capable (CC_BIF_BX_FUSESTRAP0.STRAP_BIF_PX_CAPABLE, vendor-reset
 *     smu7_baco.c smu7_baco_get_capability(); the kernel also wants the
 *     PPTable BACO cap, which needs the VBIOS): BACO enter and exit with
 *     the polaris_baco.c tables. Else the PCI config reset
 *     (amdgpu_device_pci_config_reset(), vi.c vi_asic_pci_config_reset()).
 *  4. engine hung cleared; the SMC state is read again and logged.
 * As in polaris_baco_set_state(), only the enter table's result decides
 * the enter step; a WAITFOR timeout in the earlier tables is logged (by the
 * interpreter) and the sequence goes on. Exit and clean tables must pass.
 * VEGAM (694C/694E/694F, other PLL tables) is not included.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/mod_devicetable.h>
#include <linux/pci.h>

#include "amd_common.h"
#include "amd_families.h"

/* bif_5_0_d.h, smu_7_1_3_d.h, dce_11_0_d.h, gmc_8_1_d.h (sheet §3.2). */
#define POL_GPIOPAD_MASK		0x0182
#define POL_GPIOPAD_EN			0x0184
#define POL_GPIOPAD_PU_EN		0x0192
#define POL_GPIOPAD_PD_EN		0x0193
#define POL_BIOS_SCRATCH_0		0x05C9	/* amdgpu_atombios_scratch_regs_init() */
#define POL_MC_SEQ_DRAM			0x0A26
#define POL_MPLL_CNTL_MODE		0x0AEC
#define POL_MPLL_FUNC_CNTL_2		0x0AEF
#define POL_RAW_DA2			0x0DA2	/* unnamed in polaris_baco.c */
#define POL_CC_BIF_BX_FUSESTRAP0	0x14D7
#define POL_STRAP_BIF_PX_CAPABLE	0x2	/* bif_5_0_sh_mask.h */
#define POL_B				0x14E5	/* BACO_CNTL */
#define POL_BIF_FB_EN			0x1524
#define POL_DC_GPIO_GENERIC_MASK	0x4860
#define POL_DC_GPIO_GENERIC_EN		0x4862
#define POL_DC_GPIO_DVODATA_MASK	0x4864
#define POL_DC_GPIO_DVODATA_EN		0x4866
#define POL_DC_GPIO_SYNCA_MASK		0x4884
#define POL_DC_GPIO_SYNCA_EN		0x4886
#define POL_DC_GPIO_PAD_STRENGTH_1	0x4894	/* largest dw used */
#define POL_IDX				EGPU_VI_GCK_SMC_IND_INDEX
#define POL_DAT				EGPU_VI_GCK_SMC_IND_DATA

/* BACO_CNTL fields, bif 5.0 (bif_5_0_sh_mask.h, sheet §3.2). */
#define POL_B_EN			0x00001		/* shift 0 */
#define POL_B_BCLK_OFF			0x00002		/* shift 1 */
#define POL_B_ISO_DIS			0x00004		/* shift 2 */
#define POL_B_POWER_OFF			0x00008		/* shift 3 */
#define POL_B_RESET_EN			0x00010		/* shift 4 */
#define POL_B_MODE			0x00040
#define POL_B_ANA_ISO_DIS		0x00080		/* shift 7 */
#define POL_B_RCU_BIF_CONFIG_DONE	0x00100
#define POL_B_PWRGOOD_BF		0x00200
#define POL_B_PWRGOOD_GPIO_MEM_DVO	0x01C00
#define POL_B_BIF_SCLK_SWITCH		0x40000		/* shift 18 */

/* SMC indirect (smu_7_1_3_d.h / smu_7_1_1_d.h, sheet §3.2). */
#define POL_SMC_SYSCON_CLOCK_CNTL_0	0x80000004
#define POL_SMC_CK_DISABLE		0x1
#define POL_SMC_PC_C			0x80000370
#define POL_SMC_PC_RUNNING		0x20100		/* vi_need_reset_on_init() */
#define POL_CG_SPLL_FUNC_CNTL		0xC0500140
#define POL_GCK_DFS_BYPASS_CNTL		0xC0500118
#define POL_MPLL_BYPASSCLK_SEL		0xC050019C
#define POL_CG_CLKPIN_CNTL		0xC05001A0
#define POL_CG_CLKPIN_CNTL_2		0xC05001A4
#define POL_THM_CLK_CNTL		0xC05001A8
#define POL_MISC_CLK_CTRL		0xC05001AC

/* Config reset: CONFIG_MEMSIZE back, 100000 x udelay(1). */
#define EGPU_POL_MEMSIZE_TIMEOUT_US	100000

/* polaris_baco.c gpio_tbl. */
static const struct egpu_baco_cmd egpu_pol_gpio[] = {
	EGPU_BACO_W(POL_GPIOPAD_EN, 0),
	EGPU_BACO_W(POL_GPIOPAD_PD_EN, 0),
	EGPU_BACO_W(POL_GPIOPAD_PU_EN, 0),
	EGPU_BACO_W(POL_GPIOPAD_MASK, 0xFF77FFFF),
	EGPU_BACO_W(POL_DC_GPIO_DVODATA_EN, 0),
	EGPU_BACO_W(POL_DC_GPIO_DVODATA_MASK, 0xFFFFFFFF),
	EGPU_BACO_W(POL_DC_GPIO_GENERIC_EN, 0),
	EGPU_BACO_M(POL_DC_GPIO_GENERIC_MASK, 0, 0, 0x03333333),
	EGPU_BACO_W(POL_DC_GPIO_SYNCA_EN, 0),
	EGPU_BACO_M(POL_DC_GPIO_SYNCA_MASK, 0, 0, 0x00001111),
};

/* polaris_baco.c enable_fb_req_rej_tbl. */
static const struct egpu_baco_cmd egpu_pol_fb_req_rej[] = {
	EGPU_BACO_W(POL_IDX, 0xC0300024),
	EGPU_BACO_M(POL_DAT, 0x1, 0, 0x1),
	EGPU_BACO_W(POL_BIF_FB_EN, 0),
};

/* polaris_baco.c use_bclk_tbl. */
static const struct egpu_baco_cmd egpu_pol_use_bclk[] = {
	EGPU_BACO_W(POL_IDX, POL_CG_SPLL_FUNC_CNTL),
	EGPU_BACO_M(POL_DAT, 0x8, 3, 0x1),		/* SPLL_BYPASS_EN */
	EGPU_BACO_W(POL_IDX, 0xC0500170),
	EGPU_BACO_M(POL_DAT, 0x04000000, 26, 0x1),
	EGPU_BACO_W(POL_IDX, POL_GCK_DFS_BYPASS_CNTL),
	EGPU_BACO_M(POL_DAT, 0x80, 7, 0x1),		/* BYPASSACLK */
	EGPU_BACO_W(POL_IDX, POL_MPLL_BYPASSCLK_SEL),
	EGPU_BACO_M(POL_DAT, 0xFF00, 8, 0x2),		/* MPLL_CLKOUT_SEL */
	EGPU_BACO_M(POL_MPLL_CNTL_MODE, 0x100, 8, 0x1),	/* MPLL_SW_DIR_CONTROL */
	EGPU_BACO_M(POL_MPLL_CNTL_MODE, 0x800, 11, 0x0),	/* MPLL_MCLK_SEL */
};

/* polaris_baco.c turn_off_plls_tbl. */
static const struct egpu_baco_cmd egpu_pol_turn_off_plls[] = {
	EGPU_BACO_M(POL_DC_GPIO_PAD_STRENGTH_1, 0xF0, 4, 0x1),	/* GENLK_STRENGTH_SP */
	EGPU_BACO_US(1),
	EGPU_BACO_M(POL_MC_SEQ_DRAM, 0x10000000, 28, 0x1),	/* RST_CTL */
	EGPU_BACO_W(POL_IDX, 0xC05002B0),
	EGPU_BACO_M(POL_DAT, 0x10, 4, 0x1),
	EGPU_BACO_WAIT(POL_DAT, 0x10, 0),
	EGPU_BACO_W(POL_IDX, 0xC050032C),
	EGPU_BACO_M(POL_DAT, 0x10, 4, 0x1),
	EGPU_BACO_WAIT(POL_DAT, 0x10, 0),
	EGPU_BACO_W(POL_IDX, 0xC0500080),
	EGPU_BACO_M(POL_DAT, 0x1, 0, 0x1),
	EGPU_BACO_M(POL_RAW_DA2, 0x40, 6, 0x0),
	EGPU_BACO_US(3),
	EGPU_BACO_M(POL_RAW_DA2, 0x8, 3, 0x0),
	EGPU_BACO_M(POL_RAW_DA2, 0x3FFF00, 8, 0x32),
	EGPU_BACO_US(3),
	EGPU_BACO_M(POL_MPLL_FUNC_CNTL_2, 0x10000, 16, 0x0),	/* ISO_DIS_P */
	EGPU_BACO_US(5),
};

/* polaris_baco.c clk_req_b_tbl. */
static const struct egpu_baco_cmd egpu_pol_clk_req_b[] = {
	EGPU_BACO_W(POL_IDX, POL_THM_CLK_CNTL),
	EGPU_BACO_M(POL_DAT, 0xFF, 0, 0x1),		/* CMON_CLK_SEL */
	EGPU_BACO_M(POL_DAT, 0xFF00, 8, 0x1),		/* TMON_CLK_SEL */
	EGPU_BACO_W(POL_IDX, POL_MISC_CLK_CTRL),
	EGPU_BACO_M(POL_DAT, 0xFF, 0, 0x1),		/* DEEP_SLEEP_CLK_SEL */
	EGPU_BACO_M(POL_DAT, 0xFF00, 8, 0x1),		/* ZCLK_SEL */
	EGPU_BACO_W(POL_IDX, POL_CG_CLKPIN_CNTL),
	EGPU_BACO_M(POL_DAT, 0x4, 2, 0x0),		/* BCLK_AS_XCLK */
	EGPU_BACO_W(POL_IDX, POL_CG_CLKPIN_CNTL_2),
	EGPU_BACO_M(POL_DAT, 0x8, 3, 0x0),		/* FORCE_BIF_REFCLK_EN */
	EGPU_BACO_W(POL_IDX, POL_MPLL_BYPASSCLK_SEL),
	EGPU_BACO_M(POL_DAT, 0xFF00, 8, 0x4),		/* MPLL_CLKOUT_SEL */
};

/* polaris_baco.c enter_baco_tbl. */
static const struct egpu_baco_cmd egpu_pol_enter[] = {
	EGPU_BACO_M(POL_B, POL_B_EN, 0, 0x1),
	EGPU_BACO_M(POL_B, POL_B_BIF_SCLK_SWITCH, 18, 0x1),
	EGPU_BACO_WAIT(POL_B, POL_B_BIF_SCLK_SWITCH, 0x40000),
	EGPU_BACO_M(POL_B, POL_B_BCLK_OFF, 1, 0x1),
	EGPU_BACO_WAIT(POL_B, POL_B_BCLK_OFF, 0x2),
	EGPU_BACO_M(POL_B, POL_B_ISO_DIS, 2, 0x0),
	EGPU_BACO_WAIT(POL_B, POL_B_ISO_DIS, 0x0),
	EGPU_BACO_M(POL_B, POL_B_ANA_ISO_DIS, 7, 0x0),
	EGPU_BACO_WAIT(POL_B, POL_B_ANA_ISO_DIS, 0x0),
	EGPU_BACO_M(POL_B, POL_B_POWER_OFF, 3, 0x1),
	EGPU_BACO_WAIT(POL_B, POL_B_POWER_OFF, 0x8),
	EGPU_BACO_WAIT(POL_B, POL_B_MODE, 0x40),
};

/* polaris_baco.c exit_baco_tbl. */
static const struct egpu_baco_cmd egpu_pol_exit[] = {
	EGPU_BACO_M(POL_B, POL_B_RESET_EN, 4, 0x1),
	EGPU_BACO_M(POL_B, POL_B_BCLK_OFF, 1, 0x0),
	EGPU_BACO_M(POL_B, POL_B_POWER_OFF, 3, 0x0),
	EGPU_BACO_WAIT(POL_B, POL_B_PWRGOOD_BF, 0x200),
	EGPU_BACO_M(POL_B, POL_B_ISO_DIS, 2, 0x1),
	EGPU_BACO_WAIT(POL_B, POL_B_PWRGOOD_GPIO_MEM_DVO, 0x1C00),
	EGPU_BACO_M(POL_B, POL_B_ANA_ISO_DIS, 7, 0x1),
	EGPU_BACO_M(POL_B, POL_B_BIF_SCLK_SWITCH, 18, 0x0),
	EGPU_BACO_M(POL_B, POL_B_RESET_EN, 4, 0x0),
	EGPU_BACO_WAIT(POL_B, POL_B_RCU_BIF_CONFIG_DONE, 0x100),
	EGPU_BACO_M(POL_B, POL_B_EN, 0, 0x0),
	EGPU_BACO_WAIT(POL_B, POL_B_MODE, 0x0),
};

/* polaris_baco.c clean_baco_tbl. */
static const struct egpu_baco_cmd egpu_pol_clean[] = {
	EGPU_BACO_W(POL_BIOS_SCRATCH_0 + 6, 0),
	EGPU_BACO_W(POL_BIOS_SCRATCH_0 + 7, 0),
};

static const struct {
	const char *name;
	const struct egpu_baco_cmd *tbl;
	size_t n;
} egpu_pol_prepare[] = {
	{ "gpio", egpu_pol_gpio, ARRAY_SIZE(egpu_pol_gpio) },
	{ "enable_fb_req_rej", egpu_pol_fb_req_rej, ARRAY_SIZE(egpu_pol_fb_req_rej) },
	{ "use_bclk", egpu_pol_use_bclk, ARRAY_SIZE(egpu_pol_use_bclk) },
	{ "turn_off_plls", egpu_pol_turn_off_plls, ARRAY_SIZE(egpu_pol_turn_off_plls) },
	{ "clk_req_b", egpu_pol_clk_req_b, ARRAY_SIZE(egpu_pol_clk_req_b) },
};

/* polaris_baco_set_state(IN) then (OUT). */
static int egpu_polaris_baco(struct egpu_hw *hw)
{
	unsigned int i;
	u32 b;
	int ret;

	/* smu7_baco_get_state(): BACO_CNTL.BACO_MODE. */
	ret = egpu_amd_rreg(hw, POL_B, &b);
	if (ret)
		return ret;
	if (!(b & POL_B_MODE)) {
		for (i = 0; i < ARRAY_SIZE(egpu_pol_prepare); i++) {
			ret = egpu_amd_baco_run(hw, egpu_pol_prepare[i].name,
						egpu_pol_prepare[i].tbl,
						egpu_pol_prepare[i].n);
			if (ret == -ERANGE)
				return ret;
			if (ret)
				egpu_amd_warn(hw, "polaris: BACO %s table failed (%d), continuing as the kernel does\n",
					      egpu_pol_prepare[i].name, ret);
		}
		ret = egpu_amd_baco_run(hw, "enter", egpu_pol_enter,
					ARRAY_SIZE(egpu_pol_enter));
		if (ret)
			return ret;
	}
	/* "HW requires at least 20ms between regulator off and on". */
	egpu_amd_sleep_ms(hw, 20);
	ret = egpu_amd_baco_run(hw, "exit", egpu_pol_exit, ARRAY_SIZE(egpu_pol_exit));
	if (ret)
		return ret;
	return egpu_amd_baco_run(hw, "clean", egpu_pol_clean, ARRAY_SIZE(egpu_pol_clean));
}

/* amdgpu_device_pci_config_reset(), vi.c vi_asic_pci_config_reset(). */
static int egpu_polaris_config_reset(struct egpu_hw *hw)
{
	u32 v;
	int ret;

	ret = hw->ops->cfg_write(hw, EGPU_AMD_CFG_RESET_OFFSET, EGPU_AMD_CFG_RESET_DATA);
	if (ret) {
		egpu_amd_err(hw, "polaris: config reset write failed (%d)\n", ret);
		return ret;
	}
	hw->ops->udelay(hw, 100);
	ret = egpu_amd_poll_ne(hw, EGPU_VI_CONFIG_MEMSIZE, 0xFFFFFFFF, 0xFFFFFFFF,
			       EGPU_POL_MEMSIZE_TIMEOUT_US, &v);
	if (ret)
		egpu_amd_err(hw, "polaris: ASIC not back after config reset: CONFIG_MEMSIZE 0x%08x (%d)\n",
			     v, ret);
	return ret;
}

static int egpu_polaris_smc_state(struct egpu_hw *hw, u32 *clk, u32 *pc)
{
	int ret;

	ret = egpu_amd_smc_read(hw, POL_SMC_SYSCON_CLOCK_CNTL_0, clk);
	if (!ret)
		ret = egpu_amd_smc_read(hw, POL_SMC_PC_C, pc);
	return ret;
}

static int egpu_polaris_reset(struct egpu_hw *hw, struct egpu_reset_report *report)
{
	u32 clk, pc, strap;
	int ret;

	report->method = EGPU_RESET_METHOD_NONE;
	report->smu_state_before = 0;
	ret = egpu_amd_check_window(hw, POL_DC_GPIO_PAD_STRENGTH_1);
	if (ret)
		return ret;

	ret = egpu_polaris_smc_state(hw, &clk, &pc);
	if (ret)
		return ret;
	report->smu_state_before = pc;
	egpu_amd_info(hw, "polaris: SMC_SYSCON_CLOCK_CNTL_0 0x%x, SMC_PC_C 0x%x\n", clk, pc);
	if (clk == 0xFFFFFFFF && pc == 0xFFFFFFFF) {
		egpu_amd_err(hw, "polaris: SMC reads 0xffffffff (device not responding)\n");
		return -ENODEV;
	}
	if ((clk & POL_SMC_CK_DISABLE) || pc < POL_SMC_PC_RUNNING) {
		egpu_amd_info(hw, "polaris: SMC not running: already in power-on state, no reset needed\n");
		return 0;
	}

	ret = egpu_amd_engine_hung(hw, POL_BIOS_SCRATCH_0, true);
	if (!ret)
		ret = egpu_amd_rreg(hw, POL_CC_BIF_BX_FUSESTRAP0, &strap);
	if (ret)
		return ret;
	if (strap & POL_STRAP_BIF_PX_CAPABLE) {
		report->method = EGPU_RESET_METHOD_BACO;
		ret = egpu_polaris_baco(hw);
	} else {
		report->method = EGPU_RESET_METHOD_CONFIG;
		ret = egpu_polaris_config_reset(hw);
	}
	if (ret) {
		egpu_amd_err(hw, "polaris: %s reset failed (%d)\n",
			     report->method == EGPU_RESET_METHOD_BACO ? "BACO" : "config", ret);
		return ret;
	}
	ret = egpu_amd_engine_hung(hw, POL_BIOS_SCRATCH_0, false);
	if (!ret)
		ret = egpu_polaris_smc_state(hw, &clk, &pc);
	if (!ret)
		egpu_amd_info(hw, "polaris: reset by %s; SMC_SYSCON_CLOCK_CNTL_0 0x%x, SMC_PC_C 0x%x\n",
			      report->method == EGPU_RESET_METHOD_BACO ? "BACO" : "config reset",
			      clk, pc);
	return ret;
}

/*
 * amdgpu_drv.c pciidlist CHIP_POLARIS10/11/12, sheet §3.1 (vendor-reset
 * lacks 67D4 and 698F). 67FF revisions 0xE3/0xE7/0xF3/0xF7 are Polaris 10
 * for amdgpu; the same sequence serves both.
 */
static const struct pci_device_id egpu_polaris_ids[] = {
	/* Polaris 10 */
	{ PCI_VDEVICE(ATI, 0x67C0) }, { PCI_VDEVICE(ATI, 0x67C1) },
	{ PCI_VDEVICE(ATI, 0x67C2) }, { PCI_VDEVICE(ATI, 0x67C4) },
	{ PCI_VDEVICE(ATI, 0x67C7) }, { PCI_VDEVICE(ATI, 0x67D0) },
	{ PCI_VDEVICE(ATI, 0x67D4) }, { PCI_VDEVICE(ATI, 0x67DF) },
	{ PCI_VDEVICE(ATI, 0x67C8) }, { PCI_VDEVICE(ATI, 0x67C9) },
	{ PCI_VDEVICE(ATI, 0x67CA) }, { PCI_VDEVICE(ATI, 0x67CC) },
	{ PCI_VDEVICE(ATI, 0x67CF) }, { PCI_VDEVICE(ATI, 0x6FDF) },
	/* Polaris 11 */
	{ PCI_VDEVICE(ATI, 0x67E0) }, { PCI_VDEVICE(ATI, 0x67E3) },
	{ PCI_VDEVICE(ATI, 0x67E8) }, { PCI_VDEVICE(ATI, 0x67EB) },
	{ PCI_VDEVICE(ATI, 0x67EF) }, { PCI_VDEVICE(ATI, 0x67FF) },
	{ PCI_VDEVICE(ATI, 0x67E1) }, { PCI_VDEVICE(ATI, 0x67E7) },
	{ PCI_VDEVICE(ATI, 0x67E9) },
	/* Polaris 12 */
	{ PCI_VDEVICE(ATI, 0x6980) }, { PCI_VDEVICE(ATI, 0x6981) },
	{ PCI_VDEVICE(ATI, 0x6985) }, { PCI_VDEVICE(ATI, 0x6986) },
	{ PCI_VDEVICE(ATI, 0x6987) }, { PCI_VDEVICE(ATI, 0x698F) },
	{ PCI_VDEVICE(ATI, 0x6995) }, { PCI_VDEVICE(ATI, 0x6997) },
	{ PCI_VDEVICE(ATI, 0x699F) },
	{ }
};

const struct egpu_reset_family egpu_family_polaris = {
	.name = "polaris",
	.ids = egpu_polaris_ids,
	.mmio_bar = 5,
	.reset = egpu_polaris_reset,
};

#ifdef EGPU_KUNIT
#include "amd_polaris_test.c"
#endif
