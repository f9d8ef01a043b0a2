/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tb_rule.h - Thunderbolt authorization rules: parser, canonical text,
 * matcher and the live rule set.
 *
 * The grammar is the uAPI's (uapi/egpu_gate.h, "Thunderbolt rule
 * grammar"); the module parameter tb_rules and the netlink commands use
 * the same parser, so a rule means the same wherever it comes from.
 *
 * The live rule set is one array (struct egpu_tb_ruleset) published with
 * RCU: readers (the policy engine matching a device) take rcu_read_lock()
 * and see a whole set, never a half-applied change. Writers (parameter
 * store, netlink) serialise on egpu_tb_rules_lock: a replace or a delete
 * builds a new array and swaps it in; an add appends in place while the
 * array has room (the slot is written before the count is released, so a
 * reader sees the old or the new count) and otherwise swaps in an array
 * twice as large. Old arrays are freed after a grace period. Hit counters
 * are atomics in the rule objects.
 *
 * References: each rule of the live set holds one reference owned by the
 * live set, whichever array holds it; it is dropped a grace period after
 * the rule leaves the set (delete, replace), so IDs and hit counts survive
 * adds and deletes of other rules. The engine holds its own reference on
 * the rule it matched (egpu_tb_rules_match()), valid after any change; a
 * dump holds a snapshot (egpu_tb_ruleset_get(): a copy of the array with a
 * reference on every rule), so it sees one consistent set across all its
 * messages.
 */
#ifndef EGPU_TB_RULE_H
#define EGPU_TB_RULE_H

#include <linux/atomic.h>
#include <linux/netlink.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/types.h>
#include <linux/uuid.h>

#include "uapi/egpu_gate.h"

/* Which match keys a rule has (EGPU_TB_MATCH_* bits in rule->match). */
#define EGPU_TB_MATCH_UUID		BIT(0)
#define EGPU_TB_MATCH_ID		BIT(1)
#define EGPU_TB_MATCH_VENDOR_NAME	BIT(2)
#define EGPU_TB_MATCH_DEVICE_NAME	BIT(3)
#define EGPU_TB_MATCH_PARENT		BIT(4)

enum egpu_tb_action {
	EGPU_TB_ACTION_AUTHORIZE,
	EGPU_TB_ACTION_IGNORE,
};

struct egpu_tb_pci_id {
	u16 vendor;
	u16 device;
};

/* One parsed rule. Immutable once published, except hits. */
struct egpu_tb_rule {
	u32 id;				/* stable ID, assigned when published */
	u32 match;			/* EGPU_TB_MATCH_* */
	uuid_t uuid;
	u16 vendor, device;		/* Thunderbolt IDs (id=) */
	char vendor_name[EGPU_TB_NAME_MAX + 1];
	char device_name[EGPU_TB_NAME_MAX + 1];
	uuid_t parent;
	enum egpu_tb_action action;
	bool iommu_optional;		/* iommu=optional */
	bool chain;
	unsigned int nbind;
	struct egpu_tb_pci_id bind[EGPU_TB_BIND_MAX];
	atomic64_t hits;
	refcount_t ref;			/* live set, engine, snapshots */
};

/* What the matcher needs to know about a device. */
struct egpu_tb_match_info {
	const uuid_t *uuid;		/* NULL: unknown, uuid rules fail */
	u16 vendor, device;
	const char *vendor_name;	/* NULL or "" when absent */
	const char *device_name;
	const uuid_t *parent_uuid;	/* NULL for a host router */
};

struct egpu_tb_ruleset {
	struct rcu_head rcu;
	unsigned int n;			/* rules in use (smp_load_acquire) */
	unsigned int cap;		/* room in rules[] */
	bool snapshot;			/* a copy: owns a reference per rule */
	bool drop_all;			/* retired: drop every rule's reference */
	struct egpu_tb_rule *drop;	/* retired: drop this rule's reference */
	struct egpu_tb_rule *rules[];	/* match order */
};

/*
 * Parse one rule (no ';'). Returns 0 and fills *rule (id 0, hits 0,
 * ref 1), or -EINVAL with a message naming the field in @extack (may be
 * NULL) and, when @err/@errlen are given, in err too (for the module
 * parameter path, which has no extack).
 */
int egpu_tb_rule_parse(const char *text, struct egpu_tb_rule *rule,
		       struct netlink_ext_ack *extack, char *err, size_t errlen);

/*
 * Canonical text of @rule into buf (see the uAPI). Returns the length of
 * the whole text like snprintf() (truncated, NUL-terminated if len is too
 * small); the text is never longer than EGPU_TB_RULE_TEXT_MAX.
 */
int egpu_tb_rule_format(const struct egpu_tb_rule *rule, char *buf,
			size_t len);

/* True if @rule matches the device (all given keys must match). */
bool egpu_tb_rule_matches(const struct egpu_tb_rule *rule,
			  const struct egpu_tb_match_info *info);

/*
 * First matching rule of the live set, with a reference (put with
 * egpu_tb_rule_put()), its hit counter incremented; NULL if none.
 */
struct egpu_tb_rule *egpu_tb_rules_match(const struct egpu_tb_match_info *info);
void egpu_tb_rule_put(struct egpu_tb_rule *rule);

/*
 * Change the live set. Each parses and validates everything first and
 * changes nothing on error. replace: whole text (";"-separated, "" clears).
 * add: one rule appended, its ID returned in *id. del: -ENOENT if no rule
 * has @id. -ENOSPC beyond EGPU_TB_RULES_MAX.
 */
int egpu_tb_rules_replace(const char *text, struct netlink_ext_ack *extack);
int egpu_tb_rules_add(const char *text, u32 *id,
		      struct netlink_ext_ack *extack);
int egpu_tb_rules_del(u32 id);

/*
 * Like egpu_tb_rules_add() for a rule already parsed with
 * egpu_tb_rule_parse() into memory from egpu_tb_rule_alloc(): the call
 * takes ownership of @rule whatever it returns (netlink formats the
 * canonical reply from the parsed rule, then hands it over).
 */
struct egpu_tb_rule *egpu_tb_rule_alloc(void);
int egpu_tb_rules_add_rule(struct egpu_tb_rule *rule, u32 *id,
			   struct netlink_ext_ack *extack);

/*
 * Snapshot of the live set for a dump: a copy of the array with a
 * reference on each rule, taken under egpu_tb_rules_lock (may sleep); the
 * live set may move on meanwhile. Release with egpu_tb_ruleset_put().
 * NULL before init, after exit or when out of memory.
 */
struct egpu_tb_ruleset *egpu_tb_ruleset_get(void);
void egpu_tb_ruleset_put(struct egpu_tb_ruleset *set);

/*
 * Implemented by the policy engine (tb.c): called after every change of
 * the live set, without any rules lock held, so devices still waiting for
 * a decision are evaluated again.
 */
void egpu_tb_policy_rules_changed(void);

/*
 * The module parameter tb_rules (0644) holds the live set's text. At load
 * a malformed value is logged and the set stays empty (default deny); a
 * later write of a malformed value fails with -EINVAL and changes nothing.
 */
int egpu_tb_rules_init(void);
void egpu_tb_rules_exit(void);

#endif /* EGPU_TB_RULE_H */
