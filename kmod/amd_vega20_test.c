// SPDX-License-Identifier: GPL-2.0
/*
 * amd_vega20_test.c - KUnit suite for the Vega 20 family against the
 * register model: ID table, exact access sequences of a good mode-1 reset
 * and of the BACO cycle, the fallback, and the failure paths with their
 * errno and time bounds. #included at the end of amd_vega20.c when built
 * with EGPU_KUNIT=1.
 */
#include <kunit/test.h>

#include "amd_model.h"

/* EnterBaco puts the chip in BACO (BACO_MODE set), ExitBaco takes it out. */
static void egpu_v20_model_msg(struct egpu_amd_model *m, u32 msg, u32 arg)
{
	u32 b = egpu_model_get(m, EGPU_SOC15_BACO_CNTL);

	if (m->baco_frozen)
		return;
	if (msg == V20_MSG_ENTER_BACO)
		egpu_model_set(m, EGPU_SOC15_BACO_CNTL, b | EGPU_SOC15_BACO_CNTL_MODE);
	if (msg == V20_MSG_EXIT_BACO)
		egpu_model_set(m, EGPU_SOC15_BACO_CNTL, b & ~EGPU_SOC15_BACO_CNTL_MODE);
}

static const struct egpu_model_hooks egpu_v20_hooks = {
	.smu_msg = egpu_v20_model_msg,
};

static struct egpu_amd_model *egpu_v20_model(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_model_new(test, false, 0x20000);

	m->hooks = &egpu_v20_hooks;
	egpu_model_space_set(m, &m->smn, V20_MP1_FW_FLAGS, EGPU_MP1_FW_FLAGS_INTR_EN);
	egpu_model_set(m, EGPU_MP0_C2PMSG_35, 0x80000000);
	m->memsize_busy_us = 500010;
	return m;
}

static int egpu_v20_run(struct egpu_amd_model *m, struct egpu_reset_report *r)
{
	r->method = EGPU_RESET_METHOD_OTHER;
	return egpu_family_vega20.reset(&m->hw, r);
}

static void egpu_v20_test_ids(struct kunit *test)
{
	static const u16 sheet[] = {
		0x66A0, 0x66A1, 0x66A2, 0x66A3, 0x66A4, 0x66A7, 0x66AF,
	};
	const struct pci_device_id *id = egpu_family_vega20.ids;
	unsigned int i;

	for (i = 0; id[i].vendor; i++) {
		KUNIT_ASSERT_LT(test, i, (unsigned int)ARRAY_SIZE(sheet));
		KUNIT_EXPECT_EQ(test, id[i].vendor, 0x1002u);
		KUNIT_EXPECT_EQ(test, id[i].device, (u32)sheet[i]);
		KUNIT_EXPECT_NE(test, id[i].device, 0x738Cu);
	}
	KUNIT_EXPECT_EQ(test, i, (unsigned int)ARRAY_SIZE(sheet));
	KUNIT_EXPECT_STREQ(test, egpu_family_vega20.name, "vega20");
	KUNIT_EXPECT_EQ(test, egpu_family_vega20.mmio_bar, 5);
}

static void egpu_v20_test_mode1(struct kunit *test)
{
	static const struct egpu_model_access exp[] = {
		EM_R(EGPU_MP0_C2PMSG_81, 0x6b0),
		EM_R(EGPU_MP1_C2PMSG_90, 0x1),
		EM_W(EGPU_SOC15_PCIE_INDEX2, V20_MP1_FW_FLAGS),
		EM_R(EGPU_SOC15_PCIE_INDEX2, V20_MP1_FW_FLAGS),
		EM_R(EGPU_SOC15_PCIE_DATA2, 0x1),
		EM_R(EGPU_SOC15_BACO_CNTL, 0x0),
		EM_R(EGPU_MP0_C2PMSG_35, 0x80000000),
		EM_R(EGPU_MP0_C2PMSG_64, 0x80000000),
		/* engine hung at BIOS_SCRATCH_3 = 0x4F (not vendor-reset's 0x3) */
		EM_R(0x4F, 0x0),
		EM_W(0x4F, 0x20000000),
		EM_R(EGPU_MP0_C2PMSG_64, 0x80000000),
		EM_W(EGPU_MP0_C2PMSG_64, 0x00070000),
		EM_MS(500),
		EM_R(EGPU_MP0_C2PMSG_33, 0x80000000),
		EM_R(0xDE3, 0xFFFFFFFF),
		EM_US(10),
		EM_R(0xDE3, 0x2000),
		EM_R(0x4F, 0x20000000),
		EM_W(0x4F, 0x0),
		EM_R(EGPU_MP0_C2PMSG_81, 0x0),
	};
	struct egpu_amd_model *m = egpu_v20_model(test);
	struct egpu_reset_report r;

	KUNIT_EXPECT_EQ(test, 0, egpu_v20_run(m, &r));
	KUNIT_EXPECT_EQ(test, r.method, EGPU_RESET_METHOD_MODE1);
	KUNIT_EXPECT_EQ(test, r.smu_state_before, 0x1u);
	KUNIT_EXPECT_EQ(test, m->n_smu, 0u);
	egpu_model_expect_log(test, m, exp, ARRAY_SIZE(exp));
	egpu_model_bench(test, m, "vega20", "good-mode1");
}

/* The BACO cycle alone: vega20_baco_set_state(IN) then (OUT). */
static void egpu_v20_test_baco_sequence(struct kunit *test)
{
	static const struct egpu_model_access exp[] = {
		EM_R(V20_T, 0x0),
		EM_W(V20_T, 0x80000000),
		EM_R(EGPU_MP1_C2PMSG_90, 0x1),
		EM_W(EGPU_MP1_C2PMSG_90, 0x0),
		EM_W(EGPU_MP1_C2PMSG_82, 0x0),
		EM_W(EGPU_MP1_C2PMSG_66, 0x25),
		EM_R(EGPU_MP1_C2PMSG_90, 0x1),
		EM_R(EGPU_SOC15_BACO_CNTL, 0x100),
		EM_R(EGPU_MP1_C2PMSG_90, 0x1),
		EM_W(EGPU_MP1_C2PMSG_90, 0x0),
		EM_W(EGPU_MP1_C2PMSG_82, 0x0),
		EM_W(EGPU_MP1_C2PMSG_66, 0x58),
		EM_R(EGPU_MP1_C2PMSG_90, 0x1),
		EM_W(0x52, 0x0),
		EM_W(0x53, 0x0),
		EM_R(EGPU_SOC15_BACO_CNTL, 0x0),
	};
	struct egpu_amd_model *m = egpu_v20_model(test);

	KUNIT_EXPECT_EQ(test, 0, egpu_vega20_baco(&m->hw, false));
	egpu_model_expect_log(test, m, exp, ARRAY_SIZE(exp));
}

static void egpu_v20_test_fallback(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_v20_model(test);
	struct egpu_reset_report r;

	m->psp_ready = false;
	KUNIT_EXPECT_EQ(test, 0, egpu_v20_run(m, &r));
	KUNIT_EXPECT_EQ(test, r.method, EGPU_RESET_METHOD_BACO);
	KUNIT_ASSERT_EQ(test, m->n_smu, 2u);
	KUNIT_EXPECT_EQ(test, m->smu_msg[0], 0x25u);
	KUNIT_EXPECT_EQ(test, m->smu_arg[0], 0x0u);
	KUNIT_EXPECT_EQ(test, m->smu_msg[1], 0x58u);
	KUNIT_EXPECT_EQ(test, egpu_model_get(m, 0x4F), 0u);
	KUNIT_EXPECT_EQ(test, egpu_model_get(m, EGPU_SOC15_BACO_CNTL), 0u);
	KUNIT_EXPECT_EQ(test, m->now_us, 100000ULL);
}

static void egpu_v20_test_already_in_baco(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_v20_model(test);
	struct egpu_reset_report r;

	m->psp_ready = false;
	egpu_model_set(m, EGPU_SOC15_BACO_CNTL, EGPU_SOC15_BACO_CNTL_MODE);
	KUNIT_EXPECT_EQ(test, 0, egpu_v20_run(m, &r));
	KUNIT_ASSERT_EQ(test, m->n_smu, 1u);
	KUNIT_EXPECT_EQ(test, m->smu_msg[0], 0x58u);
	KUNIT_EXPECT_EQ(test, egpu_model_count(m, EGPU_MOP_W, V20_T), 0u);
}

static void egpu_v20_test_smu_timeout(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_v20_model(test);
	struct egpu_reset_report r;

	m->psp_ready = false;
	m->smu_resp[V20_MSG_ENTER_BACO] = EGPU_SMU_RESP_NONE;
	KUNIT_EXPECT_EQ(test, -ETIMEDOUT, egpu_v20_run(m, &r));
	KUNIT_EXPECT_EQ(test, m->n_smu, 1u);
	KUNIT_EXPECT_GE(test, m->now_us, 100000ULL + EGPU_AMD_SMU_TIMEOUT_US);
	KUNIT_EXPECT_LE(test, m->now_us, 100000ULL + EGPU_AMD_SMU_TIMEOUT_US + 2000);
}

static void egpu_v20_test_exit_error(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_v20_model(test);
	struct egpu_reset_report r;

	m->psp_ready = false;
	m->smu_resp[V20_MSG_EXIT_BACO] = EGPU_SMU_RESP_FAIL;
	KUNIT_EXPECT_EQ(test, -EIO, egpu_v20_run(m, &r));
	KUNIT_EXPECT_EQ(test, m->n_smu, 2u);
	KUNIT_EXPECT_EQ(test, egpu_model_count(m, EGPU_MOP_W, 0x52), 0u);
	KUNIT_EXPECT_EQ(test, egpu_model_get(m, 0x4F), 0x20000000u);
}

/* EnterBaco acknowledged but BACO_MODE never set: 100 ms + 1 s. */
static void egpu_v20_test_baco_stuck(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_v20_model(test);
	struct egpu_reset_report r;

	m->psp_ready = false;
	m->baco_frozen = true;
	KUNIT_EXPECT_EQ(test, -ETIMEDOUT, egpu_v20_run(m, &r));
	KUNIT_EXPECT_EQ(test, m->n_smu, 1u);
	KUNIT_EXPECT_GE(test, m->now_us, 100000ULL + EGPU_AMD_BACO_WAIT_MS * 1000);
	KUNIT_EXPECT_LE(test, m->now_us, 100000ULL + EGPU_AMD_BACO_WAIT_MS * 1000 + 1000);
}

static void egpu_v20_test_no_sign_of_life(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_v20_model(test);
	struct egpu_reset_report r;

	m->sol = 0xFFFFFFFF;
	KUNIT_EXPECT_EQ(test, -ENODEV, egpu_v20_run(m, &r));
	KUNIT_EXPECT_EQ(test, m->n_log, 1u);
}

static void egpu_v20_test_power_on_state(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_v20_model(test);
	struct egpu_reset_report r;

	m->sol = 0;
	egpu_model_space_set(m, &m->smn, V20_MP1_FW_FLAGS, 0);
	KUNIT_EXPECT_EQ(test, 0, egpu_v20_run(m, &r));
	KUNIT_EXPECT_EQ(test, r.method, EGPU_RESET_METHOD_NONE);
	KUNIT_EXPECT_EQ(test, egpu_model_count(m, EGPU_MOP_W, 0x4F), 0u);
	KUNIT_EXPECT_LE(test, m->now_us, 101000ULL);
}

static void egpu_v20_test_window(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_model_new(test, false, V20_T);
	struct egpu_reset_report r;

	KUNIT_EXPECT_EQ(test, -ERANGE, egpu_v20_run(m, &r));
	KUNIT_EXPECT_EQ(test, m->n_log, 0u);
}

static struct kunit_case egpu_vega20_test_cases[] = {
	KUNIT_CASE(egpu_v20_test_ids),
	KUNIT_CASE(egpu_v20_test_mode1),
	KUNIT_CASE(egpu_v20_test_baco_sequence),
	KUNIT_CASE(egpu_v20_test_fallback),
	KUNIT_CASE(egpu_v20_test_already_in_baco),
	KUNIT_CASE(egpu_v20_test_smu_timeout),
	KUNIT_CASE(egpu_v20_test_exit_error),
	KUNIT_CASE(egpu_v20_test_baco_stuck),
	KUNIT_CASE(egpu_v20_test_no_sign_of_life),
	KUNIT_CASE(egpu_v20_test_power_on_state),
	KUNIT_CASE(egpu_v20_test_window),
	{}
};

static struct kunit_suite egpu_vega20_test_suite = {
	.name = "egpu_gate_amd_vega20",
	.test_cases = egpu_vega20_test_cases,
};

kunit_test_suite(egpu_vega20_test_suite);
