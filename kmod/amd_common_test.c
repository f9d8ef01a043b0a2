// SPDX-License-Identifier: GPL-2.0
/*
 * amd_common_test.c - KUnit suite for amd_common.c against the register
 * model (amd_model.c): polling bounds, the window check, SMN/SMC access,
 * the SMU mailbox (every response code, no response, busy before sending),
 * PSP mode 1 and its failure stages, the sign of life, the BACO
 * interpreter and the ATOM scratch flags. #included at the end of
 * amd_common.c when built with EGPU_KUNIT=1.
 */
#include <kunit/test.h>

#include "amd_families.h"
#include "amd_model.h"

#define EGPU_T_DWORDS	0x20000		/* 512 KiB BAR 5, as Vega 10/Navi 10 */
#define EGPU_T_REG	0x100

static struct egpu_amd_model *egpu_t_soc15(struct kunit *test)
{
	return egpu_model_new(test, false, EGPU_T_DWORDS);
}

/* A poll whose condition never holds ends within [bound, bound + 1 ms]. */
static void egpu_amd_test_poll_bound(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_t_soc15(test);
	u32 last = 0x55;

	KUNIT_EXPECT_EQ(test, -ETIMEDOUT,
			egpu_amd_poll(&m->hw, EGPU_T_REG, 0x1, 0x1, 100000, &last));
	KUNIT_EXPECT_GE(test, m->now_us, 100000ULL);
	KUNIT_EXPECT_LE(test, m->now_us, 101000ULL);
	KUNIT_EXPECT_EQ(test, last, 0u);
	/* Spins with udelay(10) for the first ms, then msleep(1). */
	KUNIT_EXPECT_EQ(test, egpu_model_count(m, EGPU_MOP_US, 0), 100u);
	KUNIT_EXPECT_EQ(test, egpu_model_count(m, EGPU_MOP_MS, 0), 99u);
	KUNIT_EXPECT_EQ(test, m->outside, 0u);
}

static void egpu_amd_test_poll_match(struct kunit *test)
{
	static const struct egpu_model_access exp[] = {
		EM_R(EGPU_T_REG, 0x3),
	};
	struct egpu_amd_model *m = egpu_t_soc15(test);
	u32 last;

	egpu_model_set(m, EGPU_T_REG, 0x3);
	KUNIT_EXPECT_EQ(test, 0, egpu_amd_poll(&m->hw, EGPU_T_REG, 0x1, 0x1, 100000, &last));
	KUNIT_EXPECT_EQ(test, last, 0x3u);
	egpu_model_expect_log(test, m, exp, ARRAY_SIZE(exp));
	egpu_model_clear_log(m);
	KUNIT_EXPECT_EQ(test, 0, egpu_amd_poll_ne(&m->hw, EGPU_T_REG, 0xF, 0, 100000, NULL));
	egpu_model_expect_log(test, m, exp, ARRAY_SIZE(exp));
	KUNIT_EXPECT_EQ(test, m->now_us, 0ULL);
}

/* All-ones (device gone) never confirms a set bit, in polls and WAITFOR. */
static void egpu_amd_test_all_ones(struct kunit *test)
{
	static const struct egpu_baco_cmd tbl[] = {
		EGPU_BACO_WAIT(EGPU_T_REG, 0x100, 0x100),
	};
	struct egpu_amd_model *m = egpu_t_soc15(test);
	u32 last;

	egpu_model_set(m, EGPU_T_REG, 0xFFFFFFFF);
	KUNIT_EXPECT_EQ(test, -ETIMEDOUT,
			egpu_amd_poll(&m->hw, EGPU_T_REG, 0x80000000, 0x80000000, 1000, &last));
	KUNIT_EXPECT_EQ(test, last, 0xFFFFFFFFu);
	KUNIT_EXPECT_EQ(test, -ETIMEDOUT, egpu_amd_baco_run(&m->hw, "test", tbl, 1));
	KUNIT_EXPECT_EQ(test, 0, egpu_amd_poll_ne(&m->hw, EGPU_T_REG, 0xFFFFFFFF, 0, 1000, &last));
}

/* Nothing outside hw->mmio_dwords is touched; -ERANGE instead. */
static void egpu_amd_test_window(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_model_new(test, false, 0x1000);
	u32 v;

	KUNIT_EXPECT_EQ(test, 0, egpu_amd_check_window(&m->hw, 0xFFF));
	KUNIT_EXPECT_EQ(test, -ERANGE, egpu_amd_check_window(&m->hw, 0x1000));
	KUNIT_EXPECT_EQ(test, -ERANGE, egpu_amd_rreg(&m->hw, 0x1000, &v));
	KUNIT_EXPECT_EQ(test, -ERANGE, egpu_amd_wreg(&m->hw, 0x1000, 1));
	KUNIT_EXPECT_EQ(test, -ERANGE, egpu_amd_rmw(&m->hw, 0x1000, 1, 1));
	KUNIT_EXPECT_EQ(test, -ERANGE, egpu_amd_poll(&m->hw, 0x1000, 1, 1, 1000, NULL));
	KUNIT_EXPECT_EQ(test, -ERANGE, egpu_amd_smu_send(&m->hw, 1, 0, NULL));
	KUNIT_EXPECT_EQ(test, -ERANGE, egpu_amd_psp_mode1(&m->hw));
	KUNIT_EXPECT_EQ(test, m->n_log, 0u);
	KUNIT_EXPECT_EQ(test, m->outside, 0u);
}

static void egpu_amd_test_smn(struct kunit *test)
{
	static const struct egpu_model_access exp[] = {
		EM_W(EGPU_SOC15_PCIE_INDEX2, 0x03B10B14),
		EM_R(EGPU_SOC15_PCIE_INDEX2, 0x03B10B14),
		EM_W(EGPU_SOC15_PCIE_DATA2, 0x1),
		EM_R(EGPU_SOC15_PCIE_DATA2, 0x1),
		EM_W(EGPU_SOC15_PCIE_INDEX2, 0x03B10024),
		EM_R(EGPU_SOC15_PCIE_INDEX2, 0x03B10024),
		EM_R(EGPU_SOC15_PCIE_DATA2, 0x5),
	};
	struct egpu_amd_model *m = egpu_t_soc15(test);
	u32 v;

	egpu_model_space_set(m, &m->smn, 0x03B10024, 0x5);
	KUNIT_EXPECT_EQ(test, 0, egpu_amd_smn_write(&m->hw, 0x03B10B14, 1));
	KUNIT_EXPECT_EQ(test, 0, egpu_amd_smn_read(&m->hw, 0x03B10024, &v));
	KUNIT_EXPECT_EQ(test, v, 0x5u);
	KUNIT_EXPECT_EQ(test, egpu_model_space_get(&m->smn, 0x03B10B14), 0x1u);
	egpu_model_expect_log(test, m, exp, ARRAY_SIZE(exp));
}

static void egpu_amd_test_smc(struct kunit *test)
{
	static const struct egpu_model_access exp[] = {
		EM_W(EGPU_VI_SMC_IND_INDEX_11, 0x80000004),
		EM_W(EGPU_VI_SMC_IND_DATA_11, 0x7),
		EM_W(EGPU_VI_SMC_IND_INDEX_11, 0x80000370),
		EM_R(EGPU_VI_SMC_IND_DATA_11, 0x205f4),
	};
	struct egpu_amd_model *m = egpu_model_new(test, true, 0x10000);
	u32 v;

	egpu_model_space_set(m, &m->smc, 0x80000370, 0x205f4);
	KUNIT_EXPECT_EQ(test, 0, egpu_amd_smc_write(&m->hw, 0x80000004, 0x7));
	KUNIT_EXPECT_EQ(test, 0, egpu_amd_smc_read(&m->hw, 0x80000370, &v));
	KUNIT_EXPECT_EQ(test, v, 0x205f4u);
	KUNIT_EXPECT_EQ(test, egpu_model_space_get(&m->smc, 0x80000004), 0x7u);
	egpu_model_expect_log(test, m, exp, ARRAY_SIZE(exp));
}

static void egpu_t_smu_answer(struct egpu_amd_model *m, u32 msg, u32 arg)
{
	egpu_model_set(m, EGPU_MP1_C2PMSG_82, 0xC0DE0000 | msg);
}

static const struct egpu_model_hooks egpu_t_smu_hooks = {
	.smu_msg = egpu_t_smu_answer,
};

/* The exact mailbox sequence of sheet §1.6. */
static void egpu_amd_test_smu_ok(struct kunit *test)
{
	static const struct egpu_model_access exp[] = {
		EM_R(EGPU_MP1_C2PMSG_90, 0x1),
		EM_W(EGPU_MP1_C2PMSG_90, 0x0),
		EM_W(EGPU_MP1_C2PMSG_82, 0x2),
		EM_W(EGPU_MP1_C2PMSG_66, 0x45),
		EM_R(EGPU_MP1_C2PMSG_90, 0x1),
		EM_R(EGPU_MP1_C2PMSG_82, 0xC0DE0045),
	};
	struct egpu_amd_model *m = egpu_t_soc15(test);
	u32 out = 0;

	m->hooks = &egpu_t_smu_hooks;
	KUNIT_EXPECT_EQ(test, 0, egpu_amd_smu_send(&m->hw, 0x45, 0x2, &out));
	KUNIT_EXPECT_EQ(test, out, 0xC0DE0045u);
	egpu_model_expect_log(test, m, exp, ARRAY_SIZE(exp));
	KUNIT_EXPECT_EQ(test, m->n_smu, 1u);
	KUNIT_EXPECT_EQ(test, m->smu_msg[0], 0x45u);
	KUNIT_EXPECT_EQ(test, m->smu_arg[0], 0x2u);
}

/* Response codes map to errno as smu_cmn.c does (sheet §1.6). */
static void egpu_amd_test_smu_codes(struct kunit *test)
{
	static const struct { u32 resp; int err; } map[] = {
		{ 0x01, 0 }, { 0xFF, -EIO }, { 0xFE, -EOPNOTSUPP },
		{ 0xFD, -EINVAL }, { 0xFC, -EBUSY }, { 0xFB, -EREMOTEIO },
		{ 0x42, -EREMOTEIO },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(map); i++) {
		struct egpu_amd_model *m = egpu_t_soc15(test);

		m->smu_resp[0x1E] = map[i].resp;
		m->smu_latency_us = 50;
		KUNIT_EXPECT_EQ_MSG(test, map[i].err, egpu_amd_smu_send(&m->hw, 0x1E, 0, NULL),
				    "response 0x%x", map[i].resp);
		KUNIT_EXPECT_EQ(test, m->n_smu, 1u);
		KUNIT_EXPECT_GE(test, m->now_us, 50ULL);
		KUNIT_EXPECT_LE(test, m->now_us, 60ULL);
	}
	KUNIT_EXPECT_EQ(test, -ETIMEDOUT, egpu_amd_smu_resp_errno(0));
}

/* No response: -ETIMEDOUT (never 0) within [1 s, 1 s + 1 ms]. */
static void egpu_amd_test_smu_never(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_t_soc15(test);

	m->smu_resp[0x1E] = EGPU_SMU_RESP_NONE;
	KUNIT_EXPECT_EQ(test, -ETIMEDOUT, egpu_amd_smu_send(&m->hw, 0x1E, 0, NULL));
	KUNIT_EXPECT_EQ(test, m->n_smu, 1u);
	KUNIT_EXPECT_GE(test, m->now_us, (u64)EGPU_AMD_SMU_TIMEOUT_US);
	KUNIT_EXPECT_LE(test, m->now_us, (u64)EGPU_AMD_SMU_TIMEOUT_US + 1000);
}

/* Busy before sending (C2PMSG_90 stays 0): nothing is sent. */
static void egpu_amd_test_smu_busy_before(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_t_soc15(test);

	egpu_model_set(m, EGPU_MP1_C2PMSG_90, 0);
	KUNIT_EXPECT_EQ(test, -ETIMEDOUT, egpu_amd_smu_send(&m->hw, 0x1E, 0, NULL));
	KUNIT_EXPECT_EQ(test, m->n_smu, 0u);
	KUNIT_EXPECT_EQ(test, egpu_model_count(m, EGPU_MOP_W, EGPU_MP1_C2PMSG_66), 0u);
	KUNIT_EXPECT_GE(test, m->now_us, (u64)EGPU_AMD_SMU_TIMEOUT_US);
	KUNIT_EXPECT_LE(test, m->now_us, (u64)EGPU_AMD_SMU_TIMEOUT_US + 1000);
}

/* A previous error code does not block (swsmu); an undefined one does. */
static void egpu_amd_test_smu_previous(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_t_soc15(test);

	egpu_model_set(m, EGPU_MP1_C2PMSG_90, 0xFF);
	KUNIT_EXPECT_EQ(test, 0, egpu_amd_smu_send(&m->hw, 0x2A, 0, NULL));
	KUNIT_EXPECT_EQ(test, m->n_smu, 1u);

	m = egpu_t_soc15(test);
	egpu_model_set(m, EGPU_MP1_C2PMSG_90, 0x42);
	KUNIT_EXPECT_EQ(test, -EREMOTEIO, egpu_amd_smu_send(&m->hw, 0x2A, 0, NULL));
	KUNIT_EXPECT_EQ(test, m->n_smu, 0u);

	m = egpu_t_soc15(test);
	egpu_model_set(m, EGPU_MP1_C2PMSG_90, 0xFFFFFFFF);
	KUNIT_EXPECT_EQ(test, -ENODEV, egpu_amd_smu_send(&m->hw, 0x2A, 0, NULL));
	KUNIT_EXPECT_EQ(test, m->n_smu, 0u);
}

/* Mode 1, sheet §1.7: ready, command, 500 ms, ack, memsize back. */
static void egpu_amd_test_psp_mode1(struct kunit *test)
{
	static const struct egpu_model_access exp[] = {
		EM_R(EGPU_MP0_C2PMSG_64, 0x80000000),
		EM_W(EGPU_MP0_C2PMSG_64, 0x00070000),
		EM_MS(500),
		EM_R(EGPU_MP0_C2PMSG_33, 0x80000000),
		EM_R(EGPU_SOC15_RCC_CONFIG_MEMSIZE, 0xFFFFFFFF),
		EM_US(10),
		EM_R(EGPU_SOC15_RCC_CONFIG_MEMSIZE, 0xFFFFFFFF),
		EM_US(10),
		EM_R(EGPU_SOC15_RCC_CONFIG_MEMSIZE, 0x2000),
	};
	struct egpu_amd_model *m = egpu_t_soc15(test);

	m->memsize_busy_us = 500020;
	KUNIT_EXPECT_EQ(test, 0, egpu_amd_psp_mode1(&m->hw));
	KUNIT_EXPECT_EQ(test, m->resets, 1u);
	egpu_model_expect_log(test, m, exp, ARRAY_SIZE(exp));
}

static void egpu_amd_test_psp_not_ready(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_t_soc15(test);

	m->psp_ready = false;
	KUNIT_EXPECT_EQ(test, -ETIMEDOUT, egpu_amd_psp_mode1(&m->hw));
	KUNIT_EXPECT_EQ(test, egpu_model_count(m, EGPU_MOP_W, EGPU_MP0_C2PMSG_64), 0u);
	KUNIT_EXPECT_EQ(test, m->resets, 0u);
	KUNIT_EXPECT_GE(test, m->now_us, 100000ULL);
	KUNIT_EXPECT_LE(test, m->now_us, 101000ULL);
}

static void egpu_amd_test_psp_no_ack(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_t_soc15(test);

	m->psp_acks = false;
	KUNIT_EXPECT_EQ(test, -ETIMEDOUT, egpu_amd_psp_mode1(&m->hw));
	KUNIT_EXPECT_EQ(test, egpu_model_count(m, EGPU_MOP_R, EGPU_SOC15_RCC_CONFIG_MEMSIZE), 0u);
	KUNIT_EXPECT_GE(test, m->now_us, 600000ULL);
	KUNIT_EXPECT_LE(test, m->now_us, 601000ULL);
}

static void egpu_amd_test_psp_memsize_stuck(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_t_soc15(test);

	m->memsize_busy_us = 10000000;
	KUNIT_EXPECT_EQ(test, -ETIMEDOUT, egpu_amd_psp_mode1(&m->hw));
	KUNIT_EXPECT_GE(test, m->now_us, 600000ULL);
	KUNIT_EXPECT_LE(test, m->now_us, 601000ULL);
}

static void egpu_amd_test_sol(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_t_soc15(test);
	u32 sol;

	KUNIT_EXPECT_EQ(test, 0, egpu_amd_wait_sol(&m->hw, &sol));
	KUNIT_EXPECT_EQ(test, sol, 0x6b0u);
	KUNIT_EXPECT_EQ(test, m->now_us, 0ULL);

	m = egpu_t_soc15(test);
	m->sol_delay_us = 30000;
	KUNIT_EXPECT_EQ(test, 0, egpu_amd_wait_sol(&m->hw, &sol));
	KUNIT_EXPECT_GE(test, m->now_us, 30000ULL);
	KUNIT_EXPECT_LE(test, m->now_us, 31000ULL);

	m = egpu_t_soc15(test);
	m->sol = 0;
	KUNIT_EXPECT_EQ(test, -ETIMEDOUT, egpu_amd_wait_sol(&m->hw, &sol));
	KUNIT_EXPECT_EQ(test, sol, 0u);
	KUNIT_EXPECT_GE(test, m->now_us, 100000ULL);
	KUNIT_EXPECT_LE(test, m->now_us, 101000ULL);

	m = egpu_t_soc15(test);
	m->sol = 0xFFFFFFFF;
	KUNIT_EXPECT_EQ(test, -ENODEV, egpu_amd_wait_sol(&m->hw, &sol));
	KUNIT_EXPECT_EQ(test, m->now_us, 0ULL);
}

/* Interpreter semantics of common_baco.c (sheet §1.8). */
static void egpu_amd_test_baco_interp(struct kunit *test)
{
	static const struct egpu_baco_cmd tbl[] = {
		EGPU_BACO_W(0x200, 0x3),		/* written as 0x3 << 0 */
		{ .op = EGPU_BACO_WRITE, .reg = 0x201, .shift = 4, .val = 0x1 },
		EGPU_BACO_M(0x202, 0xF0, 4, 0x2),	/* (old & ~0xF0) | 0x20 */
		EGPU_BACO_M(0x203, 0, 0, 0x100),	/* mask 0: OR in */
		EGPU_BACO_WAIT(0x202, 0xF0, 0x20),	/* val not shifted */
		EGPU_BACO_MS(5),
		EGPU_BACO_US(3),
		EGPU_BACO_US(0),			/* no delay */
	};
	static const struct egpu_model_access exp[] = {
		EM_W(0x200, 0x3),
		EM_W(0x201, 0x10),
		EM_R(0x202, 0xFF),
		EM_W(0x202, 0x2F),
		EM_R(0x203, 0x1),
		EM_W(0x203, 0x101),
		EM_MS(1),
		EM_R(0x202, 0x2F),
		EM_MS(5),
		EM_US(3),
	};
	struct egpu_amd_model *m = egpu_t_soc15(test);

	egpu_model_set(m, 0x202, 0xFF);
	egpu_model_set(m, 0x203, 0x1);
	KUNIT_EXPECT_EQ(test, 0, egpu_amd_baco_run(&m->hw, "test", tbl, ARRAY_SIZE(tbl)));
	egpu_model_expect_log(test, m, exp, ARRAY_SIZE(exp));
}

/* A WAITFOR that never matches aborts the table after [1 s, 1 s + 1 ms]. */
static void egpu_amd_test_baco_wait_bound(struct kunit *test)
{
	static const struct egpu_baco_cmd tbl[] = {
		EGPU_BACO_WAIT(0x202, 0x100, 0x100),
		EGPU_BACO_W(0x200, 0x3),
	};
	static const struct egpu_baco_cmd bad[] = {
		{ .op = 9, .reg = 0x200 },
	};
	struct egpu_amd_model *m = egpu_t_soc15(test);

	KUNIT_EXPECT_EQ(test, -ETIMEDOUT,
			egpu_amd_baco_run(&m->hw, "test", tbl, ARRAY_SIZE(tbl)));
	KUNIT_EXPECT_GE(test, m->now_us, EGPU_AMD_BACO_WAIT_MS * 1000ULL);
	KUNIT_EXPECT_LE(test, m->now_us, EGPU_AMD_BACO_WAIT_MS * 1000ULL + 1000);
	KUNIT_EXPECT_EQ(test, egpu_model_count(m, EGPU_MOP_W, 0x200), 0u);
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_amd_baco_run(&m->hw, "bad", bad, 1));
}

static void egpu_amd_test_scratch(struct kunit *test)
{
	static const struct egpu_model_access exp[] = {
		EM_R(0x4F, 0x1),
		EM_W(0x4F, 0x20000001),
		EM_R(0x4F, 0x20000001),
		EM_W(0x4F, 0x1),
		EM_W(0x52, 0x0),
		EM_W(0x53, 0x0),
	};
	struct egpu_amd_model *m = egpu_t_soc15(test);

	egpu_model_set(m, 0x4F, 0x1);
	KUNIT_EXPECT_EQ(test, 0, egpu_amd_engine_hung(&m->hw, EGPU_SOC15_BIOS_SCRATCH_0, true));
	KUNIT_EXPECT_EQ(test, 0, egpu_amd_engine_hung(&m->hw, EGPU_SOC15_BIOS_SCRATCH_0, false));
	KUNIT_EXPECT_EQ(test, 0, egpu_amd_scratch_invalidate(&m->hw, EGPU_SOC15_BIOS_SCRATCH_0));
	egpu_model_expect_log(test, m, exp, ARRAY_SIZE(exp));
}

/* The four families: unique names, BAR 5, no ID claimed twice (sheet). */
static void egpu_amd_test_families(struct kunit *test)
{
	static const struct egpu_reset_family *const fams[] = {
		&egpu_family_vega10, &egpu_family_vega20,
		&egpu_family_polaris, &egpu_family_navi10,
	};
	static const unsigned int counts[] = { 15, 7, 32, 14 };
	unsigned int i, j, a, b;

	for (i = 0; i < ARRAY_SIZE(fams); i++) {
		KUNIT_EXPECT_EQ(test, fams[i]->mmio_bar, 5);
		KUNIT_EXPECT_TRUE(test, fams[i]->reset);
		for (a = 0; fams[i]->ids[a].vendor; a++)
			;
		KUNIT_EXPECT_EQ_MSG(test, a, counts[i], "%s", fams[i]->name);
		for (j = i + 1; j < ARRAY_SIZE(fams); j++) {
			KUNIT_EXPECT_NE(test, strcmp(fams[i]->name, fams[j]->name), 0);
			for (a = 0; fams[i]->ids[a].vendor; a++)
				for (b = 0; fams[j]->ids[b].vendor; b++)
					KUNIT_EXPECT_NE_MSG(test, fams[i]->ids[a].device,
							    fams[j]->ids[b].device,
							    "%s and %s", fams[i]->name,
							    fams[j]->name);
		}
	}
}

static struct kunit_case egpu_amd_common_test_cases[] = {
	KUNIT_CASE(egpu_amd_test_families),
	KUNIT_CASE(egpu_amd_test_poll_bound),
	KUNIT_CASE(egpu_amd_test_poll_match),
	KUNIT_CASE(egpu_amd_test_window),
	KUNIT_CASE(egpu_amd_test_all_ones),
	KUNIT_CASE(egpu_amd_test_smn),
	KUNIT_CASE(egpu_amd_test_smc),
	KUNIT_CASE(egpu_amd_test_smu_ok),
	KUNIT_CASE(egpu_amd_test_smu_codes),
	KUNIT_CASE(egpu_amd_test_smu_never),
	KUNIT_CASE(egpu_amd_test_smu_busy_before),
	KUNIT_CASE(egpu_amd_test_smu_previous),
	KUNIT_CASE(egpu_amd_test_psp_mode1),
	KUNIT_CASE(egpu_amd_test_psp_not_ready),
	KUNIT_CASE(egpu_amd_test_psp_no_ack),
	KUNIT_CASE(egpu_amd_test_psp_memsize_stuck),
	KUNIT_CASE(egpu_amd_test_sol),
	KUNIT_CASE(egpu_amd_test_baco_interp),
	KUNIT_CASE(egpu_amd_test_baco_wait_bound),
	KUNIT_CASE(egpu_amd_test_scratch),
	{}
};

static struct kunit_suite egpu_amd_common_test_suite = {
	.name = "egpu_gate_amd_common",
	.test_cases = egpu_amd_common_test_cases,
};

kunit_test_suite(egpu_amd_common_test_suite);
