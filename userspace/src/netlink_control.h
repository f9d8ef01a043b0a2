// NetlinkControl: Control over the egpu_gate generic netlink family.
#pragma once

#include <memory>

#include "control.h"
#include "genl_transport.h"

namespace egpuctl {

class NetlinkControl : public Control {
 public:
  explicit NetlinkControl(std::unique_ptr<GenlTransport> transport);

  Status status() override;
  void setConfig(const ConfigChange& change) override;
  std::vector<Gpu> gpus() override;
  void resetGpu(const std::string& bdf, bool force) override;
  void addGpuId(const GpuId& id) override;
  void removeGpuId(const GpuId& id) override;
  std::vector<TbRuleEntry> tbRules() override;
  TbRuleEntry addTbRule(const std::string& text) override;
  void deleteTbRule(uint32_t id) override;
  void setTbRules(const std::string& text) override;
  std::optional<TbDeviceInfo> tbDevice(const std::string& name) override;

 private:
  std::unique_ptr<GenlTransport> transport_;
};

// The Control egpuctl uses: NetlinkControl over LibnlTransport.  Does not
// touch the kernel before the first request.
std::unique_ptr<Control> make_netlink_control();

}  // namespace egpuctl
