// DeviceControl: the Thunderbolt side of egpuctl (list, authorize,
// de-authorize, teardown plan) over one of two transports: the module's
// generic netlink family (NetlinkDeviceControl, the normal case) or sysfs
// when the module is not loaded (SysfsControl: no rules, decisions or
// plan).  EventSource: the module's event multicast group (`monitor`).
// Methods throw egpuctl::Error.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace egpuctl {

// One Thunderbolt device (EGPU_A_TB, or read from sysfs).  name and domain
// are always set; a member is empty when the transport cannot know it
// (sysfs: rule, decision, reason, PCI functions).
struct TbDevice {
  std::string name{};                        // "0-1", "1-301"
  uint32_t domain = 0;
  std::optional<std::string> parent{};       // absent for a host router
  std::optional<std::string> uniqueId{};
  std::optional<uint32_t> vendor{};
  std::optional<uint32_t> device{};
  std::optional<std::string> vendorName{};
  std::optional<std::string> deviceName{};
  std::optional<uint8_t> authorized{};       // 0, 1, 2
  std::optional<std::string> security{};     // domain security level
  std::optional<bool> iommuProtection{};     // domain iommu_dma_protection
  std::optional<bool> deauthorization{};     // domain deauthorization
  std::optional<uint32_t> ruleId{};
  std::optional<uint8_t> decision{};         // enum egpu_tb_decision
  std::optional<std::string> reason{};
  bool byEgpu = false;
  std::vector<std::string> pci{};            // PCI functions below it
  // Failed authorization attempts of the current round, the last error
  // (-errno) and the time to the next attempt (absent: none scheduled);
  // all absent from a module that does not report them.
  std::optional<uint32_t> authFailures{};
  std::optional<int32_t> authError{};
  std::optional<uint32_t> authRetryMs{};
  bool operator==(const TbDevice&) const = default;
};

// One step of the shutdown teardown (EGPU_A_STEP).
struct TeardownStep {
  uint32_t index = 0;
  uint8_t action = 0;                        // enum egpu_step_action
  std::string target{};                      // PCI BDF or Thunderbolt name
  std::optional<std::string> tb{};
  std::optional<std::string> note{};
  bool operator==(const TeardownStep&) const = default;
};

// One notification of the events group (EGPU_A_EVENT).
struct Event {
  uint8_t type = 0;                          // enum egpu_event_type
  std::optional<uint64_t> timeNs{};
  std::optional<std::string> tb{};
  std::optional<std::string> uniqueId{};
  std::optional<std::string> bdf{};
  std::optional<uint32_t> ruleId{};
  std::optional<int32_t> error{};
  std::optional<uint64_t> durationUs{};
  std::optional<std::string> message{};
  bool operator==(const Event&) const = default;
};

class DeviceControl {
 public:
  virtual ~DeviceControl() = default;
  // "netlink" or "sysfs".
  virtual std::string transport() const = 0;
  // Thunderbolt devices, parents before children.
  virtual std::vector<TbDevice> tbDevices() = 0;
  // Authorizes device `name` ("0-1"); already authorized is success.
  virtual void tbAuthorize(const std::string& name) = 0;
  // De-authorizes `name` and, first, every device below it (deepest first).
  virtual void tbDeauthorize(const std::string& name) = 0;
  // The shutdown teardown, in order (the module only).
  virtual std::vector<TeardownStep> teardownPlan() = 0;
};

// The events group of the module.
class EventSource {
 public:
  virtual ~EventSource() = default;
  // Subscribes (throws module_not_loaded() when the family is missing).
  virtual void subscribe() = 0;
  // Waits up to `timeout` for events; appends them to `out`.  Returns false
  // when the wait ended without one (timeout or interrupted by a signal).
  virtual bool wait(std::chrono::milliseconds timeout, std::vector<Event>& out) = 0;
};

}  // namespace egpuctl
