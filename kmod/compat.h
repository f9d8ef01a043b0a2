/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - every kernel-version difference of egpu-gate, in one place.
 *
 * Supported: Debian kernels 6.1 to 7.x. Differences are detected by the
 * Kbuild probes (EGPU_HAVE_* macros, see Kbuild) or by kernel config
 * symbols; the .c files use only what this header provides.
 */
#ifndef EGPU_COMPAT_H
#define EGPU_COMPAT_H

#include <linux/kconfig.h>

/*
 * The reset hook patches pci_dev_specific_reset() through ftrace with
 * IPMODIFY; the kernel must allow ftrace to change the instruction pointer.
 */
#if IS_ENABLED(CONFIG_DYNAMIC_FTRACE_WITH_REGS) || \
	IS_ENABLED(CONFIG_DYNAMIC_FTRACE_WITH_ARGS)
#define EGPU_COMPAT_FTRACE_HOOK 1
#else
#define EGPU_COMPAT_FTRACE_HOOK 0
#endif

#endif /* EGPU_COMPAT_H */
