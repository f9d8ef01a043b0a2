// SPDX-License-Identifier: GPL-2.0
/*
 * egpu_teardown - DEMO/BENCHMARK ONLY: send EGPU_CMD_TEARDOWN_RUN (the
 * shutdown teardown, run now as the reboot notifier would) and time it.
 *
 *   egpu_teardown
 *
 * Prints "teardown: error=E us=N [extack=...]" (E: 0 or -errno of the
 * ack; -95 EOPNOTSUPP: this module has no teardown command) and exits 0
 * when the command succeeded, 1 when it failed, 2 on setup errors (no
 * egpu_gate family). egpuctl is the tool for people; this one has no
 * dependencies, so demo and bench work with whatever egpuctl offers.
 */
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "egpu_gate.h"

#define BUF 8192

static char buf[BUF];
static char extack[256];

static int transact(int fd, struct nlmsghdr *req, int *err, void *reply, int *reply_len)
{
	static unsigned int seq;
	int n, done = 0;

	req->nlmsg_seq = ++seq;
	if (send(fd, req, req->nlmsg_len, 0) < 0)
		return -1;
	while (!done) {
		struct nlmsghdr *h;

		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return -1;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned int)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != req->nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);
				struct nlattr *a;
				int off = sizeof(*e), len;

				*err = e->error;
				done = 1;
				if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
					continue;
				if (!(h->nlmsg_flags & NLM_F_CAPPED))
					off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
				len = (int)h->nlmsg_len - NLMSG_HDRLEN - off;
				for (a = (struct nlattr *)((char *)e + off);
				     len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len;
				     len -= NLA_ALIGN(a->nla_len), a = (void *)((char *)a + NLA_ALIGN(a->nla_len)))
					if (a->nla_type == NLMSGERR_ATTR_MSG)
						snprintf(extack, sizeof(extack), "%s", (char *)a + NLA_HDRLEN);
			} else if (reply) {
				int len = h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);

				*reply_len = len < BUF ? len : BUF;
				memcpy(reply, (char *)NLMSG_DATA(h) + GENL_HDRLEN, *reply_len);
			}
		}
	}
	return 0;
}

static void req_init(struct nlmsghdr *h, int type, int cmd, int version)
{
	struct genlmsghdr *g = NLMSG_DATA(h);

	memset(h, 0, NLMSG_LENGTH(GENL_HDRLEN));
	h->nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	g->cmd = cmd;
	g->version = version;
}

int main(void)
{
	static char req[512], reply[BUF];
	struct nlmsghdr *h = (struct nlmsghdr *)req;
	struct nlattr *a;
	struct timespec t0, t1;
	int fd, one = 1, err = 0, len = 0, family = 0, n;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0) {
		perror("egpu_teardown: socket");
		return 2;
	}
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));

	req_init(h, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1);
	a = (struct nlattr *)(req + NLMSG_ALIGN(h->nlmsg_len));
	a->nla_type = CTRL_ATTR_FAMILY_NAME;
	a->nla_len = NLA_HDRLEN + sizeof(EGPU_GATE_GENL_NAME);
	memcpy((char *)a + NLA_HDRLEN, EGPU_GATE_GENL_NAME, sizeof(EGPU_GATE_GENL_NAME));
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + NLA_ALIGN(a->nla_len);
	if (transact(fd, h, &err, reply, &len) || err) {
		fprintf(stderr, "egpu_teardown: family %s not found (module not loaded?)\n",
			EGPU_GATE_GENL_NAME);
		return 2;
	}
	for (a = (struct nlattr *)reply, n = len; n >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
	     a->nla_len <= n; n -= NLA_ALIGN(a->nla_len), a = (void *)((char *)a + NLA_ALIGN(a->nla_len)))
		if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID)
			family = *(unsigned short *)((char *)a + NLA_HDRLEN);
	if (!family)
		return 2;

	req_init(h, family, EGPU_CMD_TEARDOWN_RUN, EGPU_GATE_GENL_VERSION);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (transact(fd, h, &err, NULL, NULL)) {
		perror("egpu_teardown: netlink");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("teardown: error=%d us=%ld%s%s\n", err,
	       (long)((t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000),
	       extack[0] ? " extack=" : "", extack);
	close(fd);
	return err ? 1 : 0;
}
