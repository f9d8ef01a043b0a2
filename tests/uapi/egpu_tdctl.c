// SPDX-License-Identifier: GPL-2.0
/*
 * egpu_tdctl - minimal raw generic netlink client for the teardown
 * commands, for guest tests (static, no libnl; egpuctl is the user tool).
 *
 *   egpu_tdctl plan          EGPU_CMD_TEARDOWN_PLAN: one line per step,
 *                            "INDEX ACTION TARGET TB[ NOTE]"
 *                            (ACTION: unbind remove deauthorize skip)
 *   egpu_tdctl run           EGPU_CMD_TEARDOWN_RUN
 *   egpu_tdctl deauth NAME   EGPU_CMD_TB_DEAUTHORIZE of Thunderbolt device NAME
 *
 * Exit status: 0 success; 1 the kernel's error (printed as
 * "error: -ERRNO (strerror)[: extack]"); 2 usage or socket trouble.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "egpu_gate.h"

#define BUF 16384

static char buf[BUF];

static struct nlattr *put(struct nlmsghdr *h, uint16_t type, const void *d,
			  uint16_t len)
{
	struct nlattr *a = (struct nlattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (len)
		memcpy((char *)a + NLA_HDRLEN, d, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + NLA_ALIGN(a->nla_len);
	return a;
}

static struct nlmsghdr *start(uint16_t type, uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	struct genlmsghdr *g;

	memset(buf, 0, sizeof(buf));
	h->nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	h->nlmsg_seq = 1;
	g = NLMSG_DATA(h);
	g->cmd = cmd;
	g->version = EGPU_GATE_GENL_VERSION;
	return h;
}

/* Attributes of @a's payload into tb[0..max]. */
static void parse(struct nlattr *a, int len, struct nlattr **tb, int max)
{
	memset(tb, 0, sizeof(*tb) * (max + 1));
	while (len >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
	       a->nla_len <= len) {
		int t = a->nla_type & NLA_TYPE_MASK;

		if (t <= max)
			tb[t] = a;
		len -= NLA_ALIGN(a->nla_len);
		a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
	}
}

#define DATA(a) ((void *)((char *)(a) + NLA_HDRLEN))
#define LEN(a) ((int)(a)->nla_len - NLA_HDRLEN)

static const char *action_name(unsigned int a)
{
	static const char *const n[] = { "none", "unbind", "remove",
					 "deauthorize", "skip" };

	return a < sizeof(n) / sizeof(n[0]) ? n[a] : "unknown";
}

/* Print an ack's error; returns it (0 or -errno). */
static int ack(struct nlmsghdr *h)
{
	struct nlmsgerr *e = NLMSG_DATA(h);
	const char *msg = "";

	if (!e->error)
		return 0;
	if (h->nlmsg_flags & NLM_F_ACK_TLVS) {
		int off = NLMSG_HDRLEN + sizeof(*e);
		struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];

		if (!(h->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - NLMSG_HDRLEN;
		parse((struct nlattr *)((char *)h + off), h->nlmsg_len - off,
		      tb, NLMSGERR_ATTR_MAX);
		if (tb[NLMSGERR_ATTR_MSG])
			msg = DATA(tb[NLMSGERR_ATTR_MSG]);
	}
	fprintf(stderr, "error: %d (%s)%s%s\n", e->error, strerror(-e->error),
		*msg ? ": " : "", msg);
	return e->error;
}

static void print_step(struct nlmsghdr *h)
{
	struct nlattr *top[EGPU_A_MAX + 1], *st[EGPU_A_STEP_MAX + 1];
	int off = NLMSG_HDRLEN + GENL_HDRLEN;

	parse((struct nlattr *)((char *)h + off), h->nlmsg_len - off, top,
	      EGPU_A_MAX);
	if (!top[EGPU_A_STEP])
		return;
	parse(DATA(top[EGPU_A_STEP]), LEN(top[EGPU_A_STEP]), st, EGPU_A_STEP_MAX);
	printf("%u %s %s %s%s%s\n",
	       st[EGPU_A_STEP_INDEX] ? *(uint32_t *)DATA(st[EGPU_A_STEP_INDEX]) : 0,
	       action_name(st[EGPU_A_STEP_ACTION] ?
			   *(uint8_t *)DATA(st[EGPU_A_STEP_ACTION]) : 0),
	       st[EGPU_A_STEP_TARGET] ? (char *)DATA(st[EGPU_A_STEP_TARGET]) : "?",
	       st[EGPU_A_STEP_TB] ? (char *)DATA(st[EGPU_A_STEP_TB]) : "?",
	       st[EGPU_A_STEP_NOTE] ? " " : "",
	       st[EGPU_A_STEP_NOTE] ? (char *)DATA(st[EGPU_A_STEP_NOTE]) : "");
}

/* Send what is in buf; read until the ack or NLMSG_DONE. */
static int talk(int fd, int dump)
{
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	char rbuf[BUF];

	if (send(fd, buf, h->nlmsg_len, 0) < 0)
		return perror("send"), -EIO;
	for (;;) {
		int n = recv(fd, rbuf, sizeof(rbuf), 0);

		if (n < 0)
			return perror("recv"), -EIO;
		for (h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, (unsigned int)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_ERROR)
				return ack(h);
			if (h->nlmsg_type == NLMSG_DONE) {
				int err = *(int *)NLMSG_DATA(h);

				return err ? (fprintf(stderr, "error: %d (%s)\n",
						      err, strerror(-err)), err) : 0;
			}
			if (dump)
				print_step(h);
		}
	}
}

static int family_id(int fd)
{
	struct nlmsghdr *h = start(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0);
	struct nlattr *tb[CTRL_ATTR_MAX + 1];
	char rbuf[BUF];
	int n, off;

	((struct genlmsghdr *)NLMSG_DATA(h))->version = 1;
	put(h, CTRL_ATTR_FAMILY_NAME, EGPU_GATE_GENL_NAME,
	    sizeof(EGPU_GATE_GENL_NAME));
	if (send(fd, buf, h->nlmsg_len, 0) < 0)
		return -1;
	n = recv(fd, rbuf, sizeof(rbuf), 0);
	h = (struct nlmsghdr *)rbuf;
	if (n < 0 || !NLMSG_OK(h, (unsigned int)n) || h->nlmsg_type == NLMSG_ERROR)
		return -1;
	off = NLMSG_HDRLEN + GENL_HDRLEN;
	parse((struct nlattr *)(rbuf + off), h->nlmsg_len - off, tb, CTRL_ATTR_MAX);
	if (!tb[CTRL_ATTR_FAMILY_ID])
		return -1;
	/* drain the ack */
	recv(fd, rbuf, sizeof(rbuf), MSG_DONTWAIT);
	return *(uint16_t *)DATA(tb[CTRL_ATTR_FAMILY_ID]);
}

int main(int argc, char **argv)
{
	int one = 1, fd, fam, ret;
	struct nlmsghdr *h;

	if (argc < 2 || (!strcmp(argv[1], "deauth") && argc != 3)) {
		fprintf(stderr, "usage: egpu_tdctl plan | run | deauth NAME\n");
		return 2;
	}
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0)
		return perror("socket"), 2;
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	fam = family_id(fd);
	if (fam < 0) {
		fprintf(stderr, "egpu_tdctl: family %s not found\n", EGPU_GATE_GENL_NAME);
		return 2;
	}
	if (!strcmp(argv[1], "plan")) {
		start(fam, EGPU_CMD_TEARDOWN_PLAN, NLM_F_DUMP);
		ret = talk(fd, 1);
	} else if (!strcmp(argv[1], "run")) {
		start(fam, EGPU_CMD_TEARDOWN_RUN, 0);
		ret = talk(fd, 0);
	} else if (!strcmp(argv[1], "deauth")) {
		struct nlattr *nest;

		h = start(fam, EGPU_CMD_TB_DEAUTHORIZE, 0);
		nest = put(h, EGPU_A_TB | NLA_F_NESTED, NULL, 0);
		put(h, EGPU_A_TB_NAME, argv[2], strlen(argv[2]) + 1);
		nest->nla_len = (char *)h + h->nlmsg_len - (char *)nest;
		ret = talk(fd, 0);
	} else {
		fprintf(stderr, "egpu_tdctl: unknown command %s\n", argv[1]);
		return 2;
	}
	close(fd);
	return ret ? 1 : 0;
}
