#include "libnl_transport.h"

#include <gtest/gtest.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <cerrno>
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

}  // namespace
}  // namespace egpuctl
