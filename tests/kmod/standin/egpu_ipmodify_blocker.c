// SPDX-License-Identifier: GPL-2.0
/*
 * TEST ONLY: occupy pci_dev_specific_reset() with another ftrace user that
 * may modify the instruction pointer, as a livepatch or vendor-reset would.
 * A kprobe with a post handler is armed through ftrace with an IPMODIFY
 * ftrace_ops, so while this module is loaded egpu_gate's hook cannot be
 * registered (-EBUSY) and egpu_gate must refuse to load, saying why.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kprobes.h>
#include <linux/module.h>

static void blocker_post(struct kprobe *p, struct pt_regs *regs,
			 unsigned long flags)
{
}

static struct kprobe blocker_kp = {
	.symbol_name = "pci_dev_specific_reset",
	.post_handler = blocker_post,
};

static int __init blocker_init(void)
{
	int ret = register_kprobe(&blocker_kp);

	if (ret)
		pr_err("cannot arm the kprobe on pci_dev_specific_reset: %d\n", ret);
	else
		pr_info("holding pci_dev_specific_reset with an IPMODIFY ftrace user\n");
	return ret;
}

static void __exit blocker_exit(void)
{
	unregister_kprobe(&blocker_kp);
}

module_init(blocker_init);
module_exit(blocker_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("TEST ONLY: holds pci_dev_specific_reset with an IPMODIFY ftrace user");
MODULE_AUTHOR("egpu-gate developers");
