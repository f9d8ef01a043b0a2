// Control: everything egpuctl asks of the egpu_gate module, as an abstract
// interface so commands can be tested against a fake.  The real one is
// NetlinkControl (generic netlink).  Methods throw egpuctl::Error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace egpuctl {

// The module's configuration (EGPU_A_CONFIG).  A member is empty when the
// module did not report it.
struct Config {
  std::optional<uint8_t> autoResetMethod{};    // EGPU_A_CFG_AUTO_RESET_METHOD
  std::optional<uint32_t> teardownBudgetMs{};  // EGPU_A_CFG_TEARDOWN_BUDGET_MS
  std::optional<uint8_t> resetLeaveD0{};       // EGPU_A_CFG_RESET_LEAVE_D0
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
  std::optional<uint8_t> resetLeaveD0{};
  bool empty() const { return !autoResetMethod && !teardownBudgetMs && !resetLeaveD0; }
  bool operator==(const ConfigChange&) const = default;
};

// Statistics of one handled GPU (EGPU_A_GPU_STATS), since it was claimed.
// A member is empty when the module did not report it.
struct GpuStats {
  std::optional<uint64_t> count{};           // EGPU_A_STATS_COUNT
  std::optional<uint64_t> failures{};        // EGPU_A_STATS_FAILURES
  std::optional<int32_t> lastResult{};       // EGPU_A_STATS_LAST_RESULT, 0 or -errno
  std::optional<uint64_t> lastDurationUs{};  // EGPU_A_STATS_LAST_DURATION_US
  std::optional<uint8_t> lastMethod{};       // EGPU_A_STATS_LAST_METHOD, egpu_reset_method
  std::optional<uint32_t> smuStateBefore{};  // EGPU_A_STATS_SMU_STATE_BEFORE
  bool operator==(const GpuStats&) const = default;
};

// One entry of EGPU_CMD_GPU_GET (EGPU_A_GPU).  bdf, vendor, device and
// family are always present.
struct Gpu {
  std::string bdf{};                        // EGPU_A_GPU_BDF, "0000:01:00.0"
  uint16_t vendor = 0;                      // EGPU_A_GPU_VENDOR
  uint16_t device = 0;                      // EGPU_A_GPU_DEVICE
  std::string family{};                     // EGPU_A_GPU_FAMILY
  std::optional<bool> resetMethodSet{};     // EGPU_A_GPU_RESET_METHOD_SET
  std::optional<GpuStats> stats{};          // EGPU_A_GPU_STATS
  bool operator==(const Gpu&) const = default;
};

// A run-time ID of EGPU_CMD_GPU_ID_ADD / _DEL.
struct GpuId {
  uint16_t vendor = 0;
  uint16_t device = 0;
  std::string family{};
  bool operator==(const GpuId&) const = default;
};

// One rule of EGPU_CMD_TB_RULE_GET / the reply of TB_RULE_ADD (EGPU_A_RULE).
struct TbRuleEntry {
  uint32_t id = 0;                  // EGPU_A_RULE_ID
  std::string text{};               // EGPU_A_RULE_TEXT, canonical
  std::optional<uint64_t> hits{};   // EGPU_A_RULE_HITS (dump only)
  bool operator==(const TbRuleEntry&) const = default;
};

// What `tb allow/deny` need to know of a Thunderbolt device (from
// EGPU_CMD_TB_GET); empty members were not reported.
struct TbDeviceInfo {
  std::string name{};                        // EGPU_A_TB_NAME, "0-1"
  std::optional<std::string> parent{};       // EGPU_A_TB_PARENT (name)
  std::optional<std::string> uniqueId{};     // EGPU_A_TB_UNIQUE_ID
  std::optional<uint32_t> vendor{}, device{};  // EGPU_A_TB_VENDOR, _DEVICE
  std::optional<std::string> vendorName{}, deviceName{};
  std::optional<uint32_t> ruleId{};          // EGPU_A_TB_RULE_ID
  std::optional<uint8_t> authorized{};       // EGPU_A_TB_AUTHORIZED
  bool operator==(const TbDeviceInfo&) const = default;
};

class Control {
 public:
  virtual ~Control() = default;
  virtual Status status() = 0;
  virtual void setConfig(const ConfigChange& change) = 0;
  // EGPU_CMD_GPU_GET: the handled GPUs, in claim order.
  virtual std::vector<Gpu> gpus() = 0;
  // EGPU_CMD_GPU_RESET of `bdf` ("0000:01:00.0"); `force`: even when in use.
  virtual void resetGpu(const std::string& bdf, bool force) = 0;
  // EGPU_CMD_GPU_ID_ADD / EGPU_CMD_GPU_ID_DEL.
  virtual void addGpuId(const GpuId& id) = 0;
  virtual void removeGpuId(const GpuId& id) = 0;
  // Thunderbolt rules (policy commands): EGPU_CMD_TB_RULE_GET (match
  // order), TB_RULE_ADD (returns ID and canonical text), TB_RULE_DEL,
  // TB_RULES_SET (whole set, ";"-separated, "" clears).  Only the module
  // has rules: a transport without them (sysfs) keeps these defaults, which
  // throw rules_unavailable().
  virtual std::vector<TbRuleEntry> tbRules();
  virtual TbRuleEntry addTbRule(const std::string& text);
  virtual void deleteTbRule(uint32_t id);
  virtual void setTbRules(const std::string& text);
  // The Thunderbolt device `name` ("0-1") from EGPU_CMD_TB_GET; empty when
  // there is none.  Default: rules_unavailable().
  virtual std::optional<TbDeviceInfo> tbDevice(const std::string& name);
};

}  // namespace egpuctl
