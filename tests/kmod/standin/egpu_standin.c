// SPDX-License-Identifier: GPL-2.0
/*
 * TEST ONLY: a reset family for QEMU's edu device
 * (1234:11e8, docs/specs/edu.txt in QEMU), registered with egpu_gate
 * through egpu_reset_register_family(), so the reset core and its hook can
 * be exercised in a VM without an AMD GPU.
 *
 * Its "reset" checks that the core set the device up as promised and
 * leaves traces a guest script can check:
 *  - bus mastering is off (PCI_COMMAND read through hw->cfg_read),
 *  - BAR 0 is mapped: 0x00 identification reads 0x010000ed, 0x04 liveness
 *    returns the inverse of what was written, 0x08 factorial of 5 is 120
 *    (poll of the 0x20 status "computing" bit, at most 1 s),
 *  - then, like a real whole-device reset, it scribbles the interrupt line
 *    register of every function of the slot (function 0 through hw, the
 *    others directly), which the core must restore.
 * Parameters (read-only unless noted): runs, master_off (1 when mastering
 * was off in the last run), checks_ok (1 when the register checks passed),
 * result (0644: -errno to return from the next resets, after the checks),
 * delay_ms (0644: make each reset last that much longer, at most 5 s).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pci.h>

#include "reset.h"

#define EDU_IDENT	(0x00 / 4)
#define EDU_LIVENESS	(0x04 / 4)
#define EDU_FACTORIAL	(0x08 / 4)
#define EDU_STATUS	(0x20 / 4)
#define EDU_STATUS_BUSY	0x01
#define EDU_IDENT_VAL	0x010000edU

static unsigned int runs;
module_param(runs, uint, 0444);
MODULE_PARM_DESC(runs, "Stand-in resets run");
static bool master_off;
module_param(master_off, bool, 0444);
MODULE_PARM_DESC(master_off, "Bus mastering was off during the last reset");
static bool checks_ok;
module_param(checks_ok, bool, 0444);
MODULE_PARM_DESC(checks_ok, "edu register checks passed in the last reset");
static int result;
module_param(result, int, 0644);
MODULE_PARM_DESC(result, "Value (0 or -errno) the reset returns");
static unsigned int delay_ms;
module_param(delay_ms, uint, 0644);
MODULE_PARM_DESC(delay_ms, "Extra time the reset takes, in ms (at most 5000)");

static int standin_checks(struct egpu_hw *hw)
{
	const u32 probe = 0x5a5aa5a5;
	u32 ident, live, fact;
	u64 t0;

	ident = hw->ops->rreg(hw, EDU_IDENT);
	hw->ops->wreg(hw, EDU_LIVENESS, probe);
	live = hw->ops->rreg(hw, EDU_LIVENESS);
	hw->ops->wreg(hw, EDU_FACTORIAL, 5);
	t0 = hw->ops->now_us(hw);
	while (hw->ops->rreg(hw, EDU_STATUS) & EDU_STATUS_BUSY) {
		/* QEMU computes it in a thread: allow for a loaded host. */
		if (hw->ops->now_us(hw) - t0 > 1000000) {
			dev_err(hw->dev, "edu factorial: busy after 1 s\n");
			return -ETIMEDOUT;
		}
		hw->ops->udelay(hw, 10);
	}
	fact = hw->ops->rreg(hw, EDU_FACTORIAL);
	dev_info(hw->dev, "edu ident 0x%08x liveness 0x%08x factorial(5) %u\n",
		 ident, live, fact);
	if (ident != EDU_IDENT_VAL || live != ~probe || fact != 120)
		return -EIO;
	return 0;
}

/* Scribble the interrupt line of every function of the slot. */
static void standin_scribble(struct egpu_hw *hw)
{
	struct pci_dev *pdev = to_pci_dev(hw->dev);
	unsigned int slot = PCI_SLOT(pdev->devfn);
	u32 v;
	int fn;

	hw->ops->cfg_read(hw, PCI_INTERRUPT_LINE & ~3, &v);
	hw->ops->cfg_write(hw, PCI_INTERRUPT_LINE & ~3, (v & ~0xffU) | 0x5a);
	for (fn = 1; fn < 8; fn++) {
		struct pci_dev *f = pci_get_slot(pdev->bus, PCI_DEVFN(slot, fn));

		if (!f)
			continue;
		pci_write_config_byte(f, PCI_INTERRUPT_LINE, 0x5b);
		pci_dev_put(f);
	}
}

static int standin_reset(struct egpu_hw *hw, struct egpu_reset_report *report)
{
	u32 cmd = 0;
	int ret;

	report->method = EGPU_RESET_METHOD_OTHER;
	ret = hw->ops->cfg_read(hw, PCI_COMMAND, &cmd);
	WRITE_ONCE(master_off, !ret && !(cmd & PCI_COMMAND_MASTER));
	report->smu_state_before = hw->ops->rreg(hw, EDU_IDENT);
	ret = standin_checks(hw);
	WRITE_ONCE(checks_ok, !ret);
	standin_scribble(hw);
	hw->ops->msleep(hw, min(READ_ONCE(delay_ms), 5000U));
	WRITE_ONCE(runs, runs + 1);
	dev_info(hw->dev, "stand-in reset run %u: command 0x%04x, checks %s\n",
		 runs, cmd & 0xffff, ret ? "failed" : "ok");
	return ret ? ret : READ_ONCE(result);
}

static const struct pci_device_id standin_ids[] = {
	{ PCI_DEVICE(0x1234, 0x11e8) },
	{ }
};

static const struct egpu_reset_family standin_family = {
	.name = "standin-edu",
	.ids = standin_ids,
	.mmio_bar = 0,
	.reset = standin_reset,
};

/*
 * egpu_gate's API is looked up at load time with symbol_get() (which also
 * pins egpu_gate while we hold it), not linked: the module then builds
 * without egpu_gate's Module.symvers and carries no modinfo dependency.
 */
static int (*standin_register)(const struct egpu_reset_family *family,
			       struct module *owner);
static void (*standin_unregister)(const struct egpu_reset_family *family);

static void standin_put_api(void)
{
	if (standin_register)
		symbol_put(egpu_reset_register_family);
	if (standin_unregister)
		symbol_put(egpu_reset_unregister_family);
}

static int __init standin_init(void)
{
	int ret;

	standin_register = symbol_get(egpu_reset_register_family);
	standin_unregister = symbol_get(egpu_reset_unregister_family);
	if (!standin_register || !standin_unregister) {
		pr_err("egpu_gate is not loaded (egpu_reset_register_family not found)\n");
		standin_put_api();
		return -ENODEV;
	}
	ret = standin_register(&standin_family, THIS_MODULE);
	if (ret) {
		pr_err("cannot register the stand-in family: %d\n", ret);
		standin_put_api();
	}
	return ret;
}

static void __exit standin_exit(void)
{
	standin_unregister(&standin_family);
	standin_put_api();
}

module_init(standin_init);
module_exit(standin_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("TEST ONLY: egpu_gate stand-in reset family for QEMU's edu device");
MODULE_AUTHOR("egpu-gate developers");
