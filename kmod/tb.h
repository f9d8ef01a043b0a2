/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tb.h - the Thunderbolt policy engine: discovery of Thunderbolt domains
 * and devices, rule evaluation, authorization, PCI binding and the
 * shutdown teardown. (Skeleton: the engine lands in steps.)
 */
#ifndef EGPU_TB_H
#define EGPU_TB_H

int egpu_tb_init(void);
void egpu_tb_exit(void);

#endif /* EGPU_TB_H */
