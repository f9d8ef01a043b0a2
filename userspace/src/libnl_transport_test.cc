#include "libnl_transport.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/ethtool_netlink.h>
#include <linux/genetlink.h>
#include <sys/wait.h>
#include <unistd.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <cerrno>
#include <iostream>
#include <memory>

#include "egpu_gate.h"
#include "error.h"

namespace egpuctl {
namespace {

// An NLMSG_ERROR message as the kernel builds it (net/netlink/af_netlink.c,
// netlink_ack()): nlmsgerr, the request's payload unless capped, TLVs.
class ErrorMsg {
 public:
  ErrorMsg(int error, uint16_t flags, int request_payload_len = 0)
      : msg_(nlmsg_alloc_simple(NLMSG_ERROR, flags), nlmsg_free) {
    nlmsgerr e{};
    e.error = error;
    e.msg.nlmsg_len = static_cast<uint32_t>(NLMSG_HDRLEN + request_payload_len);
    e.msg.nlmsg_type = 0x20;
    EXPECT_EQ(nlmsg_append(msg_.get(), &e, sizeof e, NLMSG_ALIGNTO), 0);
    if (!(flags & NLM_F_CAPPED) && request_payload_len > 0) {
      std::vector<uint8_t> payload(static_cast<size_t>(request_payload_len), 0xab);
      EXPECT_EQ(nlmsg_append(msg_.get(), payload.data(), payload.size(), NLMSG_ALIGNTO), 0);
    }
  }
  nl_msg* get() { return msg_.get(); }
  const nlmsghdr* hdr() { return nlmsg_hdr(msg_.get()); }

 private:
  std::unique_ptr<nl_msg, void (*)(nl_msg*)> msg_;
};

TEST(ParseExtAck, CappedWithMessageAndOffset) {
  ErrorMsg m(-EINVAL, NLM_F_ACK_TLVS | NLM_F_CAPPED, 24);
  nla_put_string(m.get(), NLMSGERR_ATTR_MSG, "EGPU_A_CFG_TEARDOWN_BUDGET_MS: out of range");
  nla_put_u32(m.get(), NLMSGERR_ATTR_OFFS, 28);
  const ExtAck ack = parse_ext_ack(m.hdr());
  EXPECT_EQ(ack.message, "EGPU_A_CFG_TEARDOWN_BUDGET_MS: out of range");
  EXPECT_EQ(ack.offset, 28u);
  EXPECT_FALSE(ack.missingType);
  EXPECT_EQ(describe_ext_ack(ack), "EGPU_A_CFG_TEARDOWN_BUDGET_MS: out of range");
}

TEST(ParseExtAck, UncappedSkipsTheEchoedRequest) {
  // 6 bytes of request payload: padded to 8 in the error message.
  ErrorMsg m(-EINVAL, NLM_F_ACK_TLVS, 6);
  nla_put_string(m.get(), NLMSGERR_ATTR_MSG, "missing attribute");
  nla_put_u32(m.get(), NLMSGERR_ATTR_MISS_TYPE, EGPU_A_CONFIG);
  const ExtAck ack = parse_ext_ack(m.hdr());
  EXPECT_EQ(ack.message, "missing attribute");
  EXPECT_EQ(ack.missingType, static_cast<uint32_t>(EGPU_A_CONFIG));
  EXPECT_EQ(describe_ext_ack(ack), "missing attribute; missing attribute 5");
}

TEST(ParseExtAck, DumpDoneWithMessage) {
  // netlink_dump(): NLMSG_DONE carries the dump's error code, then TLVs.
  std::unique_ptr<nl_msg, void (*)(nl_msg*)> m(
      nlmsg_alloc_simple(NLMSG_DONE, NLM_F_MULTI | NLM_F_ACK_TLVS), nlmsg_free);
  const int err = -EPERM;
  ASSERT_EQ(nlmsg_append(m.get(), const_cast<int*>(&err), sizeof err, NLMSG_ALIGNTO), 0);
  nla_put_string(m.get(), NLMSGERR_ATTR_MSG, "egpu_gate: CAP_SYS_ADMIN required");
  const ExtAck ack = parse_ext_ack(nlmsg_hdr(m.get()));
  EXPECT_EQ(ack.message, "egpu_gate: CAP_SYS_ADMIN required");
}

TEST(ParseExtAck, NoTlvsFlagMeansNothing) {
  ErrorMsg m(-EPERM, NLM_F_CAPPED);
  nla_put_string(m.get(), NLMSGERR_ATTR_MSG, "ignored: flag not set");
  EXPECT_EQ(parse_ext_ack(m.hdr()), ExtAck{});
  EXPECT_EQ(describe_ext_ack(ExtAck{}), "");
}

TEST(ParseExtAck, FlagWithoutTlvs) {
  ErrorMsg m(-EPERM, NLM_F_ACK_TLVS | NLM_F_CAPPED);
  EXPECT_EQ(parse_ext_ack(m.hdr()), ExtAck{});
}

TEST(ParseExtAck, OffsetOnly) {
  ErrorMsg m(-EINVAL, NLM_F_ACK_TLVS | NLM_F_CAPPED);
  nla_put_u32(m.get(), NLMSGERR_ATTR_OFFS, 20);
  EXPECT_EQ(describe_ext_ack(parse_ext_ack(m.hdr())), "invalid attribute at offset 20");
}

TEST(ParseExtAck, BogusEchoLengthIsSafe) {
  ErrorMsg m(-EINVAL, NLM_F_ACK_TLVS, 0);
  auto* e = static_cast<nlmsgerr*>(nlmsg_data(nlmsg_hdr(m.get())));
  e->msg.nlmsg_len = 0xffff;  // claims more than the message holds
  nla_put_string(m.get(), NLMSGERR_ATTR_MSG, "x");
  EXPECT_EQ(parse_ext_ack(m.hdr()), ExtAck{});
  e->msg.nlmsg_len = 3;  // less than a header
  EXPECT_EQ(parse_ext_ack(m.hdr()), ExtAck{});
}

// The one test that talks to the running kernel: opening a generic netlink
// socket and resolving a family is harmless.  The host has no egpu_gate.
TEST(LibnlTransportOnHost, FamilyNotFoundMeansNotLoaded) {
  LibnlTransport t(std::chrono::seconds(5));
  try {
    t.transact(EGPU_CMD_GET_STATUS, {}, "get status");
    GTEST_SKIP() << "module egpu_gate is loaded on this host";
  } catch (const Error& e) {
    if (e.code() == ExitCode::kFailure) GTEST_SKIP() << "no generic netlink here: " << e.what();
    EXPECT_EQ(e.code(), ExitCode::kNotLoaded) << e.what();
  }
}

// The request/reply/ack and error paths against the running kernel, with its
// own generic netlink family "nlctrl" (CTRL_CMD_GETFAMILY is unprivileged).
class NlctrlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      ctrl_.transact(CTRL_CMD_GETFAMILY, family_name("nlctrl"), "get family");
    } catch (const Error& e) {
      GTEST_SKIP() << "no generic netlink here: " << e.what();
    }
  }
  static Bytes family_name(const char* name) {
    std::unique_ptr<nl_msg, void (*)(nl_msg*)> m(nlmsg_alloc(), nlmsg_free);
    nla_put_string(m.get(), CTRL_ATTR_FAMILY_NAME, name);
    nlmsghdr* h = nlmsg_hdr(m.get());
    auto* d = static_cast<const uint8_t*>(nlmsg_data(h));
    return Bytes(d, d + nlmsg_datalen(h));
  }
  LibnlTransport ctrl_{std::chrono::seconds(5), "nlctrl", 2};
};

TEST_F(NlctrlTest, ReplyThenAck) {
  const std::vector<Bytes> replies =
      ctrl_.transact(CTRL_CMD_GETFAMILY, family_name("nlctrl"), "get family");
  ASSERT_EQ(replies.size(), 1u);
  const nlattr* tb[CTRL_ATTR_MAX + 1];
  parse_attrs(replies[0], CTRL_ATTR_MAX, tb, "reply");
  ASSERT_NE(tb[CTRL_ATTR_FAMILY_NAME], nullptr);
  EXPECT_STREQ(static_cast<const char*>(nla_data(tb[CTRL_ATTR_FAMILY_NAME])), "nlctrl");
  // The socket is reused for the next request.
  EXPECT_EQ(ctrl_.transact(CTRL_CMD_GETFAMILY, family_name("nlctrl"), "get family").size(), 1u);
}

TEST_F(NlctrlTest, DumpReturnsEveryMessageUpToDone) {
  // CTRL_CMD_GETFAMILY as a dump: one message per family, then NLMSG_DONE.
  const std::vector<Bytes> replies = ctrl_.dump(CTRL_CMD_GETFAMILY, {}, "list families");
  ASSERT_GE(replies.size(), 1u);
  bool found = false;
  for (const Bytes& r : replies) {
    const nlattr* tb[CTRL_ATTR_MAX + 1];
    parse_attrs(r, CTRL_ATTR_MAX, tb, "reply");
    ASSERT_NE(tb[CTRL_ATTR_FAMILY_NAME], nullptr);
    found |= std::string(static_cast<const char*>(nla_data(tb[CTRL_ATTR_FAMILY_NAME]))) == "nlctrl";
  }
  EXPECT_TRUE(found);
  // The socket is reused after a dump.
  EXPECT_EQ(ctrl_.transact(CTRL_CMD_GETFAMILY, family_name("nlctrl"), "get family").size(), 1u);
}

TEST_F(NlctrlTest, KernelErrorIsMapped) {
  try {
    ctrl_.transact(CTRL_CMD_GETFAMILY, family_name("egpu_nosuch"), "get family");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 1);
    EXPECT_THAT(e.what(), ::testing::StartsWith("get family: No such file or directory"));
  }
}

TEST_F(NlctrlTest, ExtackMessageIsShown) {
  // CTRL_ATTR_FAMILY_ID is a u16: one byte fails the kernel's policy, and
  // the kernel says so in an extended ack.
  std::unique_ptr<nl_msg, void (*)(nl_msg*)> m(nlmsg_alloc(), nlmsg_free);
  nla_put_u8(m.get(), CTRL_ATTR_FAMILY_ID, 1);
  nlmsghdr* h = nlmsg_hdr(m.get());
  auto* d = static_cast<const uint8_t*>(nlmsg_data(h));
  try {
    ctrl_.transact(CTRL_CMD_GETFAMILY, Bytes(d, d + nlmsg_datalen(h)), "get family");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 1);
    // EINVAL or ERANGE, depending on the kernel version.
    EXPECT_THAT(e.what(), ::testing::MatchesRegex("get family: .* \\(kernel: .+\\)"));
    std::cout << "kernel said: " << e.what() << "\n";
  }
}

// EPERM from the kernel, as an unprivileged user gets it: a child process
// drops to nobody and asks the "ethtool" family for an admin-only command
// (the genl core checks the permission before anything else).
TEST(LibnlTransportUnprivileged, KernelEpermIsPermissionDenied) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to drop to nobody";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) _exit(100);
    LibnlTransport t(std::chrono::seconds(5), ETHTOOL_GENL_NAME, ETHTOOL_GENL_VERSION);
    try {
      t.transact(ETHTOOL_MSG_LINKINFO_SET, {}, "set link info");
    } catch (const Error& e) {
      if (e.code() == ExitCode::kNotLoaded) _exit(101);  // no ethtool netlink
      if (e.code() == ExitCode::kPermission &&
          std::string(e.what()).rfind("permission denied: egpuctl needs root", 0) == 0)
        _exit(0);
      _exit(102);
    }
    _exit(103);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 100) GTEST_SKIP() << "cannot drop privileges here";
  if (WEXITSTATUS(status) == 101) GTEST_SKIP() << "no ethtool generic netlink family";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "102: other error, 103: no error";
}

}  // namespace
}  // namespace egpuctl
