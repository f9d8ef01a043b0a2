// SPDX-License-Identifier: GPL-2.0
/*
 * tb_rule.c - Thunderbolt authorization rules (see tb_rule.h): the parser
 * of the uAPI grammar (uapi/egpu_gate.h, "Thunderbolt rule grammar"), the
 * canonical formatter, the matcher, the live rule set and the module
 * parameter tb_rules.
 *
 * Locking: egpu_tb_rules_lock (a mutex) serialises every writer of the
 * live set (parameter store, netlink, init, exit) and the ID counter. A
 * parameter store already runs under kernel_param_lock(THIS_MODULE) (taken
 * by the module core), which nests outside egpu_tb_rules_lock; nothing
 * takes them in the other order. Text is parsed before the lock is taken,
 * so a large set never holds writers up while it is parsed. Readers (the
 * matcher, the parameter's get, dump snapshots) use RCU only.
 *
 * Rule IDs come from one counter (1, 2, ...; 0 is never used) and are
 * assigned when a rule is published, in match order; a u32 would need
 * 4e9 published rules to wrap, after which uniqueness is not guaranteed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/stringify.h>

#include "compat.h"
#include "tb_rule.h"

/* ---- parse errors --------------------------------------------------------- */

/* Why a rule was refused, turned into text by egpu_tb_perr_format(). */
struct egpu_tb_perr {
	unsigned int index;	/* 1-based rule number in a set; 0: one rule */
	const char *key;	/* the field's key as given; NULL: whole rule */
	size_t klen;
	const char *val;	/* the offending value; NULL: none */
	size_t vlen;
	const char *what;	/* the problem (static) */
	const char *smsg;	/* static extack text (kernels before 6.2) */
};

/* Characters of a key or value quoted in a message. */
#define EGPU_TB_KEY_SHOWN 20
#define EGPU_TB_VAL_SHOWN 24

/* Longest message egpu_tb_perr_format() writes, with the NUL. */
#define EGPU_TB_ERR_MAX 160

/*
 * "rule 3: field "bind": "1002:zz" is not VVVV:DDDD"; without the value
 * (@value false, for the short extack buffer): "... field "bind": value
 * is not VVVV:DDDD". Returns the length written.
 */
static int egpu_tb_perr_format(const struct egpu_tb_perr *pe, char *buf,
			       size_t len, bool value)
{
	int n = 0;

	if (!len)
		return 0;
	buf[0] = '\0';
	if (pe->index)
		n += scnprintf(buf + n, len - n, "rule %u: ", pe->index);
	if (pe->key)
		n += scnprintf(buf + n, len - n, "field \"%.*s%s\": ",
			       (int)min_t(size_t, pe->klen, EGPU_TB_KEY_SHOWN),
			       pe->key,
			       pe->klen > EGPU_TB_KEY_SHOWN ? "..." : "");
	if (pe->val && value)
		n += scnprintf(buf + n, len - n, "\"%.*s%s\" ",
			       (int)min_t(size_t, pe->vlen, EGPU_TB_VAL_SHOWN),
			       pe->val,
			       pe->vlen > EGPU_TB_VAL_SHOWN ? "..." : "");
	else if (pe->val)
		n += scnprintf(buf + n, len - n, "value ");
	n += scnprintf(buf + n, len - n, "%s", pe->what);
	return n;
}

static void egpu_tb_perr_report(const struct egpu_tb_perr *pe,
				struct netlink_ext_ack *extack, char *err,
				size_t errlen)
{
	char msg[EGPU_TB_ERR_MAX];

	if (err)
		egpu_tb_perr_format(pe, err, errlen, true);
	if (!extack)
		return;
	/* The value only when the whole message fits the extack buffer. */
	if (egpu_tb_perr_format(pe, msg, sizeof(msg), true) >=
	    EGPU_EXTACK_FMT_MAX)
		egpu_tb_perr_format(pe, msg, sizeof(msg), false);
	egpu_extack_set(extack, pe->smsg, msg);
}

/* Record a rule-level problem (no field). */
static int egpu_tb_bad_rule(struct egpu_tb_perr *pe, const char *what)
{
	pe->key = NULL;
	pe->val = NULL;
	pe->what = what;
	pe->smsg = what;
	return -EINVAL;
}

/* ---- parser ---------------------------------------------------------------- */

enum egpu_tb_key {
	EGPU_TB_K_UUID,
	EGPU_TB_K_ID,
	EGPU_TB_K_VENDOR_NAME,
	EGPU_TB_K_DEVICE_NAME,
	EGPU_TB_K_PARENT,
	EGPU_TB_K_ACTION,
	EGPU_TB_K_IOMMU,
	EGPU_TB_K_BIND,
	EGPU_TB_K_CHAIN,
	EGPU_TB_K_COUNT,
};

/*
 * Keys in canonical order, with the static messages used where the kernel
 * has no formatted extack messages (before 6.2): they name the field.
 */
static const struct {
	const char *name;
	const char *twice;
	const char *empty;
	const char *bad;
} egpu_tb_keys[EGPU_TB_K_COUNT] = {
	[EGPU_TB_K_UUID] = {
		.name = "uuid",
		.twice = "field \"uuid\": given twice",
		.empty = "field \"uuid\": value is empty",
		.bad = "field \"uuid\": malformed value (see the rule grammar)",
	},
	[EGPU_TB_K_ID] = {
		.name = "id",
		.twice = "field \"id\": given twice",
		.empty = "field \"id\": value is empty",
		.bad = "field \"id\": malformed value (see the rule grammar)",
	},
	[EGPU_TB_K_VENDOR_NAME] = {
		.name = "vendor_name",
		.twice = "field \"vendor_name\": given twice",
		.empty = "field \"vendor_name\": value is empty",
		.bad = "field \"vendor_name\": malformed value (see the rule grammar)",
	},
	[EGPU_TB_K_DEVICE_NAME] = {
		.name = "device_name",
		.twice = "field \"device_name\": given twice",
		.empty = "field \"device_name\": value is empty",
		.bad = "field \"device_name\": malformed value (see the rule grammar)",
	},
	[EGPU_TB_K_PARENT] = {
		.name = "parent",
		.twice = "field \"parent\": given twice",
		.empty = "field \"parent\": value is empty",
		.bad = "field \"parent\": malformed value (see the rule grammar)",
	},
	[EGPU_TB_K_ACTION] = {
		.name = "action",
		.twice = "field \"action\": given twice",
		.empty = "field \"action\": value is empty",
		.bad = "field \"action\": malformed value (see the rule grammar)",
	},
	[EGPU_TB_K_IOMMU] = {
		.name = "iommu",
		.twice = "field \"iommu\": given twice",
		.empty = "field \"iommu\": value is empty",
		.bad = "field \"iommu\": malformed value (see the rule grammar)",
	},
	[EGPU_TB_K_BIND] = {
		.name = "bind",
		.twice = "field \"bind\": given twice",
		.empty = "field \"bind\": value is empty",
		.bad = "field \"bind\": malformed value (see the rule grammar)",
	},
	[EGPU_TB_K_CHAIN] = {
		.name = "chain",
		.twice = "field \"chain\": given twice",
		.empty = "field \"chain\": value is empty",
		.bad = "field \"chain\": malformed value (see the rule grammar)",
	},
};

static int egpu_tb_bad_value(struct egpu_tb_perr *pe, enum egpu_tb_key k,
			     const char *val, size_t vlen, const char *what)
{
	pe->key = egpu_tb_keys[k].name;
	pe->klen = strlen(pe->key);
	pe->val = val;
	pe->vlen = vlen;
	pe->what = what;
	pe->smsg = egpu_tb_keys[k].bad;
	return -EINVAL;
}

static void egpu_tb_trim(const char **s, size_t *len)
{
	while (*len && isspace((*s)[0])) {
		(*s)++;
		(*len)--;
	}
	while (*len && isspace((*s)[*len - 1]))
		(*len)--;
}

static bool egpu_tb_eq(const char *s, size_t len, const char *lit)
{
	return len == strlen(lit) && !memcmp(s, lit, len);
}

/* 1 to 4 hex digits, either case (as lspci -d accepts them). */
static bool egpu_tb_parse_hex16(const char *s, size_t len, u16 *out)
{
	unsigned int v = 0;
	size_t i;

	if (!len || len > 4)
		return false;
	for (i = 0; i < len; i++) {
		char c = tolower(s[i]);

		if (!isxdigit(c))
			return false;
		v = v << 4 | (isdigit(c) ? c - '0' : c - 'a' + 10);
	}
	*out = v;
	return true;
}

/* "VVVV:DDDD" */
static bool egpu_tb_parse_pci_id(const char *s, size_t len, u16 *vendor,
				 u16 *device)
{
	const char *colon = memchr(s, ':', len);
	size_t vl;

	if (!colon)
		return false;
	vl = colon - s;
	return egpu_tb_parse_hex16(s, vl, vendor) &&
	       egpu_tb_parse_hex16(colon + 1, len - vl - 1, device);
}

/* 8-4-4-4-12 hex digits, either case; uuid_parse() reads exactly 36. */
static bool egpu_tb_parse_uuid(const char *s, size_t len, uuid_t *uuid)
{
	return len == UUID_STRING_LEN && !uuid_parse(s, uuid);
}

static int egpu_tb_bad_field(struct egpu_tb_perr *pe, enum egpu_tb_key k,
			     const char *what, const char *smsg)
{
	egpu_tb_bad_value(pe, k, NULL, 0, what);
	pe->smsg = smsg;
	return -EINVAL;
}

/* vendor_name, device_name: the problem with the value, or NULL. */
enum egpu_tb_name_err { EGPU_TB_NAME_OK, EGPU_TB_NAME_LONG, EGPU_TB_NAME_CHAR };

static enum egpu_tb_name_err egpu_tb_parse_name(const char *s, size_t len,
						char *out)
{
	size_t i;

	if (len > EGPU_TB_NAME_MAX)
		return EGPU_TB_NAME_LONG;
	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c < 0x20 || c == 0x7f || c == ',' || c == ';' || c == '=')
			return EGPU_TB_NAME_CHAR;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return EGPU_TB_NAME_OK;
}

#define EGPU_TB_NAME_LONG_MSG "is longer than " __stringify(EGPU_TB_NAME_MAX) " bytes"
#define EGPU_TB_NAME_CHAR_MSG "has a \",\", \";\", \"=\" or control character"

/* bind=VVVV:DDDD[+VVVV:DDDD...]: the problem, or NULL; *bad the item. */
static const char *egpu_tb_parse_bind(const char *s, size_t len,
				      struct egpu_tb_rule *r, const char **bad,
				      size_t *badlen)
{
	for (;;) {
		const char *plus = memchr(s, '+', len);
		size_t il = plus ? plus - s : len;
		const char *item = s;

		egpu_tb_trim(&item, &il);
		*bad = item;
		*badlen = il;
		if (r->nbind == EGPU_TB_BIND_MAX) {
			*bad = NULL;
			return "has more than " __stringify(EGPU_TB_BIND_MAX) " IDs";
		}
		if (!egpu_tb_parse_pci_id(item, il, &r->bind[r->nbind].vendor,
					  &r->bind[r->nbind].device))
			return "is not VVVV:DDDD";
		r->nbind++;
		if (!plus)
			return NULL;
		len -= plus - s + 1;
		s = plus + 1;
	}
}

/* Parse the value of key @k into @r: the problem with it, or NULL. */
static const char *egpu_tb_parse_value(enum egpu_tb_key k, const char **v,
				       size_t *vl, struct egpu_tb_rule *r)
{
	static const char * const name_err[] = {
		[EGPU_TB_NAME_LONG] = EGPU_TB_NAME_LONG_MSG,
		[EGPU_TB_NAME_CHAR] = EGPU_TB_NAME_CHAR_MSG,
	};
	enum egpu_tb_name_err ne;

	switch (k) {
	case EGPU_TB_K_UUID:
		r->match |= EGPU_TB_MATCH_UUID;
		return egpu_tb_parse_uuid(*v, *vl, &r->uuid) ? NULL : "is not a UUID";
	case EGPU_TB_K_ID:
		r->match |= EGPU_TB_MATCH_ID;
		return egpu_tb_parse_pci_id(*v, *vl, &r->vendor, &r->device) ?
		       NULL : "is not VVVV:DDDD";
	case EGPU_TB_K_VENDOR_NAME:
		r->match |= EGPU_TB_MATCH_VENDOR_NAME;
		ne = egpu_tb_parse_name(*v, *vl, r->vendor_name);
		return ne == EGPU_TB_NAME_OK ? NULL : name_err[ne];
	case EGPU_TB_K_DEVICE_NAME:
		r->match |= EGPU_TB_MATCH_DEVICE_NAME;
		ne = egpu_tb_parse_name(*v, *vl, r->device_name);
		return ne == EGPU_TB_NAME_OK ? NULL : name_err[ne];
	case EGPU_TB_K_PARENT:
		r->match |= EGPU_TB_MATCH_PARENT;
		return egpu_tb_parse_uuid(*v, *vl, &r->parent) ? NULL : "is not a UUID";
	case EGPU_TB_K_ACTION:
		if (egpu_tb_eq(*v, *vl, "authorize"))
			r->action = EGPU_TB_ACTION_AUTHORIZE;
		else if (egpu_tb_eq(*v, *vl, "ignore"))
			r->action = EGPU_TB_ACTION_IGNORE;
		else
			return "is not authorize or ignore";
		return NULL;
	case EGPU_TB_K_IOMMU:
		if (egpu_tb_eq(*v, *vl, "required"))
			r->iommu_optional = false;
		else if (egpu_tb_eq(*v, *vl, "optional"))
			r->iommu_optional = true;
		else
			return "is not required or optional";
		return NULL;
	case EGPU_TB_K_BIND:
		return egpu_tb_parse_bind(*v, *vl, r, v, vl);
	case EGPU_TB_K_CHAIN:
		if (egpu_tb_eq(*v, *vl, "0"))
			r->chain = false;
		else if (egpu_tb_eq(*v, *vl, "1"))
			r->chain = true;
		else
			return "is not 0 or 1";
		return NULL;
	default:
		return "is not known (internal error)";
	}
}

/* One "key=value" field; *seen holds the keys given so far. */
static int egpu_tb_parse_field(struct egpu_tb_perr *pe, const char *s,
			       size_t len, unsigned long *seen,
			       struct egpu_tb_rule *r)
{
	const char *eq, *key, *val, *what;
	size_t klen, vlen;
	int k;

	egpu_tb_trim(&s, &len);
	if (!len)
		return egpu_tb_bad_rule(pe, "empty field");
	eq = memchr(s, '=', len);
	if (!eq) {
		pe->key = s;
		pe->klen = len;
		pe->val = NULL;
		pe->what = "no \"=\" (fields are key=value)";
		pe->smsg = "a field has no \"=\" (fields are key=value)";
		return -EINVAL;
	}
	key = s;
	klen = eq - s;
	egpu_tb_trim(&key, &klen);
	val = eq + 1;
	vlen = len - (eq - s) - 1;
	egpu_tb_trim(&val, &vlen);

	for (k = 0; k < EGPU_TB_K_COUNT; k++)
		if (egpu_tb_eq(key, klen, egpu_tb_keys[k].name))
			break;
	if (k == EGPU_TB_K_COUNT) {
		pe->key = key;
		pe->klen = klen;
		pe->val = NULL;
		pe->what = "unknown key";
		pe->smsg = "a rule has an unknown key";
		return -EINVAL;
	}
	if (*seen & BIT(k))
		return egpu_tb_bad_field(pe, k, "given twice",
					 egpu_tb_keys[k].twice);
	*seen |= BIT(k);
	if (!vlen)
		return egpu_tb_bad_field(pe, k, "value is empty",
					 egpu_tb_keys[k].empty);
	what = egpu_tb_parse_value(k, &val, &vlen, r);
	if (what)
		return egpu_tb_bad_value(pe, k, val, vlen, what);
	return 0;
}

#define EGPU_TB_NO_KEY_MSG "no match key (uuid, id, vendor_name, device_name or parent)"

/* One rule, [s, s + len), no ';'. Initialises *r whatever happens. */
static int egpu_tb_parse_rule(struct egpu_tb_perr *pe, const char *s,
			      size_t len, struct egpu_tb_rule *r)
{
	unsigned long seen = 0;
	int ret;

	memset(r, 0, sizeof(*r));
	refcount_set(&r->ref, 1);
	atomic64_set(&r->hits, 0);

	egpu_tb_trim(&s, &len);
	if (!len)
		return egpu_tb_bad_rule(pe, "empty rule");
	if (len > EGPU_TB_RULE_TEXT_MAX)
		return egpu_tb_bad_rule(pe, "longer than "
					__stringify(EGPU_TB_RULE_TEXT_MAX) " bytes");
	for (;;) {
		const char *comma = memchr(s, ',', len);
		size_t flen = comma ? comma - s : len;

		ret = egpu_tb_parse_field(pe, s, flen, &seen, r);
		if (ret)
			return ret;
		if (!comma)
			break;
		len -= flen + 1;
		s = comma + 1;
	}
	if (!r->match)
		return egpu_tb_bad_rule(pe, EGPU_TB_NO_KEY_MSG);
	return 0;
}

int egpu_tb_rule_parse(const char *text, struct egpu_tb_rule *rule,
		       struct netlink_ext_ack *extack, char *err, size_t errlen)
{
	struct egpu_tb_perr pe = {};
	size_t len = strlen(text);
	int ret;

	if (memchr(text, ';', len)) {
		memset(rule, 0, sizeof(*rule));
		refcount_set(&rule->ref, 1);
		ret = egpu_tb_bad_rule(&pe, "one rule only (\";\" separates rules)");
	} else {
		ret = egpu_tb_parse_rule(&pe, text, len, rule);
	}
	if (ret)
		egpu_tb_perr_report(&pe, extack, err, errlen);
	return ret;
}

/* ---- canonical text ------------------------------------------------------- */

struct egpu_tb_out {
	char *buf;
	size_t len;
	size_t n;	/* length of the whole text so far */
};

static __printf(2, 3) void egpu_tb_put(struct egpu_tb_out *o,
				       const char *fmt, ...)
{
	size_t off = min(o->n, o->len);
	va_list ap;

	va_start(ap, fmt);
	o->n += vsnprintf(o->buf + off, o->len - off, fmt, ap);
	va_end(ap);
}

/* "," before every field but the first. */
static void egpu_tb_sep(struct egpu_tb_out *o)
{
	if (o->n)
		egpu_tb_put(o, ",");
}

int egpu_tb_rule_format(const struct egpu_tb_rule *r, char *buf, size_t len)
{
	struct egpu_tb_out o = { .buf = buf, .len = len };
	unsigned int i;

	if (len)
		buf[0] = '\0';
	/* Keys in the uAPI's order, defaults omitted. */
	if (r->match & EGPU_TB_MATCH_UUID)
		egpu_tb_put(&o, "uuid=%pUb", &r->uuid);
	if (r->match & EGPU_TB_MATCH_ID) {
		egpu_tb_sep(&o);
		egpu_tb_put(&o, "id=%04x:%04x", r->vendor, r->device);
	}
	if (r->match & EGPU_TB_MATCH_VENDOR_NAME) {
		egpu_tb_sep(&o);
		egpu_tb_put(&o, "vendor_name=%s", r->vendor_name);
	}
	if (r->match & EGPU_TB_MATCH_DEVICE_NAME) {
		egpu_tb_sep(&o);
		egpu_tb_put(&o, "device_name=%s", r->device_name);
	}
	if (r->match & EGPU_TB_MATCH_PARENT) {
		egpu_tb_sep(&o);
		egpu_tb_put(&o, "parent=%pUb", &r->parent);
	}
	if (r->action == EGPU_TB_ACTION_IGNORE) {
		egpu_tb_sep(&o);
		egpu_tb_put(&o, "action=ignore");
	}
	if (r->iommu_optional) {
		egpu_tb_sep(&o);
		egpu_tb_put(&o, "iommu=optional");
	}
	for (i = 0; i < r->nbind; i++) {
		if (!i)
			egpu_tb_sep(&o);
		egpu_tb_put(&o, "%s%04x:%04x", i ? "+" : "bind=",
			    r->bind[i].vendor, r->bind[i].device);
	}
	if (r->chain) {
		egpu_tb_sep(&o);
		egpu_tb_put(&o, "chain=1");
	}
	return o.n;
}

/* ---- matcher -------------------------------------------------------------- */

bool egpu_tb_rule_matches(const struct egpu_tb_rule *r,
			  const struct egpu_tb_match_info *info)
{
	u32 m = r->match;

	if ((m & EGPU_TB_MATCH_UUID) &&
	    (!info->uuid || !uuid_equal(info->uuid, &r->uuid)))
		return false;
	if ((m & EGPU_TB_MATCH_ID) &&
	    (info->vendor != r->vendor || info->device != r->device))
		return false;
	if ((m & EGPU_TB_MATCH_VENDOR_NAME) &&
	    (!info->vendor_name || strcmp(info->vendor_name, r->vendor_name)))
		return false;
	if ((m & EGPU_TB_MATCH_DEVICE_NAME) &&
	    (!info->device_name || strcmp(info->device_name, r->device_name)))
		return false;
	if ((m & EGPU_TB_MATCH_PARENT) &&
	    (!info->parent_uuid || !uuid_equal(info->parent_uuid, &r->parent)))
		return false;
	return m != 0;
}

/* ---- the live set ---------------------------------------------------------- */

#ifdef EGPU_KUNIT
/* The KUnit suite lowers it to test the limit without 16384 rules. */
static unsigned int egpu_tb_rules_max = EGPU_TB_RULES_MAX;

static unsigned int egpu_tb_max(void)
{
	return READ_ONCE(egpu_tb_rules_max);
}
#else
static unsigned int egpu_tb_max(void)
{
	return EGPU_TB_RULES_MAX;
}
#endif

static struct egpu_tb_ruleset __rcu *egpu_tb_live;
static DEFINE_MUTEX(egpu_tb_rules_lock);
static u32 egpu_tb_next_id = 1;			/* under egpu_tb_rules_lock */
static bool egpu_tb_rules_ready;		/* under egpu_tb_rules_lock */
static char *egpu_tb_rules_pending;		/* tb_rules given at load */

struct egpu_tb_rule *egpu_tb_rule_alloc(void)
{
	return kzalloc(sizeof(struct egpu_tb_rule), GFP_KERNEL);
}

void egpu_tb_rule_put(struct egpu_tb_rule *rule)
{
	if (rule && refcount_dec_and_test(&rule->ref))
		kfree(rule);
}

static struct egpu_tb_ruleset *egpu_tb_set_alloc(unsigned int cap)
{
	struct egpu_tb_ruleset *set;

	set = kvzalloc(struct_size(set, rules, cap), GFP_KERNEL);
	if (set)
		set->cap = cap;
	return set;
}

/*
 * Free an array and drop the references it owns: all of a snapshot's, all
 * of an unpublished or replaced set's (drop_all), or the one rule a delete
 * removed (drop). Any context (RCU callbacks too): kvfree() defers a
 * vfree() from softirq.
 */
static void egpu_tb_set_free(struct egpu_tb_ruleset *set)
{
	unsigned int i;

	if (set->snapshot || set->drop_all)
		for (i = 0; i < set->n; i++)
			egpu_tb_rule_put(set->rules[i]);
	else
		egpu_tb_rule_put(set->drop);
	kvfree(set);
}

static void egpu_tb_set_rcu_free(struct rcu_head *head)
{
	egpu_tb_set_free(container_of(head, struct egpu_tb_ruleset, rcu));
}

void egpu_tb_ruleset_put(struct egpu_tb_ruleset *set)
{
	if (set)
		egpu_tb_set_free(set);
}

static unsigned int egpu_tb_set_n(const struct egpu_tb_ruleset *set)
{
	/* Pairs with the release in add: slots [0, n) are written. */
	return set ? smp_load_acquire(&set->n) : 0;
}

struct egpu_tb_ruleset *egpu_tb_ruleset_get(void)
{
	struct egpu_tb_ruleset *live, *copy = NULL;
	unsigned int i;

	mutex_lock(&egpu_tb_rules_lock);
	live = rcu_dereference_protected(egpu_tb_live,
					 lockdep_is_held(&egpu_tb_rules_lock));
	if (live)
		copy = egpu_tb_set_alloc(live->n);
	if (copy) {
		copy->snapshot = true;
		for (i = 0; i < live->n; i++) {
			refcount_inc(&live->rules[i]->ref);
			copy->rules[i] = live->rules[i];
		}
		copy->n = live->n;
	}
	mutex_unlock(&egpu_tb_rules_lock);
	return copy;
}

struct egpu_tb_rule *egpu_tb_rules_match(const struct egpu_tb_match_info *info)
{
	struct egpu_tb_rule *found = NULL;
	struct egpu_tb_ruleset *set;
	unsigned int i, n;

	rcu_read_lock();
	set = rcu_dereference(egpu_tb_live);
	n = egpu_tb_set_n(set);
	for (i = 0; i < n; i++) {
		struct egpu_tb_rule *r = set->rules[i];

		if (egpu_tb_rule_matches(r, info)) {
			/*
			 * The live set's reference is dropped only a grace
			 * period after r leaves it: this cannot be 0.
			 */
			refcount_inc(&r->ref);
			atomic64_inc(&r->hits);
			found = r;
			break;
		}
	}
	rcu_read_unlock();
	return found;
}

static u32 egpu_tb_new_id(void)
{
	u32 id = egpu_tb_next_id++;

	lockdep_assert_held(&egpu_tb_rules_lock);
	if (!egpu_tb_next_id)
		egpu_tb_next_id = 1;
	return id;
}

/*
 * Publish @set as the live set. The old array goes after a grace period,
 * with the references of the rules that left the set: all of them
 * (@drop_all: a replace) or @drop (a delete); none when the set only grew.
 */
static void egpu_tb_publish(struct egpu_tb_ruleset *set, bool drop_all,
			    struct egpu_tb_rule *drop)
{
	struct egpu_tb_ruleset *old;

	old = rcu_replace_pointer(egpu_tb_live, set,
				  lockdep_is_held(&egpu_tb_rules_lock));
	if (old) {
		old->drop_all = drop_all;
		old->drop = drop;
		call_rcu(&old->rcu, egpu_tb_set_rcu_free);
	}
}

/*
 * The next non-empty rule of a set's text: *pos is where to look (NULL at
 * the end). Returns true with the rule, trimmed, in [*seg, *seg + *len).
 */
static bool egpu_tb_next_rule(const char **pos, const char **seg, size_t *len)
{
	while (*pos) {
		const char *p = *pos;
		const char *end = strchrnul(p, ';');

		*pos = *end ? end + 1 : NULL;
		*seg = p;
		*len = end - p;
		egpu_tb_trim(seg, len);
		if (*len)
			return true;
	}
	return false;
}

/*
 * Parse a whole set into a new, unpublished set (IDs 0). -EINVAL (with
 * *pe), -ENOSPC beyond EGPU_TB_RULES_MAX rules, -ENOMEM.
 */
static int egpu_tb_set_parse(const char *text, struct egpu_tb_ruleset **out,
			     struct egpu_tb_perr *pe)
{
	struct egpu_tb_ruleset *set;
	unsigned int count = 0;
	const char *pos, *seg;
	size_t len;
	int ret;

	pos = text;
	while (egpu_tb_next_rule(&pos, &seg, &len)) {
		if (count == egpu_tb_max()) {
			pe->index = 0;
			egpu_tb_bad_rule(pe, "more than " __stringify(EGPU_TB_RULES_MAX) " rules");
			return -ENOSPC;
		}
		count++;
	}
	set = egpu_tb_set_alloc(count);
	if (!set)
		return -ENOMEM;
	pos = text;
	while (set->n < count && egpu_tb_next_rule(&pos, &seg, &len)) {
		struct egpu_tb_rule *r = egpu_tb_rule_alloc();

		if (!r) {
			ret = -ENOMEM;
			goto err;
		}
		pe->index = set->n + 1;
		ret = egpu_tb_parse_rule(pe, seg, len, r);
		if (ret) {
			kfree(r);
			goto err;
		}
		set->rules[set->n++] = r;
	}
	*out = set;
	return 0;

err:
	set->drop_all = true;
	egpu_tb_set_free(set);
	return ret;
}

/* Give the rules of an unpublished set their IDs and publish it. */
static void egpu_tb_publish_new(struct egpu_tb_ruleset *set)
{
	unsigned int i;

	for (i = 0; i < set->n; i++)
		set->rules[i]->id = egpu_tb_new_id();
	egpu_tb_publish(set, true, NULL);
}

static int egpu_tb_replace(const char *text, struct netlink_ext_ack *extack,
			   char *err, size_t errlen)
{
	struct egpu_tb_ruleset *set;
	struct egpu_tb_perr pe = {};
	int ret;

	ret = egpu_tb_set_parse(text, &set, &pe);
	if (ret == -ENOMEM)
		return ret;
	if (ret) {
		egpu_tb_perr_report(&pe, extack, err, errlen);
		return ret;
	}
	mutex_lock(&egpu_tb_rules_lock);
	if (egpu_tb_rules_ready)
		egpu_tb_publish_new(set);
	else
		ret = -ENODEV;
	mutex_unlock(&egpu_tb_rules_lock);
	if (ret) {
		set->drop_all = true;
		egpu_tb_set_free(set);
		return ret;
	}
	egpu_tb_policy_rules_changed();
	return 0;
}

int egpu_tb_rules_replace(const char *text, struct netlink_ext_ack *extack)
{
	return egpu_tb_replace(text, extack, NULL, 0);
}

/*
 * Append: in place while the array has room (readers see the old or the
 * new count, never a half-written slot: the slot is written before the
 * count is released), else into a new array of twice the size, so adding
 * N rules one by one costs O(N), not O(N^2).
 */
int egpu_tb_rules_add_rule(struct egpu_tb_rule *rule, u32 *id,
			   struct netlink_ext_ack *extack)
{
	struct egpu_tb_ruleset *old, *set;
	unsigned int n;
	int ret = 0;

	mutex_lock(&egpu_tb_rules_lock);
	old = rcu_dereference_protected(egpu_tb_live,
					lockdep_is_held(&egpu_tb_rules_lock));
	if (!egpu_tb_rules_ready || !old) {
		ret = -ENODEV;
		goto out;
	}
	n = old->n;
	if (n >= egpu_tb_max()) {
		NL_SET_ERR_MSG(extack, "egpu_gate: the rule set is full ("
			       __stringify(EGPU_TB_RULES_MAX) " rules)");
		ret = -ENOSPC;
		goto out;
	}
	rule->id = egpu_tb_new_id();
	if (id)
		*id = rule->id;
	if (n < old->cap) {
		old->rules[n] = rule;
		/* Publish the slot before the count (see egpu_tb_set_n()). */
		smp_store_release(&old->n, n + 1);
	} else {
		set = egpu_tb_set_alloc(clamp(2 * n, 16U, (unsigned int)EGPU_TB_RULES_MAX));
		if (!set) {
			ret = -ENOMEM;
			goto out;
		}
		memcpy(set->rules, old->rules, n * sizeof(set->rules[0]));
		set->rules[n] = rule;
		set->n = n + 1;
		egpu_tb_publish(set, false, NULL);
	}
	rule = NULL;		/* the live set owns it now */
out:
	mutex_unlock(&egpu_tb_rules_lock);
	egpu_tb_rule_put(rule);
	if (!ret)
		egpu_tb_policy_rules_changed();
	return ret;
}

int egpu_tb_rules_add(const char *text, u32 *id,
		      struct netlink_ext_ack *extack)
{
	struct egpu_tb_rule *rule = egpu_tb_rule_alloc();
	int ret;

	if (!rule)
		return -ENOMEM;
	ret = egpu_tb_rule_parse(text, rule, extack, NULL, 0);
	if (ret) {
		kfree(rule);
		return ret;
	}
	return egpu_tb_rules_add_rule(rule, id, extack);
}

int egpu_tb_rules_del(u32 id)
{
	struct egpu_tb_ruleset *old, *set;
	unsigned int i, j;
	int ret = 0;

	mutex_lock(&egpu_tb_rules_lock);
	old = rcu_dereference_protected(egpu_tb_live,
					lockdep_is_held(&egpu_tb_rules_lock));
	if (!egpu_tb_rules_ready || !old) {
		ret = -ENODEV;
		goto out;
	}
	for (i = 0; i < old->n; i++)
		if (old->rules[i]->id == id)
			break;
	if (i == old->n) {
		ret = -ENOENT;
		goto out;
	}
	set = egpu_tb_set_alloc(old->cap);
	if (!set) {
		ret = -ENOMEM;
		goto out;
	}
	for (j = 0; j < old->n; j++)
		if (j != i)
			set->rules[set->n++] = old->rules[j];
	egpu_tb_publish(set, false, old->rules[i]);
out:
	mutex_unlock(&egpu_tb_rules_lock);
	if (!ret)
		egpu_tb_policy_rules_changed();
	return ret;
}

/* ---- module parameter tb_rules ---------------------------------------------- */

/*
 * Store. At load (before egpu_tb_rules_init(), possibly from the kernel
 * command line or the initramfs' modprobe.d) the text is kept and parsed
 * by egpu_tb_rules_init(), which logs a malformed value and starts with
 * no rule (default deny) so the module still loads. Later a malformed
 * value fails (-EINVAL) and changes nothing.
 */
static int egpu_tb_param_set(const char *val, const struct kernel_param *kp)
{
	char err[EGPU_TB_ERR_MAX];
	char *copy;
	int ret;

	if (!val)		/* "tb_rules" without a value */
		val = "";
	mutex_lock(&egpu_tb_rules_lock);
	if (!egpu_tb_rules_ready) {
		copy = kstrdup(val, GFP_KERNEL);
		if (copy) {
			kfree(egpu_tb_rules_pending);
			egpu_tb_rules_pending = copy;
		}
		mutex_unlock(&egpu_tb_rules_lock);
		return copy ? 0 : -ENOMEM;
	}
	mutex_unlock(&egpu_tb_rules_lock);

	ret = egpu_tb_replace(val, NULL, err, sizeof(err));
	if (ret == -EINVAL || ret == -ENOSPC)
		pr_warn("tb_rules not changed: %s\n", err);
	return ret;
}

/*
 * Show: the canonical text of the live set, ";"-separated. A sysfs read
 * holds one page: when the set does not fit, only the whole rules that
 * fit are shown (the set itself is complete; netlink, "egpuctl tb rules",
 * lists every rule).
 */
static int egpu_tb_param_get(char *buffer, const struct kernel_param *kp)
{
	char text[EGPU_TB_RULE_TEXT_MAX + 1];
	struct egpu_tb_ruleset *set;
	unsigned int i, count;
	size_t n = 0;
	int len;

	rcu_read_lock();
	set = rcu_dereference(egpu_tb_live);
	count = egpu_tb_set_n(set);
	for (i = 0; i < count; i++) {
		len = egpu_tb_rule_format(set->rules[i], text, sizeof(text));
		/* separator + text + "\n" + NUL */
		if (n + !!i + len + 2 > PAGE_SIZE)
			break;
		n += scnprintf(buffer + n, PAGE_SIZE - n, "%s%s",
			       i ? ";" : "", text);
	}
	rcu_read_unlock();
	n += scnprintf(buffer + n, PAGE_SIZE - n, "\n");
	return n;
}

/* Module teardown (also when the load fails after the parameters). */
/*
 * Called by free_module() after the parameter's sysfs file is gone and the
 * module is MODULE_STATE_UNFORMED: nothing can race with it, and taking
 * egpu_tb_rules_lock here made lockdep report a "non-static key" (it no
 * longer sees the module's data as static) and switch itself off, after a
 * failed load.
 */
static void egpu_tb_param_free(void *arg)
{
	kfree(egpu_tb_rules_pending);
	egpu_tb_rules_pending = NULL;
}

static const struct kernel_param_ops egpu_tb_rules_ops = {
	.set = egpu_tb_param_set,
	.get = egpu_tb_param_get,
	.free = egpu_tb_param_free,
};
module_param_cb(tb_rules, &egpu_tb_rules_ops, NULL, 0644);
MODULE_PARM_DESC(tb_rules,
		 "Thunderbolt authorization rules, \";\"-separated (grammar in uapi/egpu_gate.h; default: none, deny). Reading shows at most one page; egpuctl tb rules lists all");

int egpu_tb_rules_init(void)
{
	struct egpu_tb_ruleset *set = NULL;
	struct egpu_tb_perr pe = {};
	char err[EGPU_TB_ERR_MAX];
	int ret = 0;

	mutex_lock(&egpu_tb_rules_lock);
	if (egpu_tb_rules_pending) {
		ret = egpu_tb_set_parse(egpu_tb_rules_pending, &set, &pe);
		if (ret && ret != -ENOMEM) {
			egpu_tb_perr_format(&pe, err, sizeof(err), true);
			pr_err("tb_rules ignored, no Thunderbolt rule is active (default deny): %s\n",
			       err);
			set = NULL;
			ret = 0;
		}
		kfree(egpu_tb_rules_pending);
		egpu_tb_rules_pending = NULL;
	}
	if (!ret && !set) {
		set = egpu_tb_set_alloc(0);
		if (!set)
			ret = -ENOMEM;
	}
	if (!ret) {
		egpu_tb_publish_new(set);
		egpu_tb_rules_ready = true;
		if (set->n)
			pr_info("%u Thunderbolt rules active\n", set->n);
	}
	mutex_unlock(&egpu_tb_rules_lock);
	if (ret)
		pr_err("cannot set up the Thunderbolt rules: %d\n", ret);
	return ret;
}

void egpu_tb_rules_exit(void)
{
	mutex_lock(&egpu_tb_rules_lock);
	egpu_tb_rules_ready = false;
	egpu_tb_publish(NULL, true, NULL);
	mutex_unlock(&egpu_tb_rules_lock);
	/* Every set dropped by call_rcu() is freed before the module goes. */
	rcu_barrier();
}

#ifdef EGPU_KUNIT
#include "tb_rule_test.c"
#endif
