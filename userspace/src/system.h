// System: everything egpuctl reads or runs on the host besides the module's
// Control: the sysfs tree, other files (/proc/cmdline, /etc/pve, the policy
// files in /etc), external
// programs (mokutil, modinfo, qm, update-initramfs), the module's Thunderbolt side and its
// events.  Abstract so tests substitute fakes (fake_system.h); the real one
// is make_real_system().
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "device_control.h"
#include "file_tree.h"

namespace egpuctl {

struct RunResult {
  // Exit status; -1: could not be run (not installed; `output` says why);
  // 124: killed at the timeout; 128+N: killed by signal N.
  int status = -1;
  std::string output;  // stdout and stderr, interleaved
};

// The one interface for running programs (modinfo, mokutil, qm,
// update-initramfs); FakeCommandRunner (fake_system.h) in tests.
class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  // Runs argv[0] (looked up in PATH) with stdin from /dev/null and a bound
  // of `timeout`.
  virtual RunResult run(const std::vector<std::string>& argv,
                        std::chrono::seconds timeout = std::chrono::seconds(30)) = 0;
};

class System {
 public:
  virtual ~System() = default;
  virtual FileTree& sysfs() = 0;  // /sys, or --sysfs-root
  virtual FileTree& files() = 0;  // /, for /proc, /etc
  virtual CommandRunner& runner() = 0;
  // The module's Thunderbolt side (not contacted before the first call).
  virtual std::unique_ptr<DeviceControl> netlinkDevices() = 0;
  virtual std::unique_ptr<EventSource> events() = 0;
};

// The host; `sysfs_root` empty means /sys.
std::unique_ptr<System> make_real_system(const std::string& sysfs_root);
std::unique_ptr<CommandRunner> make_real_runner();

}  // namespace egpuctl
