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

/*
 * ftrace callback helpers for the reset hook (hook.c defines
 * EGPU_COMPAT_WANT_FTRACE before including this header).
 *
 * With DYNAMIC_FTRACE_WITH_REGS (every Debian x86 kernel) the ops asks for
 * full pt_regs (SAVE_REGS) and the argument and instruction pointer are
 * read and set there: ftrace_get_regs() works on 6.1 and on the opaque
 * struct ftrace_regs of 6.13+. Only a kernel with ARGS but not REGS uses
 * ftrace_regs_set_instruction_pointer() (a no-op stub where the
 * architecture has no ARGS support, hence not the first choice).
 */
#if defined(EGPU_COMPAT_WANT_FTRACE) && EGPU_COMPAT_FTRACE_HOOK
#include <linux/ftrace.h>
#include <linux/ptrace.h>

#if IS_ENABLED(CONFIG_DYNAMIC_FTRACE_WITH_REGS)
#define EGPU_FTRACE_OPS_FLAGS (FTRACE_OPS_FL_SAVE_REGS | \
			       FTRACE_OPS_FL_IPMODIFY | \
			       FTRACE_OPS_FL_RECURSION)

static __always_inline unsigned long egpu_ftrace_arg0(struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);

	return regs ? regs_get_kernel_argument(regs, 0) : 0;
}

static __always_inline bool egpu_ftrace_set_ip(struct ftrace_regs *fregs,
					       unsigned long ip)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);

	if (!regs)
		return false;
	instruction_pointer_set(regs, ip);
	return true;
}
#else /* DYNAMIC_FTRACE_WITH_ARGS only */
#define EGPU_FTRACE_OPS_FLAGS (FTRACE_OPS_FL_IPMODIFY | FTRACE_OPS_FL_RECURSION)

static __always_inline unsigned long egpu_ftrace_arg0(struct ftrace_regs *fregs)
{
	return ftrace_regs_get_argument(fregs, 0);
}

static __always_inline bool egpu_ftrace_set_ip(struct ftrace_regs *fregs,
					       unsigned long ip)
{
	ftrace_regs_set_instruction_pointer(fregs, ip);
	return true;
}
#endif
#endif /* EGPU_COMPAT_WANT_FTRACE */

/*
 * 6.19+/7.x wrap every reset method, device_specific included (inside
 * pci_dev_specific_reset(), around the quirk's reset), in
 * pci_dev_reset_iommu_prepare()/done() (drivers/iommu/iommu.c): the device
 * is moved to its group's blocking domain so no ATS invalidation races the
 * reset. Our replacement of pci_dev_specific_reset() calls the same pair.
 * Kbuild probe: EGPU_HAVE_PCI_DEV_RESET_IOMMU.
 */
#ifdef EGPU_COMPAT_WANT_PCI
#include <linux/iommu.h>
#include <linux/pci.h>

#ifdef EGPU_HAVE_PCI_DEV_RESET_IOMMU
static inline int egpu_pci_reset_iommu_prepare(struct pci_dev *pdev)
{
	return pci_dev_reset_iommu_prepare(pdev);
}

static inline void egpu_pci_reset_iommu_done(struct pci_dev *pdev)
{
	pci_dev_reset_iommu_done(pdev);
}
#else
static inline int egpu_pci_reset_iommu_prepare(struct pci_dev *pdev)
{
	return 0;
}

static inline void egpu_pci_reset_iommu_done(struct pci_dev *pdev)
{
}
#endif
#endif /* EGPU_COMPAT_WANT_PCI */

/*
 * Formatted extended-ack messages: NL_SET_ERR_MSG_FMT() (6.2+, at most
 * NETLINK_MAX_FMTMSG_LEN - 1 characters, copied into the extack). Older
 * kernels only keep a pointer to a static string. egpu_extack_set() sets
 * @text (any lifetime, truncated to EGPU_EXTACK_FMT_MAX - 1) where the
 * kernel can, else the static @fixed. Kbuild probe:
 * EGPU_HAVE_NL_SET_ERR_MSG_FMT.
 */
#include <linux/netlink.h>

#ifdef EGPU_HAVE_NL_SET_ERR_MSG_FMT
#define EGPU_EXTACK_FMT_MAX NETLINK_MAX_FMTMSG_LEN

static inline void egpu_extack_set(struct netlink_ext_ack *extack,
				   const char *fixed, const char *text)
{
	NL_SET_ERR_MSG_FMT(extack, "%.*s", NETLINK_MAX_FMTMSG_LEN - 1, text);
}
#else
#define EGPU_EXTACK_FMT_MAX 0

static inline void egpu_extack_set(struct netlink_ext_ack *extack,
				   const char *fixed, const char *text)
{
	if (extack)
		extack->_msg = fixed;
}
#endif

/*
 * driver_override: 6.1's pci_dev has its own driver_override string, set
 * with driver_set_override() (which takes the device lock); newer kernels
 * (Debian's 6.12.y too) keep it in struct device, set with
 * device_set_driver_override() (a spinlock). Kbuild probe:
 * EGPU_HAVE_DEVICE_SET_DRIVER_OVERRIDE. Never call it with the device
 * lock held.
 */
#ifdef EGPU_COMPAT_WANT_DRIVER_OVERRIDE
#include <linux/device.h>
#include <linux/pci.h>
#include <linux/string.h>

static inline int egpu_pci_set_driver_override(struct pci_dev *pdev,
					       const char *name)
{
#ifdef EGPU_HAVE_DEVICE_SET_DRIVER_OVERRIDE
	return device_set_driver_override(&pdev->dev, name);
#else
	return driver_set_override(&pdev->dev, &pdev->driver_override, name,
				   strlen(name));
#endif
}
#endif /* EGPU_COMPAT_WANT_DRIVER_OVERRIDE */

/*
 * kernel_bind(): 7.x takes a struct sockaddr_unsized * (proto_ops::bind
 * converted in 6.19), older kernels a struct sockaddr *. Kbuild probe:
 * EGPU_HAVE_SOCKADDR_UNSIZED.
 */
#ifdef EGPU_COMPAT_WANT_SOCKET
#include <linux/net.h>

static inline int egpu_kernel_bind(struct socket *sock, struct sockaddr *addr,
				   int addrlen)
{
#ifdef EGPU_HAVE_SOCKADDR_UNSIZED
	return kernel_bind(sock, (struct sockaddr_unsized *)addr, addrlen);
#else
	return kernel_bind(sock, addr, addrlen);
#endif
}
#endif /* EGPU_COMPAT_WANT_SOCKET */

#endif /* EGPU_COMPAT_H */
