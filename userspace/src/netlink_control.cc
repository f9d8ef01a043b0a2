#include "netlink_control.h"

#include "egpu_gate.h"
#include "error.h"
#include "genl_codec.h"
#include "libnl_transport.h"

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

std::unique_ptr<Control> make_netlink_control() {
  return std::make_unique<NetlinkControl>(std::make_unique<LibnlTransport>());
}

}  // namespace egpuctl
