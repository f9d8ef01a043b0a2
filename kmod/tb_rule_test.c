// SPDX-License-Identifier: GPL-2.0
/*
 * tb_rule_test.c - KUnit suite for tb_rule.c: every field and error of the
 * rule grammar, the canonical text, the matcher, the live set (replace,
 * add, del, their atomicity, IDs, hit counts, references), the module
 * parameter tb_rules and a match-cost measurement. #included at the end
 * of tb_rule.c when built with EGPU_KUNIT=1.
 *
 * The suites run after the module's init, so these cases work on the real
 * live set; each case leaves it empty (suite exit).
 */
#include <kunit/test.h>
#include <linux/ktime.h>
#include <linux/sched.h>

#define T_UUID "d1e2a3b4-0000-0000-0000-000000000001"
#define T_UUID_UPPER "D1E2A3B4-0000-0000-0000-00000000000A"
#define T_PARENT "0a0b0c0d-1111-2222-3333-444455556666"
#define T_OPTS "id=1:2,action=ignore,iommu=optional,bind=1002:687f+1002:aaf8,chain=1"
#define T_DIGITS40 "0123456789012345678901234567890123456789"
#define T_NAMECHAR "has a \",\", \";\", \"=\" or control character"

static int egpu_tb_tp(struct egpu_tb_rule *r, const char *text)
{
	return egpu_tb_rule_parse(text, r, NULL, NULL, 0);
}

static struct egpu_tb_rule *egpu_tb_test_rule(struct kunit *test)
{
	struct egpu_tb_rule *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, r);
	return r;
}

/* Parse @text, expect success, return its canonical text (test memory). */
static char *egpu_tb_test_canon(struct kunit *test, const char *text)
{
	struct egpu_tb_rule *r = egpu_tb_test_rule(test);
	char *buf = kunit_kzalloc(test, EGPU_TB_RULE_TEXT_MAX + 1, GFP_KERNEL);
	char err[EGPU_TB_ERR_MAX] = "";
	int len;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_EQ_MSG(test, 0,
			    egpu_tb_rule_parse(text, r, NULL, err, sizeof(err)),
			    "text \"%s\": %s", text, err);
	len = egpu_tb_rule_format(r, buf, EGPU_TB_RULE_TEXT_MAX + 1);
	KUNIT_EXPECT_EQ(test, len, (int)strlen(buf));
	KUNIT_EXPECT_LE(test, len, EGPU_TB_RULE_TEXT_MAX);
	return buf;
}

/* The text of the live set as the parameter shows it (test memory). */
static char *egpu_tb_test_param(struct kunit *test)
{
	char *buf = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	egpu_tb_param_get(buf, NULL);
	return buf;
}

static unsigned int egpu_tb_test_count(void)
{
	struct egpu_tb_ruleset *set = egpu_tb_ruleset_get();
	unsigned int n = set ? set->n : 0;

	egpu_tb_ruleset_put(set);
	return n;
}

/* Two snapshots hold the same rules (the very same objects, in order). */
static void egpu_tb_test_same(struct kunit *test, const struct egpu_tb_ruleset *a,
			      const struct egpu_tb_ruleset *b)
{
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_ASSERT_EQ(test, a->n, b->n);
	for (i = 0; i < a->n; i++)
		KUNIT_EXPECT_PTR_EQ(test, a->rules[i], b->rules[i]);
}

static void egpu_tb_rule_test_fields(struct kunit *test)
{
	struct egpu_tb_rule *r = egpu_tb_test_rule(test);
	uuid_t u, p;

	KUNIT_ASSERT_EQ(test, 0, uuid_parse(T_UUID, &u));
	KUNIT_ASSERT_EQ(test, 0, uuid_parse(T_PARENT, &p));

	KUNIT_ASSERT_EQ(test, 0, egpu_tb_rule_parse("uuid=" T_UUID, r, NULL, NULL, 0));
	KUNIT_EXPECT_EQ(test, r->match, (u32)EGPU_TB_MATCH_UUID);
	KUNIT_EXPECT_TRUE(test, uuid_equal(&r->uuid, &u));
	KUNIT_EXPECT_EQ(test, r->action, EGPU_TB_ACTION_AUTHORIZE);
	KUNIT_EXPECT_FALSE(test, r->iommu_optional);
	KUNIT_EXPECT_FALSE(test, r->chain);
	KUNIT_EXPECT_EQ(test, r->nbind, 0U);
	KUNIT_EXPECT_EQ(test, r->id, 0U);
	KUNIT_EXPECT_EQ(test, refcount_read(&r->ref), 1U);

	KUNIT_ASSERT_EQ(test, 0, egpu_tb_rule_parse("id=8086:0b26", r, NULL, NULL, 0));
	KUNIT_EXPECT_EQ(test, r->match, (u32)EGPU_TB_MATCH_ID);
	KUNIT_EXPECT_EQ(test, r->vendor, 0x8086);
	KUNIT_EXPECT_EQ(test, r->device, 0x0b26);

	/* 1 to 4 digits, either case */
	KUNIT_ASSERT_EQ(test, 0, egpu_tb_rule_parse("id=1:AbC", r, NULL, NULL, 0));
	KUNIT_EXPECT_EQ(test, r->vendor, 0x1);
	KUNIT_EXPECT_EQ(test, r->device, 0xabc);

	KUNIT_ASSERT_EQ(test, 0, egpu_tb_rule_parse("vendor_name=Razer Inc.", r, NULL, NULL, 0));
	KUNIT_EXPECT_EQ(test, r->match, (u32)EGPU_TB_MATCH_VENDOR_NAME);
	KUNIT_EXPECT_STREQ(test, r->vendor_name, "Razer Inc.");

	KUNIT_ASSERT_EQ(test, 0, egpu_tb_rule_parse("device_name=Core X Chroma", r, NULL, NULL, 0));
	KUNIT_EXPECT_EQ(test, r->match, (u32)EGPU_TB_MATCH_DEVICE_NAME);
	KUNIT_EXPECT_STREQ(test, r->device_name, "Core X Chroma");

	KUNIT_ASSERT_EQ(test, 0, egpu_tb_rule_parse("parent=" T_PARENT, r, NULL, NULL, 0));
	KUNIT_EXPECT_EQ(test, r->match, (u32)EGPU_TB_MATCH_PARENT);
	KUNIT_EXPECT_TRUE(test, uuid_equal(&r->parent, &p));

	KUNIT_ASSERT_EQ(test, 0,
			egpu_tb_tp(r, T_OPTS));
	KUNIT_EXPECT_EQ(test, r->action, EGPU_TB_ACTION_IGNORE);
	KUNIT_EXPECT_TRUE(test, r->iommu_optional);
	KUNIT_EXPECT_TRUE(test, r->chain);
	KUNIT_ASSERT_EQ(test, r->nbind, 2U);
	KUNIT_EXPECT_EQ(test, r->bind[0].vendor, 0x1002);
	KUNIT_EXPECT_EQ(test, r->bind[0].device, 0x687f);
	KUNIT_EXPECT_EQ(test, r->bind[1].vendor, 0x1002);
	KUNIT_EXPECT_EQ(test, r->bind[1].device, 0xaaf8);

	/* explicit defaults */
	KUNIT_ASSERT_EQ(test, 0,
			egpu_tb_rule_parse("id=1:2,action=authorize,iommu=required,chain=0",
					   r, NULL, NULL, 0));
	KUNIT_EXPECT_EQ(test, r->action, EGPU_TB_ACTION_AUTHORIZE);
	KUNIT_EXPECT_FALSE(test, r->iommu_optional);
	KUNIT_EXPECT_FALSE(test, r->chain);

	/* every match key at once, spaces around fields, keys and values */
	KUNIT_ASSERT_EQ(test, 0,
			egpu_tb_tp(r, " uuid = " T_UUID_UPPER
				   " ,\tid=8086:1 , vendor_name= A B ,device_name=C,parent="
				   T_PARENT "\n"));
	KUNIT_EXPECT_EQ(test, r->match, (u32)(EGPU_TB_MATCH_UUID | EGPU_TB_MATCH_ID |
					      EGPU_TB_MATCH_VENDOR_NAME |
					      EGPU_TB_MATCH_DEVICE_NAME |
					      EGPU_TB_MATCH_PARENT));
	KUNIT_EXPECT_STREQ(test, r->vendor_name, "A B");
	KUNIT_EXPECT_STREQ(test, r->device_name, "C");
}

/* A malformed rule and the exact message it must produce. */
struct egpu_tb_err_case {
	const char *text;
	const char *msg;
};

static const struct egpu_tb_err_case egpu_tb_err_cases[] = {
	{ "", "empty rule" },
	{ " \t ", "empty rule" },
	{ "id=1:2,,chain=1", "empty field" },
	{ "id=1:2,", "empty field" },
	{ ",id=1:2", "empty field" },
	{ "id=1:2;id=3:4", "one rule only (\";\" separates rules)" },
	{ "foo=1", "field \"foo\": unknown key" },
	{ "ID=1:2", "field \"ID\": unknown key" },
	{ "=1", "field \"\": unknown key" },
	{ "id", "field \"id\": no \"=\" (fields are key=value)" },
	{ "id=1:2,chain", "field \"chain\": no \"=\" (fields are key=value)" },
	{ "action=ignore", "no match key (uuid, id, vendor_name, device_name or parent)" },
	{ "bind=1002:687f", "no match key (uuid, id, vendor_name, device_name or parent)" },
	/* uuid */
	{ "uuid=", "field \"uuid\": value is empty" },
	{ "uuid=xyz", "field \"uuid\": \"xyz\" is not a UUID" },
	{ "uuid=d1e2a3b4-0000-0000-0000-00000000000g",
	  "field \"uuid\": \"d1e2a3b4-0000-0000-0000-...\" is not a UUID" },
	{ "uuid=d1e2a3b4-0000-0000-0000-0000000000011",
	  "field \"uuid\": \"d1e2a3b4-0000-0000-0000-...\" is not a UUID" },
	{ "uuid=d1e2a3b400000000000000000000000001",
	  "field \"uuid\": \"d1e2a3b40000000000000000...\" is not a UUID" },
	{ "uuid=" T_UUID ",uuid=" T_UUID, "field \"uuid\": given twice" },
	/* id */
	{ "id=", "field \"id\": value is empty" },
	{ "id=1002:zz", "field \"id\": \"1002:zz\" is not VVVV:DDDD" },
	{ "id=1002", "field \"id\": \"1002\" is not VVVV:DDDD" },
	{ "id=10020:1", "field \"id\": \"10020:1\" is not VVVV:DDDD" },
	{ "id=1002:", "field \"id\": \"1002:\" is not VVVV:DDDD" },
	{ ":1", "field \":1\": no \"=\" (fields are key=value)" },
	{ "id=:1", "field \"id\": \":1\" is not VVVV:DDDD" },
	{ "id=0x10:1", "field \"id\": \"0x10:1\" is not VVVV:DDDD" },
	{ "id=1:2:3", "field \"id\": \"1:2:3\" is not VVVV:DDDD" },
	{ "id=1:2,id=1:2", "field \"id\": given twice" },
	/* names */
	{ "vendor_name=", "field \"vendor_name\": value is empty" },
	{ "vendor_name=a=b", "field \"vendor_name\": \"a=b\" " T_NAMECHAR },
	{ "vendor_name=a\x01", "field \"vendor_name\": \"a\x01\" " T_NAMECHAR },
	{ "device_name=a\tb", "field \"device_name\": \"a\tb\" " T_NAMECHAR },
	{ "device_name=a\x7f", "field \"device_name\": \"a\x7f\" " T_NAMECHAR },
	{ "vendor_name=0123456789012345678901234567890123456789012345678901234567890123",
	  "field \"vendor_name\": \"012345678901234567890123...\" is longer than 63 bytes" },
	{ "device_name=0123456789012345678901234567890123456789012345678901234567890123",
	  "field \"device_name\": \"012345678901234567890123...\" is longer than 63 bytes" },
	{ "vendor_name=a,vendor_name=a", "field \"vendor_name\": given twice" },
	{ "device_name=a,device_name=b", "field \"device_name\": given twice" },
	/* parent */
	{ "parent=", "field \"parent\": value is empty" },
	{ "parent=0-1", "field \"parent\": \"0-1\" is not a UUID" },
	{ "parent=" T_PARENT ",parent=" T_PARENT, "field \"parent\": given twice" },
	/* options */
	{ "id=1:2,action=", "field \"action\": value is empty" },
	{ "id=1:2,action=allow", "field \"action\": \"allow\" is not authorize or ignore" },
	{ "id=1:2,action=Ignore", "field \"action\": \"Ignore\" is not authorize or ignore" },
	{ "id=1:2,action=ignore,action=ignore", "field \"action\": given twice" },
	{ "id=1:2,iommu=off", "field \"iommu\": \"off\" is not required or optional" },
	{ "id=1:2,iommu=optional,iommu=required", "field \"iommu\": given twice" },
	{ "id=1:2,chain=2", "field \"chain\": \"2\" is not 0 or 1" },
	{ "id=1:2,chain=yes", "field \"chain\": \"yes\" is not 0 or 1" },
	{ "id=1:2,chain=1,chain=1", "field \"chain\": given twice" },
	{ "id=1:2,bind=", "field \"bind\": value is empty" },
	{ "id=1:2,bind=1002:zz", "field \"bind\": \"1002:zz\" is not VVVV:DDDD" },
	{ "id=1:2,bind=1002:687f+1002:zz", "field \"bind\": \"1002:zz\" is not VVVV:DDDD" },
	{ "id=1:2,bind=1002:687f+", "field \"bind\": \"\" is not VVVV:DDDD" },
	{ "id=1:2,bind=1:1+1:2+1:3+1:4+1:5+1:6+1:7+1:8+1:9",
	  "field \"bind\": has more than 8 IDs" },
	{ "id=1:2,bind=1:1,bind=1:2", "field \"bind\": given twice" },
	/* a long key is cut in the message */
	{ "abcdefghijklmnopqrstuvwxyz=1", "field \"abcdefghijklmnopqrst...\": unknown key" },
};

static void egpu_tb_rule_test_errors(struct kunit *test)
{
	struct egpu_tb_rule *r = egpu_tb_test_rule(test);
	char err[EGPU_TB_ERR_MAX];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(egpu_tb_err_cases); i++) {
		const struct egpu_tb_err_case *c = &egpu_tb_err_cases[i];

		strscpy(err, "(none)", sizeof(err));
		KUNIT_EXPECT_EQ_MSG(test, -EINVAL,
				    egpu_tb_rule_parse(c->text, r, NULL, err, sizeof(err)),
				    "text \"%s\"", c->text);
		KUNIT_EXPECT_STREQ_MSG(test, err, c->msg, "text \"%s\"", c->text);
		/* a failed parse leaves a rule that can be dropped */
		KUNIT_EXPECT_EQ(test, refcount_read(&r->ref), 1U);
	}
}

/* "  id=1:2,<spaces>chain=1   ": 14 + @spaces bytes once trimmed. */
static void egpu_tb_test_long(char *text, size_t spaces)
{
	size_t n = scnprintf(text, 1024, "  id=1:2,");

	memset(text + n, ' ', spaces);
	scnprintf(text + n + spaces, 1024 - n - spaces, "chain=1   ");
}

/* Rule-level limits: exactly at the limit passes, one beyond fails. */
static void egpu_tb_rule_test_limits(struct kunit *test)
{
	struct egpu_tb_rule *r = egpu_tb_test_rule(test);
	char *text = kunit_kzalloc(test, 1024, GFP_KERNEL);
	char err[EGPU_TB_ERR_MAX];
	size_t n;

	KUNIT_ASSERT_NOT_NULL(test, text);

	/* name: 63 bytes */
	n = scnprintf(text, 1024, "vendor_name=");
	memset(text + n, 'v', EGPU_TB_NAME_MAX);
	text[n + EGPU_TB_NAME_MAX] = '\0';
	KUNIT_EXPECT_EQ(test, 0, egpu_tb_rule_parse(text, r, NULL, NULL, 0));
	KUNIT_EXPECT_EQ(test, strlen(r->vendor_name), (size_t)EGPU_TB_NAME_MAX);
	strcat(text, "v");
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_tb_rule_parse(text, r, NULL, NULL, 0));
	/* UTF-8 is fine: only bytes count */
	KUNIT_EXPECT_EQ(test, 0, egpu_tb_tp(r, "device_name=Ger\xc3\xa4t \xe2\x84\xa2"));
	KUNIT_EXPECT_STREQ(test, r->device_name, "Ger\xc3\xa4t \xe2\x84\xa2");

	/* bind: 8 IDs */
	KUNIT_EXPECT_EQ(test, 0,
			egpu_tb_rule_parse("id=1:2,bind=1:1+1:2+1:3+1:4+1:5+1:6+1:7+1:8",
					   r, NULL, NULL, 0));
	KUNIT_EXPECT_EQ(test, r->nbind, (unsigned int)EGPU_TB_BIND_MAX);
	KUNIT_EXPECT_EQ(test, r->bind[7].device, 8);

	/* rule text: 511 bytes; spaces inside count, outer ones do not */
	egpu_tb_test_long(text, EGPU_TB_RULE_TEXT_MAX - 14);
	KUNIT_EXPECT_EQ_MSG(test, 0, egpu_tb_rule_parse(text, r, NULL, err, sizeof(err)),
			    "%s", err);
	KUNIT_EXPECT_TRUE(test, r->chain);
	egpu_tb_test_long(text, EGPU_TB_RULE_TEXT_MAX - 13);
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_tb_rule_parse(text, r, NULL, err, sizeof(err)));
	KUNIT_EXPECT_STREQ(test, err, "longer than 511 bytes");

	/* a short format buffer: snprintf semantics */
	KUNIT_ASSERT_EQ(test, 0, egpu_tb_rule_parse("id=1:2,chain=1", r, NULL, NULL, 0));
	KUNIT_EXPECT_EQ(test, egpu_tb_rule_format(r, err, 5), 20);
	KUNIT_EXPECT_STREQ(test, err, "id=0");
	KUNIT_EXPECT_EQ(test, egpu_tb_rule_format(r, err, 0), 20);
	KUNIT_EXPECT_EQ(test, egpu_tb_rule_format(r, err, sizeof(err)), 20);
	KUNIT_EXPECT_STREQ(test, err, "id=0001:0002,chain=1");
}

static void egpu_tb_rule_test_canonical(struct kunit *test)
{
	static const char * const same[] = {
		"uuid=" T_UUID,
		"id=8086:0b26",
		"vendor_name=Razer",
		"device_name=Core X",
		"parent=" T_PARENT,
		"uuid=" T_UUID ",bind=1002:687f+1002:aaf8",
		"uuid=" T_UUID ",id=0001:0002,vendor_name=a b,device_name=c,parent=" T_PARENT
			",action=ignore,iommu=optional,bind=0001:0001+0002:0002,chain=1",
		"id=ffff:0000,iommu=optional",
	};
	static const struct { const char *in, *out; } canon[] = {
		{ " chain=1 , uuid=" T_UUID_UPPER
		  ", bind=1002:687F+1002:AAF8, iommu=required, action=authorize",
		  "uuid=d1e2a3b4-0000-0000-0000-00000000000a,bind=1002:687f+1002:aaf8,chain=1" },
		{ "id=1:2,chain=0", "id=0001:0002" },
		{ "parent=" T_PARENT ",vendor_name=V,id=A:b",
		  "id=000a:000b,vendor_name=V,parent=" T_PARENT },
		{ "bind = 1:1 + 2:2 ,id=1:1", "id=0001:0001,bind=0001:0001+0002:0002" },
	};
	struct egpu_tb_rule *a = egpu_tb_test_rule(test);
	struct egpu_tb_rule *b = egpu_tb_test_rule(test);
	unsigned int i;
	char *t, *t2;

	for (i = 0; i < ARRAY_SIZE(same); i++) {
		t = egpu_tb_test_canon(test, same[i]);
		KUNIT_EXPECT_STREQ(test, t, same[i]);
	}
	for (i = 0; i < ARRAY_SIZE(canon); i++) {
		t = egpu_tb_test_canon(test, canon[i].in);
		KUNIT_EXPECT_STREQ(test, t, canon[i].out);
		/* parse(format(r)) == r */
		KUNIT_ASSERT_EQ(test, 0, egpu_tb_rule_parse(canon[i].in, a, NULL, NULL, 0));
		KUNIT_ASSERT_EQ(test, 0, egpu_tb_rule_parse(t, b, NULL, NULL, 0));
		KUNIT_EXPECT_EQ(test, 0, memcmp(a, b, sizeof(*a)));
		t2 = egpu_tb_test_canon(test, t);
		KUNIT_EXPECT_STREQ(test, t2, t);
	}
	for (i = 0; i < ARRAY_SIZE(same); i++) {
		KUNIT_ASSERT_EQ(test, 0, egpu_tb_rule_parse(same[i], a, NULL, NULL, 0));
		t = egpu_tb_test_canon(test, same[i]);
		KUNIT_ASSERT_EQ(test, 0, egpu_tb_rule_parse(t, b, NULL, NULL, 0));
		KUNIT_EXPECT_EQ(test, 0, memcmp(a, b, sizeof(*a)));
	}
}

static void egpu_tb_rule_test_match(struct kunit *test)
{
	struct egpu_tb_rule *r = egpu_tb_test_rule(test);
	struct egpu_tb_match_info info = {};
	uuid_t u, u2, p;

	KUNIT_ASSERT_EQ(test, 0, uuid_parse(T_UUID, &u));
	KUNIT_ASSERT_EQ(test, 0, uuid_parse(T_UUID_UPPER, &u2));
	KUNIT_ASSERT_EQ(test, 0, uuid_parse(T_PARENT, &p));

	/* uuid, case-insensitive; unknown uuid never matches */
	KUNIT_ASSERT_EQ(test, 0, egpu_tb_tp(r, "uuid=D1E2A3B4-0000-0000-0000-000000000001"));
	KUNIT_EXPECT_FALSE(test, egpu_tb_rule_matches(r, &info));
	info.uuid = &u;
	KUNIT_EXPECT_TRUE(test, egpu_tb_rule_matches(r, &info));
	info.uuid = &u2;
	KUNIT_EXPECT_FALSE(test, egpu_tb_rule_matches(r, &info));

	/* id */
	KUNIT_ASSERT_EQ(test, 0, egpu_tb_rule_parse("id=8086:0b26", r, NULL, NULL, 0));
	info.vendor = 0x8086;
	info.device = 0x0b26;
	KUNIT_EXPECT_TRUE(test, egpu_tb_rule_matches(r, &info));
	info.device = 0x0b27;
	KUNIT_EXPECT_FALSE(test, egpu_tb_rule_matches(r, &info));
	info.vendor = 0x8087;
	info.device = 0x0b26;
	KUNIT_EXPECT_FALSE(test, egpu_tb_rule_matches(r, &info));

	/* names: exact, case-sensitive, absent never matches */
	KUNIT_ASSERT_EQ(test, 0, egpu_tb_rule_parse("vendor_name=Razer", r, NULL, NULL, 0));
	KUNIT_EXPECT_FALSE(test, egpu_tb_rule_matches(r, &info));
	info.vendor_name = "Razer";
	KUNIT_EXPECT_TRUE(test, egpu_tb_rule_matches(r, &info));
	info.vendor_name = "razer";
	KUNIT_EXPECT_FALSE(test, egpu_tb_rule_matches(r, &info));
	info.vendor_name = "Razer ";
	KUNIT_EXPECT_FALSE(test, egpu_tb_rule_matches(r, &info));
	info.vendor_name = "";
	KUNIT_EXPECT_FALSE(test, egpu_tb_rule_matches(r, &info));

	KUNIT_ASSERT_EQ(test, 0, egpu_tb_rule_parse("device_name=Core X", r, NULL, NULL, 0));
	KUNIT_EXPECT_FALSE(test, egpu_tb_rule_matches(r, &info));
	info.device_name = "Core X";
	KUNIT_EXPECT_TRUE(test, egpu_tb_rule_matches(r, &info));
	info.device_name = "Core";
	KUNIT_EXPECT_FALSE(test, egpu_tb_rule_matches(r, &info));

	/* parent: a host router (no parent) never matches */
	KUNIT_ASSERT_EQ(test, 0, egpu_tb_rule_parse("parent=" T_PARENT, r, NULL, NULL, 0));
	KUNIT_EXPECT_FALSE(test, egpu_tb_rule_matches(r, &info));
	info.parent_uuid = &u;
	KUNIT_EXPECT_FALSE(test, egpu_tb_rule_matches(r, &info));
	info.parent_uuid = &p;
	KUNIT_EXPECT_TRUE(test, egpu_tb_rule_matches(r, &info));

	/* all given keys must match; options do not take part */
	KUNIT_ASSERT_EQ(test, 0,
			egpu_tb_tp(r, "uuid=" T_UUID ",id=8086:0b26,parent=" T_PARENT
				   ",action=ignore,chain=1"));
	info.uuid = &u;
	info.vendor = 0x8086;
	info.device = 0x0b26;
	KUNIT_EXPECT_TRUE(test, egpu_tb_rule_matches(r, &info));
	info.device = 1;	/* right UUID, wrong ID */
	KUNIT_EXPECT_FALSE(test, egpu_tb_rule_matches(r, &info));
	info.device = 0x0b26;
	info.parent_uuid = NULL;
	KUNIT_EXPECT_FALSE(test, egpu_tb_rule_matches(r, &info));
	info.parent_uuid = &p;
	info.uuid = &u2;	/* same IDs, different UUID: the runbook's trap */
	KUNIT_EXPECT_FALSE(test, egpu_tb_rule_matches(r, &info));
}

static void egpu_tb_rule_test_first_match(struct kunit *test)
{
	struct egpu_tb_match_info info = { .vendor = 0x8086, .device = 0x0b26,
					   .vendor_name = "Razer" };
	struct egpu_tb_ruleset *set;
	struct egpu_tb_rule *m;

	KUNIT_ASSERT_EQ(test, 0,
			egpu_tb_rules_replace("id=1:1;vendor_name=Razer,action=ignore;"
					      "id=8086:0b26", NULL));
	set = egpu_tb_ruleset_get();
	KUNIT_ASSERT_NOT_NULL(test, set);
	KUNIT_ASSERT_EQ(test, set->n, 3U);
	m = egpu_tb_rules_match(&info);
	KUNIT_ASSERT_NOT_NULL(test, m);
	KUNIT_EXPECT_PTR_EQ(test, m, set->rules[1]);
	KUNIT_EXPECT_EQ(test, m->action, EGPU_TB_ACTION_IGNORE);
	KUNIT_EXPECT_EQ(test, atomic64_read(&m->hits), 1LL);
	KUNIT_EXPECT_EQ(test, atomic64_read(&set->rules[2]->hits), 0LL);
	egpu_tb_rule_put(m);

	info.vendor_name = NULL;
	m = egpu_tb_rules_match(&info);
	KUNIT_EXPECT_PTR_EQ(test, m, set->rules[2]);
	egpu_tb_rule_put(m);

	info.device = 0;
	KUNIT_EXPECT_NULL(test, egpu_tb_rules_match(&info));
	egpu_tb_ruleset_put(set);

	/* empty set: default deny */
	KUNIT_ASSERT_EQ(test, 0, egpu_tb_rules_replace("", NULL));
	info.device = 0x0b26;
	KUNIT_EXPECT_NULL(test, egpu_tb_rules_match(&info));
}

static void egpu_tb_rule_test_set_errors(struct kunit *test)
{
	struct netlink_ext_ack ext = {};
	struct egpu_tb_ruleset *before, *after;
	char err[EGPU_TB_ERR_MAX];

	KUNIT_ASSERT_EQ(test, 0, egpu_tb_rules_replace("id=1:1;id=2:2", NULL));
	before = egpu_tb_ruleset_get();
	KUNIT_ASSERT_NOT_NULL(test, before);

	/* the rule number counts non-empty rules from 1 */
	KUNIT_EXPECT_EQ(test, -EINVAL,
			egpu_tb_replace(";id=1:2; ;id=3:4;;id=1:2,bind=1002:zz;id=5:5", &ext,
					err, sizeof(err)));
	KUNIT_EXPECT_STREQ(test, err, "rule 3: field \"bind\": \"1002:zz\" is not VVVV:DDDD");
	KUNIT_ASSERT_NOT_NULL(test, ext._msg);
	KUNIT_EXPECT_NOT_NULL(test, strstr(ext._msg, "field \"bind\""));
#ifdef EGPU_HAVE_NL_SET_ERR_MSG_FMT
	KUNIT_EXPECT_STREQ(test, ext._msg, "rule 3: field \"bind\": \"1002:zz\" is not VVVV:DDDD");
#endif
	/* a message too long for the extack buffer loses the value */
	memset(&ext, 0, sizeof(ext));
	KUNIT_EXPECT_EQ(test, -EINVAL,
			egpu_tb_rules_replace("id=1:1;id=1:1,device_name=a\x01 " T_DIGITS40,
					      &ext));
	KUNIT_ASSERT_NOT_NULL(test, ext._msg);
#ifdef EGPU_HAVE_NL_SET_ERR_MSG_FMT
	KUNIT_EXPECT_STREQ(test, ext._msg,
			   "rule 2: field \"device_name\": value has a \",\", \";\", \"=\" or control character");
#else
	KUNIT_EXPECT_STREQ(test, ext._msg,
			   "field \"device_name\": value has a \",\", \";\", \"=\" or control character");
#endif
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_tb_rules_replace("id=1:1;chain=1", NULL));
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_tb_rules_add("id=1:1,foo=2", NULL, NULL));
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_tb_rules_add("id=1:1;id=2:2", NULL, NULL));
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_tb_rules_add("", NULL, NULL));
	KUNIT_EXPECT_EQ(test, -ENOENT, egpu_tb_rules_del(0));
	KUNIT_EXPECT_EQ(test, -ENOENT, egpu_tb_rules_del(before->rules[1]->id + 1));

	/* nothing changed: the very same rules are live */
	after = egpu_tb_ruleset_get();
	egpu_tb_test_same(test, before, after);
	egpu_tb_ruleset_put(after);
	egpu_tb_ruleset_put(before);
	KUNIT_EXPECT_STREQ(test, egpu_tb_test_param(test), "id=0001:0001;id=0002:0002\n");
}

static void egpu_tb_rule_test_ids_hits(struct kunit *test)
{
	struct egpu_tb_match_info info = { .vendor = 2, .device = 2 };
	struct egpu_tb_ruleset *s1, *s2;
	struct egpu_tb_rule *m, *held;
	u32 id1, id2, id3, id4;
	unsigned int i;

	KUNIT_ASSERT_EQ(test, 0, egpu_tb_rules_replace("id=1:1;id=2:2", NULL));
	s1 = egpu_tb_ruleset_get();
	KUNIT_ASSERT_NOT_NULL(test, s1);
	id1 = s1->rules[0]->id;
	id2 = s1->rules[1]->id;
	KUNIT_EXPECT_NE(test, id1, 0U);
	KUNIT_EXPECT_EQ(test, id2, id1 + 1);

	held = egpu_tb_rules_match(&info);
	KUNIT_ASSERT_PTR_EQ(test, held, s1->rules[1]);
	m = egpu_tb_rules_match(&info);
	egpu_tb_rule_put(m);

	/* add: existing rules keep their IDs and hits, the new one is last */
	KUNIT_ASSERT_EQ(test, 0, egpu_tb_rules_add(" id=3:3 ", &id3, NULL));
	KUNIT_EXPECT_GT(test, id3, id2);
	s2 = egpu_tb_ruleset_get();
	KUNIT_ASSERT_EQ(test, s2->n, 3U);
	KUNIT_EXPECT_PTR_EQ(test, s2->rules[1], s1->rules[1]);
	KUNIT_EXPECT_EQ(test, s2->rules[0]->id, id1);
	KUNIT_EXPECT_EQ(test, s2->rules[1]->id, id2);
	KUNIT_EXPECT_EQ(test, s2->rules[2]->id, id3);
	KUNIT_EXPECT_EQ(test, atomic64_read(&s2->rules[1]->hits), 2LL);
	egpu_tb_ruleset_put(s2);

	/* del: the others stay, in order */
	KUNIT_ASSERT_EQ(test, 0, egpu_tb_rules_del(id1));
	KUNIT_EXPECT_EQ(test, -ENOENT, egpu_tb_rules_del(id1));
	s2 = egpu_tb_ruleset_get();
	KUNIT_ASSERT_EQ(test, s2->n, 2U);
	KUNIT_EXPECT_EQ(test, s2->rules[0]->id, id2);
	KUNIT_EXPECT_EQ(test, s2->rules[1]->id, id3);
	KUNIT_EXPECT_EQ(test, atomic64_read(&s2->rules[0]->hits), 2LL);
	egpu_tb_ruleset_put(s2);
	KUNIT_EXPECT_STREQ(test, egpu_tb_test_param(test), "id=0002:0002;id=0003:0003\n");

	/* the snapshot taken before is unchanged */
	KUNIT_EXPECT_EQ(test, s1->n, 2U);
	KUNIT_EXPECT_EQ(test, s1->rules[0]->id, id1);
	egpu_tb_ruleset_put(s1);

	/* many adds: the array grows (in place, then doubled), order kept */
	for (i = 0; i < 40; i++) {
		char t[16];

		scnprintf(t, sizeof(t), "id=4:%x", i);
		KUNIT_ASSERT_EQ(test, 0, egpu_tb_rules_add(t, &id4, NULL));
	}
	s2 = egpu_tb_ruleset_get();
	KUNIT_ASSERT_EQ(test, s2->n, 42U);
	KUNIT_EXPECT_EQ(test, s2->rules[0]->id, id2);
	KUNIT_EXPECT_EQ(test, s2->rules[41]->id, id4);
	for (i = 2; i < 42; i++) {
		KUNIT_EXPECT_EQ(test, s2->rules[i]->device, i - 2);
		KUNIT_EXPECT_EQ(test, s2->rules[i]->id, s2->rules[i - 1]->id + 1);
	}
	info.vendor = 4;
	info.device = 39;
	m = egpu_tb_rules_match(&info);
	KUNIT_EXPECT_PTR_EQ(test, m, s2->rules[41]);
	egpu_tb_rule_put(m);
	info.vendor = 2;
	info.device = 2;
	egpu_tb_ruleset_put(s2);

	/* replace: new rules, new (higher) IDs, hits from 0 */
	KUNIT_ASSERT_EQ(test, 0, egpu_tb_rules_replace("id=2:2", NULL));
	s2 = egpu_tb_ruleset_get();
	KUNIT_ASSERT_EQ(test, s2->n, 1U);
	id4 = s2->rules[0]->id;
	KUNIT_EXPECT_GT(test, id4, id3);
	KUNIT_EXPECT_EQ(test, atomic64_read(&s2->rules[0]->hits), 0LL);
	KUNIT_EXPECT_PTR_NE(test, s2->rules[0], held);
	egpu_tb_ruleset_put(s2);

	/* the rule the engine holds outlives every set it was in */
	synchronize_rcu();
	rcu_barrier();
	KUNIT_EXPECT_EQ(test, held->id, id2);
	KUNIT_EXPECT_EQ(test, held->vendor, 2);
	KUNIT_EXPECT_EQ(test, refcount_read(&held->ref), 1U);
	egpu_tb_rule_put(held);
	egpu_tb_rule_put(NULL);
}

/* A set of @n rules "id=VVVV:0000" ... (the last one matches VVVV:n-1). */
static char *egpu_tb_test_big(struct kunit *test, unsigned int n, u16 vendor)
{
	size_t size = (size_t)n * 16 + 1, off = 0;
	char *text = kvmalloc(size, GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, text);
	text[0] = '\0';
	for (i = 0; i < n; i++)
		off += scnprintf(text + off, size - off, "%sid=%x:%x",
				 i ? ";" : "", vendor, i);
	return text;
}

static void egpu_tb_test_restore_max(void *unused)
{
	WRITE_ONCE(egpu_tb_rules_max, EGPU_TB_RULES_MAX);
}

static void egpu_tb_rule_test_full(struct kunit *test)
{
	char *text = egpu_tb_test_big(test, EGPU_TB_RULES_MAX + 1, 1);
	struct netlink_ext_ack ext = {};
	struct egpu_tb_ruleset *set;
	char *last;

	/* one rule too many (counted before anything is parsed) */
	KUNIT_ASSERT_EQ(test, 0, egpu_tb_rules_replace("id=9:9", NULL));
	KUNIT_EXPECT_EQ(test, -ENOSPC, egpu_tb_rules_replace(text, &ext));
	KUNIT_EXPECT_NOT_NULL(test, ext._msg);
	KUNIT_EXPECT_EQ(test, egpu_tb_test_count(), 1U);
	kvfree(text);

	/*
	 * The same limit, lowered (16384 rules take half a minute to build
	 * in the debug kernel under QEMU; the uAPI test fills the real one).
	 */
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, egpu_tb_test_restore_max, NULL));
	WRITE_ONCE(egpu_tb_rules_max, 50);
	text = egpu_tb_test_big(test, 51, 1);
	KUNIT_EXPECT_EQ(test, -ENOSPC, egpu_tb_rules_replace(text, NULL));
	KUNIT_EXPECT_EQ(test, egpu_tb_test_count(), 1U);
	last = strrchr(text, ';');
	*last = '\0';
	KUNIT_ASSERT_EQ(test, 0, egpu_tb_rules_replace(text, NULL));
	kvfree(text);
	KUNIT_EXPECT_EQ(test, egpu_tb_test_count(), 50U);
	memset(&ext, 0, sizeof(ext));
	KUNIT_EXPECT_EQ(test, -ENOSPC, egpu_tb_rules_add("id=2:2", NULL, &ext));
	KUNIT_EXPECT_NOT_NULL(test, ext._msg);
	KUNIT_EXPECT_EQ(test, egpu_tb_test_count(), 50U);
	/* deleting one makes room again */
	set = egpu_tb_ruleset_get();
	KUNIT_ASSERT_NOT_NULL(test, set);
	KUNIT_EXPECT_EQ(test, 0, egpu_tb_rules_del(set->rules[0]->id));
	egpu_tb_ruleset_put(set);
	KUNIT_EXPECT_EQ(test, 0, egpu_tb_rules_add("id=2:2", NULL, NULL));
	KUNIT_EXPECT_EQ(test, egpu_tb_test_count(), 50U);
	WRITE_ONCE(egpu_tb_rules_max, EGPU_TB_RULES_MAX);

	/* the parameter shows the whole rules that fit one page */
	text = egpu_tb_test_big(test, 400, 1);
	KUNIT_ASSERT_EQ(test, 0, egpu_tb_rules_replace(text, NULL));
	kvfree(text);
	last = egpu_tb_test_param(test);
	KUNIT_EXPECT_EQ(test, strlen(last), PAGE_SIZE - 1);
	KUNIT_EXPECT_EQ(test, last[strlen(last) - 1], '\n');
	KUNIT_EXPECT_EQ(test, 0, strncmp(last, "id=0001:0000;id=0001:0001;", 26));
	KUNIT_EXPECT_EQ(test, 0, strcmp(last + strlen(last) - 14, ";id=0001:013a\n"));
}

static void egpu_tb_rule_test_param(struct kunit *test)
{
	struct egpu_tb_ruleset *before, *after;

	KUNIT_EXPECT_EQ(test, 0, egpu_tb_param_set("uuid=" T_UUID_UPPER ",bind=1002:687F\n", NULL));
	KUNIT_EXPECT_STREQ(test, egpu_tb_test_param(test),
			   "uuid=d1e2a3b4-0000-0000-0000-00000000000a,bind=1002:687f\n");
	/* what get shows can be written back */
	KUNIT_EXPECT_EQ(test, 0, egpu_tb_param_set(egpu_tb_test_param(test), NULL));
	KUNIT_EXPECT_STREQ(test, egpu_tb_test_param(test),
			   "uuid=d1e2a3b4-0000-0000-0000-00000000000a,bind=1002:687f\n");

	before = egpu_tb_ruleset_get();
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_tb_param_set("id=1:1;id=zz", NULL));
	after = egpu_tb_ruleset_get();
	egpu_tb_test_same(test, before, after);
	egpu_tb_ruleset_put(after);
	egpu_tb_ruleset_put(before);

	KUNIT_EXPECT_EQ(test, 0, egpu_tb_param_set("", NULL));
	KUNIT_EXPECT_STREQ(test, egpu_tb_test_param(test), "\n");
	KUNIT_EXPECT_EQ(test, 0, egpu_tb_param_set(" ; ;\n", NULL));
	KUNIT_EXPECT_EQ(test, egpu_tb_test_count(), 0U);
}

/*
 * Mean cost of egpu_tb_rules_match() with the matching rule last, for 1,
 * 100 and 10000 rules. Printed, never asserted; the benchmark harvests
 * the "tb_rule_bench: rules=N ns_per_match=X" lines.
 */
static void egpu_tb_rule_test_bench(struct kunit *test)
{
	static const unsigned int sizes[] = { 1, 100, 10000 };
	struct egpu_tb_match_info info = { .vendor = 0x1234 };
	unsigned int s;

	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		unsigned int n = sizes[s];
		char *text = egpu_tb_test_big(test, n, 0x1234);
		u64 iters = 0, t0, dt;
		struct egpu_tb_rule *m;
		int i;

		KUNIT_ASSERT_EQ(test, 0, egpu_tb_rules_replace(text, NULL));
		kvfree(text);
		/* no earlier set being freed meanwhile */
		rcu_barrier();
		info.device = n - 1;
		m = egpu_tb_rules_match(&info);
		KUNIT_ASSERT_NOT_NULL(test, m);
		KUNIT_EXPECT_EQ(test, m->device, n - 1);
		egpu_tb_rule_put(m);
		for (i = 0; i < 16; i++)	/* warm up */
			egpu_tb_rule_put(egpu_tb_rules_match(&info));

		t0 = ktime_get_ns();
		do {
			for (i = 0; i < 16; i++)
				egpu_tb_rule_put(egpu_tb_rules_match(&info));
			iters += 16;
			cond_resched();
			dt = ktime_get_ns() - t0;
		} while (dt < 50 * NSEC_PER_MSEC);
		kunit_info(test, "tb_rule_bench: rules=%u ns_per_match=%llu\n",
			   n, div64_u64(dt, iters));
	}
}

static void egpu_tb_rule_test_exit(struct kunit *test)
{
	egpu_tb_rules_replace("", NULL);
}

static struct kunit_case egpu_tb_rule_test_cases[] = {
	KUNIT_CASE(egpu_tb_rule_test_fields),
	KUNIT_CASE(egpu_tb_rule_test_errors),
	KUNIT_CASE(egpu_tb_rule_test_limits),
	KUNIT_CASE(egpu_tb_rule_test_canonical),
	KUNIT_CASE(egpu_tb_rule_test_match),
	KUNIT_CASE(egpu_tb_rule_test_first_match),
	KUNIT_CASE(egpu_tb_rule_test_set_errors),
	KUNIT_CASE(egpu_tb_rule_test_ids_hits),
	KUNIT_CASE(egpu_tb_rule_test_full),
	KUNIT_CASE(egpu_tb_rule_test_param),
	KUNIT_CASE_SLOW(egpu_tb_rule_test_bench),
	{}
};

static struct kunit_suite egpu_tb_rule_test_suite = {
	.name = "egpu_tb_rule",
	.exit = egpu_tb_rule_test_exit,
	.test_cases = egpu_tb_rule_test_cases,
};

kunit_test_suite(egpu_tb_rule_test_suite);
