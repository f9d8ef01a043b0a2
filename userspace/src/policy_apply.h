// Applying a policy: live over netlink (rule set, settings, GPU IDs), the
// files (policy.toml when it changes, /etc/modprobe.d/egpu-gate.conf) and
// the initramfs, as one transaction of numbered steps.  A step that fails
// undoes the steps before it (files restored to their previous contents,
// the previous live rules and settings set again), and the Error says which
// step failed, what was undone and what is in force now.
#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "control.h"
#include "file_tree.h"
#include "policy.h"
#include "system.h"

namespace egpuctl {

// Where the policy files live: under `root` ("/" normally; tests and the
// VM point it at a tree with --root).
struct PolicyPaths {
  std::string root = "/";
  std::string policy() const;    // ROOT/etc/egpu-gate/policy.toml
  std::string modprobe() const;  // ROOT/etc/modprobe.d/egpu-gate.conf
  bool is_system() const;        // root is "/"
};

struct ApplyOptions {
  // Push to the module.  False (policy apply --offline): env.control is
  // never called (it may be empty): no netlink socket, no module load.
  bool live = true;
  bool files = true;          // write policy.toml (when given) and modprobe.d
  bool initramfs = true;      // run kUpdateInitramfs (only when files and root is "/")
  bool require_module = false;  // module not loaded: fail instead of skipping live
};

// The initramfs update: every installed kernel's image, since the policy's
// modprobe.d options hold for whichever kernel boots next (a pinned or
// fallback one too).  update-initramfs -u never creates an image: a kernel
// without /boot/initrd.img-VERSION is skipped (and said so).
inline const std::vector<std::string> kUpdateInitramfs = {"update-initramfs", "-u", "-k", "all"};

// What apply() needs from the outside.  `control` connects on first call
// and may throw module_not_loaded(); it is never called when !options.live.
struct ApplyEnv {
  FileTree& fs;              // rooted at /: paths are absolute
  CommandRunner& programs;
  std::function<Control&()> control;
  std::ostream& out;  // one line per step done
};

// Applies `policy`.  `policy_text`: new contents of policy.toml (written as
// a step of the transaction), or empty to leave that file alone.
// `source`: the file the policy came from (named in modprobe.d).  Throws
// Error on failure (after undoing what was done).
void apply_policy(ApplyEnv& env, const Policy& policy, const PolicyPaths& paths,
                  const std::optional<std::string>& policy_text, const std::string& source,
                  const ApplyOptions& options);

// The live rules, or empty when the module has no rule commands (it
// answers EGPU_CMD_TB_RULE_GET with -EOPNOTSUPP).  Throws other errors.
std::optional<std::vector<TbRuleEntry>> live_rules(Control& control);

// The live settings the policy asks for: its values, the module's defaults
// for what it leaves out.  reset_leave_d0 only when the module reports it
// (older modules reject it) or the policy sets it.
ConfigChange desired_config(const Policy& policy, const std::optional<Config>& live);

}  // namespace egpuctl
