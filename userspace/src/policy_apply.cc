#include "policy_apply.h"

#include <fmt/format.h>

#include <cerrno>

#include "egpu_gate.h"
#include "error.h"
#include "policy_toml.h"

namespace egpuctl {

std::string PolicyPaths::policy() const {
  return (root.ends_with("/") ? root.substr(0, root.size() - 1) : root) + kPolicyPath;
}
std::string PolicyPaths::modprobe() const {
  return (root.ends_with("/") ? root.substr(0, root.size() - 1) : root) + kModprobePath;
}
bool PolicyPaths::is_system() const { return root.empty() || root == "/"; }

std::optional<std::vector<TbRuleEntry>> live_rules(Control& control) {
  try {
    return control.tbRules();
  } catch (const Error& e) {
    if (e.errnum() == EOPNOTSUPP) return std::nullopt;  // unknown command
    throw;
  }
}

ConfigChange desired_config(const Policy& p, const std::optional<Config>& live) {
  ConfigChange c;
  c.autoResetMethod = p.autoResetMethod.value_or(kDefaultAutoResetMethod) ? 1 : 0;
  c.teardownBudgetMs = p.teardownBudgetMs.value_or(EGPU_TEARDOWN_BUDGET_DEFAULT_MS);
  if (p.resetLeaveD0 || (live && live->resetLeaveD0))
    c.resetLeaveD0 = p.resetLeaveD0.value_or(kDefaultResetLeaveD0) ? 1 : 0;
  return c;
}

namespace {

struct Step {
  std::string name;                   // "write /etc/modprobe.d/egpu-gate.conf"
  std::function<std::string()> run;   // returns what to add to "done" ("" for nothing)
  std::function<std::string()> undo;  // returns what it restored; throws Error
  bool undo_on_own_failure = false;   // the step may have half-happened
};

// A file step: replace `path` with `content`; undo puts the previous
// contents back (or removes the file when there was none).
Step file_step(FileTree& fs, const std::string& path, const std::string& content, mode_t mode) {
  struct Previous {
    bool known = false;  // read before writing
    std::optional<std::string> content;
  };
  auto previous = std::make_shared<Previous>();
  return Step{
      .name = "write " + path,
      .run =
          [&fs, path, content, mode, previous] {
            previous->content = fs.read_file(path);
            previous->known = true;
            fs.write_atomic(path, content, mode, ExistingMode::kKeep);
            return std::string();
          },
      .undo =
          [&fs, path, previous]() -> std::string {
            if (!previous->known) return path + " untouched";
            if (previous->content) {
              fs.write_atomic(path, *previous->content, 0644, ExistingMode::kKeep);
              return "restored the previous " + path;
            }
            fs.remove(path);
            return "removed the new " + path + " (there was none before)";
          },
      .undo_on_own_failure = true,
  };
}

std::string command_line(const std::vector<std::string>& argv) {
  std::string s;
  for (const std::string& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

// The images update-initramfs says it generated ("update-initramfs:
// Generating /boot/initrd.img-6.1.0-28-amd64"), in its order.
std::vector<std::string> generated_images(const std::string& output) {
  static constexpr std::string_view kTag = "Generating ";
  std::vector<std::string> images;
  size_t pos = 0;
  while (pos < output.size()) {
    size_t end = output.find('\n', pos);
    if (end == std::string::npos) end = output.size();
    const std::string_view line(output.data() + pos, end - pos);
    if (line.starts_with("update-initramfs: ")) {
      const size_t at = line.find(kTag);
      if (at != std::string_view::npos) images.emplace_back(line.substr(at + kTag.size()));
    }
    pos = end + 1;
  }
  return images;
}

}  // namespace

void apply_policy(ApplyEnv& env, const Policy& policy, const PolicyPaths& paths,
                  const std::optional<std::string>& policy_text, const std::string& source,
                  const ApplyOptions& options) {
  std::vector<Step> steps;
  std::vector<std::string> notes;

  // --- live ---------------------------------------------------------------
  Control* control = nullptr;
  if (!options.live)
    notes.push_back(
        "offline (--offline): module egpu_gate was not contacted and nothing live changed; the "
        "policy takes effect at the next boot (or the next load of the module); to apply it "
        "now, run `egpuctl policy apply` without --offline");
  if (options.live) {
    if (!env.control) throw Error(ExitCode::kFailure, "internal error: apply without a module");
    try {
      control = &env.control();
      // Connecting is lazy: the first request tells whether it is there.
      (void)control->status();
    } catch (const Error& e) {
      if (e.code() != ExitCode::kNotLoaded || options.require_module) throw;
      control = nullptr;
      notes.push_back(
          "module egpu_gate is not loaded: nothing applied live; the policy takes effect when "
          "it loads (modprobe egpu_gate)");
    }
  }
  if (control != nullptr) {
    const Status status = control->status();
    const std::optional<std::vector<TbRuleEntry>> live = live_rules(*control);
    if (!live && !policy.rules.empty())
      throw Error(ExitCode::kFailure,
                  "the loaded module egpu_gate has no Thunderbolt rule commands: cannot apply "
                  "the policy's Thunderbolt rules; update the module (see egpuctl status)");
    if (live) {
      std::string previous;
      for (const TbRuleEntry& r : *live) previous += (previous.empty() ? "" : ";") + r.text;
      const std::string text = rules_text(policy.rules);
      steps.push_back(Step{
          .name = fmt::format("live: set the Thunderbolt rules ({})", policy.rules.size()),
          .run =
              [control, text] {
                control->setTbRules(text);
                return std::string();
              },
          .undo =
              [control, previous]() -> std::string {
                control->setTbRules(previous);
                return "set the previous live Thunderbolt rules again";
              },
      });
    }
    const ConfigChange want = desired_config(policy, status.config);
    if (policy.resetLeaveD0 && !(status.config && status.config->resetLeaveD0))
      throw Error(ExitCode::kFailure,
                  "the loaded module egpu_gate does not report reset_leave_d0: it cannot apply "
                  "[reset] leave_d0; update the module or remove that setting");
    const std::optional<Config> before = status.config;
    steps.push_back(Step{
        .name = "live: set teardown and reset settings",
        .run =
            [control, want] {
              control->setConfig(want);
              return std::string();
            },
        .undo = [control, before, want]() -> std::string {
          ConfigChange back;
          if (before) {
            back.autoResetMethod = before->autoResetMethod;
            back.teardownBudgetMs = before->teardownBudgetMs;
            if (want.resetLeaveD0) back.resetLeaveD0 = before->resetLeaveD0;
          }
          if (back.empty()) return "previous settings unknown: left as set";
          control->setConfig(back);
          return "set the previous live settings again";
        },
    });
    if (!policy.gpuIds.empty()) {
      auto added = std::make_shared<std::vector<GpuId>>();
      std::vector<GpuId> ids;
      for (const PolicyGpuId& g : policy.gpuIds)
        ids.push_back(GpuId{g.id.vendor, g.id.device, g.family});
      steps.push_back(Step{
          .name = fmt::format("live: add the GPU IDs ({})", ids.size()),
          .run =
              [control, added, ids] {
                for (const GpuId& id : ids) {
                  try {
                    control->addGpuId(id);
                    added->push_back(id);
                  } catch (const Error& e) {
                    if (e.errnum() != EEXIST) throw;  // already there: fine
                  }
                }
                return std::string();
              },
          .undo =
              [control, added]() -> std::string {
                for (const GpuId& id : *added) control->removeGpuId(id);
                return fmt::format("removed the {} GPU IDs added", added->size());
              },
          .undo_on_own_failure = true,
      });
    }
  }

  // --- files ----------------------------------------------------------------
  if (options.files) {
    if (policy_text) steps.push_back(file_step(env.fs, paths.policy(), *policy_text, 0644));
    steps.push_back(
        file_step(env.fs, paths.modprobe(), render_modprobe_conf(policy, source), 0644));
    if (!options.initramfs)
      notes.push_back("initramfs not updated (--no-initramfs): run `update-initramfs -u` so "
                      "the policy applies from the first device at boot");
    else if (!paths.is_system())
      notes.push_back("initramfs not updated: --root points at another tree");
    else
      steps.push_back(Step{
          .name = fmt::format("update the initramfs ({})", command_line(kUpdateInitramfs)),
          .run =
              [&env, &notes]() -> std::string {
                const std::string cmd = command_line(kUpdateInitramfs);
                // Bounded generously: a slow disk and many kernels take minutes.
                const RunResult r = env.programs.run(kUpdateInitramfs, std::chrono::minutes(15));
                if (r.status != 0) {
                  std::string tail = r.output;
                  if (tail.size() > 800) tail = "..." + tail.substr(tail.size() - 800);
                  while (!tail.empty() && tail.back() == '\n') tail.pop_back();
                  throw local_error(
                      cmd, fmt::format("{}{}",
                                       r.status < 0 ? std::string("could not run it (is "
                                                                  "initramfs-tools installed?)")
                                                    : fmt::format("exit status {}", r.status),
                                       tail.empty() ? "" : ":\n" + tail));
                }
                const std::vector<std::string> images = generated_images(r.output);
                if (images.empty()) {
                  notes.push_back(
                      "update-initramfs found no initramfs image to update (it updates only "
                      "existing /boot/initrd.img-VERSION files; is /boot mounted?): if this "
                      "host boots with an initramfs, create it (update-initramfs -c -k VERSION) "
                      "so the policy holds from the first device at boot");
                  return "no image found";
                }
                return fmt::format("{}", fmt::join(images, ", "));
              },
          .undo = nullptr,
      });
  }

  // --- run --------------------------------------------------------------------
  const size_t n = steps.size();
  for (size_t i = 0; i < n; ++i) {
    try {
      const std::string detail = steps[i].run();
      env.out << fmt::format("[{}/{}] {}: done{}\n", i + 1, n, steps[i].name,
                             detail.empty() ? "" : " (" + detail + ")");
    } catch (const Error& failure) {
      std::vector<std::string> undone, stuck;
      auto undo = [&](const Step& s) {
        if (!s.undo) return;
        try {
          undone.push_back(s.undo());
        } catch (const Error& e) {
          stuck.push_back(fmt::format("{}: could not undo: {}", s.name, e.what()));
        }
      };
      if (steps[i].undo_on_own_failure) undo(steps[i]);
      for (size_t j = i; j-- > 0;) undo(steps[j]);
      std::string msg = fmt::format("policy not applied: step {}/{} ({}) failed: {}", i + 1, n,
                                    steps[i].name, failure.what());
      if (!undone.empty()) msg += fmt::format("\nundone: {}", fmt::join(undone, "; "));
      if (stuck.empty()) {
        msg += "\nin force now: the previous policy, live and in the files (nothing changed)";
      } else {
        msg += fmt::format("\nin force now: NOT the previous policy everywhere: {}",
                           fmt::join(stuck, "; "));
        msg += "\nrun `egpuctl policy show` to see what is live, fix the problem and apply again";
      }
      throw Error(failure.code() == ExitCode::kOk ? ExitCode::kFailure : failure.code(), msg)
          .with_errnum(failure.errnum());
    }
  }
  for (const std::string& note : notes) env.out << "note: " << note << "\n";
}

}  // namespace egpuctl
