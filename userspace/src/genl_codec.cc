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
    default: return "attribute";
  }
}

// Reads an unsigned integer attribute of exactly sizeof(T) bytes.  memcpy:
// the buffer may be unaligned (fuzzers).
template <typename T>
T get_uint(const nlattr* a, const char* name) {
  if (nla_len(a) != static_cast<int>(sizeof(T))) {
    throw malformed_reply(kWhat, fmt::format("{} has {} bytes, expected {}", name, nla_len(a),
                                             sizeof(T)));
  }
  T v;
  std::memcpy(&v, nla_data(a), sizeof v);
  return v;
}

// A string attribute: up to its first NUL (or all of it when unterminated).
std::string get_string(const nlattr* a, const char* name) {
  if (nla_len(a) < 1) throw malformed_reply(kWhat, fmt::format("{} is empty", name));
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
  return c;
}

struct MsgDeleter {
  void operator()(nl_msg* m) const { nlmsg_free(m); }
};

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
