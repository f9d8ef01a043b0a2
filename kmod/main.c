// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - egpu_gate module entry points.
 *
 * egpu-gate: device-specific resets for FLR-less AMD GPUs and a kernel-side
 * Thunderbolt eGPU policy for vfio-pci passthrough hosts. Controlled by
 * egpuctl over the generic netlink family in uapi/egpu_gate.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <net/genetlink.h>

#include "genl.h"
#include "reset.h"
#include "tb.h"
#include "tb_pci.h"
#include "tb_rule.h"
#include "tb_teardown.h"
#include "uapi/egpu_gate.h"

static int __init egpu_gate_init(void)
{
	int ret;

	/*
	 * Reset core first (the Thunderbolt engine sets reset_method on the
	 * functions it binds), then the rules (tb_rules given at load), the
	 * PCI side and the teardown (the engine calls into them), then the
	 * engine, which evaluates devices against them from its first
	 * device, and netlink last: its commands may reach all of them.
	 */
	ret = egpu_reset_init();
	if (ret)
		return ret;	/* egpu_reset_init() logged why */
	ret = egpu_tb_rules_init();
	if (ret)
		goto err_reset;	/* logged */
	ret = egpu_tb_pci_init();
	if (ret)
		goto err_rules;
	ret = egpu_td_init();
	if (ret)
		goto err_tb_pci;
	ret = egpu_tb_init();
	if (ret) {
		pr_err("cannot start the Thunderbolt policy engine: %d\n", ret);
		goto err_td;
	}
	ret = egpu_genl_init();
	if (ret) {
		pr_err("cannot register generic netlink family %s: %d\n",
		       EGPU_GATE_GENL_NAME, ret);
		goto err_tb;
	}
	pr_info("version %s loaded (features 0x%llx)\n", EGPU_GATE_VERSION,
		egpu_genl_features());
	return 0;

err_tb:
	egpu_tb_exit();
err_td:
	egpu_td_exit();
err_tb_pci:
	egpu_tb_pci_exit();
err_rules:
	egpu_tb_rules_exit();
err_reset:
	egpu_reset_exit();
	return ret;
}

static void __exit egpu_gate_exit(void)
{
	egpu_genl_exit();
	egpu_td_exit();		/* reboot notifier off, teardowns over */
	egpu_tb_exit();		/* calls egpu_tb_pci_gone() for every record */
	egpu_tb_pci_exit();
	egpu_tb_rules_exit();
	egpu_reset_exit();
	pr_info("unloaded\n");
}

module_init(egpu_gate_init);
module_exit(egpu_gate_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("eGPU passthrough gate: AMD GPU device-specific reset and Thunderbolt policy");
MODULE_AUTHOR("egpu-gate developers");
MODULE_VERSION(EGPU_GATE_VERSION);
MODULE_ALIAS_GENL_FAMILY(EGPU_GATE_GENL_NAME);
