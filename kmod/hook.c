// SPDX-License-Identifier: GPL-2.0
/*
 * hook.c - ftrace hook on the kernel's pci_dev_specific_reset().
 *
 * The PCI core probes and runs the "device_specific" reset method through
 * pci_dev_specific_reset(dev, probe), a global (not exported) function in
 * drivers/pci/quirks.c. We attach an ftrace_ops with IPMODIFY to its
 * fentry site; the callback reads the first argument and, for a device our
 * target claims, sets the saved instruction pointer to egpu_hook_redirect(),
 * so the call continues in our function with the original arguments and
 * return address. Every other device continues in the kernel's function,
 * untouched. Calls coming from this module (egpu_hook_call_orig()) are
 * never redirected, which is how we reach the original without recursion.
 *
 * Address: kallsyms_lookup_name() is not exported since 5.7. A kprobe on
 * the symbol resolves it; the kprobe address is moved past an ENDBR on IBT
 * kernels, so the symbol offset (sprint_symbol()) is subtracted to get the
 * callable entry. ftrace_set_filter_ip() maps that entry to the ftrace
 * location (ftrace_location(), not exported, sym+0 or sym+4 with IBT).
 *
 * Lifetime: the callback takes a reference on THIS_MODULE for every call it
 * redirects (try_module_get(); it fails once the module is going, and the
 * call then runs the kernel's function instead), which egpu_hook_redirect()
 * drops after the target's reset returns. So the module cannot be removed
 * while a redirected call is in flight (rmmod reports "in use"). The few
 * instructions after that module_put() are covered by the
 * synchronize_rcu_tasks() in egpu_hook_exit(): RCU-tasks waits until every
 * task has passed a voluntary schedule point, i.e. has left our text.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#define EGPU_COMPAT_WANT_FTRACE
#include <linux/atomic.h>
#include <linux/kallsyms.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/rcupdate.h>
#include <linux/string.h>
#include <linux/trace_recursion.h>

#include "compat.h"
#include "hook.h"

#define EGPU_HOOK_SYMBOL "pci_dev_specific_reset"

static atomic64_t hook_redirect_count = ATOMIC64_INIT(0);

#if EGPU_COMPAT_FTRACE_HOOK

/* Set in egpu_hook_init() before registration, cleared after removal. */
static const struct egpu_hook_target *hook_target;
static unsigned long hook_func;

/*
 * Where redirected calls continue. Entered with a reference on THIS_MODULE
 * taken by the callback; see the lifetime rules above.
 */
static int egpu_hook_redirect(struct pci_dev *dev, bool probe)
{
	int ret;

	ret = hook_target->reset(dev, probe);
	module_put(THIS_MODULE);
	return ret;
}

static void notrace egpu_hook_ftrace(unsigned long ip, unsigned long parent_ip,
				     struct ftrace_ops *op,
				     struct ftrace_regs *fregs)
{
	struct pci_dev *dev;
	int bit;

	bit = ftrace_test_recursion_trylock(ip, parent_ip);
	if (bit < 0)
		return;
	/* Our own calls of the original (egpu_hook_call_orig()). */
	if (within_module(parent_ip, THIS_MODULE))
		goto out;
	dev = (struct pci_dev *)egpu_ftrace_arg0(fregs);
	if (!dev || !hook_target->claims(dev))
		goto out;
	if (!try_module_get(THIS_MODULE))
		goto out;	/* unloading: the kernel's own function runs */
	if (!egpu_ftrace_set_ip(fregs, (unsigned long)egpu_hook_redirect)) {
		module_put(THIS_MODULE);
		goto out;
	}
	atomic64_inc(&hook_redirect_count);
out:
	ftrace_test_recursion_unlock(bit);
}

static struct ftrace_ops egpu_hook_ops = {
	.func = egpu_hook_ftrace,
	.flags = EGPU_FTRACE_OPS_FLAGS,
};

static bool hook_registered;

/* Entry address of EGPU_HOOK_SYMBOL, through a temporary kprobe. */
static int egpu_hook_resolve(unsigned long *entry)
{
	struct kprobe kp = { .symbol_name = EGPU_HOOK_SYMBOL };
	char sym[KSYM_SYMBOL_LEN];
	const size_t len = strlen(EGPU_HOOK_SYMBOL);
	unsigned long addr, off;
	int ret;

	ret = register_kprobe(&kp);
	if (ret) {
		pr_err("cannot resolve %s through a kprobe: %d (CONFIG_KPROBES, kprobe blacklist or lockdown?)\n",
		       EGPU_HOOK_SYMBOL, ret);
		return ret;
	}
	addr = (unsigned long)kp.addr;
	unregister_kprobe(&kp);

	/* "pci_dev_specific_reset+0x4/0x90": strip the offset. */
	sprint_symbol(sym, addr);
	if (strncmp(sym, EGPU_HOOK_SYMBOL, len) || sym[len] != '+' ||
	    sscanf(sym + len, "+%lx/", &off) != 1 || off > 16) {
		pr_err("kprobe address of %s resolves to unexpected symbol '%s'\n",
		       EGPU_HOOK_SYMBOL, sym);
		return -ENOENT;
	}
	*entry = addr - off;
	return 0;
}

int egpu_hook_init(const struct egpu_hook_target *target)
{
	unsigned long entry;
	int ret;

	ret = egpu_hook_resolve(&entry);
	if (ret)
		return ret;

	hook_target = target;
	hook_func = entry;
	ret = ftrace_set_filter_ip(&egpu_hook_ops, entry, 0, 0);
	if (ret) {
		pr_err("cannot attach ftrace to %s at %pS: %d (function not traceable?)\n",
		       EGPU_HOOK_SYMBOL, (void *)entry, ret);
		ftrace_free_filter(&egpu_hook_ops);
		goto err;
	}
	ret = register_ftrace_function(&egpu_hook_ops);
	if (ret) {
		if (ret == -EBUSY)
			pr_err("cannot hook %s: another ftrace user that modifies the instruction pointer (a livepatch, vendor-reset, ...) already owns it (-EBUSY)\n",
			       EGPU_HOOK_SYMBOL);
		else
			pr_err("cannot register the ftrace hook on %s: %d\n",
			       EGPU_HOOK_SYMBOL, ret);
		ftrace_free_filter(&egpu_hook_ops);
		goto err;
	}
	hook_registered = true;
	pr_info("hooked %s at %pS\n", EGPU_HOOK_SYMBOL, (void *)entry);
	return 0;

err:
	hook_target = NULL;
	hook_func = 0;
	return ret;
}

void egpu_hook_exit(void)
{
	int ret;

	if (!hook_registered)
		return;
	ret = unregister_ftrace_function(&egpu_hook_ops);
	if (ret)
		pr_warn("unregister_ftrace_function: %d\n", ret);
	else
		ftrace_free_filter(&egpu_hook_ops);	/* the filter hash */
	hook_registered = false;
	/* Let every task leave egpu_hook_redirect()'s epilogue. */
	synchronize_rcu_tasks();
	hook_target = NULL;
	hook_func = 0;
}

int egpu_hook_call_orig(struct pci_dev *dev, bool probe)
{
	int (*orig)(struct pci_dev *dev, bool probe) = (void *)hook_func;

	if (!orig)
		return -ENOTTY;
	/* The callback sees parent_ip in this module and lets it through. */
	return orig(dev, probe);
}

#else /* !EGPU_COMPAT_FTRACE_HOOK */

int egpu_hook_init(const struct egpu_hook_target *target)
{
	pr_err("cannot hook %s: the kernel lacks DYNAMIC_FTRACE_WITH_REGS/ARGS (ftrace cannot redirect calls)\n",
	       EGPU_HOOK_SYMBOL);
	return -EOPNOTSUPP;
}

void egpu_hook_exit(void)
{
}

int egpu_hook_call_orig(struct pci_dev *dev, bool probe)
{
	return -ENOTTY;
}

#endif /* EGPU_COMPAT_FTRACE_HOOK */

u64 egpu_hook_redirects(void)
{
	return atomic64_read(&hook_redirect_count);
}
