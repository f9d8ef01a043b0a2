#include "netlink_control.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <cerrno>

#include "error.h"
#include "mock_transport.h"

namespace egpuctl {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Return;
using ::testing::StrEq;
using ::testing::Throw;
using testing::MockTransport;

Bytes status_reply() {
  std::unique_ptr<nl_msg, void (*)(nl_msg*)> m(nlmsg_alloc(), nlmsg_free);
  nla_put_string(m.get(), EGPU_A_VERSION, "0.1.0");
  nla_put_u32(m.get(), EGPU_A_API_VERSION, 1);
  nla_put_u64(m.get(), EGPU_A_FEATURES, EGPU_FEATURE_GENL);
  nlmsghdr* h = nlmsg_hdr(m.get());
  auto* d = static_cast<const uint8_t*>(nlmsg_data(h));
  return Bytes(d, d + nlmsg_datalen(h));
}

struct NetlinkControlTest : ::testing::Test {
  NetlinkControlTest() {
    auto t = std::make_unique<MockTransport>();
    transport = t.get();
    control = std::make_unique<NetlinkControl>(std::move(t));
  }
  MockTransport* transport;
  std::unique_ptr<NetlinkControl> control;
};

TEST_F(NetlinkControlTest, StatusSendsGetStatusAndDecodes) {
  EXPECT_CALL(*transport, transact(EGPU_CMD_GET_STATUS, IsEmpty(), StrEq("get status")))
      .WillOnce(Return(std::vector<Bytes>{status_reply()}));
  const Status s = control->status();
  EXPECT_EQ(s.version, "0.1.0");
  EXPECT_EQ(s.apiVersion, 1u);
  EXPECT_EQ(s.features, EGPU_FEATURE_GENL);
  EXPECT_FALSE(s.config);
}

TEST_F(NetlinkControlTest, StatusWithoutReplyIsMalformed) {
  EXPECT_CALL(*transport, transact(EGPU_CMD_GET_STATUS, _, _))
      .WillOnce(Return(std::vector<Bytes>{}));
  try {
    control->status();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 1);
    EXPECT_STREQ(e.what(), "get status: malformed reply from module egpu_gate: expected one reply, got 0");
  }
}

TEST_F(NetlinkControlTest, TransportErrorsPassThrough) {
  EXPECT_CALL(*transport, transact(_, _, _))
      .WillOnce(Throw(module_not_loaded()))
      .WillOnce(Throw(kernel_error("get status", EPERM)));
  EXPECT_THROW(
      try { control->status(); } catch (const Error& e) {
        EXPECT_EQ(e.exit_code(), 3);
        throw;
      },
      Error);
  EXPECT_THROW(
      try { control->status(); } catch (const Error& e) {
        EXPECT_EQ(e.exit_code(), 4);
        throw;
      },
      Error);
}

TEST_F(NetlinkControlTest, SetConfigSendsTheNest) {
  const ConfigChange change{.autoResetMethod = 0, .teardownBudgetMs = 1000};
  EXPECT_CALL(*transport,
              transact(EGPU_CMD_SET_CONFIG, encode_config_change(change), StrEq("set config")))
      .WillOnce(Return(std::vector<Bytes>{}));
  control->setConfig(change);
}

TEST_F(NetlinkControlTest, SetConfigKernelErrorCarriesExtack) {
  EXPECT_CALL(*transport, transact(EGPU_CMD_SET_CONFIG, _, _))
      .WillOnce(Throw(kernel_error("set config", ERANGE, "teardown_budget_ms out of range")));
  try {
    control->setConfig({.teardownBudgetMs = 1});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 1);
    EXPECT_STREQ(e.what(),
                 "set config: Numerical result out of range (kernel: teardown_budget_ms out of range)");
  }
}

TEST_F(NetlinkControlTest, EmptyChangeIsRefusedBeforeSending) {
  EXPECT_CALL(*transport, transact(_, _, _)).Times(0);
  EXPECT_THROW(control->setConfig({}), Error);
}

}  // namespace
}  // namespace egpuctl
