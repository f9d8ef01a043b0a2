/* SPDX-License-Identifier: GPL-2.0 */
/*
 * reset.h - the reset core: family registry, dynamic IDs, the device-specific
 * reset of claimed devices, automatic reset_method and per-device statistics.
 *
 * Families come from three places: built-in (amd_*.c, listed in reset.c),
 * other modules (egpu_reset_register_family(), exported), and IDs added at
 * run time to a named family (egpu_reset_add_id(), for netlink).
 *
 * A device is claimed when its function number is 0 (the GPU function of
 * its slot; the other functions of the slot, e.g. HDMI audio, are saved and
 * restored around its reset but never claimed themselves) and its
 * VENDOR:DEVICE is a dynamic ID or in a family's ids table (dynamic IDs
 * first, then families in registration order, built-ins first).
 */
#ifndef EGPU_RESET_H
#define EGPU_RESET_H

#include <linux/types.h>

#include "reset_family.h"

struct module;
struct pci_dev;

/* Longest family name kept in statistics (with the NUL). */
#define EGPU_RESET_FAMILY_NAME_MAX 32

/* Statistics of one claimed device, since it was claimed. */
struct egpu_reset_stats {
	enum egpu_reset_method method;	/* of the last reset */
	u64 count;			/* device-specific resets run */
	u64 failures;			/* of which returned an error */
	int last_result;		/* 0 or -errno of the last reset */
	u64 last_duration_us;		/* of the last reset, whole sequence */
	u32 smu_state_before;		/* family state word before the last reset */
};

/* A snapshot handed to egpu_reset_iterate_devs() callbacks. */
struct egpu_reset_dev_info {
	struct pci_dev *pdev;		/* referenced for the callback's duration */
	u16 vendor, device;
	char family[EGPU_RESET_FAMILY_NAME_MAX];
	bool reset_method_set;		/* we put device_specific first */
	struct egpu_reset_stats stats;
};

/*
 * Register a family implemented in module @owner (THIS_MODULE). The family
 * struct must stay valid until egpu_reset_unregister_family(), which @owner
 * must call from its exit function at the latest. Existing devices that
 * match are claimed at once. Returns 0, -EINVAL (no name/ids/reset, name
 * too long) or -EEXIST (name in use).
 *
 * Unload safety: a reset running the family's code holds a reference on
 * @owner, so @owner cannot start unloading during a reset; unregistering
 * releases every device of the family (restoring its reset_method) and
 * removes the family's dynamic IDs before it returns.
 */
int egpu_reset_register_family(const struct egpu_reset_family *family,
			       struct module *owner);
void egpu_reset_unregister_family(const struct egpu_reset_family *family);

/*
 * Dynamic IDs (for the netlink commands): make VENDOR:DEVICE a device of
 * family @family (claiming present devices), or remove such an ID
 * (releasing its devices). -ENOENT: no such family / ID; -EEXIST: the ID is
 * already dynamic (remove it first); -ENOMEM.
 */
int egpu_reset_add_id(const char *family, u16 vendor, u16 device);
int egpu_reset_remove_id(const char *family, u16 vendor, u16 device);

/*
 * Call @fn for every claimed device, in claim order, with a snapshot of its
 * state. Runs under the registry mutex: @fn may sleep briefly (e.g. fill a
 * netlink message) but must not call back into the registry. A non-zero
 * return stops the walk and is returned.
 */
typedef int (*egpu_reset_dev_fn_t)(const struct egpu_reset_dev_info *info,
				 void *ctx);
int egpu_reset_iterate_devs(egpu_reset_dev_fn_t fn, void *ctx);

/* A registered family, for listing (netlink). */
struct egpu_reset_family_info {
	const char *name;
	const char *owner;			/* module name */
	bool builtin;
	const struct pci_device_id *ids;	/* built-in IDs, 0-terminated */
	const u32 *dyn_ids;			/* VENDOR << 16 | DEVICE */
	unsigned int n_dyn_ids;
};

typedef int (*egpu_reset_family_fn_t)(const struct egpu_reset_family_info *info,
				      void *ctx);

/*
 * Call @fn for every family in registration order, under the registry
 * mutex (same rules as egpu_reset_iterate_devs(); @info is valid only
 * during the call).
 */
int egpu_reset_iterate_families(egpu_reset_family_fn_t fn, void *ctx);

/*
 * Reset a claimed device the way a write to its sysfs "reset" does
 * (pci_reset_function(): device lock, the PCI core's own save/restore,
 * then the first working method of reset_method), after checking that
 * device_specific is that first method, so that the family's reset is
 * what runs. For the netlink reset command. Returns the reset's result,
 * -ENODEV (not claimed), -EOPNOTSUPP (device_specific is not first:
 * auto_reset_method is off or reset_method was changed).
 */
int egpu_reset_device(struct pci_dev *pdev);

/*
 * Put device_specific first in a claimed device's reset_method now, through
 * the same path as auto_reset_method (for the Thunderbolt PCI side, which
 * wants it for the functions it binds even when auto_reset_method is off).
 * Returns 0 (done, or already first), -ENODEV (no family handles @pdev) or
 * the reset_method store's error.
 */
int egpu_reset_select_method(struct pci_dev *pdev);

/* Module init/exit: installs the hook, the bus notifier, claims devices. */
int egpu_reset_init(void);
void egpu_reset_exit(void);

#endif /* EGPU_RESET_H */
