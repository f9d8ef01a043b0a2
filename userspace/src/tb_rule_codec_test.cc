// Encoding and decoding of the Thunderbolt rule commands and of the TB_GET
// fields the policy commands use.
#include "tb_rule_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <functional>
#include <memory>

#include "attr_builder.h"
#include "error.h"

namespace egpuctl {
namespace {

using ::testing::HasSubstr;
using testing::Attrs;
using testing::error_of;

TEST(DecodeTbRule, DumpMessage) {
  Attrs a;
  a.nest(EGPU_A_RULE, [](Attrs& r) {
    r.u32(EGPU_A_RULE_ID, 7).str(EGPU_A_RULE_TEXT, "id=0001:0002").u64(EGPU_A_RULE_HITS, 3);
  });
  EXPECT_EQ(decode_tb_rule(a.bytes()), (TbRuleEntry{7, "id=0001:0002", 3}));
}

TEST(DecodeTbRule, AddReplyWithoutHits) {
  Attrs a;
  a.nest(EGPU_A_RULE, [](Attrs& r) { r.u32(EGPU_A_RULE_ID, 1).str(EGPU_A_RULE_TEXT, "x"); });
  EXPECT_EQ(decode_tb_rule(a.bytes()).hits, std::nullopt);
}

TEST(DecodeTbRule, Malformed) {
  EXPECT_THAT(error_of([] { decode_tb_rule(Bytes{}); }), HasSubstr("EGPU_A_RULE is missing"));
  Attrs no_id;
  no_id.nest(EGPU_A_RULE, [](Attrs& r) { r.str(EGPU_A_RULE_TEXT, "x"); });
  EXPECT_THAT(error_of([&] { decode_tb_rule(no_id.bytes()); }),
              HasSubstr("EGPU_A_RULE_ID is missing"));
  Attrs no_text;
  no_text.nest(EGPU_A_RULE, [](Attrs& r) { r.u32(EGPU_A_RULE_ID, 1); });
  EXPECT_THAT(error_of([&] { decode_tb_rule(no_text.bytes()); }),
              HasSubstr("EGPU_A_RULE_TEXT is missing"));
  Attrs short_id;
  short_id.nest(EGPU_A_RULE, [](Attrs& r) {
    r.u16(EGPU_A_RULE_ID, 1).str(EGPU_A_RULE_TEXT, "x");
  });
  EXPECT_THAT(error_of([&] { decode_tb_rule(short_id.bytes()); }),
              HasSubstr("EGPU_A_RULE_ID has 2 bytes, expected 4"));
}

TEST(EncodeTbRule, Requests) {
  Attrs text;
  text.nest(EGPU_A_RULE, [](Attrs& r) { r.str(EGPU_A_RULE_TEXT, "id=0001:0002"); });
  Bytes got = encode_tb_rule_text("id=0001:0002");
  ASSERT_GE(got.size(), 4u);
  // NLA_F_NESTED is set on the nest (strict validation wants it).
  EXPECT_EQ(got[3] & 0x80, 0x80);
  got[3] |= 0x80;
  Bytes want = text.bytes();
  want[3] |= 0x80;
  EXPECT_EQ(got, want);

  Attrs id;
  id.nest(EGPU_A_RULE, [](Attrs& r) { r.u32(EGPU_A_RULE_ID, 9); });
  got = encode_tb_rule_id(9);
  want = id.bytes();
  want[3] |= 0x80;
  EXPECT_EQ(got, want);

  Attrs rules;
  rules.str(EGPU_A_RULES, "a=b;c=d");
  EXPECT_EQ(encode_tb_rules("a=b;c=d"), rules.bytes());
  Attrs none;
  none.str(EGPU_A_RULES, "");
  EXPECT_EQ(encode_tb_rules(""), none.bytes());
}

TEST(DecodeTbDeviceInfo, AllFields) {
  Attrs a;
  a.nest(EGPU_A_TB, [](Attrs& t) {
    t.str(EGPU_A_TB_NAME, "0-1")
        .u32(EGPU_A_TB_DOMAIN, 0)
        .str(EGPU_A_TB_PARENT, "0-0")
        .str(EGPU_A_TB_UNIQUE_ID, "d1e2a3b4-0000-0000-0000-000000000001")
        .u32(EGPU_A_TB_VENDOR, 0x8086)
        .u32(EGPU_A_TB_DEVICE, 0x15d3)
        .str(EGPU_A_TB_VENDOR_NAME, "Razer")
        .str(EGPU_A_TB_DEVICE_NAME, "Core X")
        .u8(EGPU_A_TB_AUTHORIZED, 1)
        .u32(EGPU_A_TB_RULE_ID, 4)
        .str(EGPU_A_TB_PCI, "0000:05:00.0");
  });
  const TbDeviceInfo d = decode_tb_device_info(a.bytes());
  EXPECT_EQ(d, (TbDeviceInfo{.name = "0-1",
                             .parent = "0-0",
                             .uniqueId = "d1e2a3b4-0000-0000-0000-000000000001",
                             .vendor = 0x8086,
                             .device = 0x15d3,
                             .vendorName = "Razer",
                             .deviceName = "Core X",
                             .ruleId = 4,
                             .authorized = 1}));
}

TEST(DecodeTbDeviceInfo, HostRouterAndMalformed) {
  Attrs host;
  host.nest(EGPU_A_TB, [](Attrs& t) { t.str(EGPU_A_TB_NAME, "0-0"); });
  EXPECT_EQ(decode_tb_device_info(host.bytes()), (TbDeviceInfo{.name = "0-0"}));
  Attrs no_name;
  no_name.nest(EGPU_A_TB, [](Attrs& t) { t.u32(EGPU_A_TB_VENDOR, 1); });
  EXPECT_THAT(error_of([&] { decode_tb_device_info(no_name.bytes()); }),
              HasSubstr("EGPU_A_TB_NAME is missing"));
  Attrs bad;
  bad.nest(EGPU_A_TB, [](Attrs& t) { t.str(EGPU_A_TB_NAME, "0-1").u16(EGPU_A_TB_VENDOR, 1); });
  EXPECT_THAT(error_of([&] { decode_tb_device_info(bad.bytes()); }),
              HasSubstr("EGPU_A_TB_VENDOR has 2 bytes"));
}

}  // namespace
}  // namespace egpuctl
