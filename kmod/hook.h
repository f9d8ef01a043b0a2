/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hook.h - ftrace hook on the kernel's pci_dev_specific_reset().
 *
 * The hook redirects calls for the devices its owner claims to the owner's
 * reset function; every other device runs the kernel's own function
 * untouched. See hook.c for the mechanism and its safety rules.
 */
#ifndef EGPU_HOOK_H
#define EGPU_HOOK_H

#include <linux/types.h>

struct pci_dev;

struct egpu_hook_target {
	/*
	 * Does the owner handle @dev? Called from the ftrace callback: with
	 * preemption disabled, must not sleep, take no sleeping lock and be
	 * notrace; RCU read side is allowed.
	 */
	bool (*claims)(struct pci_dev *dev);
	/*
	 * Replacement for pci_dev_specific_reset() for claimed devices, same
	 * contract (probe: 0 if supported; else 0 or -errno of the reset).
	 */
	int (*reset)(struct pci_dev *dev, bool probe);
};

/*
 * Install the hook (module init). Fails with a message naming the reason:
 * -EOPNOTSUPP (kernel without ftrace IP modification), -ENOENT (symbol not
 * found), -EBUSY (another IPMODIFY user, e.g. a livepatch, owns it), ...
 */
int egpu_hook_init(const struct egpu_hook_target *target);
void egpu_hook_exit(void);

/*
 * Call the kernel's own pci_dev_specific_reset() for @dev, bypassing the
 * hook (for claimed devices a family declined). -ENOTTY when not hooked.
 */
int egpu_hook_call_orig(struct pci_dev *dev, bool probe);

/* Diagnostics: number of calls redirected since load. */
u64 egpu_hook_redirects(void);

#endif /* EGPU_HOOK_H */
