// SPDX-License-Identifier: GPL-2.0
/*
 * egpu_uapi_test - kselftest-style test of the egpu_gate generic netlink
 * uAPI, talking raw netlink (no libnl) to the real module. TAP output.
 *
 * Run as root in the test guest with egpu_gate loaded. Covers: family
 * lookup, GET_STATUS contents, unknown commands, missing / oversized /
 * wrongly typed / unknown / reply-only attributes, reserved header bits,
 * all-or-nothing SET_CONFIG, the module-parameter view of the same
 * settings, the Thunderbolt rule commands (malformed rules, all-or-nothing
 * RULES_SET, ADD/DEL/GET, a 10 000-rule dump, the rule limit, the tb_rules
 * parameter's view), and callers that must be refused: an unprivileged user, "root"
 * in a new user namespace, and root in another network namespace.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "egpu_gate.h"

#define NOBODY 65534
#define BUF 8192

static int test_no;
static int failures;

static void tap(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", ok ? "ok" : "not ok", ++test_no);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		failures++;
}

static void tap_skip(const char *why, const char *fmt, ...)
{
	va_list ap;

	printf("ok %d - ", ++test_no);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" # SKIP %s\n", why);
	fflush(stdout);
}

/* ---- message building ---------------------------------------------------- */

struct msg {
	union {
		struct nlmsghdr nlh;
		char buf[BUF];
	};
};

static struct nlattr *msg_tail(struct msg *m)
{
	return (struct nlattr *)(m->buf + NLMSG_ALIGN(m->nlh.nlmsg_len));
}

static void msg_init(struct msg *m, uint16_t type, uint8_t cmd, uint16_t flags)
{
	struct genlmsghdr *g;

	memset(m, 0, sizeof(*m));
	m->nlh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	m->nlh.nlmsg_type = type;
	m->nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	g = NLMSG_DATA(&m->nlh);
	g->cmd = cmd;
	g->version = EGPU_GATE_GENL_VERSION;
}

static struct nlattr *msg_put(struct msg *m, uint16_t type, const void *data, uint16_t len)
{
	struct nlattr *a = msg_tail(m);

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (len)
		memcpy((char *)a + NLA_HDRLEN, data, len);
	m->nlh.nlmsg_len = NLMSG_ALIGN(m->nlh.nlmsg_len) + NLA_ALIGN(a->nla_len);
	return a;
}

static struct nlattr *nest_start(struct msg *m, uint16_t type)
{
	return msg_put(m, type | NLA_F_NESTED, NULL, 0);
}

static void nest_end(struct msg *m, struct nlattr *nest)
{
	nest->nla_len = (char *)msg_tail(m) - (char *)nest;
}

/* ---- request / reply ----------------------------------------------------- */

struct reply {
	int err;		/* 0 or -errno from the ack */
	char extack[256];	/* NLMSGERR_ATTR_MSG */
	uint32_t miss_type;	/* NLMSGERR_ATTR_MISS_TYPE, 0 if none */
	bool got_data;		/* a non-error reply arrived */
	char data[BUF];		/* its attributes */
	int data_len;
};

static int nl_open(void)
{
	int one = 1;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	return fd;
}

static void parse_ack(struct nlmsghdr *h, struct reply *r)
{
	struct nlmsgerr *e = NLMSG_DATA(h);
	int off, len;
	struct nlattr *a;

	r->err = e->error;
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	off = sizeof(*e);
	if (!(h->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	len = (int)h->nlmsg_len - NLMSG_HDRLEN - off;
	for (a = (struct nlattr *)((char *)e + off); len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
	     a->nla_len <= len; len -= NLA_ALIGN(a->nla_len), a = (void *)((char *)a + NLA_ALIGN(a->nla_len))) {
		if (a->nla_type == NLMSGERR_ATTR_MSG)
			snprintf(r->extack, sizeof(r->extack), "%s", (char *)a + NLA_HDRLEN);
		else if (a->nla_type == NLMSGERR_ATTR_MISS_TYPE)
			memcpy(&r->miss_type, (char *)a + NLA_HDRLEN, 4);
	}
}

/* Send m and collect the reply and the ack. Returns 0 or -1 on a socket error. */
static int transact(int fd, struct msg *m, struct reply *r)
{
	static uint32_t seq;
	char buf[BUF];
	bool acked = false;

	memset(r, 0, sizeof(*r));
	m->nlh.nlmsg_seq = ++seq;
	if (send(fd, m->buf, m->nlh.nlmsg_len, 0) < 0)
		return -1;
	while (!acked) {
		struct nlmsghdr *h;
		int n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0)
			return -1;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned int)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != m->nlh.nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				parse_ack(h, r);
				acked = true;
			} else {
				int len = h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);

				r->got_data = true;
				r->data_len = len < BUF ? len : BUF;
				memcpy(r->data, (char *)NLMSG_DATA(h) + GENL_HDRLEN, r->data_len);
			}
		}
	}
	return 0;
}

/* Find attribute type in a stream; NULL if absent. */
static struct nlattr *find_attr(void *data, int len, uint16_t type)
{
	struct nlattr *a;

	for (a = data; len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len;
	     len -= NLA_ALIGN(a->nla_len), a = (void *)((char *)a + NLA_ALIGN(a->nla_len)))
		if ((a->nla_type & NLA_TYPE_MASK) == type)
			return a;
	return NULL;
}

static void *attr_data(struct nlattr *a)
{
	return (char *)a + NLA_HDRLEN;
}

/* Family id of egpu_gate, or -errno from the controller. */
static int resolve_family(int fd)
{
	struct msg m;
	struct reply r;
	struct nlattr *id;

	msg_init(&m, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0);
	msg_put(&m, CTRL_ATTR_FAMILY_NAME, EGPU_GATE_GENL_NAME, sizeof(EGPU_GATE_GENL_NAME));
	if (transact(fd, &m, &r))
		return -errno;
	if (r.err)
		return r.err;
	id = find_attr(r.data, r.data_len, CTRL_ATTR_FAMILY_ID);
	return id ? *(uint16_t *)attr_data(id) : -ENOENT;
}

static int family;

static int do_simple(int fd, uint8_t cmd, struct reply *r)
{
	struct msg m;

	msg_init(&m, family, cmd, 0);
	return transact(fd, &m, r) ? -errno : r->err;
}

/* SET_CONFIG with one attribute of raw contents inside EGPU_A_CONFIG. */
static int set_cfg_raw(int fd, uint16_t type, const void *data, uint16_t len, struct reply *r)
{
	struct msg m;
	struct nlattr *n;

	msg_init(&m, family, EGPU_CMD_SET_CONFIG, 0);
	n = nest_start(&m, EGPU_A_CONFIG);
	msg_put(&m, type, data, len);
	nest_end(&m, n);
	return transact(fd, &m, r) ? -errno : r->err;
}

static int set_cfg(int fd, int autoreset, long budget, int leave_d0, struct reply *r)
{
	struct msg m;
	struct nlattr *n;

	msg_init(&m, family, EGPU_CMD_SET_CONFIG, 0);
	n = nest_start(&m, EGPU_A_CONFIG);
	if (autoreset >= 0) {
		uint8_t v = autoreset;

		msg_put(&m, EGPU_A_CFG_AUTO_RESET_METHOD, &v, 1);
	}
	if (budget >= 0) {
		uint32_t v = budget;

		msg_put(&m, EGPU_A_CFG_TEARDOWN_BUDGET_MS, &v, 4);
	}
	if (leave_d0 >= 0) {
		uint8_t v = leave_d0;

		msg_put(&m, EGPU_A_CFG_RESET_LEAVE_D0, &v, 1);
	}
	nest_end(&m, n);
	return transact(fd, &m, r) ? -errno : r->err;
}

struct status {
	char version[64];
	uint64_t features;
	uint32_t api;
	int autoreset;
	long budget;
	int leave_d0;
};

static int get_status(int fd, struct status *s)
{
	struct reply r;
	struct nlattr *a, *cfg;
	int err = do_simple(fd, EGPU_CMD_GET_STATUS, &r);

	memset(s, 0, sizeof(*s));
	s->autoreset = s->budget = s->leave_d0 = -1;
	if (err)
		return err;
	if (!r.got_data)
		return -ENODATA;
	a = find_attr(r.data, r.data_len, EGPU_A_VERSION);
	if (a)
		snprintf(s->version, sizeof(s->version), "%s", (char *)attr_data(a));
	a = find_attr(r.data, r.data_len, EGPU_A_FEATURES);
	if (a)
		memcpy(&s->features, attr_data(a), 8);
	a = find_attr(r.data, r.data_len, EGPU_A_API_VERSION);
	if (a)
		s->api = *(uint32_t *)attr_data(a);
	cfg = find_attr(r.data, r.data_len, EGPU_A_CONFIG);
	if (cfg) {
		a = find_attr(attr_data(cfg), cfg->nla_len - NLA_HDRLEN, EGPU_A_CFG_AUTO_RESET_METHOD);
		if (a)
			s->autoreset = *(uint8_t *)attr_data(a);
		a = find_attr(attr_data(cfg), cfg->nla_len - NLA_HDRLEN, EGPU_A_CFG_TEARDOWN_BUDGET_MS);
		if (a)
			s->budget = *(uint32_t *)attr_data(a);
		a = find_attr(attr_data(cfg), cfg->nla_len - NLA_HDRLEN, EGPU_A_CFG_RESET_LEAVE_D0);
		if (a)
			s->leave_d0 = *(uint8_t *)attr_data(a);
	}
	return 0;
}

static long read_param(const char *name)
{
	char path[128], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/egpu_gate/parameters/%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	if (buf[0] == 'Y')
		return 1;
	if (buf[0] == 'N')
		return 0;
	return strtol(buf, NULL, 10);
}

/* ---- Thunderbolt rules ------------------------------------------------------ */

#define PARAM_TB_RULES "/sys/module/egpu_gate/parameters/tb_rules"

/* An EGPU_A_RULE nest of a reply: ID, text and hits (0 when absent). */
struct rule_row {
	uint32_t id;
	uint64_t hits;
	char text[EGPU_TB_RULE_TEXT_MAX + 1];
};

static void parse_rule_nest(void *data, int len, struct rule_row *row)
{
	struct nlattr *nest = find_attr(data, len, EGPU_A_RULE), *a;
	int nlen;

	memset(row, 0, sizeof(*row));
	if (!nest)
		return;
	nlen = nest->nla_len - NLA_HDRLEN;
	a = find_attr(attr_data(nest), nlen, EGPU_A_RULE_ID);
	if (a)
		row->id = *(uint32_t *)attr_data(a);
	a = find_attr(attr_data(nest), nlen, EGPU_A_RULE_TEXT);
	if (a)
		snprintf(row->text, sizeof(row->text), "%s", (char *)attr_data(a));
	a = find_attr(attr_data(nest), nlen, EGPU_A_RULE_HITS);
	if (a)
		memcpy(&row->hits, attr_data(a), 8);
}

static int rules_set(int fd, const char *text, struct reply *r)
{
	struct msg m;

	msg_init(&m, family, EGPU_CMD_TB_RULES_SET, 0);
	msg_put(&m, EGPU_A_RULES, text, strlen(text) + 1);
	return transact(fd, &m, r) ? -errno : r->err;
}

/* TB_RULE_ADD; on success *row holds the reply's ID and canonical text. */
static int rule_add(int fd, const char *text, struct rule_row *row, struct reply *r)
{
	struct msg m;
	struct nlattr *n;
	int err;

	msg_init(&m, family, EGPU_CMD_TB_RULE_ADD, 0);
	n = nest_start(&m, EGPU_A_RULE);
	msg_put(&m, EGPU_A_RULE_TEXT, text, strlen(text) + 1);
	nest_end(&m, n);
	err = transact(fd, &m, r) ? -errno : r->err;
	parse_rule_nest(r->data, r->got_data ? r->data_len : 0, row);
	return err;
}

static int rule_del(int fd, uint32_t id, struct reply *r)
{
	struct msg m;
	struct nlattr *n;

	msg_init(&m, family, EGPU_CMD_TB_RULE_DEL, 0);
	n = nest_start(&m, EGPU_A_RULE);
	msg_put(&m, EGPU_A_RULE_ID, &id, 4);
	nest_end(&m, n);
	return transact(fd, &m, r) ? -errno : r->err;
}

/*
 * TB_RULE_GET dump into rows[0..max). Returns the number of rules (also
 * those beyond max) or -errno; *datagrams counts the recv() calls that
 * carried rules.
 */
static int rule_dump(int fd, struct rule_row *rows, int max, int *datagrams)
{
	static char buf[65536];
	static uint32_t seq = 0x40000000;
	struct msg m;
	int count = 0;

	*datagrams = 0;
	msg_init(&m, family, EGPU_CMD_TB_RULE_GET, NLM_F_DUMP);
	m.nlh.nlmsg_seq = ++seq;
	if (send(fd, m.buf, m.nlh.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		struct nlmsghdr *h;
		int n = recv(fd, buf, sizeof(buf), 0);
		bool data = false;

		if (n < 0)
			return -errno;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned int)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE)
				return *(int *)NLMSG_DATA(h) < 0 ? *(int *)NLMSG_DATA(h) : count;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct reply r;

				parse_ack(h, &r);
				return r.err ? r.err : count;
			}
			if (count < max)
				parse_rule_nest((char *)NLMSG_DATA(h) + GENL_HDRLEN,
						h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN), &rows[count]);
			count++;
			data = true;
		}
		*datagrams += data;
	}
}

/* The dump's texts joined with ";" and a final "\n", as tb_rules shows them. */
static void rows_text(const struct rule_row *rows, int n, char *out, size_t len)
{
	size_t off = 0;
	int i;

	out[0] = 0;
	for (i = 0; i < n && off < len; i++)
		off += snprintf(out + off, len - off, "%s%s", i ? ";" : "", rows[i].text);
	if (off < len)
		snprintf(out + off, len - off, "\n");
}

static int read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return (int)n;
}

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n < 0 ? -errno : 0;
}

#define TB_BIG 10000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void tb_rule_tests(int fd)
{
	struct rule_row *rows = calloc(EGPU_TB_RULES_MAX + 2, sizeof(*rows));
	static char text[8192], param[8192];
	struct rule_row row, row2;
	struct reply r;
	int err, n, dg, i, ok;
	double t0;

	if (!rows) {
		tap(false, "TB rules: out of memory");
		return;
	}

	err = rules_set(fd, "", &r);
	n = rule_dump(fd, rows, 4, &dg);
	tap(err == 0 && n == 0, "TB_RULES_SET \"\" clears the set (err %d, %d rules)", err, n);

	/* malformed rules: EINVAL, the field named in extack */
	err = rule_add(fd, "id=8086:0b26,bind=1002:zz", &row, &r);
	tap(err == -EINVAL && strstr(r.extack, "field \"bind\""),
	    "TB_RULE_ADD malformed bind= -> EINVAL naming the field (got %d, \"%s\")", err, r.extack);
	/* before 6.2 an extack message is a static string: it cannot quote the key */
	err = rule_add(fd, "id=8086:0b26,colour=red", &row, &r);
	tap(err == -EINVAL && (strstr(r.extack, "field \"colour\"") ||
			       !strcmp(r.extack, "a rule has an unknown key")),
	    "TB_RULE_ADD unknown key -> EINVAL naming it (got %d, \"%s\")", err, r.extack);
	err = rule_add(fd, "uuid=not-a-uuid", &row, &r);
	tap(err == -EINVAL && strstr(r.extack, "field \"uuid\""),
	    "TB_RULE_ADD malformed uuid= -> EINVAL naming the field (got %d, \"%s\")", err, r.extack);
	err = rule_add(fd, "id=1:1;id=2:2", &row, &r);
	tap(err == -EINVAL && r.extack[0], "TB_RULE_ADD of two rules -> EINVAL (got %d, \"%s\")",
	    err, r.extack);
	n = rule_dump(fd, rows, 4, &dg);
	tap(n == 0, "refused TB_RULE_ADDs added nothing (%d rules)", n);

	/* all-or-nothing TB_RULES_SET */
	err = rules_set(fd, "id=1:1 ; id=2:2", &r);
	n = rule_dump(fd, rows, 4, &dg);
	tap(err == 0 && n == 2 && !strcmp(rows[0].text, "id=0001:0001") &&
	    !strcmp(rows[1].text, "id=0002:0002") && rows[0].id && rows[1].id > rows[0].id,
	    "TB_RULES_SET of two rules, dumped in order with canonical text (err %d, %d rules)", err, n);
	row = rows[0];
	row2 = rows[1];
	err = rules_set(fd, "id=3:3;id=4:4;id=5:5,chain=2", &r);
	tap(err == -EINVAL && strstr(r.extack, "\"chain\""),
	    "TB_RULES_SET with a bad third rule -> EINVAL naming the field (got %d, \"%s\")",
	    err, r.extack);
	n = rule_dump(fd, rows, 4, &dg);
	tap(n == 2 && rows[0].id == row.id && rows[1].id == row2.id,
	    "... and the set is unchanged (%d rules, IDs %u %u)", n, rows[0].id, rows[1].id);
	{
		struct msg m;

		msg_init(&m, family, EGPU_CMD_TB_RULES_SET, 0);
		err = transact(fd, &m, &r) ? -errno : r.err;
		tap(err == -EINVAL && r.extack[0], "TB_RULES_SET without EGPU_A_RULES -> EINVAL (got %d, \"%s\")",
		    err, r.extack);
		msg_init(&m, family, EGPU_CMD_TB_RULE_ADD, 0);
		nest_end(&m, nest_start(&m, EGPU_A_RULE));
		err = transact(fd, &m, &r) ? -errno : r.err;
		tap(err == -EINVAL && r.extack[0], "TB_RULE_ADD without EGPU_A_RULE_TEXT -> EINVAL (got %d, \"%s\")",
		    err, r.extack);
	}

	/* ADD / GET / DEL round trip */
	err = rule_add(fd, " uuid=D1E2A3B4-0000-0000-0000-00000000000A , bind=1002:687F+1002:AAF8 ", &row, &r);
	tap(err == 0 && row.id > row2.id &&
	    !strcmp(row.text, "uuid=d1e2a3b4-0000-0000-0000-00000000000a,bind=1002:687f+1002:aaf8"),
	    "TB_RULE_ADD replies with a new ID and the canonical text (err %d, id %u, \"%s\")",
	    err, row.id, row.text);
	n = rule_dump(fd, rows, 4, &dg);
	tap(n == 3 && rows[2].id == row.id && !strcmp(rows[2].text, row.text) && rows[2].hits == 0,
	    "TB_RULE_GET lists the added rule last (%d rules)", n);
	err = read_text(PARAM_TB_RULES, param, sizeof(param));
	rows_text(rows, n, text, sizeof(text));
	tap(err > 0 && !strcmp(param, text), "tb_rules parameter shows the same set as netlink (\"%.*s\")",
	    (int)strcspn(param, "\n"), param);
	err = rule_del(fd, row2.id, &r);
	n = rule_dump(fd, rows, 4, &dg);
	tap(err == 0 && n == 2 && rows[1].id == row.id && rows[0].id != row2.id,
	    "TB_RULE_DEL removes exactly that rule, the others keep their IDs (err %d, %d rules)", err, n);
	err = rule_del(fd, row2.id, &r);
	tap(err == -ENOENT && r.extack[0], "TB_RULE_DEL of an unknown ID -> ENOENT (got %d, \"%s\")",
	    err, r.extack);

	/* the module parameter writes the same set */
	err = write_text(PARAM_TB_RULES, "vendor_name=Razer,action=ignore;id=8086:0b26,iommu=optional\n");
	n = rule_dump(fd, rows, 4, &dg);
	tap(err == 0 && n == 2 && !strcmp(rows[0].text, "vendor_name=Razer,action=ignore") &&
	    !strcmp(rows[1].text, "id=8086:0b26,iommu=optional"),
	    "writing tb_rules replaces the set netlink lists (err %d, %d rules)", err, n);
	row = rows[0];
	err = write_text(PARAM_TB_RULES, "id=1:1;id=zz");
	n = rule_dump(fd, rows, 4, &dg);
	tap(err == -EINVAL && n == 2 && rows[0].id == row.id,
	    "a malformed tb_rules write fails with EINVAL and changes nothing (got %d, %d rules)", err, n);
	read_text(PARAM_TB_RULES, param, sizeof(param));
	rows_text(rows, n, text, sizeof(text));
	tap(!strcmp(param, text), "tb_rules and netlink still agree");

	/* a large set: resumable dump */
	rules_set(fd, "", &r);
	t0 = now_s();
	ok = 1;
	for (i = 0; i < TB_BIG && ok; i++) {
		snprintf(text, sizeof(text), "id=77:%x", i);
		ok = rule_add(fd, text, &row, &r) == 0;
	}
	tap(ok, "%d TB_RULE_ADDs (stopped at %d: %d \"%s\")", TB_BIG, i, r.err, r.extack);
	printf("# %d TB_RULE_ADDs took %.2f s\n", i, now_s() - t0);
	t0 = now_s();
	n = rule_dump(fd, rows, EGPU_TB_RULES_MAX + 2, &dg);
	ok = n == TB_BIG;
	for (i = 0; ok && i < n; i++) {
		snprintf(text, sizeof(text), "id=0077:%04x", i);
		ok = !strcmp(rows[i].text, text) && (!i || rows[i].id > rows[i - 1].id);
	}
	tap(ok && dg > 1, "TB_RULE_GET dumps all %d rules in order across %d messages (got %d)",
	    TB_BIG, dg, n);
	printf("# the dump of %d rules took %.2f s\n", n, now_s() - t0);
	err = read_text(PARAM_TB_RULES, param, sizeof(param));
	rows_text(rows, n, text, sizeof(text));
	tap(err > 0 && err < 4096 && param[err - 1] == '\n' && !strncmp(param, text, err - 1) &&
	    text[err - 1] == ';',
	    "tb_rules shows the whole rules that fit a page (%d bytes), a prefix of the dump", err);

	/* the limit */
	t0 = now_s();
	ok = 1;
	for (i = n; i < EGPU_TB_RULES_MAX && ok; i++) {
		snprintf(text, sizeof(text), "id=78:%x", i);
		ok = rule_add(fd, text, &row, &r) == 0;
	}
	err = rule_add(fd, "id=79:1", &row, &r);
	printf("# %d more TB_RULE_ADDs and one refused took %.2f s\n", i - TB_BIG, now_s() - t0);
	n = rule_dump(fd, rows, 0, &dg);
	tap(ok && err == -ENOSPC && n == EGPU_TB_RULES_MAX,
	    "TB_RULE_ADD beyond %d rules -> ENOSPC (got %d, \"%s\", %d rules)",
	    EGPU_TB_RULES_MAX, err, r.extack, n);
	err = rules_set(fd, "", &r);
	n = rule_dump(fd, rows, 0, &dg);
	tap(err == 0 && n == 0, "TB_RULES_SET \"\" empties a full set (err %d, %d rules)", err, n);
	free(rows);
}

/* ---- callers that must be refused ---------------------------------------- */

enum child_mode { AS_NOBODY, AS_USERNS_ROOT, IN_OTHER_NETNS };

/*
 * Run one request in a child with reduced rights; the child's exit code is
 * the errno of the result (0 = allowed), 200+ for a setup failure, 199 when
 * the setup is not possible on this kernel (skip).
 */
static int child_result(enum child_mode mode, uint8_t cmd)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct reply r;
		int fd, err;

		if (mode == AS_NOBODY || mode == AS_USERNS_ROOT) {
			if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
				_exit(201);
		}
		if (mode == AS_USERNS_ROOT && unshare(CLONE_NEWUSER))
			_exit(199);
		if (mode == IN_OTHER_NETNS && unshare(CLONE_NEWNET))
			_exit(199);
		fd = nl_open();
		if (fd < 0)
			_exit(202);
		if (mode == IN_OTHER_NETNS) {
			err = resolve_family(fd);
			_exit(err < 0 ? -err : 0);
		}
		if (cmd == EGPU_CMD_SET_CONFIG) {
			err = set_cfg(fd, -1, 4321, -1, &r);
		} else if (cmd == EGPU_CMD_TB_RULE_GET) {
			struct rule_row row;
			int dg;

			err = rule_dump(fd, &row, 1, &dg);
		} else if (cmd == EGPU_CMD_TB_RULES_SET) {
			err = rules_set(fd, "", &r);
		} else if (cmd == EGPU_CMD_TB_RULE_ADD) {
			struct rule_row row;

			err = rule_add(fd, "id=1:1", &row, &r);
		} else if (cmd == EGPU_CMD_TB_RULE_DEL) {
			err = rule_del(fd, 1, &r);
		} else {
			err = do_simple(fd, cmd, &r);
		}
		_exit(err < 0 ? -err : 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void check_refused(enum child_mode mode, const char *who, uint8_t cmd, const char *cmdname)
{
	int res = child_result(mode, cmd);

	if (res == 199)
		tap_skip("namespace not available", "%s: %s refused", who, cmdname);
	else
		tap(res == EPERM, "%s: %s refused with EPERM (got %d)", who, cmdname, res);
}

int main(void)
{
	struct status s, before;
	struct reply r;
	int fd, err;
	uint64_t u64v = 1000;
	uint32_t u32v;
	uint8_t u8v;
	long budget0;

	printf("TAP version 13\n");
	fd = nl_open();
	if (fd < 0) {
		printf("1..1\nnot ok 1 - netlink socket: %s\n", strerror(errno));
		return 1;
	}
	family = resolve_family(fd);
	tap(family > 0, "family %s resolves (id %d)", EGPU_GATE_GENL_NAME, family);
	if (family <= 0) {
		printf("1..%d\n", test_no);
		return 1;
	}

	err = get_status(fd, &s);
	tap(err == 0 && s.version[0], "GET_STATUS replies with a version (%s, err %d)", s.version, err);
	tap(s.api == EGPU_GATE_GENL_VERSION, "GET_STATUS api version %u", s.api);
	tap(s.features & EGPU_FEATURE_GENL, "GET_STATUS features 0x%llx include GENL",
	    (unsigned long long)s.features);
	tap(s.autoreset == read_param("auto_reset_method") && s.budget == read_param("teardown_budget_ms") &&
	    s.leave_d0 == read_param("reset_leave_d0"),
	    "GET_STATUS config matches module parameters (auto_reset_method %d, budget %ld, reset_leave_d0 %d)",
	    s.autoreset, s.budget, s.leave_d0);

	err = do_simple(fd, EGPU_CMD_MAX + 1, &r);
	tap(err == -EOPNOTSUPP, "unknown command %d -> EOPNOTSUPP (got %d)", EGPU_CMD_MAX + 1, err);
	err = do_simple(fd, EGPU_CMD_UNSPEC, &r);
	tap(err == -EOPNOTSUPP, "command 0 (UNSPEC) -> EOPNOTSUPP (got %d)", err);

	err = do_simple(fd, EGPU_CMD_SET_CONFIG, &r);
	tap(err == -EINVAL && r.miss_type == EGPU_A_CONFIG,
	    "SET_CONFIG without EGPU_A_CONFIG -> EINVAL naming the missing attribute (got %d, miss_type %u, \"%s\")",
	    err, r.miss_type, r.extack);
	{
		struct msg m;

		msg_init(&m, family, EGPU_CMD_SET_CONFIG, 0);
		nest_end(&m, nest_start(&m, EGPU_A_CONFIG));
		err = transact(fd, &m, &r) ? -errno : r.err;
		tap(err == -EINVAL && r.extack[0], "SET_CONFIG with empty EGPU_A_CONFIG -> EINVAL (got %d, \"%s\")",
		    err, r.extack);
	}

	err = set_cfg_raw(fd, EGPU_A_CFG_TEARDOWN_BUDGET_MS, &u64v, 8, &r);
	tap(err == -EINVAL && r.extack[0], "oversized u32 attribute (8 bytes) -> EINVAL (got %d, \"%s\")",
	    err, r.extack);
	u32v = 1;
	err = set_cfg_raw(fd, EGPU_A_CFG_AUTO_RESET_METHOD, &u32v, 4, &r);
	tap(err == -EINVAL, "u8 attribute sent as u32 -> EINVAL (got %d, \"%s\")", err, r.extack);
	u8v = 2;
	err = set_cfg_raw(fd, EGPU_A_CFG_RESET_LEAVE_D0, &u8v, 1, &r);
	tap(err == -ERANGE, "reset_leave_d0 = 2 -> ERANGE (got %d, \"%s\")", err, r.extack);
	err = set_cfg_raw(fd, EGPU_A_CFG_TEARDOWN_BUDGET_MS, &u32v, 2, &r);
	tap(err == -EINVAL, "truncated u32 attribute (2 bytes) -> EINVAL (got %d, \"%s\")", err, r.extack);
	u32v = EGPU_TEARDOWN_BUDGET_MAX_MS + 1;
	err = set_cfg_raw(fd, EGPU_A_CFG_TEARDOWN_BUDGET_MS, &u32v, 4, &r);
	tap(err == -ERANGE, "budget above range -> ERANGE (got %d, \"%s\")", err, r.extack);
	u32v = 7;
	err = set_cfg_raw(fd, EGPU_A_CFG_MAX + 1, &u32v, 4, &r);
	tap(err == -EINVAL, "unknown nested attribute -> EINVAL (got %d)", err);
	{
		struct msg m;

		msg_init(&m, family, EGPU_CMD_GET_STATUS, 0);
		msg_put(&m, EGPU_A_MAX + 1, &u32v, 4);
		err = transact(fd, &m, &r) ? -errno : r.err;
		tap(err == -EINVAL, "unknown top-level attribute -> EINVAL (got %d)", err);

		msg_init(&m, family, EGPU_CMD_SET_CONFIG, 0);
		msg_put(&m, EGPU_A_VERSION, "9.9", 4);
		err = transact(fd, &m, &r) ? -errno : r.err;
		tap(err == -EINVAL, "reply-only attribute in a request -> EINVAL (got %d)", err);

		msg_init(&m, family, EGPU_CMD_GET_STATUS, 0);
		((struct genlmsghdr *)NLMSG_DATA(&m.nlh))->reserved = 1;
		err = transact(fd, &m, &r) ? -errno : r.err;
		tap(err == -EINVAL, "reserved genl header field set -> EINVAL (got %d)", err);
	}

	tb_rule_tests(fd);

	get_status(fd, &before);
	budget0 = before.budget;
	err = set_cfg(fd, !before.autoreset, EGPU_TEARDOWN_BUDGET_MAX_MS + 1, !before.leave_d0, &r);
	get_status(fd, &s);
	tap(err == -ERANGE && s.autoreset == before.autoreset && s.budget == budget0 &&
	    s.leave_d0 == before.leave_d0,
	    "SET_CONFIG with one bad value applies nothing (got %d)", err);

	err = set_cfg(fd, !before.autoreset, 1234, !before.leave_d0, &r);
	get_status(fd, &s);
	tap(err == 0 && s.autoreset == !before.autoreset && s.budget == 1234 &&
	    s.leave_d0 == !before.leave_d0,
	    "SET_CONFIG applies all three settings (got %d)", err);
	tap(read_param("auto_reset_method") == s.autoreset && read_param("teardown_budget_ms") == 1234 &&
	    read_param("reset_leave_d0") == s.leave_d0,
	    "module parameters show the new settings");
	err = set_cfg(fd, before.autoreset, budget0, before.leave_d0, &r);
	tap(err == 0, "SET_CONFIG restores the previous settings (got %d)", err);

	check_refused(AS_NOBODY, "unprivileged user", EGPU_CMD_GET_STATUS, "GET_STATUS");
	check_refused(AS_NOBODY, "unprivileged user", EGPU_CMD_SET_CONFIG, "SET_CONFIG");
	check_refused(AS_USERNS_ROOT, "root of a new user namespace", EGPU_CMD_GET_STATUS, "GET_STATUS");
	check_refused(AS_USERNS_ROOT, "root of a new user namespace", EGPU_CMD_SET_CONFIG, "SET_CONFIG");
	check_refused(AS_NOBODY, "unprivileged user", EGPU_CMD_GPU_RESET, "GPU_RESET");
	check_refused(AS_NOBODY, "unprivileged user", EGPU_CMD_GPU_ID_ADD, "GPU_ID_ADD");
	check_refused(AS_NOBODY, "unprivileged user", EGPU_CMD_GPU_ID_DEL, "GPU_ID_DEL");
	check_refused(AS_USERNS_ROOT, "root of a new user namespace", EGPU_CMD_GPU_RESET, "GPU_RESET");
	check_refused(AS_USERNS_ROOT, "root of a new user namespace", EGPU_CMD_GPU_ID_ADD,
		      "GPU_ID_ADD");
	{
		/* the refused rule commands below must change nothing */
		struct rule_row row;

		rules_set(fd, "id=5:5", &r);
		err = rule_add(fd, "id=6:6", &row, &r);
		tap(err == 0, "TB rule set for the refusal checks (err %d)", err);
	}
	check_refused(AS_NOBODY, "unprivileged user", EGPU_CMD_TB_RULE_GET, "TB_RULE_GET (dump)");
	check_refused(AS_NOBODY, "unprivileged user", EGPU_CMD_TB_RULE_ADD, "TB_RULE_ADD");
	check_refused(AS_NOBODY, "unprivileged user", EGPU_CMD_TB_RULE_DEL, "TB_RULE_DEL");
	check_refused(AS_NOBODY, "unprivileged user", EGPU_CMD_TB_RULES_SET, "TB_RULES_SET");
	check_refused(AS_USERNS_ROOT, "root of a new user namespace", EGPU_CMD_TB_RULE_GET,
		      "TB_RULE_GET (dump)");
	check_refused(AS_USERNS_ROOT, "root of a new user namespace", EGPU_CMD_TB_RULES_SET,
		      "TB_RULES_SET");
	check_refused(AS_USERNS_ROOT, "root of a new user namespace", EGPU_CMD_TB_RULE_DEL,
		      "TB_RULE_DEL");
	{
		struct rule_row rows[4];
		int dg, n = rule_dump(fd, rows, 4, &dg);

		tap(n == 2 && !strcmp(rows[0].text, "id=0005:0005") && !strcmp(rows[1].text, "id=0006:0006"),
		    "refused rule commands changed nothing (%d rules)", n);
		rules_set(fd, "", &r);
	}
	err = child_result(IN_OTHER_NETNS, 0);
	if (err == 199)
		tap_skip("namespace not available", "family invisible in another network namespace");
	else
		tap(err == ENOENT, "family invisible in another network namespace (lookup errno %d)", err);
	get_status(fd, &s);
	tap(s.budget == budget0, "refused callers changed nothing (budget %ld)", s.budget);

	printf("1..%d\n", test_no);
	close(fd);
	return failures ? 1 : 0;
}
