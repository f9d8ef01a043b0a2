#include "netlink_control.h"

#include "egpu_gate.h"
#include "error.h"
#include "genl_codec.h"
#include "libnl_transport.h"
#include "tb_rule_codec.h"

namespace egpuctl {

NetlinkControl::NetlinkControl(std::unique_ptr<GenlTransport> transport)
    : transport_(std::move(transport)) {}

Status NetlinkControl::status() {
  constexpr const char kWhat[] = "get status";
  std::vector<Bytes> replies = transport_->transact(EGPU_CMD_GET_STATUS, {}, kWhat);
  if (replies.size() != 1)
    throw malformed_reply(kWhat, "expected one reply, got " + std::to_string(replies.size()));
  return decode_status(replies.front());
}

void NetlinkControl::setConfig(const ConfigChange& change) {
  transport_->transact(EGPU_CMD_SET_CONFIG, encode_config_change(change), "set config");
}

std::vector<Gpu> NetlinkControl::gpus() {
  std::vector<Gpu> gpus;
  for (const Bytes& reply : transport_->dump(EGPU_CMD_GPU_GET, {}, "list GPUs"))
    gpus.push_back(decode_gpu(reply));
  return gpus;
}

void NetlinkControl::resetGpu(const std::string& bdf, bool force) {
  transport_->transact(EGPU_CMD_GPU_RESET, encode_gpu_reset(bdf, force), "reset GPU");
}

void NetlinkControl::addGpuId(const GpuId& id) {
  transport_->transact(EGPU_CMD_GPU_ID_ADD, encode_gpu_id(id), "add GPU ID");
}

void NetlinkControl::removeGpuId(const GpuId& id) {
  transport_->transact(EGPU_CMD_GPU_ID_DEL, encode_gpu_id(id), "remove GPU ID");
}

std::vector<TbRuleEntry> NetlinkControl::tbRules() {
  std::vector<TbRuleEntry> rules;
  for (const Bytes& reply : transport_->dump(EGPU_CMD_TB_RULE_GET, {}, "list Thunderbolt rules"))
    rules.push_back(decode_tb_rule(reply));
  return rules;
}

TbRuleEntry NetlinkControl::addTbRule(const std::string& text) {
  constexpr const char kWhat[] = "add Thunderbolt rule";
  std::vector<Bytes> replies =
      transport_->transact(EGPU_CMD_TB_RULE_ADD, encode_tb_rule_text(text), kWhat);
  if (replies.size() != 1)
    throw malformed_reply(kWhat, "expected one reply, got " + std::to_string(replies.size()));
  return decode_tb_rule(replies.front(), kWhat);
}

void NetlinkControl::deleteTbRule(uint32_t id) {
  transport_->transact(EGPU_CMD_TB_RULE_DEL, encode_tb_rule_id(id), "delete Thunderbolt rule");
}

void NetlinkControl::setTbRules(const std::string& text) {
  transport_->transact(EGPU_CMD_TB_RULES_SET, encode_tb_rules(text), "set Thunderbolt rules");
}

std::optional<TbDeviceInfo> NetlinkControl::tbDevice(const std::string& name) {
  for (const Bytes& reply : transport_->dump(EGPU_CMD_TB_GET, {}, "list Thunderbolt devices")) {
    TbDeviceInfo d = decode_tb_device_info(reply);
    if (d.name == name) return d;
  }
  return std::nullopt;
}

std::unique_ptr<Control> make_netlink_control() {
  return std::make_unique<NetlinkControl>(std::make_unique<LibnlTransport>());
}

}  // namespace egpuctl
