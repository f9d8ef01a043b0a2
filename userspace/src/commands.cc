#include "commands.h"

#include <fmt/format.h>

#include <optional>

#include "egpu_gate.h"
#include "error.h"
#include "status_report.h"
#include "version.h"

namespace egpuctl {

const Command& root_command() {
  static const Command root{
      .name = "egpuctl",
      .summary = "control the egpu-gate kernel module",
      .run = nullptr,
      .subcommands =
          {
              {.name = "status",
               .summary = "show the module's version, features and configuration",
               .run = cmd_status,
               .description =
                   "Show what module egpu_gate reports: its version, the API version it\n"
                   "speaks, the kernel it runs on, its features and its configuration.\n"},
              {.name = "version",
               .summary = "show the versions of egpuctl and of the module",
               .run = cmd_version,
               .description =
                   "Show the version of egpuctl and, when the module is loaded and\n"
                   "reachable, of module egpu_gate and the kernel.  Succeeds without the\n"
                   "module (and says why it is not reachable).\n"},
              {.name = "help",
               .summary = "show the help of egpuctl or of a command",
               .run = cmd_help,
               .description = "Show the help of egpuctl, or of COMMAND (like 'egpuctl COMMAND --help').\n"},
          },
      .description =
          "Controls egpu-gate, the kernel module that guards eGPU hot-unplug, over\n"
          "generic netlink.  Needs root.\n",
  };
  return root;
}

int cmd_status(Invocation& inv) {
  ArgParser p(inv);
  p.add_json();
  if (!p.parse()) return 0;
  const Status s = inv.ctx.control().status();
  if (p.json())
    print_json(inv.ctx.out, status_json(s));
  else
    print_status_text(inv.ctx.out, s);
  return 0;
}

int cmd_version(Invocation& inv) {
  ArgParser p(inv);
  p.add_json();
  if (!p.parse()) return 0;
  std::optional<Status> s;
  std::string problem;
  try {
    s = inv.ctx.control().status();
  } catch (const Error& e) {
    problem = e.what();
  }
  if (p.json()) {
    Json j;
    j["egpuctl_version"] = kVersion;
    j["egpuctl_api_version"] = EGPU_GATE_GENL_VERSION;
    j["module_version"] = s ? Json(s->version) : Json(nullptr);
    j["api_version"] = s ? Json(s->apiVersion) : Json(nullptr);
    j["kernel_release"] = s && s->kernelRelease ? Json(*s->kernelRelease) : Json(nullptr);
    j["module_error"] = s ? Json(nullptr) : Json(problem);
    print_json(inv.ctx.out, j);
    return 0;
  }
  std::ostream& out = inv.ctx.out;
  out << fmt::format("egpuctl {} (API {})\n", kVersion, EGPU_GATE_GENL_VERSION);
  if (s) {
    out << fmt::format("egpu_gate {} (API {})", s->version, s->apiVersion);
    if (s->kernelRelease) out << fmt::format(" on Linux {}", *s->kernelRelease);
    out << "\n";
  } else {
    out << "egpu_gate: unavailable: " << problem << "\n";
  }
  return 0;
}

int cmd_help(Invocation& inv) {
  ArgParser p(inv);
  p.add_positional("COMMAND", -1);
  if (!p.parse()) return 0;
  const Command* group = &inv.root;
  std::string path = inv.root.name;
  const std::vector<std::string>& names = p.positional();
  for (size_t i = 0; i < names.size(); ++i) {
    const Command& c = find_subcommand(*group, path, names[i]);
    path += " " + c.name;
    if (c.run) {
      if (i + 1 < names.size())
        throw usage_error(fmt::format("help: '{}' has no subcommand '{}'", path, names[i + 1]));
      Invocation sub{inv.ctx, inv.root, c, path, {"--help"}};
      return c.run(sub);
    }
    group = &c;
  }
  inv.ctx.out << group_usage(*group, path, group == &inv.root);
  return 0;
}

int egpuctl_main(Context& ctx, const std::vector<std::string>& args) {
  return run_cli(ctx, root_command(), args);
}

}  // namespace egpuctl
