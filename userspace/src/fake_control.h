// Test double for Control, and a CLI runner that captures output.  Test
// code only.
#pragma once

#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "commands.h"
#include "control.h"
#include "egpu_gate.h"
#include "error.h"

namespace egpuctl::testing {

// A module that answers with `status` or, when `error` is set, throws it.
class FakeControl : public Control {
 public:
  Status status() override {
    ++status_calls;
    if (error) throw *error;
    return status_reply;
  }
  void setConfig(const ConfigChange& change) override {
    if (error) throw *error;
    if (config_error) throw *config_error;
    changes.push_back(change);
    // The live configuration follows (when the status has one).
    if (status_reply.config) {
      Config& c = *status_reply.config;
      if (change.autoResetMethod) c.autoResetMethod = change.autoResetMethod;
      if (change.teardownBudgetMs) c.teardownBudgetMs = change.teardownBudgetMs;
      if (change.resetLeaveD0) c.resetLeaveD0 = change.resetLeaveD0;
    }
  }

  std::vector<Gpu> gpus() override {
    if (error) throw *error;
    return gpus_reply;
  }
  void resetGpu(const std::string& bdf, bool force) override {
    if (error) throw *error;
    resets.emplace_back(bdf, force);
  }
  void addGpuId(const GpuId& id) override {
    if (error) throw *error;
    if (gpu_id_error) throw *gpu_id_error;
    added.push_back(id);
  }
  void removeGpuId(const GpuId& id) override {
    if (error) throw *error;
    removed.push_back(id);
  }

  std::vector<TbRuleEntry> tbRules() override {
    if (error) throw *error;
    if (rules_get_error) throw *rules_get_error;
    return rules;
  }
  TbRuleEntry addTbRule(const std::string& text) override {
    if (error) throw *error;
    rules.push_back(TbRuleEntry{.id = next_rule_id++, .text = text, .hits = 0});
    return rules.back();
  }
  void deleteTbRule(uint32_t id) override {
    if (error) throw *error;
    std::erase_if(rules, [&](const TbRuleEntry& r) { return r.id == id; });
  }
  void setTbRules(const std::string& text) override {
    if (error) throw *error;
    if (rules_set_error) throw *rules_set_error;
    rule_sets.push_back(text);
    rules.clear();
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find(';', start);
      if (end == std::string::npos) end = text.size();
      if (end > start)
        rules.push_back(
            TbRuleEntry{.id = next_rule_id++, .text = text.substr(start, end - start), .hits = 0});
      start = end + 1;
    }
  }
  std::optional<TbDeviceInfo> tbDevice(const std::string& name) override {
    if (error) throw *error;
    for (const TbDeviceInfo& d : tb_devices)
      if (d.name == name) return d;
    return std::nullopt;
  }

  // Thunderbolt rules: the live set (setTbRules splits at ';'), every
  // setTbRules() text, the devices tbDevice() knows.
  std::vector<TbRuleEntry> rules;
  std::vector<std::string> rule_sets;
  std::optional<Error> rules_get_error, rules_set_error, config_error, gpu_id_error;
  std::vector<TbDeviceInfo> tb_devices;
  uint32_t next_rule_id = 1;

  Status status_reply;
  std::vector<Gpu> gpus_reply;
  std::vector<std::pair<std::string, bool>> resets;
  std::vector<GpuId> added, removed;
  std::optional<Error> error;
  int status_calls = 0;
  std::vector<ConfigChange> changes;
};

// A complete status, as the module sends it.
inline Status sample_status() {
  Status s;
  s.version = "0.1.0";
  s.kernelRelease = "6.1.0-27-amd64";
  s.apiVersion = EGPU_GATE_GENL_VERSION;
  s.features = EGPU_FEATURE_GENL | EGPU_FEATURE_FTRACE_HOOK;
  s.config = Config{.autoResetMethod = 1, .teardownBudgetMs = 5000, .resetLeaveD0 = 1};
  return s;
}

// Two handled GPUs: one reset three times (last one failed), one never.
inline std::vector<Gpu> sample_gpus() {
  return {
      Gpu{.bdf = "0000:0a:00.0",
          .vendor = 0x1002,
          .device = 0x687f,
          .family = "vega10",
          .resetMethodSet = true,
          .stats = GpuStats{.count = 3,
                            .failures = 1,
                            .lastResult = -110,
                            .lastDurationUs = 123456,
                            .lastMethod = EGPU_RESET_METHOD_BACO,
                            .smuStateBefore = 0x80000000}},
      Gpu{.bdf = "0000:0b:00.0",
          .vendor = 0x1b36,
          .device = 0x0005,
          .family = "standin",
          .resetMethodSet = false,
          .stats = GpuStats{.count = 0,
                            .failures = 0,
                            .lastResult = 0,
                            .lastDurationUs = 0,
                            .lastMethod = EGPU_RESET_METHOD_NONE,
                            .smuStateBefore = 0}},
  };
}

// Runs egpuctl with `args` against a FakeControl.
struct CliRun {
  int rc = -1;
  std::string out, err;
  bool connected = false;  // egpuctl asked for the module
};

// `setup` prepares the context before the run (e.g. a fake System: files,
// programs, sysfs; without one the commands see the real host).
inline CliRun run_egpuctl(std::vector<std::string> args, FakeControl* fake = nullptr,
                          const std::function<void(Context&)>& setup = {}) {
  std::ostringstream out, err;
  CliRun r;
  Context ctx(out, err, [&]() -> std::unique_ptr<Control> {
    r.connected = true;
    if (fake == nullptr) throw module_not_loaded();
    // The context owns what it gets; hand it a forwarding wrapper.
    struct Forward : Control {
      explicit Forward(FakeControl& f) : f(f) {}
      Status status() override { return f.status(); }
      void setConfig(const ConfigChange& c) override { f.setConfig(c); }
      std::vector<Gpu> gpus() override { return f.gpus(); }
      void resetGpu(const std::string& b, bool force) override { f.resetGpu(b, force); }
      void addGpuId(const GpuId& id) override { f.addGpuId(id); }
      void removeGpuId(const GpuId& id) override { f.removeGpuId(id); }
      std::vector<TbRuleEntry> tbRules() override { return f.tbRules(); }
      TbRuleEntry addTbRule(const std::string& t) override { return f.addTbRule(t); }
      void deleteTbRule(uint32_t id) override { f.deleteTbRule(id); }
      void setTbRules(const std::string& t) override { f.setTbRules(t); }
      std::optional<TbDeviceInfo> tbDevice(const std::string& n) override {
        return f.tbDevice(n);
      }
      FakeControl& f;
    };
    return std::make_unique<Forward>(*fake);
  });
  if (setup) setup(ctx);
  r.rc = egpuctl_main(ctx, args);
  r.out = out.str();
  r.err = err.str();
  return r;
}

}  // namespace egpuctl::testing
