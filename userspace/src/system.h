// System: everything egpuctl reads or runs on the host besides the module's
// Control: the sysfs tree, other files (/proc/cmdline, /etc/pve), external
// programs (mokutil, modinfo, qm), the module's Thunderbolt side and its
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
  int status = -1;     // exit status; -1: could not be run (not installed)
  std::string output;  // stdout and stderr
};

class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  // Runs argv[0] (looked up in PATH) with a bound of `timeout`.
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
