#include "tb_codec.h"

#include <fmt/format.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <cstring>
#include <memory>
#include <vector>

#include "egpu_gate.h"
#include "error.h"

namespace egpuctl {
namespace {

// The decoding context of one reply: what it is called in messages.
class Reader {
 public:
  explicit Reader(const char* what) : what_(what) {}

  template <typename T>
  T uint(const nlattr* a, const char* name) const {
    if (nla_len(a) != static_cast<int>(sizeof(T)))
      throw malformed_reply(what_, fmt::format("{} has {} bytes, expected {}", name, nla_len(a),
                                               sizeof(T)));
    T v;
    std::memcpy(&v, nla_data(a), sizeof v);
    return v;
  }

  std::string str(const nlattr* a, const char* name) const {
    if (nla_len(a) < 1) throw malformed_reply(what_, fmt::format("{} is empty", name));
    const char* s = static_cast<const char*>(nla_data(a));
    return std::string(s, strnlen(s, static_cast<size_t>(nla_len(a))));
  }

  const nlattr* required(const nlattr* a, const char* name) const {
    if (a == nullptr) throw malformed_reply(what_, fmt::format("{} is missing", name));
    return a;
  }

  // The payload of the one top-level nest `type` of the message.
  std::span<const uint8_t> top_nest(std::span<const uint8_t> attrs, int type, const char* name,
                                    std::vector<uint32_t>& storage) const {
    if (reinterpret_cast<uintptr_t>(attrs.data()) % alignof(nlattr) != 0) {
      storage.resize((attrs.size() + 3) / 4);
      std::memcpy(storage.data(), attrs.data(), attrs.size());
      attrs = {reinterpret_cast<const uint8_t*>(storage.data()), attrs.size()};
    }
    const nlattr* top[EGPU_A_MAX + 1];
    parse_attrs(attrs, EGPU_A_MAX, top, "reply");
    const nlattr* n = required(top[type], name);
    return {static_cast<const uint8_t*>(nla_data(n)), static_cast<size_t>(nla_len(n))};
  }

  const char* what() const { return what_; }

 private:
  const char* what_;
};

#define OPT_STR(field, tbl, attr) \
  if (const nlattr* a = tbl[attr]) field = r.str(a, #attr)
#define OPT_UINT(field, T, tbl, attr) \
  if (const nlattr* a = tbl[attr]) field = r.uint<T>(a, #attr)

}  // namespace

TbDevice decode_tb(std::span<const uint8_t> attrs) {
  const Reader r("list Thunderbolt devices");
  std::vector<uint32_t> storage;
  const auto nest = r.top_nest(attrs, EGPU_A_TB, "EGPU_A_TB", storage);
  const nlattr* tb[EGPU_A_TB_MAX + 1];
  parse_attrs(nest, EGPU_A_TB_MAX, tb, "EGPU_A_TB");
  TbDevice d;
  d.name = r.str(r.required(tb[EGPU_A_TB_NAME], "EGPU_A_TB_NAME"), "EGPU_A_TB_NAME");
  d.domain = r.uint<uint32_t>(r.required(tb[EGPU_A_TB_DOMAIN], "EGPU_A_TB_DOMAIN"),
                              "EGPU_A_TB_DOMAIN");
  OPT_STR(d.parent, tb, EGPU_A_TB_PARENT);
  OPT_STR(d.uniqueId, tb, EGPU_A_TB_UNIQUE_ID);
  OPT_UINT(d.vendor, uint32_t, tb, EGPU_A_TB_VENDOR);
  OPT_UINT(d.device, uint32_t, tb, EGPU_A_TB_DEVICE);
  OPT_STR(d.vendorName, tb, EGPU_A_TB_VENDOR_NAME);
  OPT_STR(d.deviceName, tb, EGPU_A_TB_DEVICE_NAME);
  OPT_UINT(d.authorized, uint8_t, tb, EGPU_A_TB_AUTHORIZED);
  OPT_STR(d.security, tb, EGPU_A_TB_SECURITY);
  if (const nlattr* a = tb[EGPU_A_TB_IOMMU_PROTECTION])
    d.iommuProtection = r.uint<uint8_t>(a, "EGPU_A_TB_IOMMU_PROTECTION") != 0;
  if (const nlattr* a = tb[EGPU_A_TB_DEAUTHORIZATION])
    d.deauthorization = r.uint<uint8_t>(a, "EGPU_A_TB_DEAUTHORIZATION") != 0;
  OPT_UINT(d.ruleId, uint32_t, tb, EGPU_A_TB_RULE_ID);
  OPT_UINT(d.decision, uint8_t, tb, EGPU_A_TB_DECISION);
  OPT_STR(d.reason, tb, EGPU_A_TB_REASON);
  OPT_UINT(d.authFailures, uint32_t, tb, EGPU_A_TB_AUTH_FAILURES);
  OPT_UINT(d.authError, int32_t, tb, EGPU_A_TB_AUTH_ERROR);
  OPT_UINT(d.authRetryMs, uint32_t, tb, EGPU_A_TB_AUTH_RETRY_MS);
  if (const nlattr* a = tb[EGPU_A_TB_BY_EGPU]) {
    if (nla_len(a) != 0)
      throw malformed_reply(r.what(), fmt::format("EGPU_A_TB_BY_EGPU has {} bytes, expected 0",
                                                  nla_len(a)));
    d.byEgpu = true;
  }
  // EGPU_A_TB_PCI is repeated: walk the nest in order.
  const auto* a = reinterpret_cast<const nlattr*>(nest.data());
  int rem = static_cast<int>(nest.size());
  while (nla_ok(a, rem)) {
    if (nla_type(a) == EGPU_A_TB_PCI) d.pci.push_back(r.str(a, "EGPU_A_TB_PCI"));
    a = nla_next(a, &rem);
  }
  return d;
}

TeardownStep decode_step(std::span<const uint8_t> attrs) {
  const Reader r("get the teardown plan");
  std::vector<uint32_t> storage;
  const auto nest = r.top_nest(attrs, EGPU_A_STEP, "EGPU_A_STEP", storage);
  const nlattr* tb[EGPU_A_STEP_MAX + 1];
  parse_attrs(nest, EGPU_A_STEP_MAX, tb, "EGPU_A_STEP");
  TeardownStep s;
  s.index = r.uint<uint32_t>(r.required(tb[EGPU_A_STEP_INDEX], "EGPU_A_STEP_INDEX"),
                             "EGPU_A_STEP_INDEX");
  s.action = r.uint<uint8_t>(r.required(tb[EGPU_A_STEP_ACTION], "EGPU_A_STEP_ACTION"),
                             "EGPU_A_STEP_ACTION");
  s.target = r.str(r.required(tb[EGPU_A_STEP_TARGET], "EGPU_A_STEP_TARGET"),
                   "EGPU_A_STEP_TARGET");
  OPT_STR(s.tb, tb, EGPU_A_STEP_TB);
  OPT_STR(s.note, tb, EGPU_A_STEP_NOTE);
  return s;
}

Event decode_event(std::span<const uint8_t> attrs) {
  const Reader r("receive events");
  std::vector<uint32_t> storage;
  const auto nest = r.top_nest(attrs, EGPU_A_EVENT, "EGPU_A_EVENT", storage);
  const nlattr* tb[EGPU_A_EV_MAX + 1];
  parse_attrs(nest, EGPU_A_EV_MAX, tb, "EGPU_A_EVENT");
  Event e;
  e.type = r.uint<uint8_t>(r.required(tb[EGPU_A_EV_TYPE], "EGPU_A_EV_TYPE"), "EGPU_A_EV_TYPE");
  OPT_UINT(e.timeNs, uint64_t, tb, EGPU_A_EV_TIME_NS);
  OPT_STR(e.tb, tb, EGPU_A_EV_TB);
  OPT_STR(e.uniqueId, tb, EGPU_A_EV_UNIQUE_ID);
  OPT_STR(e.bdf, tb, EGPU_A_EV_BDF);
  OPT_UINT(e.ruleId, uint32_t, tb, EGPU_A_EV_RULE_ID);
  if (const nlattr* a = tb[EGPU_A_EV_ERROR])
    e.error = static_cast<int32_t>(r.uint<uint32_t>(a, "EGPU_A_EV_ERROR"));
  OPT_UINT(e.durationUs, uint64_t, tb, EGPU_A_EV_DURATION_US);
  OPT_STR(e.message, tb, EGPU_A_EV_MESSAGE);
  return e;
}

Bytes encode_tb_name(const std::string& name) {
  std::unique_ptr<nl_msg, void (*)(nl_msg*)> msg(nlmsg_alloc(), nlmsg_free);
  if (!msg) throw local_error("Thunderbolt request", "out of memory");
  nlattr* nest = nla_nest_start(msg.get(), EGPU_A_TB);
  bool ok = nest != nullptr && nla_put_string(msg.get(), EGPU_A_TB_NAME, name.c_str()) == 0;
  if (ok) ok = nla_nest_end(msg.get(), nest) == 0;
  if (!ok) throw local_error("Thunderbolt request", "cannot build the netlink message");
  nest->nla_type |= NLA_F_NESTED;
  nlmsghdr* hdr = nlmsg_hdr(msg.get());
  auto* data = static_cast<const uint8_t*>(nlmsg_data(hdr));
  return Bytes(data, data + nlmsg_datalen(hdr));
}

std::string decision_name(uint8_t decision) {
  switch (decision) {
    case EGPU_TB_DECISION_NONE: return "none";
    case EGPU_TB_DECISION_PENDING: return "pending";
    case EGPU_TB_DECISION_NO_RULE: return "no_rule";
    case EGPU_TB_DECISION_IGNORED: return "ignored";
    case EGPU_TB_DECISION_AUTHORIZED: return "authorized";
    case EGPU_TB_DECISION_ALREADY: return "already";
    case EGPU_TB_DECISION_DENIED: return "denied";
    case EGPU_TB_DECISION_FAILED: return "failed";
    case EGPU_TB_DECISION_HOST: return "host";
    default: return std::to_string(decision);
  }
}

std::string step_action_name(uint8_t action) {
  switch (action) {
    case EGPU_STEP_NONE: return "none";
    case EGPU_STEP_UNBIND: return "unbind";
    case EGPU_STEP_REMOVE: return "remove";
    case EGPU_STEP_DEAUTHORIZE: return "deauthorize";
    case EGPU_STEP_SKIP: return "skip";
    default: return std::to_string(action);
  }
}

std::string event_type_name(uint8_t type) {
  switch (type) {
    case EGPU_EVENT_NONE: return "none";
    case EGPU_EVENT_TB_SEEN: return "tb_seen";
    case EGPU_EVENT_TB_MATCHED: return "tb_matched";
    case EGPU_EVENT_TB_AUTHORIZED: return "tb_authorized";
    case EGPU_EVENT_TB_DENIED: return "tb_denied";
    case EGPU_EVENT_TB_GONE: return "tb_gone";
    case EGPU_EVENT_PCI_BOUND: return "pci_bound";
    case EGPU_EVENT_TEARDOWN_STEP: return "teardown_step";
    case EGPU_EVENT_TEARDOWN_DONE: return "teardown_done";
    case EGPU_EVENT_GPU_RESET: return "gpu_reset";
    case EGPU_EVENT_ERROR: return "error";
    case EGPU_EVENT_TB_DEAUTHORIZED: return "tb_deauthorized";
    default: return std::to_string(type);
  }
}

}  // namespace egpuctl
