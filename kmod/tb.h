/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tb.h - the Thunderbolt policy engine: discovery of Thunderbolt domains
 * and devices, rule evaluation and authorization (tb.c), the PCI side
 * (tb_pci.c) and the shutdown teardown (tb_teardown.c).
 *
 * Objects
 * -------
 * struct egpu_tb_dev is egpu-gate's record of one Thunderbolt device
 * (switch, host routers included) on an attached domain. Records live on
 * one list, in parent-before-child order (a device is added after its
 * parent, by the driver core and by us), from the device's discovery until
 * it is unplugged (BUS_NOTIFY_DEL_DEVICE) or its domain is detached (NHI
 * unbound, thunderbolt.ko or egpu_gate unloading); then the record is
 * "gone": off the list, ->dev NULL, its fields frozen.
 *
 * Locking and references
 * ----------------------
 * egpu_tb_lock (a mutex, taken only through egpu_tb_lock_timeout() /
 * egpu_tb_unlock()) protects the list and every mutable field below. The
 * policy worker holds it while it evaluates and authorizes a device (each
 * authorized write is bounded), tb_teardown.c while it runs a step. Never
 * taken in a notifier.
 *
 * A record is reference counted (egpu_tb_dev_get()/_put()); a reference
 * keeps the record's memory, never the Thunderbolt device: ->dev (a
 * get_device() reference owned by the record) is dropped, under
 * egpu_tb_lock, as soon as the device goes or its domain detaches, because
 * the device's release function lives in thunderbolt.ko, which may unload
 * right after its NHI unbinds. So: dereference ->dev only with
 * egpu_tb_lock held and ->dev != NULL, and never keep a get_device() of
 * your own across an unlock.
 */
#ifndef EGPU_TB_H
#define EGPU_TB_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/types.h>
#include <linux/uuid.h>

#include "uapi/egpu_gate.h"

struct device;
struct sk_buff;
struct netlink_ext_ack;
struct egpu_tb_rule;

#define EGPU_TB_DEV_NAME_MAX	32	/* "65535-fffffffffffff" */
#define EGPU_TB_SECURITY_MAX	16	/* "usbonly" */
#define EGPU_TB_REASON_MAX	160

/* Bounds of one authorized write (restarts included). */
#define EGPU_TB_AUTH_TIMEOUT_MS	5000

/*
 * Retries of a failed authorization (tb.c, "Retries"): at most
 * EGPU_TB_AUTH_ATTEMPTS attempts per round (uapi/egpu_gate.h), the n-th
 * retry EGPU_TB_RETRY_BASE_MS << (n - 1) after the failure before it.
 */
#define EGPU_TB_RETRY_BASE_MS	1000

/* Domain state, read live from the domain's sysfs attributes. */
struct egpu_tb_domain_info {
	char security[EGPU_TB_SECURITY_MAX];	/* "user", ... ; "" unknown */
	int iommu_dma_protection;		/* 0/1, -errno unknown */
	int deauthorization;			/* 0/1, -errno unknown */
};

/*
 * One Thunderbolt device. Constant after discovery (readable without the
 * lock while you hold a reference): name, domain, depth, parent,
 * unique_id/uuid, vendor, device, vendor_name, device_name, host.
 * Under egpu_tb_lock: everything else.
 */
struct egpu_tb_dev {
	struct list_head node;		/* on the device list (egpu_tb_lock) */
	struct kref ref;

	/* Constant. */
	char name[EGPU_TB_DEV_NAME_MAX];	/* sysfs name, "0-301" */
	u32 domain;			/* domain index (domainN) */
	unsigned int depth;		/* 0: host router, 1: first hop, ... */
	struct egpu_tb_dev *parent;	/* referenced; NULL for a host router */
	char unique_id[UUID_STRING_LEN + 1];	/* as in sysfs, "" if none */
	uuid_t uuid;
	bool has_uuid;
	u32 vendor, device;		/* Thunderbolt IDs, 0 when absent */
	char vendor_name[EGPU_TB_NAME_MAX + 1];	/* "" when absent */
	char device_name[EGPU_TB_NAME_MAX + 1];
	bool host;			/* host router */

	/* egpu_tb_lock. */
	struct device *dev;		/* see above; NULL once gone */
	bool gone;
	u8 authorized;			/* last value read or written: 0/1/2 */
	enum egpu_tb_decision decision;
	char reason[EGPU_TB_REASON_MAX];
	/*
	 * The rule that matched (referenced, immutable: its bind list is
	 * rule->bind[0..nbind)) or NULL; kept for the device's lifetime
	 * even when the rule set changes, so tb_pci.c binds what the rule
	 * said when the device was authorized.
	 */
	struct egpu_tb_rule *rule;
	/* authorized or adopted by us: torn down at shutdown */
	bool by_egpu;
	bool eval;			/* waiting for the worker */
	bool no_reeval;			/* de-authorized by us: leave alone */
	/*
	 * Failed authorization attempts of the current round (a round
	 * starts at the plug, a rule or key change, a resume and
	 * EGPU_CMD_TB_AUTHORIZE; kept after a success), the last one's
	 * error, and the retry the worker runs at retry_at (jiffies).
	 */
	unsigned int auth_failures;
	int auth_error;			/* -errno, 0: none this round */
	bool retry_pending;
	unsigned long retry_at;
	struct egpu_tb_domain_info dom;	/* domain state at the last look */
	void *pci;			/* owned by tb_pci.c (NULL until then) */
};

/* Module init/exit (main.c). */
int egpu_tb_init(void);
void egpu_tb_exit(void);

/* ---- locking and references ---------------------------------------- */

/* Take egpu_tb_lock within @timeout_ms: 0 or -ETIMEDOUT. */
int egpu_tb_lock_timeout(unsigned int timeout_ms);
void egpu_tb_unlock(void);
void egpu_tb_assert_locked(void);

struct egpu_tb_dev *egpu_tb_dev_get(struct egpu_tb_dev *d);
void egpu_tb_dev_put(struct egpu_tb_dev *d);

/* The live record named @name ("0-1"), referenced, or NULL. Locks. */
struct egpu_tb_dev *egpu_tb_dev_find(const char *name);

/*
 * A snapshot of the live records in parent-before-child order (each
 * referenced): *out is a kmalloc'ed array of *n pointers (NULL when 0).
 * Walk it backwards for deepest-first. Release with
 * egpu_tb_snapshot_put(). Takes egpu_tb_lock itself (bounded by
 * @timeout_ms, -ETIMEDOUT).
 */
int egpu_tb_snapshot(struct egpu_tb_dev ***out, unsigned int *n,
		     unsigned int timeout_ms);
void egpu_tb_snapshot_put(struct egpu_tb_dev **devs, unsigned int n);

/* Is @d below @ancestor (strictly)? Constant fields only. */
bool egpu_tb_dev_is_below(const struct egpu_tb_dev *d,
			  const struct egpu_tb_dev *ancestor);

/* ---- device attributes ------------------------------------------------ */

/*
 * Write @val (0, 1 or 2) to @d's "authorized", exactly as a write(2) to
 * its sysfs file: through a kernel-internal sysfs mount, kernfs and the
 * device's own store. The domain lock being contended makes the store
 * restart (restart_syscall()): the pending-signal flag this sets on the
 * caller is recomputed from the real signals, the write retried with a
 * backoff, and -ETIMEDOUT returned after @timeout_ms. Writing the state
 * the device already has (-EINVAL from the store, e.g. 1 to an authorized
 * device) is success when the device reads back that state. Caller holds
 * egpu_tb_lock; -ENODEV when @d is gone. Updates d->authorized.
 */
int egpu_tb_write_authorized(struct egpu_tb_dev *d, unsigned int val,
			     unsigned int timeout_ms);

/* Read d's "authorized" (0/1/2) or -errno. Caller holds egpu_tb_lock. */
int egpu_tb_read_authorized(struct egpu_tb_dev *d);

/* The state of d's domain, read now. Caller holds egpu_tb_lock. */
int egpu_tb_domain_info(struct egpu_tb_dev *d,
			struct egpu_tb_domain_info *info);

/*
 * Record that tb_teardown.c de-authorized @d: by_egpu cleared, decision
 * DENIED, reason "de-authorized by egpu-gate", so the engine does not
 * authorize it again (until it is plugged again or authorized explicitly
 * with EGPU_CMD_TB_AUTHORIZE). Caller holds egpu_tb_lock.
 */
void egpu_tb_dev_deauthorized(struct egpu_tb_dev *d);

/*
 * Stop authorizing (reboot/shutdown, teardown): the worker finishes the
 * device it is on (bounded) and does nothing until egpu_tb_policy_resume().
 * Returns once the worker is idle, or -ETIMEDOUT after @timeout_ms.
 */
int egpu_tb_policy_pause(unsigned int timeout_ms);
void egpu_tb_policy_resume(void);

/* ---- netlink (genl.c) ------------------------------------------------ */

/* Put one EGPU_A_TB nest for @d (TB_GET dump). Caller holds egpu_tb_lock. */
int egpu_tb_fill_dev(struct sk_buff *skb, const struct egpu_tb_dev *d);

/*
 * EGPU_CMD_TB_AUTHORIZE: authorize the device named @name now, in the
 * policy worker, through the same path as a rule; waits (bounded) for the
 * result. 0 when authorized or already authorized.
 */
int egpu_tb_authorize_by_name(const char *name, struct netlink_ext_ack *extack);

/* EGPU_CMD_TB_KEY_SET: store (64 hex digits) or delete ("") a key. */
int egpu_tb_key_set(const char *unique_id, const char *hex,
		    struct netlink_ext_ack *extack);

/* ---- hooks into tb_pci.c ---------------------------------------------- */

/*
 * Called by the engine with egpu_tb_lock held right after it authorized
 * (AUTHORIZED) or adopted (ALREADY with by_egpu) @d: bind the PCI
 * functions already present below it. Must not sleep long (no waits for
 * devices to appear: that is the PCI notifier's job).
 */
void egpu_tb_pci_authorized(struct egpu_tb_dev *d);

/*
 * Called with egpu_tb_lock held when @d is gone (unplugged or detached),
 * before d->dev is dropped: release what tb_pci.c keeps in d->pci.
 */
void egpu_tb_pci_gone(struct egpu_tb_dev *d);

/*
 * Put one @attrtype string attribute per PCI function found below @d
 * (EGPU_A_TB_PCI in the TB_GET dump). Caller holds egpu_tb_lock.
 * Returns 0 or -EMSGSIZE.
 */
int egpu_tb_pci_fill(struct sk_buff *skb, int attrtype,
		     const struct egpu_tb_dev *d);

#endif /* EGPU_TB_H */
