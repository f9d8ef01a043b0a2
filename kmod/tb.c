// SPDX-License-Identifier: GPL-2.0
/*
 * tb.c - the Thunderbolt policy engine (see tb.h). Skeleton.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "tb.h"
#include "tb_rule.h"

void egpu_tb_policy_rules_changed(void)
{
}

int egpu_tb_init(void)
{
	return 0;
}

void egpu_tb_exit(void)
{
}
