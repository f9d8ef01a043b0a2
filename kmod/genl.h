/* SPDX-License-Identifier: GPL-2.0 */
/* genl.h - the generic netlink family "egpu_gate" (uAPI: uapi/egpu_gate.h). */
#ifndef EGPU_GENL_H
#define EGPU_GENL_H

#include <linux/types.h>

int egpu_genl_init(void);
void egpu_genl_exit(void);

/* EGPU_FEATURE_* bits of this build on the running kernel. */
u64 egpu_genl_features(void);

#endif /* EGPU_GENL_H */
