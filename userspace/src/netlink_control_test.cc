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

namespace egpuctl {
namespace {

using ::testing::_;
using ::testing::IsEmpty;
using ::testing::Return;
using ::testing::StrEq;
using ::testing::Throw;

Bytes gpu_entry(const char* bdf) {
  std::unique_ptr<nl_msg, void (*)(nl_msg*)> m(nlmsg_alloc(), nlmsg_free);
  nlattr* n = nla_nest_start(m.get(), EGPU_A_GPU);
  nla_put_string(m.get(), EGPU_A_GPU_BDF, bdf);
  nla_put_u16(m.get(), EGPU_A_GPU_VENDOR, 0x1b36);
  nla_put_u16(m.get(), EGPU_A_GPU_DEVICE, 0x0005);
  nla_put_string(m.get(), EGPU_A_GPU_FAMILY, "standin");
  nla_nest_end(m.get(), n);
  nlmsghdr* h = nlmsg_hdr(m.get());
  auto* d = static_cast<const uint8_t*>(nlmsg_data(h));
  return Bytes(d, d + nlmsg_datalen(h));
}

struct NetlinkGpuTest : ::testing::Test {
  NetlinkGpuTest() {
    auto t = std::make_unique<testing::MockTransport>();
    transport = t.get();
    control = std::make_unique<NetlinkControl>(std::move(t));
  }
  testing::MockTransport* transport;
  std::unique_ptr<NetlinkControl> control;
};

TEST_F(NetlinkGpuTest, GpusDumpsAndDecodesEveryMessage) {
  EXPECT_CALL(*transport, dump(EGPU_CMD_GPU_GET, IsEmpty(), StrEq("list GPUs")))
      .WillOnce(Return(std::vector<Bytes>{gpu_entry("0000:04:00.0"), gpu_entry("0000:05:00.0")}));
  const std::vector<Gpu> gpus = control->gpus();
  ASSERT_EQ(gpus.size(), 2u);
  EXPECT_EQ(gpus[0].bdf, "0000:04:00.0");
  EXPECT_EQ(gpus[1].bdf, "0000:05:00.0");
  EXPECT_EQ(gpus[1].family, "standin");
}

TEST_F(NetlinkGpuTest, NoGpusIsAnEmptyList) {
  EXPECT_CALL(*transport, dump(EGPU_CMD_GPU_GET, _, _)).WillOnce(Return(std::vector<Bytes>{}));
  EXPECT_TRUE(control->gpus().empty());
}

TEST_F(NetlinkGpuTest, ResetSendsTheEncodedRequest) {
  EXPECT_CALL(*transport, transact(EGPU_CMD_GPU_RESET, encode_gpu_reset("0000:04:00.0", true),
                                   StrEq("reset GPU")))
      .WillOnce(Return(std::vector<Bytes>{}));
  control->resetGpu("0000:04:00.0", true);
}

TEST_F(NetlinkGpuTest, ResetBusyCarriesTheKernelsMessage) {
  EXPECT_CALL(*transport, transact(EGPU_CMD_GPU_RESET, _, _))
      .WillOnce(Throw(kernel_error("reset GPU", EBUSY,
                                   "device in use by a running VM (vfio device open); use --force")));
  try {
    control->resetGpu("0000:04:00.0", false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 1);
    EXPECT_THAT(e.what(), ::testing::HasSubstr("use --force"));
  }
}

TEST_F(NetlinkGpuTest, IdAddAndDel) {
  const GpuId id{.vendor = 0x1002, .device = 0x687f, .family = "vega10"};
  EXPECT_CALL(*transport, transact(EGPU_CMD_GPU_ID_ADD, encode_gpu_id(id), StrEq("add GPU ID")))
      .WillOnce(Return(std::vector<Bytes>{}));
  EXPECT_CALL(*transport, transact(EGPU_CMD_GPU_ID_DEL, encode_gpu_id(id), StrEq("remove GPU ID")))
      .WillOnce(Return(std::vector<Bytes>{}));
  control->addGpuId(id);
  control->removeGpuId(id);
}

}  // namespace
}  // namespace egpuctl
