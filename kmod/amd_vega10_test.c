// SPDX-License-Identifier: GPL-2.0
/*
 * amd_vega10_test.c - KUnit suite for the Vega 10 family against the
 * register model: ID table, the exact access sequence of a good PSP mode-1
 * reset, the BACO fallback (register writes of vega10_baco.c's tables in
 * order), and every failure path with its errno and its time bound.
 * #included at the end of amd_vega10.c when built with EGPU_KUNIT=1.
 */
#include <kunit/test.h>

#include "amd_model.h"

#define V10_T_DW	0x20000		/* 512 KiB BAR 5 (sheet §4.2) */

/*
 * Vega 10 BACO as the model sees it: EnterBaco sets SOC_DOMAIN_IDLE; the
 * chip is in BACO (BACO_CNTL.BACO_MODE) once BACO_EN, POWER_OFF and
 * THM RESET_EN are all set, and leaves it when BACO_EN is cleared;
 * THM BACO_EXIT self-clears.
 */
static void egpu_v10_model_sync(struct egpu_amd_model *m)
{
	u32 b = egpu_model_get(m, V10_B), t = egpu_model_get(m, V10_T);

	if (m->baco_frozen)
		return;
	if (!(b & V10_B_BACO_EN))
		m->fam_state = 0;
	else if ((b & V10_B_POWER_OFF) && (t & V10_T_RESET_EN))
		m->fam_state = 1;
	b = m->fam_state ? b | V10_B_BACO_MODE : b & ~V10_B_BACO_MODE;
	egpu_model_set(m, V10_B, b);
	egpu_model_set(m, V10_T, t & ~V10_T_EXIT);
}

static void egpu_v10_model_write(struct egpu_amd_model *m, u32 dw, u32 old, u32 val)
{
	if (dw == V10_B || dw == V10_T)
		egpu_v10_model_sync(m);
}

static void egpu_v10_model_msg(struct egpu_amd_model *m, u32 msg, u32 arg)
{
	if (msg == V10_MSG_ENTER_BACO && !m->baco_frozen)
		egpu_model_set(m, V10_T, egpu_model_get(m, V10_T) | V10_T_SOC_DOMAIN_IDLE);
}

static const struct egpu_model_hooks egpu_v10_hooks = {
	.write = egpu_v10_model_write,
	.smu_msg = egpu_v10_model_msg,
};

/* A running Vega 10: sOS alive, SMU idle with firmware up, PX capable. */
static struct egpu_amd_model *egpu_v10_model(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_model_new(test, false, V10_T_DW);

	m->hooks = &egpu_v10_hooks;
	egpu_model_space_set(m, &m->smn, V10_MP1_FW_FLAGS, EGPU_MP1_FW_FLAGS_INTR_EN);
	egpu_model_set(m, EGPU_MP0_C2PMSG_35, 0x80000000);
	egpu_model_set(m, EGPU_SOC15_RCC_BIF_STRAP0, EGPU_SOC15_STRAP_PX_CAPABLE);
	m->memsize_busy_us = 500020;
	return m;
}

static int egpu_v10_run(struct egpu_amd_model *m, struct egpu_reset_report *r)
{
	r->method = EGPU_RESET_METHOD_OTHER;
	r->smu_state_before = 0xdead;
	return egpu_family_vega10.reset(&m->hw, r);
}

/* The 15 IDs of sheet §4.1, in the same order, vendor 0x1002. */
static void egpu_v10_test_ids(struct kunit *test)
{
	static const u16 sheet[] = {
		0x6860, 0x6861, 0x6862, 0x6863, 0x6864, 0x6867, 0x6868, 0x6869,
		0x686A, 0x686B, 0x686C, 0x686D, 0x686E, 0x686F, 0x687F,
	};
	const struct pci_device_id *id = egpu_family_vega10.ids;
	unsigned int i;

	for (i = 0; id[i].vendor; i++) {
		KUNIT_ASSERT_LT(test, i, (unsigned int)ARRAY_SIZE(sheet));
		KUNIT_EXPECT_EQ(test, id[i].vendor, 0x1002u);
		KUNIT_EXPECT_EQ(test, id[i].device, (u32)sheet[i]);
		KUNIT_EXPECT_EQ(test, id[i].subvendor, (u32)PCI_ANY_ID);
		KUNIT_EXPECT_EQ(test, id[i].subdevice, (u32)PCI_ANY_ID);
	}
	KUNIT_EXPECT_EQ(test, i, (unsigned int)ARRAY_SIZE(sheet));
	KUNIT_EXPECT_STREQ(test, egpu_family_vega10.name, "vega10");
	KUNIT_EXPECT_EQ(test, egpu_family_vega10.mmio_bar, 5);
	KUNIT_EXPECT_TRUE(test, egpu_family_vega10.reset == egpu_vega10_reset);
}

/* Sign of life and state reads, as every Vega 10 reset starts. */
static const struct egpu_model_access egpu_v10_prologue[] = {
	EM_R(EGPU_MP0_C2PMSG_81, 0x6b0),
	EM_R(EGPU_MP1_C2PMSG_90, 0x1),
	EM_W(EGPU_SOC15_PCIE_INDEX2, V10_MP1_FW_FLAGS),
	EM_R(EGPU_SOC15_PCIE_INDEX2, V10_MP1_FW_FLAGS),
	EM_R(EGPU_SOC15_PCIE_DATA2, 0x1),
	EM_R(V10_B, 0x0),
	EM_R(EGPU_MP0_C2PMSG_35, 0x80000000),
};

/* Good reset: the exact access sequence (sheet §1.7, §1.9, §4.5). */
static void egpu_v10_test_mode1(struct kunit *test)
{
	static const struct egpu_model_access exp[] = {
		EM_R(EGPU_MP0_C2PMSG_64, 0x80000000),
		/* engine hung */
		EM_R(0x4F, 0x0),
		EM_W(0x4F, 0x20000000),
		/* PSP mode 1 */
		EM_R(EGPU_MP0_C2PMSG_64, 0x80000000),
		EM_W(EGPU_MP0_C2PMSG_64, 0x00070000),
		EM_MS(500),
		EM_R(EGPU_MP0_C2PMSG_33, 0x80000000),
		EM_R(0xDE3, 0xFFFFFFFF),
		EM_US(10),
		EM_R(0xDE3, 0xFFFFFFFF),
		EM_US(10),
		EM_R(0xDE3, 0x2000),
		/* engine hung cleared, sign of life after */
		EM_R(0x4F, 0x20000000),
		EM_W(0x4F, 0x0),
		EM_R(EGPU_MP0_C2PMSG_81, 0x0),
	};
	static const struct egpu_model_part parts[] = {
		{ egpu_v10_prologue, ARRAY_SIZE(egpu_v10_prologue) }, { exp, ARRAY_SIZE(exp) },
	};
	struct egpu_amd_model *m = egpu_v10_model(test);
	struct egpu_reset_report r;

	KUNIT_EXPECT_EQ(test, 0, egpu_v10_run(m, &r));
	KUNIT_EXPECT_EQ(test, r.method, EGPU_RESET_METHOD_MODE1);
	KUNIT_EXPECT_EQ(test, r.smu_state_before, 0x1u);
	KUNIT_EXPECT_EQ(test, m->resets, 1u);
	KUNIT_EXPECT_EQ(test, m->n_smu, 0u);
	egpu_model_expect_parts(test, m, parts, ARRAY_SIZE(parts), false);
	egpu_model_bench(test, m, "vega10", "good-mode1");
}

/* BACO enter + exit writes, vega10_baco.c tables, from BACO_CNTL = 0. */
static const struct egpu_model_access egpu_v10_enter_writes[] = {
	/* pre_baco_tbl */
	EM_W(V10_BIF_DOORBELL_CNTL, 0x10),
	EM_W(V10_BIF_FB_EN, 0x0),
	EM_W(V10_B, 0x20),
	EM_W(V10_B, 0x60),
	/* EnterBaco, argument 0 */
	EM_W(EGPU_MP1_C2PMSG_90, 0x0),
	EM_W(EGPU_MP1_C2PMSG_82, 0x0),
	EM_W(EGPU_MP1_C2PMSG_66, 0x1E),
	/* enter_baco_tbl (after waiting for SOC_DOMAIN_IDLE) */
	EM_W(V10_B, 0x61),
	EM_W(V10_B, 0x63),
	EM_W(V10_B, 0x67),
	EM_W(V10_T, 0x80000010),
	EM_W(V10_T, 0x80000030),
	EM_W(V10_T, 0x80000032),
	EM_W(V10_T, 0x800000B2),
	EM_W(V10_T, 0x800002B2),
	EM_W(V10_T, 0x800002F2),
	EM_W(V10_B, 0x6F),
	EM_W(V10_T, 0x800002FA),
	EM_W(V10_T, 0x800002FA),
};

/* exit_baco_tbl + clean_baco_tbl, from inside BACO (B 0x16F). */
static const struct egpu_model_access egpu_v10_exit_writes[] = {
	EM_W(V10_B, 0x167),
	EM_W(V10_T, 0x800002BA),
	EM_W(V10_T, 0x800000BA),
	EM_W(V10_T, 0x8000003A),
	EM_W(V10_T, 0x80000038),
	EM_W(V10_T, 0x8000003C),
	EM_W(V10_T, 0x8000001C),
	EM_W(V10_T, 0x8000000C),
	EM_W(V10_T, 0x8000010C),
	EM_W(V10_T, 0x80000004),
	EM_W(V10_T, 0x80000004),
	EM_W(V10_B, 0x163),
	EM_W(V10_B, 0x161),
	EM_W(V10_B, 0x160),
	EM_W(0x52, 0x0),
	EM_W(0x53, 0x0),
};

/* Writes before the BACO cycle (SMN index, engine hung) and after it. */
static const struct egpu_model_access egpu_v10_head_writes[] = {
	EM_W(EGPU_SOC15_PCIE_INDEX2, V10_MP1_FW_FLAGS),
	EM_W(0x4F, 0x20000000),
};

static const struct egpu_model_access egpu_v10_tail_writes[] = {
	EM_W(0x4F, 0x0),
};

/* PSP never ready: no mode-1 command, BACO fallback succeeds. */
static void egpu_v10_test_fallback_psp_not_ready(struct kunit *test)
{
	static const struct egpu_model_part parts[] = {
		{ egpu_v10_head_writes, ARRAY_SIZE(egpu_v10_head_writes) },
		{ egpu_v10_enter_writes, ARRAY_SIZE(egpu_v10_enter_writes) },
		{ egpu_v10_exit_writes, ARRAY_SIZE(egpu_v10_exit_writes) },
		{ egpu_v10_tail_writes, ARRAY_SIZE(egpu_v10_tail_writes) },
	};
	struct egpu_amd_model *m = egpu_v10_model(test);
	struct egpu_reset_report r;

	m->psp_ready = false;
	KUNIT_EXPECT_EQ(test, 0, egpu_v10_run(m, &r));
	KUNIT_EXPECT_EQ(test, r.method, EGPU_RESET_METHOD_BACO);
	KUNIT_EXPECT_EQ(test, r.smu_state_before, 0x1u);
	egpu_model_expect_parts(test, m, parts, ARRAY_SIZE(parts), true);
	KUNIT_ASSERT_EQ(test, m->n_smu, 1u);
	KUNIT_EXPECT_EQ(test, m->smu_msg[0], 0x1Eu);
	KUNIT_EXPECT_EQ(test, m->smu_arg[0], 0x0u);
	KUNIT_EXPECT_EQ(test, egpu_model_get(m, V10_B) & V10_B_BACO_MODE, 0u);
	KUNIT_EXPECT_EQ(test, egpu_model_get(m, 0x4F), 0u);
	/* 100 ms PSP wait, 5 + 20 + 10 ms of table delays, 4 WAITFOR steps. */
	KUNIT_EXPECT_EQ(test, m->now_us, 100000ULL + 35000 + 4000);
	egpu_model_bench(test, m, "vega10", "psp-not-ready-baco");
}

/* PSP ignores the command (no C2PMSG_33 ack): BACO fallback. */
static void egpu_v10_test_fallback_no_ack(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_v10_model(test);
	struct egpu_reset_report r;

	m->psp_acks = false;
	KUNIT_EXPECT_EQ(test, 0, egpu_v10_run(m, &r));
	KUNIT_EXPECT_EQ(test, r.method, EGPU_RESET_METHOD_BACO);
	KUNIT_EXPECT_EQ(test, egpu_model_count(m, EGPU_MOP_W, EGPU_MP0_C2PMSG_64), 1u);
	KUNIT_EXPECT_EQ(test, m->n_smu, 1u);
	KUNIT_EXPECT_EQ(test, egpu_model_get(m, V10_B) & V10_B_BACO_MODE, 0u);
	/* 500 ms + 100 ms ack wait, then the BACO cycle. */
	KUNIT_EXPECT_EQ(test, m->now_us, 600000ULL + 35000 + 4000);
}

/* Already in BACO: no EnterBaco, only the exit sequence. */
static void egpu_v10_test_already_in_baco(struct kunit *test)
{
	static const struct egpu_model_part parts[] = {
		{ egpu_v10_head_writes, ARRAY_SIZE(egpu_v10_head_writes) },
		{ egpu_v10_exit_writes, ARRAY_SIZE(egpu_v10_exit_writes) },
		{ egpu_v10_tail_writes, ARRAY_SIZE(egpu_v10_tail_writes) },
	};
	struct egpu_amd_model *m = egpu_v10_model(test);
	struct egpu_reset_report r;

	m->psp_ready = false;
	egpu_model_set(m, V10_B, 0x16F);
	egpu_model_set(m, V10_T, 0x800002FA);
	m->fam_state = 1;
	KUNIT_EXPECT_EQ(test, 0, egpu_v10_run(m, &r));
	KUNIT_EXPECT_EQ(test, r.method, EGPU_RESET_METHOD_BACO);
	KUNIT_EXPECT_EQ(test, m->n_smu, 0u);
	egpu_model_expect_parts(test, m, parts, ARRAY_SIZE(parts), true);
}

/* All-ones sign of life: -ENODEV at once, nothing written. */
static void egpu_v10_test_no_sign_of_life(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_v10_model(test);
	struct egpu_reset_report r;

	m->sol = 0xFFFFFFFF;
	KUNIT_EXPECT_EQ(test, -ENODEV, egpu_v10_run(m, &r));
	KUNIT_EXPECT_EQ(test, r.method, EGPU_RESET_METHOD_NONE);
	KUNIT_EXPECT_EQ(test, m->n_log, 1u);
	KUNIT_EXPECT_EQ(test, m->now_us, 0ULL);
}

/* sOS and SMU not running, not in BACO: power-on state, nothing to do. */
static void egpu_v10_test_power_on_state(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_v10_model(test);
	struct egpu_reset_report r;

	m->sol = 0;
	egpu_model_space_set(m, &m->smn, V10_MP1_FW_FLAGS, 0);
	egpu_model_set(m, EGPU_MP1_C2PMSG_90, 0);
	KUNIT_EXPECT_EQ(test, 0, egpu_v10_run(m, &r));
	KUNIT_EXPECT_EQ(test, r.method, EGPU_RESET_METHOD_NONE);
	KUNIT_EXPECT_EQ(test, r.smu_state_before, 0u);
	/* Only the SMN index write of the state read. */
	KUNIT_EXPECT_EQ(test, egpu_model_count(m, EGPU_MOP_W, EGPU_SOC15_PCIE_INDEX2), 1u);
	KUNIT_EXPECT_EQ(test, egpu_model_count(m, EGPU_MOP_W, 0x4F), 0u);
	KUNIT_EXPECT_GE(test, m->now_us, 100000ULL);
	KUNIT_EXPECT_LE(test, m->now_us, 101000ULL);
}

/* sOS not running but the SMU is: BACO directly, mode 1 not tried. */
static void egpu_v10_test_no_sol_smu_running(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_v10_model(test);
	struct egpu_reset_report r;

	m->sol = 0;
	KUNIT_EXPECT_EQ(test, 0, egpu_v10_run(m, &r));
	KUNIT_EXPECT_EQ(test, r.method, EGPU_RESET_METHOD_BACO);
	KUNIT_EXPECT_EQ(test, egpu_model_count(m, EGPU_MOP_R, EGPU_MP0_C2PMSG_64), 1u);
	KUNIT_EXPECT_EQ(test, egpu_model_count(m, EGPU_MOP_W, EGPU_MP0_C2PMSG_64), 0u);
	KUNIT_EXPECT_EQ(test, m->n_smu, 1u);
}

/* EnterBaco never answered: -ETIMEDOUT after PSP 100 ms + SMU 1 s. */
static void egpu_v10_test_smu_timeout(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_v10_model(test);
	struct egpu_reset_report r;
	const struct egpu_model_access *last = NULL;
	unsigned int i;

	m->psp_ready = false;
	m->smu_resp[V10_MSG_ENTER_BACO] = EGPU_SMU_RESP_NONE;
	KUNIT_EXPECT_EQ(test, -ETIMEDOUT, egpu_v10_run(m, &r));
	KUNIT_EXPECT_EQ(test, r.method, EGPU_RESET_METHOD_BACO);
	KUNIT_EXPECT_GE(test, m->now_us, 100000ULL + EGPU_AMD_SMU_TIMEOUT_US);
	KUNIT_EXPECT_LE(test, m->now_us, 100000ULL + EGPU_AMD_SMU_TIMEOUT_US + 2000);
	/* Nothing written after the message; engine hung stays set. */
	KUNIT_ASSERT_LE(test, m->n_log, (unsigned int)EGPU_MODEL_LOG);
	for (i = 0; i < m->n_log; i++)
		if (m->log[i].op == EGPU_MOP_W)
			last = &m->log[i];
	KUNIT_ASSERT_NOT_NULL(test, last);
	KUNIT_EXPECT_EQ(test, last->reg, (u32)EGPU_MP1_C2PMSG_66);
	KUNIT_EXPECT_EQ(test, egpu_model_get(m, 0x4F), 0x20000000u);
}

/* EnterBaco error codes are returned as errno, at once. */
static void egpu_v10_test_smu_errors(struct kunit *test)
{
	static const struct { u32 resp; int err; } map[] = {
		{ 0xFF, -EIO }, { 0xFE, -EOPNOTSUPP }, { 0xFD, -EINVAL },
		{ 0xFC, -EBUSY },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(map); i++) {
		struct egpu_amd_model *m = egpu_v10_model(test);
		struct egpu_reset_report r;

		m->psp_ready = false;
		m->smu_resp[V10_MSG_ENTER_BACO] = map[i].resp;
		KUNIT_EXPECT_EQ_MSG(test, map[i].err, egpu_v10_run(m, &r),
				    "response 0x%x", map[i].resp);
		KUNIT_EXPECT_GE(test, m->now_us, 100000ULL);
		KUNIT_EXPECT_LE(test, m->now_us, 101000ULL);
		KUNIT_EXPECT_EQ(test, egpu_model_count(m, EGPU_MOP_W, V10_T), 0u);
	}
}

/*
 * Mode 1 ran but memsize never comes back; the SMU is down after the
 * reset, so the BACO fallback fails at the mailbox pre-wait: -ETIMEDOUT,
 * EnterBaco never sent.
 */
static void egpu_v10_test_mode1_memsize_stuck(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_v10_model(test);
	struct egpu_reset_report r;

	m->memsize_busy_us = 100000000;
	KUNIT_EXPECT_EQ(test, -ETIMEDOUT, egpu_v10_run(m, &r));
	KUNIT_EXPECT_EQ(test, m->n_smu, 0u);
	KUNIT_EXPECT_GE(test, m->now_us, 600000ULL + EGPU_AMD_SMU_TIMEOUT_US);
	KUNIT_EXPECT_LE(test, m->now_us, 600000ULL + EGPU_AMD_SMU_TIMEOUT_US + 2000);
}

/* BACO status never changes: the first WAITFOR ends the reset at 1 s. */
static void egpu_v10_test_baco_stuck(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_v10_model(test);
	struct egpu_reset_report r;

	m->psp_ready = false;
	m->baco_frozen = true;
	KUNIT_EXPECT_EQ(test, -ETIMEDOUT, egpu_v10_run(m, &r));
	KUNIT_EXPECT_EQ(test, r.method, EGPU_RESET_METHOD_BACO);
	KUNIT_EXPECT_EQ(test, m->now_us, 100000ULL + EGPU_AMD_BACO_WAIT_MS * 1000);
	KUNIT_EXPECT_EQ(test, egpu_model_count(m, EGPU_MOP_W, V10_T), 0u);
}

/* A BAR smaller than THM_BACO_CNTL: -ERANGE, nothing touched. */
static void egpu_v10_test_window(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_model_new(test, false, 0x10000);
	struct egpu_reset_report r;

	KUNIT_EXPECT_EQ(test, -ERANGE, egpu_v10_run(m, &r));
	KUNIT_EXPECT_EQ(test, m->n_log, 0u);
}

/* SMU not idle before: reported, mode 1 still used. */
static void egpu_v10_test_smu_state_reported(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_v10_model(test);
	struct egpu_reset_report r;

	egpu_model_set(m, EGPU_MP1_C2PMSG_90, 0xFE);
	KUNIT_EXPECT_EQ(test, 0, egpu_v10_run(m, &r));
	KUNIT_EXPECT_EQ(test, r.method, EGPU_RESET_METHOD_MODE1);
	KUNIT_EXPECT_EQ(test, r.smu_state_before, 0xFEu);
}

static struct kunit_case egpu_vega10_test_cases[] = {
	KUNIT_CASE(egpu_v10_test_ids),
	KUNIT_CASE(egpu_v10_test_mode1),
	KUNIT_CASE(egpu_v10_test_fallback_psp_not_ready),
	KUNIT_CASE(egpu_v10_test_fallback_no_ack),
	KUNIT_CASE(egpu_v10_test_already_in_baco),
	KUNIT_CASE(egpu_v10_test_no_sign_of_life),
	KUNIT_CASE(egpu_v10_test_power_on_state),
	KUNIT_CASE(egpu_v10_test_no_sol_smu_running),
	KUNIT_CASE(egpu_v10_test_smu_timeout),
	KUNIT_CASE(egpu_v10_test_smu_errors),
	KUNIT_CASE(egpu_v10_test_mode1_memsize_stuck),
	KUNIT_CASE(egpu_v10_test_baco_stuck),
	KUNIT_CASE(egpu_v10_test_window),
	KUNIT_CASE(egpu_v10_test_smu_state_reported),
	{}
};

static struct kunit_suite egpu_vega10_test_suite = {
	.name = "egpu_gate_amd_vega10",
	.test_cases = egpu_vega10_test_cases,
};

kunit_test_suite(egpu_vega10_test_suite);
