// SPDX-License-Identifier: GPL-2.0
/*
 * amd_polaris_test.c - KUnit suite for the Polaris family against the
 * register model: ID table, the SMC pre-check, the exact register writes of
 * the BACO cycle (polaris_baco.c tables in order), the exact access
 * sequence of the config reset, and the failure paths with their errno and
 * time bounds. #included at the end of amd_polaris.c (EGPU_KUNIT=1).
 */
#include <kunit/test.h>

#include "amd_model.h"

/*
 * BACO_CNTL as the model sees it: the chip is in BACO (BACO_MODE) while
 * BACO_EN is set once POWER_OFF was set with it; in BACO, POWER_OFF clear
 * gives PWRGOOD_BF, ISO_DIS gives PWRGOOD_GPIO/MEM/DVO, RESET_EN clear
 * (with POWER_OFF clear) gives RCU_BIF_CONFIG_DONE.
 */
static void egpu_pol_model_write(struct egpu_amd_model *m, u32 dw, u32 old, u32 val)
{
	u32 b = val;

	if (dw != POL_B || m->baco_frozen)
		return;
	if (!(b & POL_B_EN))
		m->fam_state = 0;
	else if (b & POL_B_POWER_OFF)
		m->fam_state = 1;
	b = m->fam_state ? b | POL_B_MODE : b & ~POL_B_MODE;
	if (m->fam_state && !(b & POL_B_POWER_OFF)) {
		b |= POL_B_PWRGOOD_BF;
		if (!(b & POL_B_RESET_EN))
			b |= POL_B_RCU_BIF_CONFIG_DONE;
	}
	if (m->fam_state && (b & POL_B_ISO_DIS))
		b |= POL_B_PWRGOOD_GPIO_MEM_DVO;
	egpu_model_set(m, POL_B, b);
}

/* The PLL power-down bits (bit 4 at 0xC05002B0/0xC050032C) self-clear. */
static void egpu_pol_model_smc(struct egpu_amd_model *m, u32 addr, u32 old, u32 val)
{
	if (addr == 0xC05002B0 || addr == 0xC050032C)
		egpu_model_space_set(m, &m->smc, addr, val & ~0x10u);
}

static const struct egpu_model_hooks egpu_pol_hooks = {
	.write = egpu_pol_model_write,
	.ind_write = egpu_pol_model_smc,
};

/* PLL power-down bits that never clear. */
static const struct egpu_model_hooks egpu_pol_hooks_no_pll = {
	.write = egpu_pol_model_write,
};

/* A running Polaris: SMC clock on, PC past 0x20100, PX capable. */
static struct egpu_amd_model *egpu_pol_model(struct kunit *test, bool px)
{
	struct egpu_amd_model *m = egpu_model_new(test, true, 0x10000);

	m->hooks = &egpu_pol_hooks;
	egpu_model_space_set(m, &m->smc, POL_SMC_PC_C, 0x205f4);	/* vendor-reset#46 */
	egpu_model_set(m, POL_CC_BIF_BX_FUSESTRAP0, px ? POL_STRAP_BIF_PX_CAPABLE : 0);
	m->memsize_busy_us = 110;
	return m;
}

static int egpu_pol_run(struct egpu_amd_model *m, struct egpu_reset_report *r)
{
	r->method = EGPU_RESET_METHOD_OTHER;
	return egpu_family_polaris.reset(&m->hw, r);
}

/* Sheet §3.1, amdgpu's lists (with 67D4 and 698F). */
static void egpu_pol_test_ids(struct kunit *test)
{
	static const u16 sheet[] = {
		0x67C0, 0x67C1, 0x67C2, 0x67C4, 0x67C7, 0x67D0, 0x67D4, 0x67DF,
		0x67C8, 0x67C9, 0x67CA, 0x67CC, 0x67CF, 0x6FDF,
		0x67E0, 0x67E3, 0x67E8, 0x67EB, 0x67EF, 0x67FF, 0x67E1, 0x67E7,
		0x67E9,
		0x6980, 0x6981, 0x6985, 0x6986, 0x6987, 0x698F, 0x6995, 0x6997,
		0x699F,
	};
	const struct pci_device_id *id = egpu_family_polaris.ids;
	unsigned int i;

	KUNIT_EXPECT_EQ(test, (unsigned int)ARRAY_SIZE(sheet), 32u);
	for (i = 0; id[i].vendor; i++) {
		KUNIT_ASSERT_LT(test, i, (unsigned int)ARRAY_SIZE(sheet));
		KUNIT_EXPECT_EQ(test, id[i].vendor, 0x1002u);
		KUNIT_EXPECT_EQ(test, id[i].device, (u32)sheet[i]);
	}
	KUNIT_EXPECT_EQ(test, i, (unsigned int)ARRAY_SIZE(sheet));
	KUNIT_EXPECT_STREQ(test, egpu_family_polaris.name, "polaris");
	KUNIT_EXPECT_EQ(test, egpu_family_polaris.mmio_bar, 5);
}

/* Every write of a BACO reset, tables of polaris_baco.c in order. */
static const struct egpu_model_access egpu_pol_baco_writes[] = {
	/* SMC pre-check (index writes) */
	EM_W(0x1AC, 0x80000004),
	EM_W(0x1AC, 0x80000370),
	/* engine hung */
	EM_W(0x5CC, 0x20000000),
	/* gpio_tbl */
	EM_W(0x184, 0x0),
	EM_W(0x193, 0x0),
	EM_W(0x192, 0x0),
	EM_W(0x182, 0xFF77FFFF),
	EM_W(0x4866, 0x0),
	EM_W(0x4864, 0xFFFFFFFF),
	EM_W(0x4862, 0x0),
	EM_W(0x4860, 0x03333333),
	EM_W(0x4886, 0x0),
	EM_W(0x4884, 0x00001111),
	/* enable_fb_req_rej_tbl */
	EM_W(0x80, 0xC0300024),
	EM_W(0x81, 0x1),
	EM_W(0x1524, 0x0),
	/* use_bclk_tbl */
	EM_W(0x80, 0xC0500140),
	EM_W(0x81, 0x8),
	EM_W(0x80, 0xC0500170),
	EM_W(0x81, 0x04000000),
	EM_W(0x80, 0xC0500118),
	EM_W(0x81, 0x80),
	EM_W(0x80, 0xC050019C),
	EM_W(0x81, 0x200),
	EM_W(0xAEC, 0x100),
	EM_W(0xAEC, 0x100),
	/* turn_off_plls_tbl */
	EM_W(0x4894, 0x10),
	EM_W(0xA26, 0x10000000),
	EM_W(0x80, 0xC05002B0),
	EM_W(0x81, 0x10),
	EM_W(0x80, 0xC050032C),
	EM_W(0x81, 0x10),
	EM_W(0x80, 0xC0500080),
	EM_W(0x81, 0x1),
	EM_W(0xDA2, 0x0),
	EM_W(0xDA2, 0x0),
	EM_W(0xDA2, 0x3200),
	EM_W(0xAEF, 0x0),
	/* clk_req_b_tbl */
	EM_W(0x80, 0xC05001A8),
	EM_W(0x81, 0x1),
	EM_W(0x81, 0x101),
	EM_W(0x80, 0xC05001AC),
	EM_W(0x81, 0x1),
	EM_W(0x81, 0x101),
	EM_W(0x80, 0xC05001A0),
	EM_W(0x81, 0x0),
	EM_W(0x80, 0xC05001A4),
	EM_W(0x81, 0x0),
	EM_W(0x80, 0xC050019C),
	EM_W(0x81, 0x400),
	/* enter_baco_tbl */
	EM_W(0x14E5, 0x1),
	EM_W(0x14E5, 0x40001),
	EM_W(0x14E5, 0x40003),
	EM_W(0x14E5, 0x40003),
	EM_W(0x14E5, 0x40003),
	EM_W(0x14E5, 0x4000B),
	/* exit_baco_tbl */
	EM_W(0x14E5, 0x4005B),
	EM_W(0x14E5, 0x40059),
	EM_W(0x14E5, 0x40051),
	EM_W(0x14E5, 0x40255),
	EM_W(0x14E5, 0x41ED5),
	EM_W(0x14E5, 0x01ED5),
	EM_W(0x14E5, 0x01EC5),
	EM_W(0x14E5, 0x01FC4),
	/* clean_baco_tbl */
	EM_W(0x5CF, 0x0),
	EM_W(0x5D0, 0x0),
	/* engine hung cleared, SMC state read again */
	EM_W(0x5CC, 0x0),
	EM_W(0x1AC, 0x80000004),
	EM_W(0x1AC, 0x80000370),
};

static void egpu_pol_test_baco(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_pol_model(test, true);
	struct egpu_reset_report r;

	KUNIT_EXPECT_EQ(test, 0, egpu_pol_run(m, &r));
	KUNIT_EXPECT_EQ(test, r.method, EGPU_RESET_METHOD_BACO);
	KUNIT_EXPECT_EQ(test, r.smu_state_before, 0x205f4u);
	egpu_model_expect_writes(test, m, egpu_pol_baco_writes,
				 ARRAY_SIZE(egpu_pol_baco_writes));
	KUNIT_EXPECT_EQ(test, egpu_model_get(m, POL_B) & POL_B_MODE, 0u);
	KUNIT_EXPECT_EQ(test, m->resets, 0u);
	/* 2 PLL + 6 enter + 4 exit WAITFOR steps of 1 ms, 20 ms, 12 us. */
	KUNIT_EXPECT_EQ(test, m->now_us, 12000ULL + 20000 + 12);
	egpu_model_bench(test, m, "polaris", "good-baco");
}

/* Not PX capable: the config reset, exact access sequence (sheet §3.3 E). */
static void egpu_pol_test_config_reset(struct kunit *test)
{
	static const struct egpu_model_access exp[] = {
		EM_W(0x1AC, 0x80000004),
		EM_R(0x1AD, 0x0),
		EM_W(0x1AC, 0x80000370),
		EM_R(0x1AD, 0x205f4),
		EM_R(0x5CC, 0x0),
		EM_W(0x5CC, 0x20000000),
		EM_R(0x14D7, 0x0),
		EM_CW(0x7C, 0x39D5E86B),
		EM_US(100),
		EM_R(0x150A, 0xFFFFFFFF),
		EM_US(10),
		EM_R(0x150A, 0x2000),
		EM_R(0x5CC, 0x20000000),
		EM_W(0x5CC, 0x0),
		EM_W(0x1AC, 0x80000004),
		EM_R(0x1AD, 0x0),
		EM_W(0x1AC, 0x80000370),
		EM_R(0x1AD, 0x205f4),
	};
	struct egpu_amd_model *m = egpu_pol_model(test, false);
	struct egpu_reset_report r;

	KUNIT_EXPECT_EQ(test, 0, egpu_pol_run(m, &r));
	KUNIT_EXPECT_EQ(test, r.method, EGPU_RESET_METHOD_CONFIG);
	KUNIT_EXPECT_EQ(test, m->resets, 1u);
	egpu_model_expect_log(test, m, exp, ARRAY_SIZE(exp));
	egpu_model_bench(test, m, "polaris", "no-baco-config");
}

/* Config reset, memsize never back: -ETIMEDOUT at 100 us + 100 ms. */
static void egpu_pol_test_config_memsize_stuck(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_pol_model(test, false);
	struct egpu_reset_report r;

	m->memsize_busy_us = 10000000;
	KUNIT_EXPECT_EQ(test, -ETIMEDOUT, egpu_pol_run(m, &r));
	KUNIT_EXPECT_GE(test, m->now_us, 100100ULL);
	KUNIT_EXPECT_LE(test, m->now_us, 101100ULL);
	KUNIT_EXPECT_EQ(test, egpu_model_get(m, 0x5CC), 0x20000000u);
}

/* BACO_MODE never set: the enter table's last WAITFOR fails at 1 s. */
static void egpu_pol_test_baco_stuck(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_pol_model(test, true);
	struct egpu_reset_report r;

	m->baco_frozen = true;
	KUNIT_EXPECT_EQ(test, -ETIMEDOUT, egpu_pol_run(m, &r));
	KUNIT_EXPECT_EQ(test, r.method, EGPU_RESET_METHOD_BACO);
	/* 2 PLL + 5 enter WAITFOR steps, 12 us, then the 1 s bound. */
	KUNIT_EXPECT_EQ(test, m->now_us, 7000ULL + 12 + EGPU_AMD_BACO_WAIT_MS * 1000);
	KUNIT_EXPECT_EQ(test, egpu_model_count(m, EGPU_MOP_W, 0x5CF), 0u);
}

/* A PLL wait that never ends is logged; the kernel goes on, so do we. */
static void egpu_pol_test_pll_wait_ignored(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_pol_model(test, true);
	struct egpu_reset_report r;

	m->hooks = &egpu_pol_hooks_no_pll;
	KUNIT_EXPECT_EQ(test, 0, egpu_pol_run(m, &r));
	KUNIT_EXPECT_EQ(test, r.method, EGPU_RESET_METHOD_BACO);
	/* turn_off_plls aborts at its first WAITFOR (1 s); clk_req_b runs. */
	KUNIT_EXPECT_EQ(test, egpu_model_count(m, EGPU_MOP_W, 0xDA2), 0u);
	KUNIT_EXPECT_EQ(test, egpu_model_space_get(&m->smc, 0xC05001AC), 0x101u);
	/* 1 s, 6 enter + 4 exit WAITFOR steps, 20 ms, 1 us. */
	KUNIT_EXPECT_EQ(test, m->now_us, 1000000ULL + 10000 + 20000 + 1);
}

/* Already in BACO: only the exit and clean tables. */
static void egpu_pol_test_already_in_baco(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_pol_model(test, true);
	struct egpu_reset_report r;

	egpu_model_set(m, POL_B, 0x4004B);
	m->fam_state = 1;
	KUNIT_EXPECT_EQ(test, 0, egpu_pol_run(m, &r));
	KUNIT_EXPECT_EQ(test, egpu_model_count(m, EGPU_MOP_W, 0x184), 0u);
	KUNIT_EXPECT_EQ(test, egpu_model_count(m, EGPU_MOP_W, POL_B), 8u);
	KUNIT_EXPECT_EQ(test, egpu_model_get(m, POL_B) & POL_B_MODE, 0u);
}

/* SMC stopped (clock off, or PC below 0x20100): nothing to reset. */
static void egpu_pol_test_smc_not_running(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_pol_model(test, true);
	struct egpu_reset_report r;

	egpu_model_space_set(m, &m->smc, POL_SMC_SYSCON_CLOCK_CNTL_0, 0x1);
	KUNIT_EXPECT_EQ(test, 0, egpu_pol_run(m, &r));
	KUNIT_EXPECT_EQ(test, r.method, EGPU_RESET_METHOD_NONE);
	KUNIT_EXPECT_EQ(test, m->n_log, 4u);

	m = egpu_pol_model(test, true);
	egpu_model_space_set(m, &m->smc, POL_SMC_PC_C, 0x200ff);
	KUNIT_EXPECT_EQ(test, 0, egpu_pol_run(m, &r));
	KUNIT_EXPECT_EQ(test, r.method, EGPU_RESET_METHOD_NONE);
	KUNIT_EXPECT_EQ(test, m->n_log, 4u);
}

static void egpu_pol_test_no_sign_of_life(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_pol_model(test, true);
	struct egpu_reset_report r;

	egpu_model_space_set(m, &m->smc, POL_SMC_SYSCON_CLOCK_CNTL_0, 0xFFFFFFFF);
	egpu_model_space_set(m, &m->smc, POL_SMC_PC_C, 0xFFFFFFFF);
	KUNIT_EXPECT_EQ(test, -ENODEV, egpu_pol_run(m, &r));
	KUNIT_EXPECT_EQ(test, m->n_log, 4u);
}

/* 256 KiB BAR (observed, sheet §3.2) is enough; one dword less is not. */
static void egpu_pol_test_window(struct kunit *test)
{
	struct egpu_amd_model *m = egpu_model_new(test, true, POL_DC_GPIO_PAD_STRENGTH_1);
	struct egpu_reset_report r;

	KUNIT_EXPECT_EQ(test, -ERANGE, egpu_pol_run(m, &r));
	KUNIT_EXPECT_EQ(test, m->n_log, 0u);
}

static struct kunit_case egpu_polaris_test_cases[] = {
	KUNIT_CASE(egpu_pol_test_ids),
	KUNIT_CASE(egpu_pol_test_baco),
	KUNIT_CASE(egpu_pol_test_config_reset),
	KUNIT_CASE(egpu_pol_test_config_memsize_stuck),
	KUNIT_CASE(egpu_pol_test_baco_stuck),
	KUNIT_CASE(egpu_pol_test_pll_wait_ignored),
	KUNIT_CASE(egpu_pol_test_already_in_baco),
	KUNIT_CASE(egpu_pol_test_smc_not_running),
	KUNIT_CASE(egpu_pol_test_no_sign_of_life),
	KUNIT_CASE(egpu_pol_test_window),
	{}
};

static struct kunit_suite egpu_polaris_test_suite = {
	.name = "egpu_gate_amd_polaris",
	.test_cases = egpu_polaris_test_cases,
};

kunit_test_suite(egpu_polaris_test_suite);
