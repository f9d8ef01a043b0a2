#include "genl_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <cstring>
#include <functional>
#include <memory>

#include "attr_builder.h"
#include "error.h"

namespace egpuctl {
namespace {

using ::testing::HasSubstr;
using testing::Attrs;
using testing::error_of;

Attrs full_reply() {
  Attrs a;
  const uint32_t pad = 0;
  a.str(EGPU_A_VERSION, "0.1.0")
      .str(EGPU_A_KERNEL_RELEASE, "6.12.9-amd64")
      .raw(EGPU_A_PAD, &pad, 0)
      .u64(EGPU_A_FEATURES, EGPU_FEATURE_GENL | EGPU_FEATURE_KUNIT | (1ULL << 5))
      .u32(EGPU_A_API_VERSION, EGPU_GATE_GENL_VERSION)
      .nest(EGPU_A_CONFIG, [](Attrs& c) {
        c.u8(EGPU_A_CFG_AUTO_RESET_METHOD, 1)
            .u32(EGPU_A_CFG_TEARDOWN_BUDGET_MS, 5000)
            .u8(EGPU_A_CFG_RESET_LEAVE_D0, 0);
      });
  return a;
}

std::string decode_error(const Bytes& b) {
  return error_of([&] { decode_status(b); });
}

TEST(DecodeStatus, FullReply) {
  const Status s = decode_status(full_reply().bytes());
  EXPECT_EQ(s.version, "0.1.0");
  EXPECT_EQ(s.kernelRelease, "6.12.9-amd64");
  EXPECT_EQ(s.apiVersion, 1u);
  EXPECT_EQ(s.features, EGPU_FEATURE_GENL | EGPU_FEATURE_KUNIT | (1ULL << 5));
  ASSERT_TRUE(s.config);
  EXPECT_EQ(s.config->autoResetMethod, 1);
  EXPECT_EQ(s.config->teardownBudgetMs, 5000u);
  EXPECT_EQ(s.config->resetLeaveD0, 0);
}

TEST(DecodeStatus, FromAttributeTable) {
  const Bytes b = full_reply().bytes();
  const nlattr* tb[EGPU_A_MAX + 1];
  parse_attrs(b, EGPU_A_MAX, tb, "reply");
  EXPECT_EQ(decode_status(tb), decode_status(b));
}

TEST(DecodeStatus, MissingOptionalAttributes) {
  Attrs a;
  a.str(EGPU_A_VERSION, "0.1.0").u32(EGPU_A_API_VERSION, 1);
  const Status s = decode_status(a.bytes());
  EXPECT_EQ(s.version, "0.1.0");
  EXPECT_EQ(s.apiVersion, 1u);
  EXPECT_FALSE(s.kernelRelease);
  EXPECT_FALSE(s.features);
  EXPECT_FALSE(s.config);
}

TEST(DecodeStatus, EmptyAndPartialConfigNest) {
  Attrs a;
  a.str(EGPU_A_VERSION, "0.1.0").u32(EGPU_A_API_VERSION, 1).nest(EGPU_A_CONFIG, [](Attrs& c) {
    c.u32(EGPU_A_CFG_TEARDOWN_BUDGET_MS, 100);
  });
  const Status s = decode_status(a.bytes());
  ASSERT_TRUE(s.config);
  EXPECT_FALSE(s.config->autoResetMethod);
  EXPECT_FALSE(s.config->resetLeaveD0);
  EXPECT_EQ(s.config->teardownBudgetMs, 100u);
}

TEST(DecodeStatus, MissingRequiredAttributes) {
  Attrs no_version;
  no_version.u32(EGPU_A_API_VERSION, 1);
  EXPECT_EQ(decode_error(no_version.bytes()),
            "get status: malformed reply from module egpu_gate: EGPU_A_VERSION is missing");
  Attrs no_api;
  no_api.str(EGPU_A_VERSION, "0.1.0");
  EXPECT_THAT(decode_error(no_api.bytes()), HasSubstr("EGPU_A_API_VERSION is missing"));
  EXPECT_THAT(decode_error({}), HasSubstr("EGPU_A_VERSION is missing"));
}

TEST(DecodeStatus, WrongSizesAreRejected) {
  Attrs a;
  a.str(EGPU_A_VERSION, "0.1.0").u8(EGPU_A_API_VERSION, 1);
  EXPECT_THAT(decode_error(a.bytes()), HasSubstr("EGPU_A_API_VERSION has 1 bytes, expected 4"));
  Attrs b;
  b.str(EGPU_A_VERSION, "0.1.0").u32(EGPU_A_API_VERSION, 1).u32(EGPU_A_FEATURES, 1);
  EXPECT_THAT(decode_error(b.bytes()), HasSubstr("EGPU_A_FEATURES has 4 bytes, expected 8"));
  Attrs c;
  c.str(EGPU_A_VERSION, "0.1.0").u32(EGPU_A_API_VERSION, 1).nest(EGPU_A_CONFIG, [](Attrs& n) {
    n.u32(EGPU_A_CFG_AUTO_RESET_METHOD, 1);
  });
  EXPECT_THAT(decode_error(c.bytes()),
              HasSubstr("EGPU_A_CFG_AUTO_RESET_METHOD has 4 bytes, expected 1"));
  Attrs e;
  e.str(EGPU_A_VERSION, "0.1.0").u32(EGPU_A_API_VERSION, 1).nest(EGPU_A_CONFIG, [](Attrs& n) {
    n.u32(EGPU_A_CFG_RESET_LEAVE_D0, 1);
  });
  EXPECT_THAT(decode_error(e.bytes()),
              HasSubstr("EGPU_A_CFG_RESET_LEAVE_D0 has 4 bytes, expected 1"));
  Attrs d;
  d.raw(EGPU_A_VERSION, "", 0).u32(EGPU_A_API_VERSION, 1);
  EXPECT_THAT(decode_error(d.bytes()), HasSubstr("EGPU_A_VERSION is empty"));
}

TEST(DecodeStatus, UnknownAttributesAreIgnored) {
  Attrs a = full_reply();
  a.u32(EGPU_A_MAX + 1, 42).u64(200, 7);
  EXPECT_EQ(decode_status(a.bytes()), decode_status(full_reply().bytes()));
}

TEST(DecodeStatus, UnterminatedStringIsCut) {
  Attrs a;
  a.raw(EGPU_A_VERSION, "0.1.0xyz", 5).u32(EGPU_A_API_VERSION, 1);
  EXPECT_EQ(decode_status(a.bytes()).version, "0.1.0");
}

TEST(DecodeStatus, TruncatedStreamIsRejected) {
  Bytes b = full_reply().bytes();
  b.resize(b.size() - 6);  // cuts into the config nest
  EXPECT_THAT(decode_error(b), HasSubstr("truncated"));
  Bytes c = full_reply().bytes();
  c.push_back(0);  // short trailing padding is tolerated
  EXPECT_NO_THROW(decode_status(c));
}

TEST(DecodeStatus, UnalignedBufferIsFine) {
  const Bytes b = full_reply().bytes();
  Bytes shifted(b.size() + 1);
  std::memcpy(shifted.data() + 1, b.data(), b.size());
  EXPECT_EQ(decode_status(std::span<const uint8_t>(shifted.data() + 1, b.size())),
            decode_status(b));
}

TEST(DecodeStatus, SurvivesEveryTruncationAndBitFlip) {
  // A cheap stand-in for fuzzing: no crash, only values or Errors.
  const Bytes b = full_reply().bytes();
  for (size_t n = 0; n <= b.size(); ++n) {
    try {
      decode_status(std::span<const uint8_t>(b.data(), n));
    } catch (const Error&) {
    }
  }
  for (size_t i = 0; i < b.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes m = b;
      m[i] ^= static_cast<uint8_t>(1u << bit);
      try {
        decode_status(m);
      } catch (const Error&) {
      }
    }
  }
}

TEST(EncodeConfigChange, BothMembers) {
  const Bytes b = encode_config_change({.autoResetMethod = 1, .teardownBudgetMs = 250});
  const nlattr* tb[EGPU_A_MAX + 1];
  parse_attrs(b, EGPU_A_MAX, tb, "request");
  ASSERT_NE(tb[EGPU_A_CONFIG], nullptr);
  EXPECT_TRUE(tb[EGPU_A_CONFIG]->nla_type & NLA_F_NESTED);
  for (int t = 0; t <= EGPU_A_MAX; ++t) {
    if (t != EGPU_A_CONFIG) {
      EXPECT_EQ(tb[t], nullptr) << t;
    }
  }
  nlattr* cfg[EGPU_A_CFG_MAX + 1];
  ASSERT_EQ(nla_parse_nested(cfg, EGPU_A_CFG_MAX, const_cast<nlattr*>(tb[EGPU_A_CONFIG]), nullptr), 0);
  ASSERT_NE(cfg[EGPU_A_CFG_AUTO_RESET_METHOD], nullptr);
  EXPECT_EQ(nla_len(cfg[EGPU_A_CFG_AUTO_RESET_METHOD]), 1);
  EXPECT_EQ(nla_get_u8(cfg[EGPU_A_CFG_AUTO_RESET_METHOD]), 1);
  ASSERT_NE(cfg[EGPU_A_CFG_TEARDOWN_BUDGET_MS], nullptr);
  EXPECT_EQ(nla_len(cfg[EGPU_A_CFG_TEARDOWN_BUDGET_MS]), 4);
  EXPECT_EQ(nla_get_u32(cfg[EGPU_A_CFG_TEARDOWN_BUDGET_MS]), 250u);
}

TEST(EncodeConfigChange, OnlyWhatIsSet) {
  const Bytes b = encode_config_change({.teardownBudgetMs = 60000});
  const nlattr* tb[EGPU_A_MAX + 1];
  parse_attrs(b, EGPU_A_MAX, tb, "request");
  nlattr* cfg[EGPU_A_CFG_MAX + 1];
  ASSERT_EQ(nla_parse_nested(cfg, EGPU_A_CFG_MAX, const_cast<nlattr*>(tb[EGPU_A_CONFIG]), nullptr), 0);
  EXPECT_EQ(cfg[EGPU_A_CFG_AUTO_RESET_METHOD], nullptr);
  EXPECT_EQ(nla_get_u32(cfg[EGPU_A_CFG_TEARDOWN_BUDGET_MS]), 60000u);
}

TEST(EncodeConfigChange, ResetLeaveD0) {
  const Bytes b = encode_config_change({.resetLeaveD0 = 0});
  const nlattr* tb[EGPU_A_MAX + 1];
  parse_attrs(b, EGPU_A_MAX, tb, "request");
  nlattr* cfg[EGPU_A_CFG_MAX + 1];
  ASSERT_EQ(nla_parse_nested(cfg, EGPU_A_CFG_MAX, const_cast<nlattr*>(tb[EGPU_A_CONFIG]), nullptr), 0);
  EXPECT_EQ(cfg[EGPU_A_CFG_AUTO_RESET_METHOD], nullptr);
  EXPECT_EQ(cfg[EGPU_A_CFG_TEARDOWN_BUDGET_MS], nullptr);
  ASSERT_NE(cfg[EGPU_A_CFG_RESET_LEAVE_D0], nullptr);
  EXPECT_EQ(nla_len(cfg[EGPU_A_CFG_RESET_LEAVE_D0]), 1);
  EXPECT_EQ(nla_get_u8(cfg[EGPU_A_CFG_RESET_LEAVE_D0]), 0);
}

TEST(EncodeConfigChange, EmptyChangeIsAUsageError) {
  try {
    encode_config_change({});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
  }
}

}  // namespace
}  // namespace egpuctl

namespace egpuctl {
namespace {

Attrs gpu_reply() {
  Attrs a;
  a.nest(EGPU_A_GPU, [](Attrs& g) {
    g.str(EGPU_A_GPU_BDF, "0000:0a:00.0")
        .u16(EGPU_A_GPU_VENDOR, 0x1002)
        .u16(EGPU_A_GPU_DEVICE, 0x687f)
        .str(EGPU_A_GPU_FAMILY, "vega10")
        .u8(EGPU_A_GPU_RESET_METHOD_SET, 1)
        .nest(EGPU_A_GPU_STATS, [](Attrs& s) {
          s.u64(EGPU_A_STATS_COUNT, 3)
              .u64(EGPU_A_STATS_FAILURES, 1)
              .u32(EGPU_A_STATS_LAST_RESULT, static_cast<uint32_t>(-110))
              .u64(EGPU_A_STATS_LAST_DURATION_US, 123456)
              .u8(EGPU_A_STATS_LAST_METHOD, EGPU_RESET_METHOD_BACO)
              .u32(EGPU_A_STATS_SMU_STATE_BEFORE, 0x80000000);
        });
  });
  return a;
}

std::string gpu_error(const Bytes& b) {
  try {
    decode_gpu(b);
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 1);
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return {};
}

TEST(DecodeGpu, FullEntry) {
  const Gpu g = decode_gpu(gpu_reply().bytes());
  EXPECT_EQ(g.bdf, "0000:0a:00.0");
  EXPECT_EQ(g.vendor, 0x1002);
  EXPECT_EQ(g.device, 0x687f);
  EXPECT_EQ(g.family, "vega10");
  EXPECT_EQ(g.resetMethodSet, true);
  ASSERT_TRUE(g.stats);
  EXPECT_EQ(*g.stats, (GpuStats{.count = 3,
                                .failures = 1,
                                .lastResult = -110,
                                .lastDurationUs = 123456,
                                .lastMethod = EGPU_RESET_METHOD_BACO,
                                .smuStateBefore = 0x80000000}));
}

TEST(DecodeGpu, OptionalPartsMayBeMissing) {
  Attrs a;
  a.nest(EGPU_A_GPU, [](Attrs& g) {
    g.str(EGPU_A_GPU_BDF, "0000:01:00.0")
        .u16(EGPU_A_GPU_VENDOR, 1)
        .u16(EGPU_A_GPU_DEVICE, 2)
        .str(EGPU_A_GPU_FAMILY, "f")
        .u32(EGPU_A_GPU_MAX + 1, 7)  // unknown: ignored
        .nest(EGPU_A_GPU_STATS, [](Attrs& s) { s.u64(EGPU_A_STATS_COUNT, 0); });
  });
  const Gpu g = decode_gpu(a.bytes());
  EXPECT_FALSE(g.resetMethodSet);
  ASSERT_TRUE(g.stats);
  EXPECT_EQ(g.stats->count, 0u);
  EXPECT_FALSE(g.stats->lastResult);
}

TEST(DecodeGpu, MissingRequiredParts) {
  EXPECT_THAT(gpu_error(Attrs().str(EGPU_A_VERSION, "x").bytes()),
              HasSubstr("EGPU_A_GPU is missing"));
  Attrs a;
  a.nest(EGPU_A_GPU, [](Attrs& g) { g.str(EGPU_A_GPU_BDF, "0000:01:00.0"); });
  EXPECT_EQ(gpu_error(a.bytes()),
            "list GPUs: malformed reply from module egpu_gate: EGPU_A_GPU_VENDOR is missing");
}

TEST(DecodeGpu, WrongSizeIsRejected) {
  Attrs a;
  a.nest(EGPU_A_GPU, [](Attrs& g) {
    g.str(EGPU_A_GPU_BDF, "0000:01:00.0")
        .u32(EGPU_A_GPU_VENDOR, 0x1002)
        .u16(EGPU_A_GPU_DEVICE, 2)
        .str(EGPU_A_GPU_FAMILY, "f");
  });
  EXPECT_THAT(gpu_error(a.bytes()), HasSubstr("EGPU_A_GPU_VENDOR has 4 bytes, expected 2"));
}

TEST(DecodeGpu, SurvivesEveryTruncationAndBitFlip) {
  const Bytes full = gpu_reply().bytes();
  for (size_t n = 0; n <= full.size(); ++n) {
    try {
      decode_gpu(std::span<const uint8_t>(full.data(), n));
    } catch (const Error&) {
    }
  }
  for (size_t i = 0; i < full.size() * 8; ++i) {
    Bytes b = full;
    b[i / 8] ^= static_cast<uint8_t>(1u << (i % 8));
    try {
      decode_gpu(b);
    } catch (const Error&) {
    }
  }
}

// The request as the kernel parses it: one EGPU_A_GPU nest with
// NLA_F_NESTED.  tb points into `b`.
const nlattr* request_nest(const Bytes& b, const nlattr* tb[]) {
  const nlattr* top[EGPU_A_MAX + 1];
  parse_attrs(b, EGPU_A_MAX, top, "request");
  EXPECT_NE(top[EGPU_A_GPU], nullptr);
  EXPECT_TRUE(top[EGPU_A_GPU]->nla_type & NLA_F_NESTED);
  parse_attrs({static_cast<const uint8_t*>(nla_data(top[EGPU_A_GPU])),
               static_cast<size_t>(nla_len(top[EGPU_A_GPU]))},
              EGPU_A_GPU_MAX, tb, "nest");
  return top[EGPU_A_GPU];
}

TEST(EncodeGpuReset, BdfAndForce) {
  const nlattr* tb[EGPU_A_GPU_MAX + 1];
  const Bytes forced = encode_gpu_reset("0000:01:00.0", true);
  request_nest(forced, tb);
  ASSERT_NE(tb[EGPU_A_GPU_BDF], nullptr);
  EXPECT_STREQ(static_cast<const char*>(nla_data(tb[EGPU_A_GPU_BDF])), "0000:01:00.0");
  ASSERT_NE(tb[EGPU_A_GPU_FORCE], nullptr);
  EXPECT_EQ(nla_len(tb[EGPU_A_GPU_FORCE]), 0);
  const Bytes plain = encode_gpu_reset("0000:01:00.0", false);
  request_nest(plain, tb);
  EXPECT_EQ(tb[EGPU_A_GPU_FORCE], nullptr);
}

TEST(EncodeGpuId, AllThree) {
  const nlattr* tb[EGPU_A_GPU_MAX + 1];
  const Bytes b = encode_gpu_id({.vendor = 0x1002, .device = 0x687f, .family = "vega10"});
  request_nest(b, tb);
  ASSERT_NE(tb[EGPU_A_GPU_VENDOR], nullptr);
  ASSERT_NE(tb[EGPU_A_GPU_DEVICE], nullptr);
  ASSERT_NE(tb[EGPU_A_GPU_FAMILY], nullptr);
  EXPECT_EQ(nla_get_u16(const_cast<nlattr*>(tb[EGPU_A_GPU_VENDOR])), 0x1002);
  EXPECT_EQ(nla_get_u16(const_cast<nlattr*>(tb[EGPU_A_GPU_DEVICE])), 0x687f);
  EXPECT_STREQ(static_cast<const char*>(nla_data(tb[EGPU_A_GPU_FAMILY])), "vega10");
  EXPECT_EQ(tb[EGPU_A_GPU_BDF], nullptr);
}

}  // namespace
}  // namespace egpuctl
