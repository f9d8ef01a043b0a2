/* SPDX-License-Identifier: GPL-2.0 */
/*
 * amd_model.h - register model of an AMD GPU for the KUnit suites of the
 * amd_*.c families (built only with EGPU_KUNIT=1; amd_model.c is #included
 * by amd_common.c).
 *
 * The model backs struct egpu_hw with:
 *  - a sparse register file for the BAR, plus the SMN (SOC15: PCIE_INDEX2/
 *    DATA2) or SMC (VI: SMC_IND_INDEX_11/DATA_11 and GCK_SMC_IND_INDEX/
 *    DATA) indirect spaces, and PCI config space;
 *  - a virtual clock that only udelay()/msleep() advance (no real sleep);
 *  - scripted firmware: the SMU mailbox answers each message with the
 *    configured C2PMSG_90 code (0 = never answers) after smu_latency_us;
 *    the PSP reports ready in C2PMSG_64, takes the mode-1 command and then
 *    acks in C2PMSG_33 after psp_ack_delay_us; RCC_CONFIG_MEMSIZE (or the
 *    VI CONFIG_MEMSIZE) reads 0xFFFFFFFF for memsize_busy_us after a reset;
 *    the sign of life (C2PMSG_81) reads sol once sol_delay_us has passed;
 *  - family hooks (BACO status bits) called on writes and SMU messages;
 *  - a log of every access (op, register, value) and delay.
 */
#ifndef EGPU_AMD_MODEL_H
#define EGPU_AMD_MODEL_H

#include <kunit/test.h>
#include <linux/types.h>

#include "reset_family.h"

enum egpu_model_op {
	EGPU_MOP_R,		/* BAR read: reg, value returned */
	EGPU_MOP_W,		/* BAR write: reg, value */
	EGPU_MOP_CR,		/* config read: offset, value */
	EGPU_MOP_CW,		/* config write: offset, value */
	EGPU_MOP_US,		/* udelay: value = us */
	EGPU_MOP_MS,		/* msleep: value = ms */
};

struct egpu_model_access {
	u8 op;
	u32 reg;
	u32 val;
};

/* Expected-log entries. */
#define EM_R(r, v)	{ EGPU_MOP_R, (r), (v) }
#define EM_W(r, v)	{ EGPU_MOP_W, (r), (v) }
#define EM_CR(r, v)	{ EGPU_MOP_CR, (r), (v) }
#define EM_CW(r, v)	{ EGPU_MOP_CW, (r), (v) }
#define EM_US(v)	{ EGPU_MOP_US, 0, (v) }
#define EM_MS(v)	{ EGPU_MOP_MS, 0, (v) }

#define EGPU_MODEL_REGS		192
#define EGPU_MODEL_LOG		4096
#define EGPU_MODEL_SMU_MSGS	64

struct egpu_model_space {
	u32 addr[EGPU_MODEL_REGS];
	u32 val[EGPU_MODEL_REGS];
	unsigned int n;
};

struct egpu_amd_model;

struct egpu_model_hooks {
	/* After a BAR write was stored (old = previous value). */
	void (*write)(struct egpu_amd_model *m, u32 dw, u32 old, u32 val);
	/* After an indirect write (SMC on VI, SMN on SOC15) was stored. */
	void (*ind_write)(struct egpu_amd_model *m, u32 addr, u32 old, u32 val);
	/* When the SMU accepted a message (response 0x1). */
	void (*smu_msg)(struct egpu_amd_model *m, u32 msg, u32 arg);
};

struct egpu_amd_model {
	struct egpu_hw hw;
	struct kunit *test;
	bool vi;			/* VI (Polaris) layout, else SOC15/NV */
	u64 now_us;			/* virtual clock */
	struct egpu_model_space mmio, smn, smc, cfg;
	unsigned int outside;		/* accesses outside the window */

	struct egpu_model_access *log;
	unsigned int n_log;		/* total, may exceed EGPU_MODEL_LOG */

	/* SMU (SOC15/NV). */
	u32 smu_resp[256];		/* C2PMSG_90 per message; 0 = never */
	u32 smu_latency_us;
	bool smu_pending;
	u64 smu_due;
	u32 smu_pending_resp;
	u32 smu_msg[EGPU_MODEL_SMU_MSGS], smu_arg[EGPU_MODEL_SMU_MSGS];
	unsigned int n_smu;

	/* PSP (SOC15/NV). */
	bool psp_ready;			/* C2PMSG_64 reads 0x80000000 */
	/* Mode 1 runs and C2PMSG_33 bit 31 follows; false: ignored. */
	bool psp_acks;
	u32 psp_ack_delay_us;
	u32 sol;			/* C2PMSG_81 before any reset */
	u32 sol_delay_us;		/* C2PMSG_81 reads 0 before this */
	u32 bl_delay_us;		/* C2PMSG_35 bit 31 after a reset */

	/* Any reset (PSP mode 1 or VI config reset). */
	unsigned int resets;
	u64 reset_at;
	u32 memsize;			/* memsize register when readable */
	u32 memsize_busy_us;		/* reads 0xFFFFFFFF after a reset */

	bool baco_frozen;		/* BACO status bits never change */
	u32 fam_state;			/* for the family hooks */
	const struct egpu_model_hooks *hooks;
};

/* A model with defaults: SMU answers 0x1 at once, PSP ready and acking. */
struct egpu_amd_model *egpu_model_new(struct kunit *test, bool vi, u32 mmio_dwords);

u32 egpu_model_space_get(const struct egpu_model_space *s, u32 addr);
void egpu_model_space_set(struct egpu_amd_model *m, struct egpu_model_space *s,
			  u32 addr, u32 val);
/* Shorthands for the BAR. */
u32 egpu_model_get(const struct egpu_amd_model *m, u32 dw);
void egpu_model_set(struct egpu_amd_model *m, u32 dw, u32 val);

void egpu_model_clear_log(struct egpu_amd_model *m);
/* How many logged accesses match op and reg. */
unsigned int egpu_model_count(const struct egpu_amd_model *m, u8 op, u32 reg);
/* The log, compared entry by entry with @exp; reports the first mismatch. */
void egpu_model_expect_log(struct kunit *test, const struct egpu_amd_model *m,
			   const struct egpu_model_access *exp, size_t n);
/* Only the BAR writes of the log, compared with @exp. */
void egpu_model_expect_writes(struct kunit *test, const struct egpu_amd_model *m,
			      const struct egpu_model_access *exp, size_t n);

/* Expected logs assembled from parts (shared prologues, tables). */
struct egpu_model_part {
	const struct egpu_model_access *a;
	size_t n;
};

/* Like expect_log (@writes_only: expect_writes) with @parts concatenated. */
void egpu_model_expect_parts(struct kunit *test, const struct egpu_amd_model *m,
			     const struct egpu_model_part *parts, size_t n_parts,
			     bool writes_only);

/*
 * For `make bench` (bench/): print one line per run, no assertion:
 *   reset_bench: family=F path=P ops=N mmio=N cfg=N designed_wait_us=N
 * ops: register and config-space accesses of the log; designed_wait_us: the
 * model's clock, which only the sequence's udelay()/msleep() advance.
 */
void egpu_model_bench(struct kunit *test, const struct egpu_amd_model *m,
		      const char *family, const char *path);

#endif /* EGPU_AMD_MODEL_H */
