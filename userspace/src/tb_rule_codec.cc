#include "tb_rule_codec.h"

#include <fmt/format.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <cstring>
#include <memory>
#include <vector>

#include "error.h"

namespace egpuctl {
namespace {

struct MsgDeleter {
  void operator()(nl_msg* m) const { nlmsg_free(m); }
};
using Msg = std::unique_ptr<nl_msg, MsgDeleter>;

std::span<const uint8_t> aligned(std::span<const uint8_t> attrs, std::vector<uint32_t>& storage) {
  if (reinterpret_cast<uintptr_t>(attrs.data()) % alignof(nlattr) == 0) return attrs;
  storage.resize((attrs.size() + 3) / 4);
  std::memcpy(storage.data(), attrs.data(), attrs.size());
  return {reinterpret_cast<const uint8_t*>(storage.data()), attrs.size()};
}

std::span<const uint8_t> payload(const nlattr* a) {
  return {static_cast<const uint8_t*>(nla_data(a)), static_cast<size_t>(nla_len(a))};
}

template <typename T>
T get_uint(const nlattr* a, const char* name, const char* what) {
  if (nla_len(a) != static_cast<int>(sizeof(T)))
    throw malformed_reply(what,
                          fmt::format("{} has {} bytes, expected {}", name, nla_len(a), sizeof(T)));
  T v;
  std::memcpy(&v, nla_data(a), sizeof v);
  return v;
}

std::string get_string(const nlattr* a, const char* name, const char* what) {
  if (nla_len(a) < 1) throw malformed_reply(what, fmt::format("{} is empty", name));
  const char* s = static_cast<const char*>(nla_data(a));
  return std::string(s, strnlen(s, static_cast<size_t>(nla_len(a))));
}

// The nest `type` of the top-level attributes, parsed into tb.
void parse_nest(std::span<const uint8_t> attrs, int type, const char* type_name, int maxtype,
                const nlattr* tb[], const char* what) {
  const nlattr* top[EGPU_A_MAX + 1];
  parse_attrs(attrs, EGPU_A_MAX, top, "reply");
  if (top[type] == nullptr) throw malformed_reply(what, fmt::format("{} is missing", type_name));
  parse_attrs(payload(top[type]), maxtype, tb, type_name);
}

Bytes finish(Msg& msg, nlattr* nest, bool ok, const char* what) {
  if (ok && nest != nullptr) ok = nla_nest_end(msg.get(), nest) == 0;
  if (!ok) throw local_error(what, "cannot build the netlink message");
  if (nest != nullptr) nest->nla_type |= NLA_F_NESTED;
  nlmsghdr* hdr = nlmsg_hdr(msg.get());
  auto* data = static_cast<const uint8_t*>(nlmsg_data(hdr));
  return Bytes(data, data + nlmsg_datalen(hdr));
}

Msg new_msg(const char* what, size_t size) {
  Msg msg(nlmsg_alloc_size(size + 256));
  if (!msg) throw local_error(what, "out of memory");
  return msg;
}

}  // namespace

TbRuleEntry decode_tb_rule(std::span<const uint8_t> attrs, const char* what) {
  std::vector<uint32_t> storage;
  attrs = aligned(attrs, storage);
  const nlattr* tb[EGPU_A_RULE_MAX + 1];
  parse_nest(attrs, EGPU_A_RULE, "EGPU_A_RULE", EGPU_A_RULE_MAX, tb, what);
  if (tb[EGPU_A_RULE_ID] == nullptr) throw malformed_reply(what, "EGPU_A_RULE_ID is missing");
  if (tb[EGPU_A_RULE_TEXT] == nullptr) throw malformed_reply(what, "EGPU_A_RULE_TEXT is missing");
  TbRuleEntry r;
  r.id = get_uint<uint32_t>(tb[EGPU_A_RULE_ID], "EGPU_A_RULE_ID", what);
  r.text = get_string(tb[EGPU_A_RULE_TEXT], "EGPU_A_RULE_TEXT", what);
  if (const nlattr* a = tb[EGPU_A_RULE_HITS])
    r.hits = get_uint<uint64_t>(a, "EGPU_A_RULE_HITS", what);
  return r;
}

Bytes encode_tb_rule_text(const std::string& text) {
  constexpr const char kWhat[] = "add Thunderbolt rule";
  Msg msg = new_msg(kWhat, text.size());
  nlattr* nest = nla_nest_start(msg.get(), EGPU_A_RULE);
  bool ok = nest != nullptr && nla_put_string(msg.get(), EGPU_A_RULE_TEXT, text.c_str()) == 0;
  return finish(msg, nest, ok, kWhat);
}

Bytes encode_tb_rule_id(uint32_t id) {
  constexpr const char kWhat[] = "delete Thunderbolt rule";
  Msg msg = new_msg(kWhat, 0);
  nlattr* nest = nla_nest_start(msg.get(), EGPU_A_RULE);
  bool ok = nest != nullptr && nla_put_u32(msg.get(), EGPU_A_RULE_ID, id) == 0;
  return finish(msg, nest, ok, kWhat);
}

Bytes encode_tb_rules(const std::string& text) {
  constexpr const char kWhat[] = "set Thunderbolt rules";
  Msg msg = new_msg(kWhat, text.size());
  bool ok = nla_put_string(msg.get(), EGPU_A_RULES, text.c_str()) == 0;
  return finish(msg, nullptr, ok, kWhat);
}

TbDeviceInfo decode_tb_device_info(std::span<const uint8_t> attrs) {
  constexpr const char kWhat[] = "list Thunderbolt devices";
  std::vector<uint32_t> storage;
  attrs = aligned(attrs, storage);
  const nlattr* tb[EGPU_A_TB_MAX + 1];
  parse_nest(attrs, EGPU_A_TB, "EGPU_A_TB", EGPU_A_TB_MAX, tb, kWhat);
  if (tb[EGPU_A_TB_NAME] == nullptr) throw malformed_reply(kWhat, "EGPU_A_TB_NAME is missing");
  TbDeviceInfo d;
  d.name = get_string(tb[EGPU_A_TB_NAME], "EGPU_A_TB_NAME", kWhat);
  auto str = [&](int type, const char* name, std::optional<std::string>& out) {
    if (tb[type] != nullptr) out = get_string(tb[type], name, kWhat);
  };
  str(EGPU_A_TB_PARENT, "EGPU_A_TB_PARENT", d.parent);
  str(EGPU_A_TB_UNIQUE_ID, "EGPU_A_TB_UNIQUE_ID", d.uniqueId);
  str(EGPU_A_TB_VENDOR_NAME, "EGPU_A_TB_VENDOR_NAME", d.vendorName);
  str(EGPU_A_TB_DEVICE_NAME, "EGPU_A_TB_DEVICE_NAME", d.deviceName);
  if (const nlattr* a = tb[EGPU_A_TB_VENDOR])
    d.vendor = get_uint<uint32_t>(a, "EGPU_A_TB_VENDOR", kWhat);
  if (const nlattr* a = tb[EGPU_A_TB_DEVICE])
    d.device = get_uint<uint32_t>(a, "EGPU_A_TB_DEVICE", kWhat);
  if (const nlattr* a = tb[EGPU_A_TB_RULE_ID])
    d.ruleId = get_uint<uint32_t>(a, "EGPU_A_TB_RULE_ID", kWhat);
  if (const nlattr* a = tb[EGPU_A_TB_AUTHORIZED])
    d.authorized = get_uint<uint8_t>(a, "EGPU_A_TB_AUTHORIZED", kWhat);
  return d;
}

}  // namespace egpuctl
