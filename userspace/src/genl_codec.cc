#include "genl_codec.h"

#include <fmt/format.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "error.h"

namespace egpuctl {
namespace {

constexpr const char kWhat[] = "get status";

const char* attr_name(int type) {
  switch (type) {
    case EGPU_A_VERSION: return "EGPU_A_VERSION";
    case EGPU_A_KERNEL_RELEASE: return "EGPU_A_KERNEL_RELEASE";
    case EGPU_A_FEATURES: return "EGPU_A_FEATURES";
    case EGPU_A_API_VERSION: return "EGPU_A_API_VERSION";
    case EGPU_A_CONFIG: return "EGPU_A_CONFIG";
    default: return "attribute";
  }
}

const char* cfg_attr_name(int type) {
  switch (type) {
    case EGPU_A_CFG_AUTO_RESET_METHOD: return "EGPU_A_CFG_AUTO_RESET_METHOD";
    case EGPU_A_CFG_TEARDOWN_BUDGET_MS: return "EGPU_A_CFG_TEARDOWN_BUDGET_MS";
    case EGPU_A_CFG_RESET_LEAVE_D0: return "EGPU_A_CFG_RESET_LEAVE_D0";
    default: return "attribute";
  }
}

// Reads an unsigned integer attribute of exactly sizeof(T) bytes.  memcpy:
// the buffer may be unaligned (fuzzers).
template <typename T>
T get_uint(const nlattr* a, const char* name, const char* what = kWhat) {
  if (nla_len(a) != static_cast<int>(sizeof(T))) {
    throw malformed_reply(what, fmt::format("{} has {} bytes, expected {}", name, nla_len(a),
                                             sizeof(T)));
  }
  T v;
  std::memcpy(&v, nla_data(a), sizeof v);
  return v;
}

// A string attribute: up to its first NUL (or all of it when unterminated).
std::string get_string(const nlattr* a, const char* name, const char* what = kWhat) {
  if (nla_len(a) < 1) throw malformed_reply(what, fmt::format("{} is empty", name));
  const char* s = static_cast<const char*>(nla_data(a));
  return std::string(s, strnlen(s, static_cast<size_t>(nla_len(a))));
}

std::span<const uint8_t> payload(const nlattr* a) {
  return {static_cast<const uint8_t*>(nla_data(a)), static_cast<size_t>(nla_len(a))};
}

Config decode_config(const nlattr* nest) {
  const nlattr* tb[EGPU_A_CFG_MAX + 1];
  parse_attrs(payload(nest), EGPU_A_CFG_MAX, tb, "EGPU_A_CONFIG");
  Config c;
  if (const nlattr* a = tb[EGPU_A_CFG_AUTO_RESET_METHOD])
    c.autoResetMethod = get_uint<uint8_t>(a, cfg_attr_name(EGPU_A_CFG_AUTO_RESET_METHOD));
  if (const nlattr* a = tb[EGPU_A_CFG_TEARDOWN_BUDGET_MS])
    c.teardownBudgetMs = get_uint<uint32_t>(a, cfg_attr_name(EGPU_A_CFG_TEARDOWN_BUDGET_MS));
  if (const nlattr* a = tb[EGPU_A_CFG_RESET_LEAVE_D0])
    c.resetLeaveD0 = get_uint<uint8_t>(a, cfg_attr_name(EGPU_A_CFG_RESET_LEAVE_D0));
  return c;
}

struct MsgDeleter {
  void operator()(nl_msg* m) const { nlmsg_free(m); }
};

constexpr const char kGpuWhat[] = "list GPUs";

GpuStats decode_gpu_stats(const nlattr* nest) {
  const nlattr* tb[EGPU_A_STATS_MAX + 1];
  parse_attrs(payload(nest), EGPU_A_STATS_MAX, tb, "EGPU_A_GPU_STATS");
  GpuStats st;
  if (const nlattr* a = tb[EGPU_A_STATS_COUNT])
    st.count = get_uint<uint64_t>(a, "EGPU_A_STATS_COUNT", kGpuWhat);
  if (const nlattr* a = tb[EGPU_A_STATS_FAILURES])
    st.failures = get_uint<uint64_t>(a, "EGPU_A_STATS_FAILURES", kGpuWhat);
  if (const nlattr* a = tb[EGPU_A_STATS_LAST_RESULT])
    st.lastResult = static_cast<int32_t>(get_uint<uint32_t>(a, "EGPU_A_STATS_LAST_RESULT", kGpuWhat));
  if (const nlattr* a = tb[EGPU_A_STATS_LAST_DURATION_US])
    st.lastDurationUs = get_uint<uint64_t>(a, "EGPU_A_STATS_LAST_DURATION_US", kGpuWhat);
  if (const nlattr* a = tb[EGPU_A_STATS_LAST_METHOD])
    st.lastMethod = get_uint<uint8_t>(a, "EGPU_A_STATS_LAST_METHOD", kGpuWhat);
  if (const nlattr* a = tb[EGPU_A_STATS_SMU_STATE_BEFORE])
    st.smuStateBefore = get_uint<uint32_t>(a, "EGPU_A_STATS_SMU_STATE_BEFORE", kGpuWhat);
  return st;
}

// The attribute stream of a message built in `msg`.
Bytes msg_attrs(nl_msg* msg) {
  nlmsghdr* hdr = nlmsg_hdr(msg);
  auto* data = static_cast<const uint8_t*>(nlmsg_data(hdr));
  return Bytes(data, data + nlmsg_datalen(hdr));
}

// Aligned copy of `attrs` when needed: attribute headers are read in place.
std::span<const uint8_t> aligned_attrs(std::span<const uint8_t> attrs,
                                       std::vector<uint32_t>& storage) {
  if (reinterpret_cast<uintptr_t>(attrs.data()) % alignof(nlattr) == 0) return attrs;
  storage.resize((attrs.size() + 3) / 4);
  std::memcpy(storage.data(), attrs.data(), attrs.size());
  return {reinterpret_cast<const uint8_t*>(storage.data()), attrs.size()};
}

}  // namespace

void parse_attrs(std::span<const uint8_t> attrs, int maxtype, const nlattr* tb[],
                 const char* what) {
  std::fill(tb, tb + maxtype + 1, nullptr);
  if (attrs.size() > static_cast<size_t>(INT32_MAX))
    throw malformed_reply(kWhat, fmt::format("{} is too long", what));
  // nla_ok() checks that the header and the declared length fit in `rem`.
  auto* a = reinterpret_cast<const nlattr*>(attrs.data());
  int rem = static_cast<int>(attrs.size());
  while (nla_ok(a, rem)) {
    const int type = nla_type(a);
    if (type <= maxtype) tb[type] = a;
    a = nla_next(a, &rem);
  }
  // Trailing bytes shorter than an attribute header are padding; anything
  // longer is a truncated attribute.
  if (rem >= static_cast<int>(sizeof(nlattr)))
    throw malformed_reply(kWhat, fmt::format("{} is truncated ({} bytes left)", what, rem));
}

Status decode_status(const nlattr* const tb[]) {
  Status s;
  if (tb[EGPU_A_VERSION] == nullptr) throw malformed_reply(kWhat, "EGPU_A_VERSION is missing");
  s.version = get_string(tb[EGPU_A_VERSION], attr_name(EGPU_A_VERSION));
  if (tb[EGPU_A_API_VERSION] == nullptr)
    throw malformed_reply(kWhat, "EGPU_A_API_VERSION is missing");
  s.apiVersion = get_uint<uint32_t>(tb[EGPU_A_API_VERSION], attr_name(EGPU_A_API_VERSION));
  if (const nlattr* a = tb[EGPU_A_KERNEL_RELEASE])
    s.kernelRelease = get_string(a, attr_name(EGPU_A_KERNEL_RELEASE));
  if (const nlattr* a = tb[EGPU_A_FEATURES])
    s.features = get_uint<uint64_t>(a, attr_name(EGPU_A_FEATURES));
  if (const nlattr* a = tb[EGPU_A_CONFIG]) s.config = decode_config(a);
  return s;
}

Status decode_status(std::span<const uint8_t> attrs) {
  // Attribute headers are read in place: make sure they are aligned.
  std::vector<uint32_t> aligned;
  if (reinterpret_cast<uintptr_t>(attrs.data()) % alignof(nlattr) != 0) {
    aligned.resize((attrs.size() + 3) / 4);
    std::memcpy(aligned.data(), attrs.data(), attrs.size());
    attrs = {reinterpret_cast<const uint8_t*>(aligned.data()), attrs.size()};
  }
  const nlattr* tb[EGPU_A_MAX + 1];
  parse_attrs(attrs, EGPU_A_MAX, tb, "reply");
  return decode_status(tb);
}

Bytes encode_config_change(const ConfigChange& change) {
  if (change.empty()) throw usage_error("nothing to change: give at least one setting");
  std::unique_ptr<nl_msg, MsgDeleter> msg(nlmsg_alloc());
  if (!msg) throw local_error("set config", "out of memory");
  nlattr* nest = nla_nest_start(msg.get(), EGPU_A_CONFIG);
  bool ok = nest != nullptr;
  if (ok && change.autoResetMethod)
    ok = nla_put_u8(msg.get(), EGPU_A_CFG_AUTO_RESET_METHOD, *change.autoResetMethod) == 0;
  if (ok && change.teardownBudgetMs)
    ok = nla_put_u32(msg.get(), EGPU_A_CFG_TEARDOWN_BUDGET_MS, *change.teardownBudgetMs) == 0;
  if (ok && change.resetLeaveD0)
    ok = nla_put_u8(msg.get(), EGPU_A_CFG_RESET_LEAVE_D0, *change.resetLeaveD0) == 0;
  if (ok) ok = nla_nest_end(msg.get(), nest) == 0;
  if (!ok) throw local_error("set config", "cannot build the netlink message");
  // The kernel's strict validation wants NLA_F_NESTED; not every libnl
  // version sets it.
  nest->nla_type |= NLA_F_NESTED;
  nlmsghdr* hdr = nlmsg_hdr(msg.get());
  auto* data = static_cast<const uint8_t*>(nlmsg_data(hdr));
  return Bytes(data, data + nlmsg_datalen(hdr));
}

}  // namespace egpuctl

namespace egpuctl {

Gpu decode_gpu(std::span<const uint8_t> attrs) {
  std::vector<uint32_t> storage;
  attrs = aligned_attrs(attrs, storage);
  const nlattr* top[EGPU_A_MAX + 1];
  parse_attrs(attrs, EGPU_A_MAX, top, "reply");
  if (top[EGPU_A_GPU] == nullptr) throw malformed_reply(kGpuWhat, "EGPU_A_GPU is missing");
  const nlattr* tb[EGPU_A_GPU_MAX + 1];
  parse_attrs(payload(top[EGPU_A_GPU]), EGPU_A_GPU_MAX, tb, "EGPU_A_GPU");
  auto required = [&](int type, const char* name) {
    if (tb[type] == nullptr) throw malformed_reply(kGpuWhat, fmt::format("{} is missing", name));
    return tb[type];
  };
  Gpu g;
  g.bdf = get_string(required(EGPU_A_GPU_BDF, "EGPU_A_GPU_BDF"), "EGPU_A_GPU_BDF", kGpuWhat);
  g.vendor = get_uint<uint16_t>(required(EGPU_A_GPU_VENDOR, "EGPU_A_GPU_VENDOR"),
                                "EGPU_A_GPU_VENDOR", kGpuWhat);
  g.device = get_uint<uint16_t>(required(EGPU_A_GPU_DEVICE, "EGPU_A_GPU_DEVICE"),
                                "EGPU_A_GPU_DEVICE", kGpuWhat);
  g.family = get_string(required(EGPU_A_GPU_FAMILY, "EGPU_A_GPU_FAMILY"), "EGPU_A_GPU_FAMILY",
                        kGpuWhat);
  if (const nlattr* a = tb[EGPU_A_GPU_RESET_METHOD_SET])
    g.resetMethodSet = get_uint<uint8_t>(a, "EGPU_A_GPU_RESET_METHOD_SET", kGpuWhat) != 0;
  if (const nlattr* a = tb[EGPU_A_GPU_STATS]) g.stats = decode_gpu_stats(a);
  return g;
}

Bytes encode_gpu_reset(const std::string& bdf, bool force) {
  std::unique_ptr<nl_msg, MsgDeleter> msg(nlmsg_alloc());
  if (!msg) throw local_error("reset GPU", "out of memory");
  nlattr* nest = nla_nest_start(msg.get(), EGPU_A_GPU);
  bool ok = nest != nullptr && nla_put_string(msg.get(), EGPU_A_GPU_BDF, bdf.c_str()) == 0;
  if (ok && force) ok = nla_put_flag(msg.get(), EGPU_A_GPU_FORCE) == 0;
  if (ok) ok = nla_nest_end(msg.get(), nest) == 0;
  if (!ok) throw local_error("reset GPU", "cannot build the netlink message");
  nest->nla_type |= NLA_F_NESTED;
  return msg_attrs(msg.get());
}

Bytes encode_gpu_id(const GpuId& id) {
  std::unique_ptr<nl_msg, MsgDeleter> msg(nlmsg_alloc());
  if (!msg) throw local_error("GPU ID", "out of memory");
  nlattr* nest = nla_nest_start(msg.get(), EGPU_A_GPU);
  bool ok = nest != nullptr && nla_put_u16(msg.get(), EGPU_A_GPU_VENDOR, id.vendor) == 0 &&
            nla_put_u16(msg.get(), EGPU_A_GPU_DEVICE, id.device) == 0 &&
            nla_put_string(msg.get(), EGPU_A_GPU_FAMILY, id.family.c_str()) == 0;
  if (ok) ok = nla_nest_end(msg.get(), nest) == 0;
  if (!ok) throw local_error("GPU ID", "cannot build the netlink message");
  nest->nla_type |= NLA_F_NESTED;
  return msg_attrs(msg.get());
}

}  // namespace egpuctl
