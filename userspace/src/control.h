// Control: everything egpuctl asks of the egpu_gate module, as an abstract
// interface so commands can be tested against a fake.  The real one is
// NetlinkControl (generic netlink).  Methods throw egpuctl::Error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace egpuctl {

// The module's configuration (EGPU_A_CONFIG).  A member is empty when the
// module did not report it.
struct Config {
  std::optional<uint8_t> autoResetMethod{};    // EGPU_A_CFG_AUTO_RESET_METHOD
  std::optional<uint32_t> teardownBudgetMs{};  // EGPU_A_CFG_TEARDOWN_BUDGET_MS
  bool operator==(const Config&) const = default;
};

// Reply of EGPU_CMD_GET_STATUS.  version and apiVersion are always present;
// the other members are empty when the module did not send them.
struct Status {
  std::string version{};                      // EGPU_A_VERSION
  std::optional<std::string> kernelRelease{};  // EGPU_A_KERNEL_RELEASE
  uint32_t apiVersion = 0;                   // EGPU_A_API_VERSION
  std::optional<uint64_t> features{};          // EGPU_A_FEATURES, EGPU_FEATURE_*
  std::optional<Config> config{};              // EGPU_A_CONFIG
  bool operator==(const Status&) const = default;
};

// Request of EGPU_CMD_SET_CONFIG: the settings to change (at least one).
struct ConfigChange {
  std::optional<uint8_t> autoResetMethod{};
  std::optional<uint32_t> teardownBudgetMs{};
  bool empty() const { return !autoResetMethod && !teardownBudgetMs; }
  bool operator==(const ConfigChange&) const = default;
};

class Control {
 public:
  virtual ~Control() = default;
  virtual Status status() = 0;
  virtual void setConfig(const ConfigChange& change) = 0;
};

}  // namespace egpuctl
