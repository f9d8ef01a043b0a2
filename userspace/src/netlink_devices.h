// DeviceControl over the egpu_gate generic netlink family (TB_GET,
// TB_AUTHORIZE, TB_DEAUTHORIZE, TEARDOWN_PLAN), and EventSource over its
// "events" multicast group (libnl-genl-3).
#pragma once

#include <memory>

#include "device_control.h"
#include "genl_transport.h"

struct nl_sock;

namespace egpuctl {

class NetlinkDeviceControl : public DeviceControl {
 public:
  explicit NetlinkDeviceControl(std::unique_ptr<GenlTransport> transport);
  std::string transport() const override { return "netlink"; }
  std::vector<TbDevice> tbDevices() override;
  void tbAuthorize(const std::string& name) override;
  void tbDeauthorize(const std::string& name) override;
  std::vector<TeardownStep> teardownPlan() override;

 private:
  std::unique_ptr<GenlTransport> transport_;
};

// Subscribes to EGPU_GATE_MCGRP_EVENTS of family EGPU_GATE_GENL_NAME.
class LibnlEventSource : public EventSource {
 public:
  LibnlEventSource() = default;
  ~LibnlEventSource() override;
  LibnlEventSource(const LibnlEventSource&) = delete;
  LibnlEventSource& operator=(const LibnlEventSource&) = delete;

  void subscribe() override;
  bool wait(std::chrono::milliseconds timeout, std::vector<Event>& out) override;

 private:
  nl_sock* sock_ = nullptr;
  int family_ = -1;
};

std::unique_ptr<DeviceControl> make_netlink_device_control();

}  // namespace egpuctl
