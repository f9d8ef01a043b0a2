// SPDX-License-Identifier: GPL-2.0
/*
 * egpu_tb_tool - a small raw generic netlink client of egpu_gate's
 * Thunderbolt commands, for guest tests (static, no libnl):
 *
 *   egpu_tb_tool get                  one line per device (TB_GET dump):
 *                                     name=0-1 parent=0-0 authorized=1
 *                                     decision=4 by_egpu=1 rule=1 reason=...
 *   egpu_tb_tool authorize NAME       TB_AUTHORIZE
 *   egpu_tb_tool key UUID HEX|""      TB_KEY_SET
 *   egpu_tb_tool monitor SECS [N]     print events of the "events" group
 *                                     for SECS seconds (or until N events):
 *                                     event TYPE tb=NAME rule=ID error=E: MSG
 *   egpu_tb_tool -u UID CMD...        run CMD as user UID (refusal tests)
 *
 * Exit status: 0, or the errno of the request (EPERM 1, ENODEV 19, ...);
 * 100 usage, 101 socket or family problem. A refused request prints
 * "error -ERRNO: EXTACK" on stderr.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "egpu_gate.h"

#define BUF 65536

static char sendbuf[BUF];
static uint32_t seq;
static int family;
static int mcgrp = -1;

static struct nlmsghdr *msg_init(uint16_t type, uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *h = (struct nlmsghdr *)sendbuf;
	struct genlmsghdr *g;

	memset(sendbuf, 0, sizeof(sendbuf));
	h->nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	h->nlmsg_seq = ++seq;
	g = NLMSG_DATA(h);
	g->cmd = cmd;
	g->version = EGPU_GATE_GENL_VERSION;
	return h;
}

static struct nlattr *msg_put(struct nlmsghdr *h, uint16_t type, const void *data, uint16_t len)
{
	struct nlattr *a = (struct nlattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (len)
		memcpy((char *)a + NLA_HDRLEN, data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + NLA_ALIGN(a->nla_len);
	return a;
}

static void nest_end(struct nlmsghdr *h, struct nlattr *nest)
{
	nest->nla_len = (char *)h + NLMSG_ALIGN(h->nlmsg_len) - (char *)nest;
}

#define for_each_attr(a, data, len) \
	for (int _l = (len), _x = ((a) = (struct nlattr *)(data), 0); \
	     _x == 0 && _l >= NLA_HDRLEN && (a)->nla_len >= NLA_HDRLEN && (a)->nla_len <= _l; \
	     _l -= NLA_ALIGN((a)->nla_len), (a) = (void *)((char *)(a) + NLA_ALIGN((a)->nla_len)))

static void *adata(struct nlattr *a) { return (char *)a + NLA_HDRLEN; }
static int alen(struct nlattr *a) { return a->nla_len - NLA_HDRLEN; }

typedef void (*reply_fn)(struct nlattr *attrs, int len, void *ctx);

static void print_extack(struct nlmsghdr *h)
{
	struct nlmsgerr *e = NLMSG_DATA(h);
	struct nlattr *a;
	int off, len;

	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	off = sizeof(*e);
	if (!(h->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	len = (int)h->nlmsg_len - NLMSG_HDRLEN - off;
	for_each_attr(a, (char *)e + off, len)
		if (a->nla_type == NLMSGERR_ATTR_MSG)
			fprintf(stderr, "extack: %s\n", (char *)adata(a));
}

/* Send the message in sendbuf; call fn per data message; 0 or -errno. */
static int transact(int fd, reply_fn fn, void *ctx)
{
	struct nlmsghdr *req = (struct nlmsghdr *)sendbuf;
	static char buf[BUF];

	if (send(fd, sendbuf, req->nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		int n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (n < 0)
			return -errno;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned int)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != req->nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				if (e->error)
					print_extack(h);
				return e->error;
			}
			if (h->nlmsg_type == NLMSG_DONE) {
				int err = *(int *)NLMSG_DATA(h);

				if (err)
					print_extack(h);
				return err;
			}
			if (fn)
				fn((struct nlattr *)((char *)NLMSG_DATA(h) + GENL_HDRLEN),
				   h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN), ctx);
		}
	}
}

static void family_reply(struct nlattr *attrs, int len, void *ctx)
{
	struct nlattr *a, *g, *f;

	(void)ctx;
	for_each_attr(a, attrs, len) {
		if (a->nla_type == CTRL_ATTR_FAMILY_ID)
			family = *(uint16_t *)adata(a);
		if ((a->nla_type & NLA_TYPE_MASK) != CTRL_ATTR_MCAST_GROUPS)
			continue;
		for_each_attr(g, adata(a), alen(a)) {
			int id = -1;
			bool ours = false;

			for_each_attr(f, adata(g), alen(g)) {
				if (f->nla_type == CTRL_ATTR_MCAST_GRP_ID)
					id = *(uint32_t *)adata(f);
				if (f->nla_type == CTRL_ATTR_MCAST_GRP_NAME &&
				    !strcmp(adata(f), EGPU_GATE_MCGRP_EVENTS))
					ours = true;
			}
			if (ours)
				mcgrp = id;
		}
	}
}

static int resolve(int fd)
{
	struct nlmsghdr *h = msg_init(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0);

	msg_put(h, CTRL_ATTR_FAMILY_NAME, EGPU_GATE_GENL_NAME, sizeof(EGPU_GATE_GENL_NAME));
	return transact(fd, family_reply, NULL);
}

static void print_dev(struct nlattr *attrs, int len, void *ctx)
{
	struct nlattr *a, *t;

	(void)ctx;
	for_each_attr(a, attrs, len) {
		if ((a->nla_type & NLA_TYPE_MASK) != EGPU_A_TB)
			continue;
		for_each_attr(t, adata(a), alen(a)) {
			switch (t->nla_type) {
			case EGPU_A_TB_NAME: printf("name=%s", (char *)adata(t)); break;
			case EGPU_A_TB_PARENT: printf(" parent=%s", (char *)adata(t)); break;
			case EGPU_A_TB_UNIQUE_ID: printf(" uuid=%s", (char *)adata(t)); break;
			case EGPU_A_TB_AUTHORIZED: printf(" authorized=%u", *(uint8_t *)adata(t)); break;
			case EGPU_A_TB_SECURITY: printf(" security=%s", (char *)adata(t)); break;
			case EGPU_A_TB_IOMMU_PROTECTION: printf(" iommu=%u", *(uint8_t *)adata(t)); break;
			case EGPU_A_TB_RULE_ID: printf(" rule=%u", *(uint32_t *)adata(t)); break;
			case EGPU_A_TB_DECISION: printf(" decision=%u", *(uint8_t *)adata(t)); break;
			case EGPU_A_TB_BY_EGPU: printf(" by_egpu=1"); break;
			case EGPU_A_TB_PCI: printf(" pci=%s", (char *)adata(t)); break;
			case EGPU_A_TB_AUTH_FAILURES: printf(" failures=%u", *(uint32_t *)adata(t)); break;
			case EGPU_A_TB_AUTH_ERROR: printf(" auth_error=%d", *(int32_t *)adata(t)); break;
			case EGPU_A_TB_AUTH_RETRY_MS: printf(" retry_ms=%u", *(uint32_t *)adata(t)); break;
			default: break;
			}
		}
		for_each_attr(t, adata(a), alen(a))
			if (t->nla_type == EGPU_A_TB_REASON)
				printf(" reason=%s", (char *)adata(t));
		printf("\n");
	}
}

static const char *const ev_names[] = {
	"none", "tb_seen", "tb_matched", "tb_authorized", "tb_denied", "tb_gone",
	"pci_bound", "teardown_step", "teardown_done", "gpu_reset", "error",
	"tb_deauthorized",
};

static int monitor(int fd, int secs, int max)
{
	static char buf[BUF];
	time_t end = time(NULL) + secs;
	int seen = 0;

	if (mcgrp < 0) {
		fprintf(stderr, "no multicast group %s\n", EGPU_GATE_MCGRP_EVENTS);
		return 101;
	}
	if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &mcgrp, sizeof(mcgrp)) < 0) {
		fprintf(stderr, "join %s: %s\n", EGPU_GATE_MCGRP_EVENTS, strerror(errno));
		return errno;
	}
	printf("listening\n");
	fflush(stdout);
	while (time(NULL) < end && (max <= 0 || seen < max)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct nlmsghdr *h;
		int n;

		if (poll(&p, 1, 200) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return errno;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned int)n); h = NLMSG_NEXT(h, n)) {
			struct nlattr *a, *t, *attrs;
			int len;

			if (h->nlmsg_type != family)
				continue;
			attrs = (struct nlattr *)((char *)NLMSG_DATA(h) + GENL_HDRLEN);
			len = h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
			for_each_attr(a, attrs, len) {
				const char *msg = "";

				if ((a->nla_type & NLA_TYPE_MASK) != EGPU_A_EVENT)
					continue;
				printf("event");
				for_each_attr(t, adata(a), alen(a)) {
					switch (t->nla_type) {
					case EGPU_A_EV_TYPE: {
						unsigned int ty = *(uint8_t *)adata(t);

						printf(" %s", ty < sizeof(ev_names) / sizeof(ev_names[0]) ?
						       ev_names[ty] : "unknown");
						break;
					}
					case EGPU_A_EV_TB: printf(" tb=%s", (char *)adata(t)); break;
					case EGPU_A_EV_BDF: printf(" bdf=%s", (char *)adata(t)); break;
					case EGPU_A_EV_RULE_ID: printf(" rule=%u", *(uint32_t *)adata(t)); break;
					case EGPU_A_EV_ERROR: printf(" error=%d", *(int32_t *)adata(t)); break;
					case EGPU_A_EV_MESSAGE: msg = adata(t); break;
					default: break;
					}
				}
				printf(": %s\n", msg);
				fflush(stdout);
				seen++;
			}
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct nlattr *nest;
	struct nlmsghdr *h;
	int fd, one = 1, err;

	if (argc > 3 && !strcmp(argv[1], "-u")) {
		uid_t uid = (uid_t)atoi(argv[2]);

		if (setgroups(0, NULL) || setgid(uid) || setuid(uid)) {
			perror("setuid");
			return 100;
		}
		argv += 2;
		argc -= 2;
	}
	if (argc < 2)
		goto usage;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0) {
		perror("socket");
		return 101;
	}
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	err = resolve(fd);
	if (err || !family) {
		fprintf(stderr, "family %s: %s\n", EGPU_GATE_GENL_NAME, strerror(-err));
		return 101;
	}
	if (!strcmp(argv[1], "get")) {
		msg_init(family, EGPU_CMD_TB_GET, NLM_F_DUMP);
		err = transact(fd, print_dev, NULL);
	} else if (!strcmp(argv[1], "authorize") && argc == 3) {
		h = msg_init(family, EGPU_CMD_TB_AUTHORIZE, 0);
		nest = msg_put(h, EGPU_A_TB | NLA_F_NESTED, NULL, 0);
		msg_put(h, EGPU_A_TB_NAME, argv[2], strlen(argv[2]) + 1);
		nest_end(h, nest);
		err = transact(fd, NULL, NULL);
	} else if (!strcmp(argv[1], "key") && argc == 4) {
		h = msg_init(family, EGPU_CMD_TB_KEY_SET, 0);
		nest = msg_put(h, EGPU_A_TB | NLA_F_NESTED, NULL, 0);
		msg_put(h, EGPU_A_TB_UNIQUE_ID, argv[2], strlen(argv[2]) + 1);
		msg_put(h, EGPU_A_TB_KEY, argv[3], strlen(argv[3]) + 1);
		nest_end(h, nest);
		err = transact(fd, NULL, NULL);
	} else if (!strcmp(argv[1], "monitor") && argc >= 3) {
		return monitor(fd, atoi(argv[2]), argc > 3 ? atoi(argv[3]) : 0);
	} else {
		goto usage;
	}
	if (err) {
		fprintf(stderr, "error %d: %s\n", err, strerror(-err));
		return -err;
	}
	return 0;
usage:
	fprintf(stderr, "usage: egpu_tb_tool [-u UID] get | authorize NAME | key UUID HEX | monitor SECS [N]\n");
	return 100;
}
