/* SPDX-License-Identifier: GPL-2.0 */
/*
 * amd_common.h - mechanics shared by the AMD reset families (amd_*.c).
 *
 * Everything here talks to the device only through struct egpu_hw
 * (reset_family.h). "Sheet §n" refers to the project's AMD reset fact
 * sheet (amd-reset-facts.md); every value also names the amdgpu (or
 * vendor-reset) file and function it comes from, so it can be checked
 * without the sheet.
 *
 * Error convention of every helper: 0, or -errno that the family returns
 * unchanged:
 *   -ERANGE     a register outside hw->mmio_dwords was asked for (nothing
 *               is accessed)
 *   -ETIMEDOUT  a bounded wait ended without the expected value (an SMU
 *               response of 0 after the bound is this, never success)
 *   -EIO, -EOPNOTSUPP, -EINVAL, -EBUSY, -EREMOTEIO
 *               SMU response codes (sheet §1.6)
 *   -ENODEV     the device reads all-ones (not answering on the bus)
 */
#ifndef EGPU_AMD_COMMON_H
#define EGPU_AMD_COMMON_H

#include <linux/device.h>
#include <linux/printk.h>
#include <linux/types.h>

#include "reset_family.h"

/* Log through the device when there is one (real hardware), else pr_*(). */
enum egpu_amd_log_level { EGPU_AMD_ERR, EGPU_AMD_WARN, EGPU_AMD_INFO };
__printf(3, 4)
void egpu_amd_log(const struct egpu_hw *hw, enum egpu_amd_log_level lvl,
		  const char *fmt, ...);
#define egpu_amd_err(hw, fmt, ...) egpu_amd_log(hw, EGPU_AMD_ERR, fmt, ##__VA_ARGS__)
#define egpu_amd_warn(hw, fmt, ...) egpu_amd_log(hw, EGPU_AMD_WARN, fmt, ##__VA_ARGS__)
#define egpu_amd_info(hw, fmt, ...) egpu_amd_log(hw, EGPU_AMD_INFO, fmt, ##__VA_ARGS__)

/* --- SOC15 / NV absolute register dwords (sheet §1.3, §1.4) ------------- */

/*
 * PCIE_INDEX2 / PCIE_DATA2: NBIO seg0 + 0x0E / 0x0F. amdgpu nbio_v6_1.c,
 * nbio_v7_4.c, nbio_v2_3.c get_pcie_index_offset()/get_pcie_data_offset().
 */
#define EGPU_SOC15_PCIE_INDEX2		0x0000E
#define EGPU_SOC15_PCIE_DATA2		0x0000F
/*
 * BIOS_SCRATCH_0: NBIO seg1 (0x14) + mmBIOS_SCRATCH_0 (0x38) = 0x4C. amdgpu
 * takes the base from the VBIOS (amdgpu_atomfirmware.c
 * amdgpu_atomfirmware_scratch_regs_init()); vendor-reset logs show 0x4c on
 * Vega 10 and Navi 10/14 (sheet §1.9).
 */
#define EGPU_SOC15_BIOS_SCRATCH_0	0x0004C
/* RCC_BIF_STRAP0: NBIO seg2 (0xD20) + 0x000 (nbio_6_1/7_4/2_3_offset.h). */
#define EGPU_SOC15_RCC_BIF_STRAP0	0x00D20
#define EGPU_SOC15_STRAP_PX_CAPABLE	0x00000080
/* RCC_CONFIG_MEMSIZE: NBIO seg2 + 0x0C3 (nbio get_memsize()). */
#define EGPU_SOC15_RCC_CONFIG_MEMSIZE	0x00DE3
/* NBIO BACO_CNTL: seg2 + 0x10B; BACO_MODE 0x100 (nbio_*_sh_mask.h). */
#define EGPU_SOC15_BACO_CNTL		0x00E2B
#define EGPU_SOC15_BACO_CNTL_MODE	0x00000100
/* MP0 (PSP) seg0 0x16000 + mmMP0_SMN_C2PMSG_n (mp_9_0/mp_11_0_offset.h). */
#define EGPU_MP0_C2PMSG_33		0x16061
#define EGPU_MP0_C2PMSG_35		0x16063
#define EGPU_MP0_C2PMSG_64		0x16080
#define EGPU_MP0_C2PMSG_81		0x16091
/* MP1 (SMU) seg0 0x16000 (not 0x16200, sheet §1.3) + mmMP1_SMN_C2PMSG_n. */
#define EGPU_MP1_C2PMSG_66		0x16282
#define EGPU_MP1_C2PMSG_82		0x16292
#define EGPU_MP1_C2PMSG_90		0x1629A

/* MP1_FIRMWARE_FLAGS.INTERRUPTS_ENABLED (mp_9_0/mp_11_0_sh_mask.h). */
#define EGPU_MP1_FW_FLAGS_INTR_EN	0x00000001

/* ATOM_S3_ASIC_GUI_ENGINE_HUNG (atombios.h), in BIOS_SCRATCH_3. */
#define EGPU_ATOM_S3_ENGINE_HUNG	0x20000000

/* --- bounds (our choices; the sheet's sources are cited) ---------------- */

/*
 * SMU mailbox wait, each of the pre-wait and the response wait. amdgpu
 * powerplay uses AMD_MAX_USEC_TIMEOUT = 1 s in 6.12 (hwmgr.c), swsmu 2 s,
 * vendor-reset ~100 ms (sheet §1.6). We take the powerplay value.
 */
#define EGPU_AMD_SMU_TIMEOUT_US		1000000
/* PSP waits: adev->usec_timeout = 100000 x udelay(1) (psp_wait_for()). */
#define EGPU_AMD_PSP_TIMEOUT_US		100000
/* Memsize after reset: 100000 x udelay(1) (amdgpu_device_mode1_reset()). */
#define EGPU_AMD_MEMSIZE_TIMEOUT_US	100000
/*
 * sOS sign of life: vendor-reset polls C2PMSG_81 100000 x udelay(1)
 * (sheet §4.5 step 4).
 */
#define EGPU_AMD_SOL_TIMEOUT_US		100000
/*
 * BACO WAITFOR: the kernel polls msleep(1) up to 5000 times (>= 5 s, the
 * per-entry timeout is ignored, common_baco.c baco_wait_register()). The
 * hardware transitions take microseconds to a few ms; we bound each
 * WAITFOR to 1 s of elapsed time with the same msleep(1) step.
 */
#define EGPU_AMD_BACO_WAIT_MS		1000
/* PSP mode 1: 500 ms after the command (psp_v3_1/psp_v11_0 mode1_reset). */
#define EGPU_AMD_PSP_MODE1_SLEEP_MS	500

/* --- register access ---------------------------------------------------- */

/* -ERANGE unless every dword up to @last_dw is inside the window. */
int egpu_amd_check_window(struct egpu_hw *hw, u32 last_dw);
int egpu_amd_rreg(struct egpu_hw *hw, u32 dw, u32 *val);
int egpu_amd_wreg(struct egpu_hw *hw, u32 dw, u32 val);
/* new = (old & ~clear) | set */
int egpu_amd_rmw(struct egpu_hw *hw, u32 dw, u32 clear, u32 set);

/*
 * Bounded polls. Wait until (read & mask) == value (poll) or != value
 * (poll_ne). The first millisecond is polled with udelay(10), then
 * msleep(1) steps; the wait ends as soon as @timeout_us of hw->ops->now_us
 * time (or of requested delay, should the clock not advance) has passed,
 * so it overruns the bound by at most one step (1 ms). The last value read
 * is stored in @last when non-NULL. Returns 0, -ETIMEDOUT or -ERANGE.
 * An all-ones read (device off the bus) never matches a value with bits
 * set; poll_ne() treats it like any other value.
 */
int egpu_amd_poll(struct egpu_hw *hw, u32 dw, u32 mask, u32 value,
		  u32 timeout_us, u32 *last);
int egpu_amd_poll_ne(struct egpu_hw *hw, u32 dw, u32 mask, u32 value,
		     u32 timeout_us, u32 *last);
/* Sleep @ms in steps of at most 100 ms through hw->ops->msleep. */
void egpu_amd_sleep_ms(struct egpu_hw *hw, unsigned int ms);

/* --- indirect spaces ----------------------------------------------------- */

/* SMN through PCIE_INDEX2/PCIE_DATA2 with posting reads (sheet §1.2). */
int egpu_amd_smn_read(struct egpu_hw *hw, u32 addr, u32 *val);
int egpu_amd_smn_write(struct egpu_hw *hw, u32 addr, u32 val);
/* egpu_amd_poll() on an SMN register. */
int egpu_amd_smn_poll(struct egpu_hw *hw, u32 addr, u32 mask, u32 value,
		      u32 timeout_us, u32 *last);

/*
 * VI (Polaris) absolute dwords, no segments (sheet §1.2, §3.2):
 * SMC_IND_INDEX_11/DATA_11 (smu_7_1_1_d.h; vi.c vi_smc_rreg()/_wreg()),
 * GCK_SMC_IND_INDEX/DATA (smu_7_1_3_d.h; used by polaris_baco.c tables),
 * CONFIG_MEMSIZE (bif_5_0_d.h; vi.c vi_get_config_memsize()).
 */
#define EGPU_VI_SMC_IND_INDEX_11	0x1AC
#define EGPU_VI_SMC_IND_DATA_11		0x1AD
#define EGPU_VI_GCK_SMC_IND_INDEX	0x080
#define EGPU_VI_GCK_SMC_IND_DATA	0x081
#define EGPU_VI_CONFIG_MEMSIZE		0x150A
/*
 * PCI config reset: AMDGPU_ASIC_RESET_DATA (amdgpu.h) to config dword 0x7C
 * (amdgpu_device.c amdgpu_device_pci_config_reset()).
 */
#define EGPU_AMD_CFG_RESET_OFFSET	0x7C
#define EGPU_AMD_CFG_RESET_DATA		0x39D5E86B
int egpu_amd_smc_read(struct egpu_hw *hw, u32 addr, u32 *val);
int egpu_amd_smc_write(struct egpu_hw *hw, u32 addr, u32 val);

/* --- SMU mailbox (SOC15 / NV, sheet §1.6) --------------------------------- */

/* C2PMSG_90 response codes (smu_cmn.c SMU_RESP_*, *_ppsmc.h). */
#define EGPU_SMU_RESP_NONE		0x00
#define EGPU_SMU_RESP_OK		0x01
#define EGPU_SMU_RESP_FAIL		0xFF
#define EGPU_SMU_RESP_UNKNOWN_CMD	0xFE
#define EGPU_SMU_RESP_CMD_BAD_PREREQ	0xFD
#define EGPU_SMU_RESP_BUSY_OTHER	0xFC

/* Map a C2PMSG_90 value to 0/-errno as smu_cmn.c __smu_cmn_reg2errno(). */
int egpu_amd_smu_resp_errno(u32 resp);

/*
 * Send @msg with argument @arg; on success store C2PMSG_82 in @out when
 * non-NULL. A response of 0 after EGPU_AMD_SMU_TIMEOUT_US is -ETIMEDOUT.
 */
int egpu_amd_smu_send(struct egpu_hw *hw, u32 msg, u32 arg, u32 *out);

/* --- PSP (sheet §1.7) ------------------------------------------------------ */

/* GFX_CTRL_CMD_ID_MODE1_RST (psp_gfx_if.h). */
#define EGPU_PSP_CMD_MODE1_RST		0x00070000
/* C2PMSG_64: (v & 0x8000FFFF) == 0x80000000 means idle and ready. */
#define EGPU_PSP_READY_MASK		0x8000FFFF
#define EGPU_PSP_READY_VALUE		0x80000000
#define EGPU_PSP_ACK			0x80000000

/*
 * PSP mode-1 reset of a SOC15/NV part: ready check, command, 500 ms, ack,
 * then wait for RCC_CONFIG_MEMSIZE to read back (not 0xFFFFFFFF). Returns 0
 * or -ETIMEDOUT (each stage logs the registers it read). Engine-hung
 * handling is the caller's.
 */
int egpu_amd_psp_mode1(struct egpu_hw *hw);

/*
 * Wait for the sOS sign of life (C2PMSG_81 != 0, sheet §4.5 step 4).
 * Stores the last value in @sol. Returns 0 when non-zero and not
 * all-ones, -ENODEV when it reads all-ones, -ETIMEDOUT when it stayed 0.
 */
int egpu_amd_wait_sol(struct egpu_hw *hw, u32 *sol);

/* --- ATOM scratch (sheet §1.9) --------------------------------------------- */

/* Set or clear ATOM_S3_ASIC_GUI_ENGINE_HUNG in BIOS_SCRATCH_0 + 3. */
int egpu_amd_engine_hung(struct egpu_hw *hw, u32 scratch0, bool hung);
/* BIOS_SCRATCH_0 + 6 and + 7 = 0: VBIOS state invalid for the re-init. */
int egpu_amd_scratch_invalidate(struct egpu_hw *hw, u32 scratch0);

/* --- table-driven BACO (sheet §1.8) ---------------------------------------- */

enum egpu_baco_op {
	EGPU_BACO_WRITE,	/* reg = val << shift */
	EGPU_BACO_RMW,		/* reg = (reg & ~mask) | (val << shift) */
	EGPU_BACO_WAITFOR,	/* msleep(1); until (reg & mask) == val */
	EGPU_BACO_DELAY_MS,	/* sleep delay ms */
	EGPU_BACO_DELAY_US,	/* udelay(delay) */
};

struct egpu_baco_cmd {
	u8 op;
	u8 shift;
	u32 reg;
	u32 mask;
	u32 val;
	u32 delay;
};

#define EGPU_BACO_W(r, v) \
	{ .op = EGPU_BACO_WRITE, .reg = (r), .val = (v) }
#define EGPU_BACO_M(r, m, s, v) \
	{ .op = EGPU_BACO_RMW, .reg = (r), .mask = (m), .shift = (s), .val = (v) }
#define EGPU_BACO_WAIT(r, m, v) \
	{ .op = EGPU_BACO_WAITFOR, .reg = (r), .mask = (m), .val = (v) }
#define EGPU_BACO_MS(d) { .op = EGPU_BACO_DELAY_MS, .delay = (d) }
#define EGPU_BACO_US(d) { .op = EGPU_BACO_DELAY_US, .delay = (d) }

/*
 * Run a table. A WAITFOR that does not match within EGPU_AMD_BACO_WAIT_MS
 * aborts the table with -ETIMEDOUT (logged with table @name, entry index,
 * register and last value read).
 */
int egpu_amd_baco_run(struct egpu_hw *hw, const char *name,
		      const struct egpu_baco_cmd *tbl, size_t n);

/* --- the SOC15 flow shared by Vega 10 and Vega 20 -------------------------- */

struct egpu_amd_soc15_flow {
	const char *name;
	/* Highest register dword the family touches (window check). */
	u32 last_dw;
	/* SMN address of MP1_FIRMWARE_FLAGS (smu9_smumgr.c, vega20_smumgr.c). */
	u32 mp1_fw_flags;
	/*
	 * The family's BACO cycle; @in_baco: NBIO BACO_CNTL.BACO_MODE was set
	 * before the reset (enter is skipped, as *_baco_set_state() does).
	 */
	int (*baco)(struct egpu_hw *hw, bool in_baco);
};

/*
 * Sign of life, state report, then PSP mode 1 with the family's BACO cycle
 * as the fallback (the Vega 10 choice of sheet §4.5, vendor-reset PR #109;
 * vendor-reset amd_vega20_reset() for Vega 20). See amd_common.c.
 */
int egpu_amd_soc15_reset(struct egpu_hw *hw, struct egpu_reset_report *report,
			 const struct egpu_amd_soc15_flow *f);

#endif /* EGPU_AMD_COMMON_H */
