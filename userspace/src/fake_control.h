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
    changes.push_back(change);
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
    added.push_back(id);
  }
  void removeGpuId(const GpuId& id) override {
    if (error) throw *error;
    removed.push_back(id);
  }

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

inline CliRun run_egpuctl(std::vector<std::string> args, FakeControl* fake = nullptr) {
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
      FakeControl& f;
    };
    return std::make_unique<Forward>(*fake);
  });
  r.rc = egpuctl_main(ctx, args);
  r.out = out.str();
  r.err = err.str();
  return r;
}

}  // namespace egpuctl::testing
