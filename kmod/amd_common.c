// SPDX-License-Identifier: GPL-2.0
/*
 * amd_common.c - mechanics shared by the AMD reset families: bounded
 * register polling, the SOC15/NV SMU mailbox, SMN and VI SMC indirect
 * access, the PSP mode-1 reset, ATOM scratch flags and the table-driven
 * BACO interpreter. See amd_common.h for the error convention.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/errno.h>
#include <linux/kernel.h>

#include "amd_common.h"

/* Polls spin with udelay(10) for the first millisecond, then msleep(1). */
#define EGPU_AMD_SPIN_US	1000
#define EGPU_AMD_SPIN_STEP_US	10
#define EGPU_AMD_SLEEP_STEP_MS	1
/* Longest single msleep() we issue (the rules forbid >= 1000 ms). */
#define EGPU_AMD_MAX_SLEEP_MS	500

void egpu_amd_log(const struct egpu_hw *hw, enum egpu_amd_log_level lvl,
		  const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	switch (lvl) {
	case EGPU_AMD_ERR:
		if (hw->dev)
			dev_err(hw->dev, "%pV", &vaf);
		else
			pr_err("%pV", &vaf);
		break;
	case EGPU_AMD_WARN:
		if (hw->dev)
			dev_warn(hw->dev, "%pV", &vaf);
		else
			pr_warn("%pV", &vaf);
		break;
	default:
		if (hw->dev)
			dev_info(hw->dev, "%pV", &vaf);
		else
			pr_info("%pV", &vaf);
		break;
	}
	va_end(args);
}

int egpu_amd_check_window(struct egpu_hw *hw, u32 last_dw)
{
	if (last_dw >= hw->mmio_dwords) {
		egpu_amd_err(hw, "register dw 0x%x outside the %u-dword register BAR\n",
			     last_dw, hw->mmio_dwords);
		return -ERANGE;
	}
	return 0;
}

int egpu_amd_rreg(struct egpu_hw *hw, u32 dw, u32 *val)
{
	if (dw >= hw->mmio_dwords) {
		egpu_amd_err(hw, "read of dw 0x%x outside the register BAR refused\n", dw);
		return -ERANGE;
	}
	*val = hw->ops->rreg(hw, dw);
	return 0;
}

int egpu_amd_wreg(struct egpu_hw *hw, u32 dw, u32 val)
{
	if (dw >= hw->mmio_dwords) {
		egpu_amd_err(hw, "write of dw 0x%x outside the register BAR refused\n", dw);
		return -ERANGE;
	}
	hw->ops->wreg(hw, dw, val);
	return 0;
}

int egpu_amd_rmw(struct egpu_hw *hw, u32 dw, u32 clear, u32 set)
{
	u32 v;
	int ret;

	ret = egpu_amd_rreg(hw, dw, &v);
	if (ret)
		return ret;
	return egpu_amd_wreg(hw, dw, (v & ~clear) | set);
}

void egpu_amd_sleep_ms(struct egpu_hw *hw, unsigned int ms)
{
	while (ms) {
		unsigned int step = min_t(unsigned int, ms, EGPU_AMD_MAX_SLEEP_MS);

		hw->ops->msleep(hw, step);
		ms -= step;
	}
}

/*
 * (v & mask) == value, except that an all-ones read never confirms a set
 * bit: a device that dropped off the bus reads 0xFFFFFFFF, which must not
 * pass for an acknowledgment or a status bit.
 */
static bool egpu_amd_match(u32 v, u32 mask, u32 value)
{
	if (v == 0xFFFFFFFF && value)
		return false;
	return (v & mask) == value;
}

/*
 * The one polling loop. Both bounds are checked after every read: the
 * elapsed time on hw->ops->now_us, and the sum of the delays we asked for
 * (which never exceeds real elapsed time, so it only matters if the clock
 * does not advance). Either ends the wait; the overrun is one step.
 */
static int egpu_amd_poll_cond(struct egpu_hw *hw,
			      int (*rd)(struct egpu_hw *hw, u32 addr, u32 *val),
			      u32 dw, u32 mask, u32 value, bool equal,
			      u32 timeout_us, u32 *last)
{
	u64 start = hw->ops->now_us(hw);
	u64 requested = 0, elapsed;
	u32 v = 0;
	int ret;

	for (;;) {
		ret = rd(hw, dw, &v);
		if (ret)
			break;
		if (equal ? egpu_amd_match(v, mask, value) : (v & mask) != value)
			break;
		elapsed = hw->ops->now_us(hw) - start;
		if (elapsed >= timeout_us || requested >= timeout_us) {
			ret = -ETIMEDOUT;
			break;
		}
		if (elapsed < EGPU_AMD_SPIN_US) {
			hw->ops->udelay(hw, EGPU_AMD_SPIN_STEP_US);
			requested += EGPU_AMD_SPIN_STEP_US;
		} else {
			hw->ops->msleep(hw, EGPU_AMD_SLEEP_STEP_MS);
			requested += EGPU_AMD_SLEEP_STEP_MS * 1000;
		}
	}
	if (last)
		*last = v;
	return ret;
}

int egpu_amd_poll(struct egpu_hw *hw, u32 dw, u32 mask, u32 value,
		  u32 timeout_us, u32 *last)
{
	return egpu_amd_poll_cond(hw, egpu_amd_rreg, dw, mask, value, true,
				  timeout_us, last);
}

int egpu_amd_poll_ne(struct egpu_hw *hw, u32 dw, u32 mask, u32 value,
		     u32 timeout_us, u32 *last)
{
	return egpu_amd_poll_cond(hw, egpu_amd_rreg, dw, mask, value, false,
				  timeout_us, last);
}

/*
 * SMN: write the address to PCIE_INDEX2, read it back (posting read), then
 * access PCIE_DATA2; a write is followed by a read of PCIE_DATA2. amdgpu
 * amdgpu_device.c amdgpu_device_indirect_rreg()/_wreg() (sheet §1.2).
 */
int egpu_amd_smn_read(struct egpu_hw *hw, u32 addr, u32 *val)
{
	u32 dummy;
	int ret;

	ret = egpu_amd_wreg(hw, EGPU_SOC15_PCIE_INDEX2, addr);
	if (!ret)
		ret = egpu_amd_rreg(hw, EGPU_SOC15_PCIE_INDEX2, &dummy);
	if (!ret)
		ret = egpu_amd_rreg(hw, EGPU_SOC15_PCIE_DATA2, val);
	return ret;
}

int egpu_amd_smn_write(struct egpu_hw *hw, u32 addr, u32 val)
{
	u32 dummy;
	int ret;

	ret = egpu_amd_wreg(hw, EGPU_SOC15_PCIE_INDEX2, addr);
	if (!ret)
		ret = egpu_amd_rreg(hw, EGPU_SOC15_PCIE_INDEX2, &dummy);
	if (!ret)
		ret = egpu_amd_wreg(hw, EGPU_SOC15_PCIE_DATA2, val);
	if (!ret)
		ret = egpu_amd_rreg(hw, EGPU_SOC15_PCIE_DATA2, &dummy);
	return ret;
}

int egpu_amd_smn_poll(struct egpu_hw *hw, u32 addr, u32 mask, u32 value,
		      u32 timeout_us, u32 *last)
{
	return egpu_amd_poll_cond(hw, egpu_amd_smn_read, addr, mask, value, true,
				  timeout_us, last);
}

/* VI SMC: index then data, no posting read (vi.c vi_smc_rreg()/_wreg()). */
int egpu_amd_smc_read(struct egpu_hw *hw, u32 addr, u32 *val)
{
	int ret;

	ret = egpu_amd_wreg(hw, EGPU_VI_SMC_IND_INDEX_11, addr);
	if (!ret)
		ret = egpu_amd_rreg(hw, EGPU_VI_SMC_IND_DATA_11, val);
	return ret;
}

int egpu_amd_smc_write(struct egpu_hw *hw, u32 addr, u32 val)
{
	int ret;

	ret = egpu_amd_wreg(hw, EGPU_VI_SMC_IND_INDEX_11, addr);
	if (!ret)
		ret = egpu_amd_wreg(hw, EGPU_VI_SMC_IND_DATA_11, val);
	return ret;
}

/* smu_cmn.c __smu_cmn_reg2errno(); values from *_ppsmc.h PPSMC_Result_*. */
int egpu_amd_smu_resp_errno(u32 resp)
{
	switch (resp) {
	case EGPU_SMU_RESP_NONE:
		return -ETIMEDOUT;	/* smu_cmn: -ETIME; never success */
	case EGPU_SMU_RESP_OK:
		return 0;
	case EGPU_SMU_RESP_FAIL:
		return -EIO;
	case EGPU_SMU_RESP_UNKNOWN_CMD:
		return -EOPNOTSUPP;
	case EGPU_SMU_RESP_CMD_BAD_PREREQ:
		return -EINVAL;
	case EGPU_SMU_RESP_BUSY_OTHER:
		return -EBUSY;
	default:
		return -EREMOTEIO;
	}
}

/*
 * SMU mailbox, sheet §1.6: smu_cmn.c __smu_cmn_send_msg(),
 * __smu_cmn_poll_stat(); smu9_smumgr.c smu9_send_msg_to_smc_with_parameter();
 * vega20_smumgr.c vega20_send_msg_to_smc_with_parameter().
 *  1. wait for C2PMSG_90 != 0 (previous message done)
 *  2. C2PMSG_90 = 0, 3. C2PMSG_82 = argument, 4. C2PMSG_66 = message
 *  5. wait for C2PMSG_90 != 0, 6. map it, 7. read C2PMSG_82 for data.
 * As swsmu does, a previous error response (0xFF..0xFC) does not prevent
 * sending; an undefined one does. Unlike vendor-reset, a response still 0
 * at the bound is -ETIMEDOUT, never 0.
 */
int egpu_amd_smu_send(struct egpu_hw *hw, u32 msg, u32 arg, u32 *out)
{
	u32 resp;
	int ret;

	ret = egpu_amd_poll_ne(hw, EGPU_MP1_C2PMSG_90, 0xFFFFFFFF, 0,
			       EGPU_AMD_SMU_TIMEOUT_US, &resp);
	if (ret == -ETIMEDOUT) {
		egpu_amd_err(hw, "SMU busy, message 0x%x not sent: C2PMSG_90 = 0x%x after %u us\n",
			     msg, resp, EGPU_AMD_SMU_TIMEOUT_US);
		return ret;
	}
	if (ret)
		return ret;
	if (resp == 0xFFFFFFFF) {
		egpu_amd_err(hw, "SMU message 0x%x not sent: C2PMSG_90 reads 0xffffffff (device not responding)\n",
			     msg);
		return -ENODEV;
	}
	if (egpu_amd_smu_resp_errno(resp) == -EREMOTEIO) {
		egpu_amd_err(hw, "SMU in an undefined state, message 0x%x not sent: C2PMSG_90 = 0x%x\n",
			     msg, resp);
		return -EREMOTEIO;
	}

	ret = egpu_amd_wreg(hw, EGPU_MP1_C2PMSG_90, 0);
	if (!ret)
		ret = egpu_amd_wreg(hw, EGPU_MP1_C2PMSG_82, arg);
	if (!ret)
		ret = egpu_amd_wreg(hw, EGPU_MP1_C2PMSG_66, msg);
	if (ret)
		return ret;

	ret = egpu_amd_poll_ne(hw, EGPU_MP1_C2PMSG_90, 0xFFFFFFFF, 0,
			       EGPU_AMD_SMU_TIMEOUT_US, &resp);
	if (ret == -ETIMEDOUT) {
		egpu_amd_err(hw, "SMU message 0x%x (arg 0x%x): no response, C2PMSG_90 = 0x%x after %u us\n",
			     msg, arg, resp, EGPU_AMD_SMU_TIMEOUT_US);
		return ret;
	}
	if (ret)
		return ret;
	ret = egpu_amd_smu_resp_errno(resp);
	if (ret) {
		egpu_amd_err(hw, "SMU message 0x%x (arg 0x%x) failed: C2PMSG_90 = 0x%x (%d)\n",
			     msg, arg, resp, ret);
		return ret;
	}
	if (out)
		ret = egpu_amd_rreg(hw, EGPU_MP1_C2PMSG_82, out);
	return ret;
}

/*
 * PSP mode 1, sheet §1.7: psp_v3_1.c psp_v3_1_mode1_reset() and
 * psp_v11_0.c psp_v11_0_mode1_reset() (identical), then the memsize wait
 * of amdgpu_device.c amdgpu_device_mode1_reset().
 */
int egpu_amd_psp_mode1(struct egpu_hw *hw)
{
	u32 v;
	int ret;

	/* 1. PSP idle: (C2PMSG_64 & 0x8000FFFF) == 0x80000000, 100 ms. */
	ret = egpu_amd_poll(hw, EGPU_MP0_C2PMSG_64, EGPU_PSP_READY_MASK,
			    EGPU_PSP_READY_VALUE, EGPU_AMD_PSP_TIMEOUT_US, &v);
	if (ret) {
		egpu_amd_err(hw, "PSP not ready for a mode-1 reset: C2PMSG_64 = 0x%08x (%d)\n",
			     v, ret);
		return ret;
	}
	/* 2. GFX_CTRL_CMD_ID_MODE1_RST to C2PMSG_64 (psp_gfx_if.h). */
	ret = egpu_amd_wreg(hw, EGPU_MP0_C2PMSG_64, EGPU_PSP_CMD_MODE1_RST);
	if (ret)
		return ret;
	/* 3. msleep(500) as in psp_v3_1/psp_v11_0 mode1_reset(). */
	egpu_amd_sleep_ms(hw, EGPU_AMD_PSP_MODE1_SLEEP_MS);
	/* 4. Acknowledgment: C2PMSG_33 bit 31, 100 ms. */
	ret = egpu_amd_poll(hw, EGPU_MP0_C2PMSG_33, EGPU_PSP_ACK, EGPU_PSP_ACK,
			    EGPU_AMD_PSP_TIMEOUT_US, &v);
	if (ret) {
		egpu_amd_err(hw, "PSP mode-1 reset not acknowledged: C2PMSG_33 = 0x%08x (%d)\n",
			     v, ret);
		return ret;
	}
	/* 5. amdgpu_device_mode1_reset(): memsize != 0xffffffff, 100 ms. */
	ret = egpu_amd_poll_ne(hw, EGPU_SOC15_RCC_CONFIG_MEMSIZE, 0xFFFFFFFF,
			       0xFFFFFFFF, EGPU_AMD_MEMSIZE_TIMEOUT_US, &v);
	if (ret) {
		egpu_amd_err(hw, "ASIC not back after mode-1 reset: RCC_CONFIG_MEMSIZE = 0x%08x (%d)\n",
			     v, ret);
		return ret;
	}
	return 0;
}

/*
 * sOS sign of life, C2PMSG_81 != 0: psp_v11_0.c psp_v11_0_is_sos_alive(),
 * soc15.c soc15_need_reset_on_init(); vendor-reset waits ~100 ms for it.
 */
int egpu_amd_wait_sol(struct egpu_hw *hw, u32 *sol)
{
	int ret;

	ret = egpu_amd_poll_ne(hw, EGPU_MP0_C2PMSG_81, 0xFFFFFFFF, 0,
			       EGPU_AMD_SOL_TIMEOUT_US, sol);
	if (ret)
		return ret;
	if (*sol == 0xFFFFFFFF) {
		egpu_amd_err(hw, "no sign of life: C2PMSG_81 reads 0xffffffff (device not responding)\n");
		return -ENODEV;
	}
	return 0;
}

/* amdgpu_atombios.c amdgpu_atombios_scratch_regs_engine_hung(). */
int egpu_amd_engine_hung(struct egpu_hw *hw, u32 scratch0, bool hung)
{
	return egpu_amd_rmw(hw, scratch0 + 3, EGPU_ATOM_S3_ENGINE_HUNG,
			    hung ? EGPU_ATOM_S3_ENGINE_HUNG : 0);
}

/* clean_baco_tbl (vega10/vega20/polaris_baco.c), smu_v11_0_baco_set_state(). */
int egpu_amd_scratch_invalidate(struct egpu_hw *hw, u32 scratch0)
{
	int ret;

	ret = egpu_amd_wreg(hw, scratch0 + 6, 0);
	if (!ret)
		ret = egpu_amd_wreg(hw, scratch0 + 7, 0);
	return ret;
}

/*
 * WAITFOR of common_baco.c baco_wait_register(): msleep(1) then read,
 * until (read & mask) == val (val not shifted). Bounded here by
 * EGPU_AMD_BACO_WAIT_MS of elapsed time (or of requested sleep).
 */
static int egpu_amd_baco_wait(struct egpu_hw *hw, u32 reg, u32 mask, u32 val,
			      u32 *last)
{
	u64 start = hw->ops->now_us(hw);
	u32 slept = 0;
	int ret;

	for (;;) {
		hw->ops->msleep(hw, 1);
		slept++;
		ret = egpu_amd_rreg(hw, reg, last);
		if (ret)
			return ret;
		if (egpu_amd_match(*last, mask, val))
			return 0;
		if (hw->ops->now_us(hw) - start >= EGPU_AMD_BACO_WAIT_MS * 1000ULL ||
		    slept >= EGPU_AMD_BACO_WAIT_MS)
			return -ETIMEDOUT;
	}
}

/* common_baco.c baco_program_registers()/baco_cmd_handler(), sheet §1.8. */
int egpu_amd_baco_run(struct egpu_hw *hw, const char *name,
		      const struct egpu_baco_cmd *tbl, size_t n)
{
	size_t i;
	u32 v = 0;
	int ret;

	for (i = 0; i < n; i++) {
		const struct egpu_baco_cmd *c = &tbl[i];

		switch (c->op) {
		case EGPU_BACO_WRITE:
			ret = egpu_amd_wreg(hw, c->reg, c->val << c->shift);
			break;
		case EGPU_BACO_RMW:
			ret = egpu_amd_rmw(hw, c->reg, c->mask, c->val << c->shift);
			break;
		case EGPU_BACO_WAITFOR:
			ret = egpu_amd_baco_wait(hw, c->reg, c->mask, c->val, &v);
			if (ret == -ETIMEDOUT)
				egpu_amd_err(hw, "BACO %s[%zu]: dw 0x%x = 0x%08x, (& 0x%x) != 0x%x after %u ms\n",
					     name, i, c->reg, v, c->mask, c->val,
					     EGPU_AMD_BACO_WAIT_MS);
			break;
		case EGPU_BACO_DELAY_MS:
			egpu_amd_sleep_ms(hw, c->delay);
			ret = 0;
			break;
		case EGPU_BACO_DELAY_US:
			if (c->delay)
				hw->ops->udelay(hw, c->delay);
			ret = 0;
			break;
		default:
			egpu_amd_err(hw, "BACO %s[%zu]: invalid command %u\n", name, i, c->op);
			ret = -EINVAL;
			break;
		}
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The SOC15 flow (Vega 10, Vega 20):
 *  1. window check; wait for the sOS sign of life, C2PMSG_81 != 0 (~100 ms,
 *     vendor-reset amd_vega10_reset()/amd_vega20_reset()); all-ones is
 *     -ENODEV (the device does not answer).
 *  2. read and log the state: C2PMSG_90 (SMU response, reported as
 *     smu_state_before), MP1_FIRMWARE_FLAGS, NBIO BACO_CNTL, C2PMSG_35 (PSP
 *     bootloader; at its based address 0x16063, not vendor-reset's 0x63)
 *     and C2PMSG_64.
 *  3. sOS not running, SMU firmware not running and not in BACO: the ASIC
 *     is in its power-on state, which is what a reset produces; nothing is
 *     written and 0 is returned with method NONE (soc15.c
 *     soc15_need_reset_on_init(): sol == 0 means no reset is needed).
 *  4. ATOM "engine hung" set (amdgpu_device_mode1_reset(); vendor-reset
 *     sets it around its resets too).
 *  5. sOS alive: PSP mode 1 (psp_v3_1/psp_v11_0 mode1_reset()). It does not
 *     need a working SMU, which is why it goes first: after a guest driver
 *     shut the SMU down, SMU messages fail (vendor-reset PR #109, sheet
 *     §4.5). Success: method MODE1.
 *  6. mode 1 failed, or sOS not running while the SMU still is: the
 *     family's BACO cycle (method BACO); its failure is returned.
 *  7. clear "engine hung" and log C2PMSG_81 after the reset. On failure the
 *     flag stays set, as amdgpu_device_mode1_reset() leaves it.
 */
int egpu_amd_soc15_reset(struct egpu_hw *hw, struct egpu_reset_report *report,
			 const struct egpu_amd_soc15_flow *f)
{
	u32 sol = 0, smu = 0, flags = 0, baco = 0, bl = 0, psp = 0;
	int ret;

	report->method = EGPU_RESET_METHOD_NONE;
	report->smu_state_before = 0;
	ret = egpu_amd_check_window(hw, f->last_dw);
	if (ret)
		return ret;

	ret = egpu_amd_wait_sol(hw, &sol);
	if (ret && ret != -ETIMEDOUT)
		return ret;
	ret = egpu_amd_rreg(hw, EGPU_MP1_C2PMSG_90, &smu);
	if (!ret)
		ret = egpu_amd_smn_read(hw, f->mp1_fw_flags, &flags);
	if (!ret)
		ret = egpu_amd_rreg(hw, EGPU_SOC15_BACO_CNTL, &baco);
	if (!ret)
		ret = egpu_amd_rreg(hw, EGPU_MP0_C2PMSG_35, &bl);
	if (!ret)
		ret = egpu_amd_rreg(hw, EGPU_MP0_C2PMSG_64, &psp);
	if (ret)
		return ret;
	report->smu_state_before = smu;
	egpu_amd_info(hw, "%s: sol 0x%x, SMU C2PMSG_90 0x%x, MP1 fw flags 0x%x, BACO_CNTL 0x%x, PSP C2PMSG_35 0x%x C2PMSG_64 0x%x\n",
		      f->name, sol, smu, flags, baco, bl, psp);

	if (!sol && !(flags & EGPU_MP1_FW_FLAGS_INTR_EN) &&
	    !(baco & EGPU_SOC15_BACO_CNTL_MODE)) {
		egpu_amd_info(hw, "%s: PSP and SMU firmware not running: already in power-on state, no reset needed\n",
			      f->name);
		return 0;
	}

	ret = egpu_amd_engine_hung(hw, EGPU_SOC15_BIOS_SCRATCH_0, true);
	if (ret)
		return ret;

	if (sol) {
		if (smu != EGPU_SMU_RESP_OK)
			egpu_amd_warn(hw, "%s: SMU not idle (C2PMSG_90 0x%x): a BACO fallback may fail\n",
				      f->name, smu);
		ret = egpu_amd_psp_mode1(hw);
		if (!ret) {
			report->method = EGPU_RESET_METHOD_MODE1;
			goto done;
		}
		egpu_amd_warn(hw, "%s: PSP mode-1 reset failed (%d), falling back to BACO\n",
			      f->name, ret);
	} else {
		egpu_amd_warn(hw, "%s: PSP sOS not running but the SMU is: BACO without mode 1\n",
			      f->name);
	}

	report->method = EGPU_RESET_METHOD_BACO;
	ret = f->baco(hw, baco & EGPU_SOC15_BACO_CNTL_MODE);
	if (ret) {
		egpu_amd_err(hw, "%s: BACO reset failed (%d)\n", f->name, ret);
		return ret;
	}
done:
	ret = egpu_amd_engine_hung(hw, EGPU_SOC15_BIOS_SCRATCH_0, false);
	if (!ret)
		ret = egpu_amd_rreg(hw, EGPU_MP0_C2PMSG_81, &sol);
	if (!ret)
		egpu_amd_info(hw, "%s: reset by %s, C2PMSG_81 now 0x%x\n", f->name,
			      report->method == EGPU_RESET_METHOD_MODE1 ? "PSP mode 1" : "BACO",
			      sol);
	return ret;
}

#ifdef EGPU_KUNIT
#include "amd_model.c"
#include "amd_common_test.c"
#endif
