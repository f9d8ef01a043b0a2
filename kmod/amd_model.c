// SPDX-License-Identifier: GPL-2.0
/*
 * amd_model.c - register model for the AMD family KUnit suites; see
 * amd_model.h. #included by amd_common.c when built with EGPU_KUNIT=1.
 */
#include <kunit/test.h>
#include <linux/slab.h>

#include "amd_common.h"
#include "amd_model.h"

static struct egpu_amd_model *egpu_model_of(struct egpu_hw *hw)
{
	return container_of(hw, struct egpu_amd_model, hw);
}

static int egpu_model_find(const struct egpu_model_space *s, u32 addr)
{
	unsigned int i;

	for (i = 0; i < s->n; i++)
		if (s->addr[i] == addr)
			return i;
	return -1;
}

u32 egpu_model_space_get(const struct egpu_model_space *s, u32 addr)
{
	int i = egpu_model_find(s, addr);

	return i < 0 ? 0 : s->val[i];
}

void egpu_model_space_set(struct egpu_amd_model *m, struct egpu_model_space *s,
			  u32 addr, u32 val)
{
	int i = egpu_model_find(s, addr);

	if (i < 0) {
		if (s->n >= EGPU_MODEL_REGS) {
			KUNIT_FAIL(m->test, "model register file full at 0x%x", addr);
			return;
		}
		i = s->n++;
		s->addr[i] = addr;
	}
	s->val[i] = val;
}

u32 egpu_model_get(const struct egpu_amd_model *m, u32 dw)
{
	return egpu_model_space_get(&m->mmio, dw);
}

void egpu_model_set(struct egpu_amd_model *m, u32 dw, u32 val)
{
	egpu_model_space_set(m, &m->mmio, dw, val);
}

static void egpu_model_log(struct egpu_amd_model *m, u8 op, u32 reg, u32 val)
{
	if (m->n_log < EGPU_MODEL_LOG) {
		m->log[m->n_log].op = op;
		m->log[m->n_log].reg = reg;
		m->log[m->n_log].val = val;
	}
	m->n_log++;
}

void egpu_model_clear_log(struct egpu_amd_model *m)
{
	m->n_log = 0;
	m->n_smu = 0;
}

/* A reset of the whole ASIC (mode 1 or config reset): firmware stops. */
static void egpu_model_asic_reset(struct egpu_amd_model *m)
{
	m->resets++;
	m->reset_at = m->now_us;
	m->smu_pending = false;
	if (m->vi)
		return;
	egpu_model_space_set(m, &m->smn, 0x03B10028,
			     egpu_model_space_get(&m->smn, 0x03B10028) & ~1u);
	egpu_model_space_set(m, &m->smn, 0x03B10024,
			     egpu_model_space_get(&m->smn, 0x03B10024) & ~1u);
	egpu_model_set(m, EGPU_MP1_C2PMSG_90, 0);
	egpu_model_set(m, EGPU_SOC15_BACO_CNTL, 0);
}

static bool egpu_model_reset_busy(struct egpu_amd_model *m)
{
	return m->resets && m->now_us < m->reset_at + m->memsize_busy_us;
}

/* SOC15/NV registers with behaviour; false when the plain value applies. */
static bool egpu_model_soc15_read(struct egpu_amd_model *m, u32 dw, u32 *v)
{
	switch (dw) {
	case EGPU_SOC15_PCIE_DATA2:
		*v = egpu_model_space_get(&m->smn, egpu_model_get(m, EGPU_SOC15_PCIE_INDEX2));
		return true;
	case EGPU_MP1_C2PMSG_90:
		if (m->smu_pending && m->now_us >= m->smu_due) {
			m->smu_pending = false;
			egpu_model_set(m, dw, m->smu_pending_resp);
		}
		return false;
	case EGPU_MP0_C2PMSG_81:
		if (m->resets || m->now_us < m->sol_delay_us)
			*v = 0;
		else
			*v = m->sol;
		return true;
	case EGPU_MP0_C2PMSG_64:
		*v = !m->resets && m->psp_ready ? EGPU_PSP_READY_VALUE : 0;
		return true;
	case EGPU_MP0_C2PMSG_33:
		*v = m->resets && m->psp_acks &&
		     m->now_us >= m->reset_at + m->psp_ack_delay_us ? EGPU_PSP_ACK : 0;
		return true;
	case EGPU_MP0_C2PMSG_35:
		if (!m->resets)
			return false;
		*v = m->now_us >= m->reset_at + m->bl_delay_us ? 0x80000000 : 0;
		return true;
	case EGPU_SOC15_RCC_CONFIG_MEMSIZE:
		*v = egpu_model_reset_busy(m) ? 0xFFFFFFFF : m->memsize;
		return true;
	}
	return false;
}

static bool egpu_model_vi_read(struct egpu_amd_model *m, u32 dw, u32 *v)
{
	switch (dw) {
	case EGPU_VI_SMC_IND_DATA_11:
		*v = egpu_model_space_get(&m->smc, egpu_model_get(m, EGPU_VI_SMC_IND_INDEX_11));
		return true;
	case EGPU_VI_GCK_SMC_IND_DATA:
		*v = egpu_model_space_get(&m->smc, egpu_model_get(m, EGPU_VI_GCK_SMC_IND_INDEX));
		return true;
	case EGPU_VI_CONFIG_MEMSIZE:
		*v = egpu_model_reset_busy(m) ? 0xFFFFFFFF : m->memsize;
		return true;
	}
	return false;
}

static u32 egpu_model_rreg(struct egpu_hw *hw, u32 dw)
{
	struct egpu_amd_model *m = egpu_model_of(hw);
	u32 v = 0;

	if (dw >= hw->mmio_dwords) {
		m->outside++;
		KUNIT_FAIL(m->test, "read of dw 0x%x outside the window", dw);
		return 0xFFFFFFFF;
	}
	if (!(m->vi ? egpu_model_vi_read(m, dw, &v) : egpu_model_soc15_read(m, dw, &v)))
		v = egpu_model_get(m, dw);
	egpu_model_log(m, EGPU_MOP_R, dw, v);
	return v;
}

static void egpu_model_smc_store(struct egpu_amd_model *m, u32 index_reg, u32 val)
{
	u32 addr = egpu_model_get(m, index_reg);
	u32 old = egpu_model_space_get(&m->smc, addr);

	egpu_model_space_set(m, &m->smc, addr, val);
	if (m->hooks && m->hooks->ind_write)
		m->hooks->ind_write(m, addr, old, val);
}

static void egpu_model_smu_msg(struct egpu_amd_model *m, u32 msg)
{
	u32 arg = egpu_model_get(m, EGPU_MP1_C2PMSG_82);

	if (m->n_smu < EGPU_MODEL_SMU_MSGS) {
		m->smu_msg[m->n_smu] = msg;
		m->smu_arg[m->n_smu] = arg;
	}
	m->n_smu++;
	m->smu_pending = true;
	m->smu_due = m->now_us + m->smu_latency_us;
	m->smu_pending_resp = msg < 256 ? m->smu_resp[msg] : EGPU_SMU_RESP_UNKNOWN_CMD;
	if (m->smu_pending_resp == EGPU_SMU_RESP_OK && m->hooks && m->hooks->smu_msg)
		m->hooks->smu_msg(m, msg, arg);
}

static void egpu_model_wreg(struct egpu_hw *hw, u32 dw, u32 val)
{
	struct egpu_amd_model *m = egpu_model_of(hw);
	u32 old;

	if (dw >= hw->mmio_dwords) {
		m->outside++;
		KUNIT_FAIL(m->test, "write of dw 0x%x outside the window", dw);
		return;
	}
	egpu_model_log(m, EGPU_MOP_W, dw, val);
	old = egpu_model_get(m, dw);
	if (m->vi) {
		if (dw == EGPU_VI_SMC_IND_DATA_11) {
			egpu_model_smc_store(m, EGPU_VI_SMC_IND_INDEX_11, val);
			return;
		}
		if (dw == EGPU_VI_GCK_SMC_IND_DATA) {
			egpu_model_smc_store(m, EGPU_VI_GCK_SMC_IND_INDEX, val);
			return;
		}
	} else {
		if (dw == EGPU_SOC15_PCIE_DATA2) {
			u32 addr = egpu_model_get(m, EGPU_SOC15_PCIE_INDEX2);

			old = egpu_model_space_get(&m->smn, addr);
			egpu_model_space_set(m, &m->smn, addr, val);
			if (m->hooks && m->hooks->ind_write)
				m->hooks->ind_write(m, addr, old, val);
			return;
		}
	}
	egpu_model_set(m, dw, val);
	if (!m->vi && dw == EGPU_MP1_C2PMSG_66)
		egpu_model_smu_msg(m, val);
	if (!m->vi && dw == EGPU_MP0_C2PMSG_64 && val == EGPU_PSP_CMD_MODE1_RST &&
	    m->psp_ready && m->psp_acks && !m->resets)
		egpu_model_asic_reset(m);
	if (m->hooks && m->hooks->write)
		m->hooks->write(m, dw, old, val);
}

static int egpu_model_cfg_read(struct egpu_hw *hw, int where, u32 *val)
{
	struct egpu_amd_model *m = egpu_model_of(hw);

	*val = egpu_model_space_get(&m->cfg, where);
	egpu_model_log(m, EGPU_MOP_CR, where, *val);
	return 0;
}

static int egpu_model_cfg_write(struct egpu_hw *hw, int where, u32 val)
{
	struct egpu_amd_model *m = egpu_model_of(hw);

	egpu_model_log(m, EGPU_MOP_CW, where, val);
	egpu_model_space_set(m, &m->cfg, where, val);
	if (where == EGPU_AMD_CFG_RESET_OFFSET && val == EGPU_AMD_CFG_RESET_DATA)
		egpu_model_asic_reset(m);
	return 0;
}

static void egpu_model_udelay(struct egpu_hw *hw, unsigned int us)
{
	struct egpu_amd_model *m = egpu_model_of(hw);

	egpu_model_log(m, EGPU_MOP_US, 0, us);
	m->now_us += us;
}

static void egpu_model_msleep(struct egpu_hw *hw, unsigned int ms)
{
	struct egpu_amd_model *m = egpu_model_of(hw);

	KUNIT_EXPECT_LT_MSG(m->test, ms, 1000u, "single msleep() of %u ms", ms);
	egpu_model_log(m, EGPU_MOP_MS, 0, ms);
	m->now_us += (u64)ms * 1000;
}

static u64 egpu_model_now_us(struct egpu_hw *hw)
{
	return egpu_model_of(hw)->now_us;
}

static const struct egpu_hw_ops egpu_model_ops = {
	.rreg = egpu_model_rreg,
	.wreg = egpu_model_wreg,
	.cfg_read = egpu_model_cfg_read,
	.cfg_write = egpu_model_cfg_write,
	.udelay = egpu_model_udelay,
	.msleep = egpu_model_msleep,
	.now_us = egpu_model_now_us,
};

struct egpu_amd_model *egpu_model_new(struct kunit *test, bool vi, u32 mmio_dwords)
{
	struct egpu_amd_model *m;
	unsigned int i;

	m = kunit_kzalloc(test, sizeof(*m), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m);
	m->log = kunit_kcalloc(test, EGPU_MODEL_LOG, sizeof(*m->log), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m->log);
	m->test = test;
	m->vi = vi;
	m->hw.ops = &egpu_model_ops;
	m->hw.priv = m;
	m->hw.mmio_dwords = mmio_dwords;
	for (i = 0; i < ARRAY_SIZE(m->smu_resp); i++)
		m->smu_resp[i] = EGPU_SMU_RESP_OK;
	m->psp_ready = true;
	m->psp_acks = true;
	m->sol = 0x6b0;		/* "sol reg: 6b0", gnif/vendor-reset#3 */
	m->memsize = 0x2000;	/* 8 GiB, in MiB */
	if (!vi)
		egpu_model_set(m, EGPU_MP1_C2PMSG_90, EGPU_SMU_RESP_OK);
	return m;
}

unsigned int egpu_model_count(const struct egpu_amd_model *m, u8 op, u32 reg)
{
	unsigned int i, n = 0;

	for (i = 0; i < min_t(unsigned int, m->n_log, EGPU_MODEL_LOG); i++)
		if (m->log[i].op == op && m->log[i].reg == reg)
			n++;
	return n;
}

static const char *const egpu_model_op_name[] = {
	[EGPU_MOP_R] = "R", [EGPU_MOP_W] = "W", [EGPU_MOP_CR] = "CR",
	[EGPU_MOP_CW] = "CW", [EGPU_MOP_US] = "US", [EGPU_MOP_MS] = "MS",
};

static bool egpu_model_same(const struct egpu_model_access *a,
			    const struct egpu_model_access *b)
{
	return a->op == b->op && a->reg == b->reg && a->val == b->val;
}

static void egpu_model_compare(struct kunit *test, const struct egpu_model_access *got,
			       size_t n_got, const struct egpu_model_access *exp,
			       size_t n)
{
	size_t i;

	for (i = 0; i < min(n, n_got); i++) {
		if (egpu_model_same(&got[i], &exp[i]))
			continue;
		KUNIT_FAIL(test, "access %zu: got %s 0x%x 0x%08x, expected %s 0x%x 0x%08x",
			   i, egpu_model_op_name[got[i].op], got[i].reg, got[i].val,
			   egpu_model_op_name[exp[i].op], exp[i].reg, exp[i].val);
		return;
	}
	if (n_got != n) {
		const struct egpu_model_access *x = n_got > n ? &got[n] : &exp[n_got];

		KUNIT_FAIL(test, "%zu accesses, expected %zu; first extra (%s): %s 0x%x 0x%08x",
			   n_got, n, n_got > n ? "got" : "expected",
			   egpu_model_op_name[x->op], x->reg, x->val);
	}
}

void egpu_model_expect_log(struct kunit *test, const struct egpu_amd_model *m,
			   const struct egpu_model_access *exp, size_t n)
{
	KUNIT_ASSERT_LE(test, m->n_log, (unsigned int)EGPU_MODEL_LOG);
	egpu_model_compare(test, m->log, m->n_log, exp, n);
}

void egpu_model_expect_writes(struct kunit *test, const struct egpu_amd_model *m,
			      const struct egpu_model_access *exp, size_t n)
{
	struct egpu_model_access *w;
	unsigned int i, n_w = 0;

	KUNIT_ASSERT_LE(test, m->n_log, (unsigned int)EGPU_MODEL_LOG);
	w = kunit_kcalloc(test, EGPU_MODEL_LOG, sizeof(*w), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, w);
	for (i = 0; i < m->n_log; i++)
		if (m->log[i].op == EGPU_MOP_W || m->log[i].op == EGPU_MOP_CW)
			w[n_w++] = m->log[i];
	egpu_model_compare(test, w, n_w, exp, n);
}

void egpu_model_expect_parts(struct kunit *test, const struct egpu_amd_model *m,
			     const struct egpu_model_part *parts, size_t n_parts,
			     bool writes_only)
{
	struct egpu_model_access *exp;
	size_t i, n = 0;

	for (i = 0; i < n_parts; i++)
		n += parts[i].n;
	exp = kunit_kcalloc(test, n ? n : 1, sizeof(*exp), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, exp);
	for (n = 0, i = 0; i < n_parts; i++) {
		memcpy(&exp[n], parts[i].a, parts[i].n * sizeof(*exp));
		n += parts[i].n;
	}
	if (writes_only)
		egpu_model_expect_writes(test, m, exp, n);
	else
		egpu_model_expect_log(test, m, exp, n);
}

void egpu_model_bench(struct kunit *test, const struct egpu_amd_model *m,
		      const char *family, const char *path)
{
	unsigned int i, mmio = 0, cfg = 0;

	for (i = 0; i < min_t(unsigned int, m->n_log, EGPU_MODEL_LOG); i++) {
		if (m->log[i].op == EGPU_MOP_R || m->log[i].op == EGPU_MOP_W)
			mmio++;
		else if (m->log[i].op == EGPU_MOP_CR || m->log[i].op == EGPU_MOP_CW)
			cfg++;
	}
	kunit_info(test, "reset_bench: family=%s path=%s ops=%u mmio=%u cfg=%u designed_wait_us=%llu%s\n",
		   family, path, mmio + cfg, mmio, cfg, m->now_us,
		   m->n_log > EGPU_MODEL_LOG ? " log_truncated=1" : "");
}
