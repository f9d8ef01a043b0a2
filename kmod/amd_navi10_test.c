// SPDX-License-Identifier: GPL-2.0
/*
 * amd_navi10_test.c - KUnit suite for the Navi 10/12/14 family against the
 * register model: ID table, the exact access sequence of a good reset, the
 * MP1 reset path, "already reset", and every failure path with its errno
 * and time bound. #included at the end of amd_navi10.c (EGPU_KUNIT=1).
 */
#include <kunit/test.h>

#include "amd_model.h"

/*
 * MP1_SMN_PUB_CTRL: 1 holds MP1 in reset (firmware flags and response 0),
 * 1 -> 0 restarts it (flags bit 0 and C2PMSG_90 = 1) unless fam_state says
 * the MP1 does not come back.
 */
static void egpu_navi_model_smn(struct egpu_amd_model *m, u32 addr, u32 old, u32 val)
{
	if (addr != NAVI_MP1_PUB_CTRL)
		return;
	if (val & 1) {
		egpu_model_space_set(m, &m->smn, NAVI_MP1_FW_FLAGS, 0);
		egpu_model_set(m, EGPU_MP1_C2PMSG_90, 0);
	} else if ((old & 1) && !m->fam_state) {
		egpu_model_space_set(m, &m->smn, NAVI_MP1_FW_FLAGS, EGPU_MP1_FW_FLAGS_INTR_EN);
		egpu_model_set(m, EGPU_MP1_C2PMSG_90, EGPU_SMU_RESP_OK);
	}
}

static const struct egpu_model_hooks egpu_navi_hooks = {
	.ind_write = egpu_navi_model_smn,
};

static struct egpu_amd_model *egpu_navi_model(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_model_new(test, false, 0x20000);

	m->hooks = &egpu_navi_hooks;
	egpu_model_space_set(m, &m->smn, NAVI_MP1_FW_FLAGS, EGPU_MP1_FW_FLAGS_INTR_EN);
	egpu_model_set(m, EGPU_MP0_C2PMSG_35, NAVI_PSP_BL_READY);
	m->memsize_busy_us = 500010;
	m->bl_delay_us = 500010;
	return m;
}

static int egpu_navi_run(struct egpu_amd_model *m, struct egpu_reset_report *r)
{
	r->method = EGPU_RESET_METHOD_OTHER;
	return egpu_family_navi10.reset(&m->hw, r);
}

static void egpu_navi_test_ids(struct kunit *test)
{
	static const u16 sheet[] = {
		0x7310, 0x7312, 0x7318, 0x7319, 0x731A, 0x731B, 0x731E, 0x731F,
		0x7340, 0x7341, 0x7347, 0x734F,
		0x7360, 0x7362,
	};
	const struct pci_device_id *id = egpu_family_navi10.ids;
	unsigned int i;

	for (i = 0; id[i].vendor; i++) {
		KUNIT_ASSERT_LT(test, i, (unsigned int)ARRAY_SIZE(sheet));
		KUNIT_EXPECT_EQ(test, id[i].vendor, 0x1002u);
		KUNIT_EXPECT_EQ(test, id[i].device, (u32)sheet[i]);
	}
	KUNIT_EXPECT_EQ(test, i, (unsigned int)ARRAY_SIZE(sheet));
	KUNIT_EXPECT_STREQ(test, egpu_family_navi10.name, "navi10");
	KUNIT_EXPECT_EQ(test, egpu_family_navi10.mmio_bar, 5);
}

static const struct egpu_model_access egpu_navi_prologue[] = {
	EM_R(EGPU_MP0_C2PMSG_81, 0x6b0),
	EM_R(EGPU_MP1_C2PMSG_90, 0x1),
	EM_W(EGPU_SOC15_PCIE_INDEX2, NAVI_MP1_FW_FLAGS),
	EM_R(EGPU_SOC15_PCIE_INDEX2, NAVI_MP1_FW_FLAGS),
	EM_R(EGPU_SOC15_PCIE_DATA2, 0x1),
	EM_R(EGPU_MP0_C2PMSG_35, 0x80000000),
	EM_R(EGPU_MP0_C2PMSG_64, 0x80000000),
	EM_W(0x52, 0x0),
	EM_W(0x53, 0x0),
};

static const struct egpu_model_access egpu_navi_prepare[] = {
	/* DisallowGfxOff */
	EM_R(EGPU_MP1_C2PMSG_90, 0x1),
	EM_W(EGPU_MP1_C2PMSG_90, 0x0),
	EM_W(EGPU_MP1_C2PMSG_82, 0x0),
	EM_W(EGPU_MP1_C2PMSG_66, 0x2A),
	EM_R(EGPU_MP1_C2PMSG_90, 0x1),
	/* PrepareMp1ForReset */
	EM_R(EGPU_MP1_C2PMSG_90, 0x1),
	EM_W(EGPU_MP1_C2PMSG_90, 0x0),
	EM_W(EGPU_MP1_C2PMSG_82, 0x0),
	EM_W(EGPU_MP1_C2PMSG_66, 0x33),
	EM_R(EGPU_MP1_C2PMSG_90, 0x1),
};

static const struct egpu_model_access egpu_navi_mode1[] = {
	EM_R(0x4F, 0x0),
	EM_W(0x4F, 0x20000000),
	EM_R(EGPU_MP0_C2PMSG_64, 0x80000000),
	EM_W(EGPU_MP0_C2PMSG_64, 0x00070000),
	EM_MS(500),
	EM_R(EGPU_MP0_C2PMSG_33, 0x80000000),
	EM_R(0xDE3, 0xFFFFFFFF),
	EM_US(10),
	EM_R(0xDE3, 0x2000),
	/* bootloader back */
	EM_R(EGPU_MP0_C2PMSG_35, 0x80000000),
	EM_R(0x4F, 0x20000000),
	EM_W(0x4F, 0x0),
};

/* Good reset: exact access sequence (sheet §6.4 vendor-reset order). */
static void egpu_navi_test_good(struct kunit *test)
{
	static const struct egpu_model_part parts[] = {
		{ egpu_navi_prologue, ARRAY_SIZE(egpu_navi_prologue) },
		{ egpu_navi_prepare, ARRAY_SIZE(egpu_navi_prepare) },
		{ egpu_navi_mode1, ARRAY_SIZE(egpu_navi_mode1) },
	};
	struct egpu_amd_model *m = egpu_navi_model(test);
	struct egpu_reset_report r;

	KUNIT_EXPECT_EQ(test, 0, egpu_navi_run(m, &r));
	KUNIT_EXPECT_EQ(test, r.method, EGPU_RESET_METHOD_MODE1);
	KUNIT_EXPECT_EQ(test, r.smu_state_before, 0x1u);
	KUNIT_EXPECT_EQ(test, m->resets, 1u);
	egpu_model_expect_parts(test, m, parts, ARRAY_SIZE(parts), false);
	egpu_model_bench(test, m, "navi10", "good-mode1");
}

/* SMU not idle with firmware up: MP1 reset before the messages. */
static void egpu_navi_test_mp1_reset(struct kunit *test)
{
	static const struct egpu_model_access exp[] = {
		EM_W(EGPU_SOC15_PCIE_INDEX2, NAVI_MP1_FW_FLAGS),
		EM_W(0x52, 0x0),
		EM_W(0x53, 0x0),
		/* PUB_CTRL 1, 0 */
		EM_W(EGPU_SOC15_PCIE_INDEX2, NAVI_MP1_PUB_CTRL),
		EM_W(EGPU_SOC15_PCIE_DATA2, 0x1),
		EM_W(EGPU_SOC15_PCIE_INDEX2, NAVI_MP1_PUB_CTRL),
		EM_W(EGPU_SOC15_PCIE_DATA2, 0x0),
		/* firmware flags poll */
		EM_W(EGPU_SOC15_PCIE_INDEX2, NAVI_MP1_FW_FLAGS),
		/* DisallowGfxOff, PrepareMp1ForReset */
		EM_W(EGPU_MP1_C2PMSG_90, 0x0),
		EM_W(EGPU_MP1_C2PMSG_82, 0x0),
		EM_W(EGPU_MP1_C2PMSG_66, 0x2A),
		EM_W(EGPU_MP1_C2PMSG_90, 0x0),
		EM_W(EGPU_MP1_C2PMSG_82, 0x0),
		EM_W(EGPU_MP1_C2PMSG_66, 0x33),
		EM_W(0x4F, 0x20000000),
		EM_W(EGPU_MP0_C2PMSG_64, 0x00070000),
		EM_W(0x4F, 0x0),
	};
	struct egpu_amd_model *m = egpu_navi_model(test);
	struct egpu_reset_report r;

	egpu_model_set(m, EGPU_MP1_C2PMSG_90, EGPU_SMU_RESP_FAIL);
	KUNIT_EXPECT_EQ(test, 0, egpu_navi_run(m, &r));
	KUNIT_EXPECT_EQ(test, r.smu_state_before, 0xFFu);
	KUNIT_EXPECT_EQ(test, r.method, EGPU_RESET_METHOD_MODE1);
	egpu_model_expect_writes(test, m, exp, ARRAY_SIZE(exp));
}

/* MP1 does not come back: no SMU messages, mode 1 still done. */
static void egpu_navi_test_mp1_reset_fails(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_navi_model(test);
	struct egpu_reset_report r;

	egpu_model_set(m, EGPU_MP1_C2PMSG_90, EGPU_SMU_RESP_FAIL);
	m->fam_state = 1;
	KUNIT_EXPECT_EQ(test, 0, egpu_navi_run(m, &r));
	KUNIT_EXPECT_EQ(test, m->n_smu, 0u);
	KUNIT_EXPECT_EQ(test, m->resets, 1u);
	/* MP1 wait 100 ms, mode 1 500 ms, memsize/bootloader 10 us. */
	KUNIT_EXPECT_GE(test, m->now_us, 100000ULL + 500010);
	KUNIT_EXPECT_LE(test, m->now_us, 101000ULL + 500010);
}

/* The state a mode-1 reset leaves: nothing written, method NONE. */
static void egpu_navi_test_already_reset(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_navi_model(test);
	struct egpu_reset_report r;

	m->sol = 0;
	egpu_model_space_set(m, &m->smn, NAVI_MP1_FW_FLAGS, 0);
	KUNIT_EXPECT_EQ(test, 0, egpu_navi_run(m, &r));
	KUNIT_EXPECT_EQ(test, r.method, EGPU_RESET_METHOD_NONE);
	KUNIT_EXPECT_EQ(test, egpu_model_count(m, EGPU_MOP_W, EGPU_SOC15_PCIE_INDEX2), 1u);
	KUNIT_EXPECT_EQ(test, egpu_model_count(m, EGPU_MOP_W, 0x52), 0u);
	KUNIT_EXPECT_LE(test, m->now_us, 101000ULL);
}

static void egpu_navi_test_no_sign_of_life(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_navi_model(test);
	struct egpu_reset_report r;

	m->sol = 0xFFFFFFFF;
	KUNIT_EXPECT_EQ(test, -ENODEV, egpu_navi_run(m, &r));
	KUNIT_EXPECT_EQ(test, m->n_log, 1u);
	KUNIT_EXPECT_EQ(test, m->now_us, 0ULL);
}

/* PSP not ready: -ETIMEDOUT after 100 ms, no command written. */
static void egpu_navi_test_psp_not_ready(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_navi_model(test);
	struct egpu_reset_report r;

	m->psp_ready = false;
	KUNIT_EXPECT_EQ(test, -ETIMEDOUT, egpu_navi_run(m, &r));
	KUNIT_EXPECT_EQ(test, egpu_model_count(m, EGPU_MOP_W, EGPU_MP0_C2PMSG_64), 0u);
	KUNIT_EXPECT_GE(test, m->now_us, 100000ULL);
	KUNIT_EXPECT_LE(test, m->now_us, 101000ULL);
	KUNIT_EXPECT_EQ(test, egpu_model_get(m, 0x4F), 0x20000000u);
}

static void egpu_navi_test_psp_no_ack(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_navi_model(test);
	struct egpu_reset_report r;

	m->psp_acks = false;
	KUNIT_EXPECT_EQ(test, -ETIMEDOUT, egpu_navi_run(m, &r));
	KUNIT_EXPECT_GE(test, m->now_us, 600000ULL);
	KUNIT_EXPECT_LE(test, m->now_us, 601000ULL);
}

/* Bootloader never back: -ETIMEDOUT at its 3 s bound. */
static void egpu_navi_test_bl_never(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_navi_model(test);
	struct egpu_reset_report r;

	m->bl_delay_us = 100000000;
	KUNIT_EXPECT_EQ(test, -ETIMEDOUT, egpu_navi_run(m, &r));
	KUNIT_EXPECT_GE(test, m->now_us, 500010ULL + EGPU_NAVI_BL_TIMEOUT_US);
	KUNIT_EXPECT_LE(test, m->now_us, 501010ULL + EGPU_NAVI_BL_TIMEOUT_US);
}

/* DisallowGfxOff unanswered: logged, PrepareMp1ForReset skipped, mode 1. */
static void egpu_navi_test_smu_timeout(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_navi_model(test);
	struct egpu_reset_report r;

	m->smu_resp[NAVI_MSG_DISALLOW_GFXOFF] = EGPU_SMU_RESP_NONE;
	KUNIT_EXPECT_EQ(test, 0, egpu_navi_run(m, &r));
	KUNIT_EXPECT_EQ(test, m->n_smu, 1u);
	KUNIT_EXPECT_EQ(test, m->resets, 1u);
	KUNIT_EXPECT_GE(test, m->now_us, EGPU_AMD_SMU_TIMEOUT_US + 500010ULL);
	KUNIT_EXPECT_LE(test, m->now_us, EGPU_AMD_SMU_TIMEOUT_US + 501010ULL);
}

/* SMU error codes on the preparation are ignored (vendor-reset). */
static void egpu_navi_test_smu_error(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_navi_model(test);
	struct egpu_reset_report r;

	m->smu_resp[NAVI_MSG_PREPARE_MP1_RESET] = EGPU_SMU_RESP_CMD_BAD_PREREQ;
	KUNIT_EXPECT_EQ(test, 0, egpu_navi_run(m, &r));
	KUNIT_EXPECT_EQ(test, m->n_smu, 2u);
	KUNIT_EXPECT_EQ(test, m->resets, 1u);
}

static void egpu_navi_test_window(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_model_new(test, false, NAVI_LAST_DW);
	struct egpu_reset_report r;

	KUNIT_EXPECT_EQ(test, -ERANGE, egpu_navi_run(m, &r));
	KUNIT_EXPECT_EQ(test, m->n_log, 0u);
}

static struct kunit_case egpu_navi10_test_cases[] = {
	KUNIT_CASE(egpu_navi_test_ids),
	KUNIT_CASE(egpu_navi_test_good),
	KUNIT_CASE(egpu_navi_test_mp1_reset),
	KUNIT_CASE(egpu_navi_test_mp1_reset_fails),
	KUNIT_CASE(egpu_navi_test_already_reset),
	KUNIT_CASE(egpu_navi_test_no_sign_of_life),
	KUNIT_CASE(egpu_navi_test_psp_not_ready),
	KUNIT_CASE(egpu_navi_test_psp_no_ack),
	KUNIT_CASE(egpu_navi_test_bl_never),
	KUNIT_CASE(egpu_navi_test_smu_timeout),
	KUNIT_CASE(egpu_navi_test_smu_error),
	KUNIT_CASE(egpu_navi_test_window),
	{}
};

static struct kunit_suite egpu_navi10_test_suite = {
	.name = "egpu_gate_amd_navi10",
	.test_cases = egpu_navi10_test_cases,
};

kunit_test_suite(egpu_navi10_test_suite);
