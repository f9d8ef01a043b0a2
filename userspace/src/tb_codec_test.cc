// Decoders of the Thunderbolt replies against hand-built netlink messages,
// and NetlinkDeviceControl over a mock transport.
#include "tb_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <functional>
#include <memory>

#include "attr_builder.h"
#include "error.h"
#include "mock_transport.h"
#include "netlink_devices.h"

namespace egpuctl {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Return;
using ::testing::StrEq;
using testing::Attrs;
using testing::error_of;
using testing::MockTransport;

Bytes egpu_tb_reply() {
  return Attrs()
      .nest(EGPU_A_TB,
            [](Attrs& a) {
              a.str(EGPU_A_TB_NAME, "1-1")
                  .u32(EGPU_A_TB_DOMAIN, 1)
                  .str(EGPU_A_TB_PARENT, "1-0")
                  .str(EGPU_A_TB_UNIQUE_ID, "d1e2a3b4-0000-0000-0000-000000000001")
                  .u32(EGPU_A_TB_VENDOR, 0x4)
                  .u32(EGPU_A_TB_DEVICE, 0xa153)
                  .str(EGPU_A_TB_VENDOR_NAME, "Blackmagic Design")
                  .str(EGPU_A_TB_DEVICE_NAME, "eGPU Pro")
                  .u8(EGPU_A_TB_AUTHORIZED, 1)
                  .str(EGPU_A_TB_SECURITY, "user")
                  .u8(EGPU_A_TB_IOMMU_PROTECTION, 1)
                  .u8(EGPU_A_TB_DEAUTHORIZATION, 1)
                  .u32(EGPU_A_TB_RULE_ID, 7)
                  .u8(EGPU_A_TB_DECISION, EGPU_TB_DECISION_AUTHORIZED)
                  .str(EGPU_A_TB_REASON, "rule 7")
                  .flag(EGPU_A_TB_BY_EGPU)
                  .str(EGPU_A_TB_PCI, "0000:30:00.0")
                  .str(EGPU_A_TB_PCI, "0000:30:00.1")
                  .u32(EGPU_A_TB_AUTH_FAILURES, 2)
                  .u32(EGPU_A_TB_AUTH_ERROR, static_cast<uint32_t>(-16))
                  .u32(EGPU_A_TB_AUTH_RETRY_MS, 1500)
                  .u32(99, 1);  // unknown: ignored
            })
      .bytes();
}

TEST(DecodeTb, FullDevice) {
  const TbDevice d = decode_tb(egpu_tb_reply());
  EXPECT_EQ(d.name, "1-1");
  EXPECT_EQ(d.domain, 1u);
  EXPECT_EQ(d.parent, "1-0");
  EXPECT_EQ(d.uniqueId, "d1e2a3b4-0000-0000-0000-000000000001");
  EXPECT_EQ(d.vendor, 0x4u);
  EXPECT_EQ(d.device, 0xa153u);
  EXPECT_EQ(d.vendorName, "Blackmagic Design");
  EXPECT_EQ(d.deviceName, "eGPU Pro");
  EXPECT_EQ(d.authorized, 1);
  EXPECT_EQ(d.security, "user");
  EXPECT_EQ(d.iommuProtection, true);
  EXPECT_EQ(d.deauthorization, true);
  EXPECT_EQ(d.ruleId, 7u);
  EXPECT_EQ(d.decision, EGPU_TB_DECISION_AUTHORIZED);
  EXPECT_EQ(d.reason, "rule 7");
  EXPECT_TRUE(d.byEgpu);
  EXPECT_THAT(d.pci, ElementsAre("0000:30:00.0", "0000:30:00.1"));
  EXPECT_EQ(d.authFailures, 2u);
  EXPECT_EQ(d.authError, -16);
  EXPECT_EQ(d.authRetryMs, 1500u);
}

TEST(DecodeTb, HostRouterWithOnlyRequiredAttributes) {
  const TbDevice d = decode_tb(Attrs()
                                   .nest(EGPU_A_TB,
                                         [](Attrs& a) {
                                           a.str(EGPU_A_TB_NAME, "0-0").u32(EGPU_A_TB_DOMAIN, 0);
                                         })
                                   .bytes());
  EXPECT_EQ(d, (TbDevice{.name = "0-0", .domain = 0}));
}

TEST(DecodeTb, MissingRequiredAttributes) {
  EXPECT_THAT(error_of([] { decode_tb(Attrs().u32(EGPU_A_API_VERSION, 1).bytes()); }),
              HasSubstr("EGPU_A_TB is missing"));
  EXPECT_THAT(error_of([] {
                decode_tb(Attrs()
                              .nest(EGPU_A_TB, [](Attrs& a) { a.u32(EGPU_A_TB_DOMAIN, 0); })
                              .bytes());
              }),
              HasSubstr("EGPU_A_TB_NAME is missing"));
  EXPECT_THAT(error_of([] {
                decode_tb(Attrs()
                              .nest(EGPU_A_TB, [](Attrs& a) { a.str(EGPU_A_TB_NAME, "0-1"); })
                              .bytes());
              }),
              HasSubstr("EGPU_A_TB_DOMAIN is missing"));
}

TEST(DecodeTb, WrongSizes) {
  EXPECT_THAT(error_of([] {
                decode_tb(Attrs()
                              .nest(EGPU_A_TB,
                                    [](Attrs& a) {
                                      a.str(EGPU_A_TB_NAME, "0-1")
                                          .u32(EGPU_A_TB_DOMAIN, 0)
                                          .u32(EGPU_A_TB_AUTHORIZED, 1);
                                    })
                              .bytes());
              }),
              HasSubstr("EGPU_A_TB_AUTHORIZED has 4 bytes, expected 1"));
  EXPECT_THAT(error_of([] {
                decode_tb(Attrs()
                              .nest(EGPU_A_TB,
                                    [](Attrs& a) {
                                      a.str(EGPU_A_TB_NAME, "0-1")
                                          .u32(EGPU_A_TB_DOMAIN, 0)
                                          .u8(EGPU_A_TB_BY_EGPU, 1);
                                    })
                              .bytes());
              }),
              HasSubstr("EGPU_A_TB_BY_EGPU has 1 bytes, expected 0"));
  EXPECT_THAT(error_of([] {
                decode_tb(Attrs()
                              .nest(EGPU_A_TB,
                                    [](Attrs& a) {
                                      a.str(EGPU_A_TB_NAME, "0-1")
                                          .u32(EGPU_A_TB_DOMAIN, 0)
                                          .raw(EGPU_A_TB_PCI, "", 0);
                                    })
                              .bytes());
              }),
              HasSubstr("EGPU_A_TB_PCI is empty"));
}

TEST(DecodeTb, EveryTruncationIsAnErrorOrAValue) {
  const Bytes full = egpu_tb_reply();
  for (size_t n = 0; n < full.size(); ++n) {
    const Bytes cut(full.begin(), full.begin() + static_cast<long>(n));
    try {
      decode_tb(cut);
    } catch (const Error&) {
    }
  }
  // Unaligned input is copied, not read in place.
  Bytes shifted(full.size() + 1);
  std::copy(full.begin(), full.end(), shifted.begin() + 1);
  EXPECT_EQ(decode_tb(std::span<const uint8_t>(shifted).subspan(1)).name, "1-1");
}

TEST(DecodeStep, FullAndMinimal) {
  const TeardownStep s = decode_step(Attrs()
                                         .nest(EGPU_A_STEP,
                                               [](Attrs& a) {
                                                 a.u32(EGPU_A_STEP_INDEX, 2)
                                                     .u8(EGPU_A_STEP_ACTION, EGPU_STEP_DEAUTHORIZE)
                                                     .str(EGPU_A_STEP_TARGET, "1-1")
                                                     .str(EGPU_A_STEP_TB, "1-1")
                                                     .str(EGPU_A_STEP_NOTE, "deepest first");
                                               })
                                         .bytes());
  EXPECT_EQ(s, (TeardownStep{.index = 2, .action = EGPU_STEP_DEAUTHORIZE, .target = "1-1",
                             .tb = "1-1", .note = "deepest first"}));
  EXPECT_THAT(error_of([] {
                decode_step(Attrs()
                                .nest(EGPU_A_STEP,
                                      [](Attrs& a) {
                                        a.u32(EGPU_A_STEP_INDEX, 0).u8(EGPU_A_STEP_ACTION, 1);
                                      })
                                .bytes());
              }),
              HasSubstr("EGPU_A_STEP_TARGET is missing"));
  EXPECT_THAT(error_of([] { decode_step(Bytes{}); }), HasSubstr("EGPU_A_STEP is missing"));
}

TEST(DecodeEvent, FullAndErrors) {
  const Event e = decode_event(Attrs()
                                   .nest(EGPU_A_EVENT,
                                         [](Attrs& a) {
                                           a.u8(EGPU_A_EV_TYPE, EGPU_EVENT_TEARDOWN_STEP)
                                               .u64(EGPU_A_EV_TIME_NS, 12345678901ULL)
                                               .str(EGPU_A_EV_TB, "1-1")
                                               .str(EGPU_A_EV_UNIQUE_ID, "u")
                                               .str(EGPU_A_EV_BDF, "0000:30:00.0")
                                               .u32(EGPU_A_EV_RULE_ID, 3)
                                               .u32(EGPU_A_EV_ERROR, static_cast<uint32_t>(-110))
                                               .u64(EGPU_A_EV_DURATION_US, 42)
                                               .str(EGPU_A_EV_MESSAGE, "unbound");
                                         })
                                   .bytes());
  EXPECT_EQ(e, (Event{.type = EGPU_EVENT_TEARDOWN_STEP, .timeNs = 12345678901ULL, .tb = "1-1",
                      .uniqueId = "u", .bdf = "0000:30:00.0", .ruleId = 3, .error = -110,
                      .durationUs = 42, .message = "unbound"}));
  EXPECT_THAT(error_of([] {
                decode_event(Attrs()
                                 .nest(EGPU_A_EVENT, [](Attrs& a) { a.str(EGPU_A_EV_TB, "1-1"); })
                                 .bytes());
              }),
              HasSubstr("EGPU_A_EV_TYPE is missing"));
  EXPECT_THAT(error_of([] {
                decode_event(Attrs()
                                 .nest(EGPU_A_EVENT,
                                       [](Attrs& a) {
                                         a.u8(EGPU_A_EV_TYPE, 1).u32(EGPU_A_EV_TIME_NS, 5);
                                       })
                                 .bytes());
              }),
              HasSubstr("EGPU_A_EV_TIME_NS has 4 bytes, expected 8"));
}

TEST(EncodeTbName, NestWithName) {
  const Bytes b = encode_tb_name("0-301");
  const nlattr* top[EGPU_A_MAX + 1];
  parse_attrs(b, EGPU_A_MAX, top, "request");
  ASSERT_NE(top[EGPU_A_TB], nullptr);
  EXPECT_TRUE(top[EGPU_A_TB]->nla_type & NLA_F_NESTED);
  const nlattr* tb[EGPU_A_TB_MAX + 1];
  parse_attrs({static_cast<const uint8_t*>(nla_data(top[EGPU_A_TB])),
               static_cast<size_t>(nla_len(top[EGPU_A_TB]))},
              EGPU_A_TB_MAX, tb, "nest");
  ASSERT_NE(tb[EGPU_A_TB_NAME], nullptr);
  EXPECT_STREQ(static_cast<const char*>(nla_data(tb[EGPU_A_TB_NAME])), "0-301");
}

TEST(EnumNames, KnownAndUnknown) {
  EXPECT_EQ(decision_name(EGPU_TB_DECISION_NO_RULE), "no_rule");
  EXPECT_EQ(decision_name(200), "200");
  EXPECT_EQ(step_action_name(EGPU_STEP_REMOVE), "remove");
  EXPECT_EQ(event_type_name(EGPU_EVENT_TB_DEAUTHORIZED), "tb_deauthorized");
  EXPECT_EQ(event_type_name(77), "77");
}

TEST(NetlinkDeviceControl, RequestsAndDecodes) {
  auto t = std::make_unique<MockTransport>();
  MockTransport* mock = t.get();
  NetlinkDeviceControl dc(std::move(t));
  EXPECT_EQ(dc.transport(), "netlink");
  EXPECT_CALL(*mock, dump(EGPU_CMD_TB_GET, IsEmpty(), StrEq("list Thunderbolt devices")))
      .WillOnce(Return(std::vector<Bytes>{egpu_tb_reply()}));
  ASSERT_EQ(dc.tbDevices().size(), 1u);
  EXPECT_CALL(*mock, transact(EGPU_CMD_TB_AUTHORIZE, encode_tb_name("1-1"), _))
      .WillOnce(Return(std::vector<Bytes>{}));
  dc.tbAuthorize("1-1");
  EXPECT_CALL(*mock, transact(EGPU_CMD_TB_DEAUTHORIZE, encode_tb_name("1-1"), _))
      .WillOnce(Return(std::vector<Bytes>{}));
  dc.tbDeauthorize("1-1");
  EXPECT_CALL(*mock, dump(EGPU_CMD_TEARDOWN_PLAN, IsEmpty(), _))
      .WillOnce(Return(std::vector<Bytes>{
          Attrs()
              .nest(EGPU_A_STEP,
                    [](Attrs& a) {
                      a.u32(EGPU_A_STEP_INDEX, 0)
                          .u8(EGPU_A_STEP_ACTION, EGPU_STEP_UNBIND)
                          .str(EGPU_A_STEP_TARGET, "0000:30:00.1");
                    })
              .bytes()}));
  EXPECT_EQ(dc.teardownPlan().at(0).target, "0000:30:00.1");
}

}  // namespace
}  // namespace egpuctl
