#include "commands.h"

#include <fmt/format.h>

#include <optional>
#include <regex>

#include "egpu_gate.h"
#include "error.h"
#include "gpu_report.h"
#include "gpu_sysfs.h"
#include "policy_commands.h"
#include "status_report.h"
#include "sysfs_devices.h"
#include "system.h"
#include "doctor.h"
#include "pve_hook.h"
#include "tb_commands.h"
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
              {.name = "gpu",
               .summary = "list, reset and add the GPUs egpu_gate handles",
               .run = nullptr,
               .subcommands =
                   {
                       {.name = "list",
                        .summary = "list the handled GPUs and their reset statistics",
                        .run = cmd_gpu_list,
                        .description =
                            "List the GPUs egpu_gate handles (claimed for its device-specific\n"
                            "reset): PCI address, VENDOR:DEVICE, reset family, whether their\n"
                            "reset_method was set, and the statistics of their resets (count,\n"
                            "failures, result, duration and method of the last one).  Without\n"
                            "the module, lists from sysfs the display functions and the other\n"
                            "functions of their slots: driver, IOMMU group, reset_method.\n"},
                       {.name = "reset",
                        .summary = "reset a handled GPU now",
                        .run = cmd_gpu_reset,
                        .description =
                            "Reset the GPU at PCI address BDF (\"0000:01:00.0\" or \"01:00.0\")\n"
                            "with its family's device-specific reset, like a write to its sysfs\n"
                            "\"reset\".  Refused while the GPU is bound to vfio-pci and in use\n"
                            "(a running VM); --force resets it anyway.\n"},
                       {.name = "reset-method",
                        .summary = "show or set a GPU's reset_method (sysfs)",
                        .run = cmd_gpu_reset_method,
                        .description =
                            "Show the reset_method of the PCI function BDF, or set it to\n"
                            "METHOD... in that order (e.g. 'device_specific bus'; 'default'\n"
                            "restores the kernel's order).  Through sysfs: works without the\n"
                            "module; device_specific is accepted only for a GPU egpu_gate\n"
                            "handles (see 'egpuctl gpu list').\n"},
                       {.name = "ids",
                        .summary = "add or remove run-time GPU IDs",
                        .run = nullptr,
                        .subcommands =
                            {
                                {.name = "add",
                                 .summary = "handle VENDOR:DEVICE with reset family FAMILY",
                                 .run = cmd_gpu_ids_add,
                                 .description =
                                     "Make the GPUs with PCI ID VENDOR:DEVICE (hex, e.g. 1002:687f)\n"
                                     "devices of reset family FAMILY (e.g. vega10); present ones are\n"
                                     "claimed at once.  Lasts until removed or the module unloads.\n"},
                                {.name = "del",
                                 .summary = "remove a run-time GPU ID",
                                 .run = cmd_gpu_ids_del,
                                 .description =
                                     "Remove the ID VENDOR:DEVICE added to FAMILY with 'gpu ids add';\n"
                                     "its GPUs are released.\n"},
                            }},
                   }},
              {.name = "tb",
               .summary = "Thunderbolt devices and the rules that authorize them",
               .run = nullptr,
               .subcommands =
                   [] {
                     std::vector<Command> v = {
                       {.name = "list",
                        .summary = "list the Thunderbolt devices",
                        .run = cmd_tb_list,
                        .description = kTbListHelp},
                       {.name = "authorize",
                        .summary = "authorize a Thunderbolt device now",
                        .run = cmd_tb_authorize,
                        .description = kTbAuthorizeHelp},
                       {.name = "deauthorize",
                        .summary = "de-authorize a Thunderbolt device (children first)",
                        .run = cmd_tb_deauthorize,
                        .description = kTbDeauthorizeHelp},
                     };
                     for (Command& c : tb_policy_commands()) v.push_back(std::move(c));
                     return v;
                   }()},
              policy_command(),
              {.name = "shutdown-plan",
               .summary = "show the teardown the module would run at shutdown now",
               .run = cmd_shutdown_plan,
               .description = kShutdownPlanHelp},
              {.name = "monitor",
               .summary = "print the module's events as they happen",
               .run = cmd_monitor,
               .description = kMonitorHelp},
              {.name = "doctor",
               .summary = "check the host for everything eGPU passthrough needs",
               .run = cmd_doctor,
               .description = kDoctorHelp},
              {.name = "pve-hook",
               .summary = "Proxmox hookscript: prepare a VM's GPUs before it starts",
               .run = cmd_pve_hook,
               .description = kPveHookHelp},
              {.name = "help",
               .summary = "show the help of egpuctl or of a command",
               .run = cmd_help,
               .description = "Show the help of egpuctl, or of COMMAND (like 'egpuctl COMMAND --help').\n"},
          },
      .description =
          "Controls egpu-gate over generic netlink: the kernel module that resets\n"
          "FLR-less AMD GPUs for passthrough and holds the Thunderbolt eGPU policy.\n"
          "Needs root.\n",
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

namespace {

// "0000:01:00.0" or "01:00.0" (domain 0) -> "0000:01:00.0", lower case.
std::string parse_bdf(const std::string& path, const std::string& arg) {
  static const std::regex kBdf("(([0-9a-fA-F]{4,5}):)?([0-9a-fA-F]{2}):([01][0-9a-fA-F]).([0-7])");
  std::smatch m;
  if (!std::regex_match(arg, m, kBdf) || std::stoul(m[4].str(), nullptr, 16) > 0x1f)
    throw usage_error(fmt::format(
        "{}: '{}' is not a PCI address: give DOMAIN:BUS:DEVICE.FUNCTION, e.g. 0000:01:00.0 "
        "(see lspci -D)",
        path, arg));
  std::string bdf = (m[2].matched ? m[2].str() : "0000") + ":" + m[3].str() + ":" + m[4].str() +
                    "." + m[5].str();
  for (char& c : bdf) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return bdf;
}

// "VENDOR:DEVICE" (hex, 1..4 digits each, optional 0x) and FAMILY.
GpuId parse_gpu_id(const std::string& path, const std::vector<std::string>& args) {
  if (args.size() != 2)
    throw usage_error(fmt::format("{}: give VENDOR:DEVICE and FAMILY, e.g. '{} 1002:687f vega10'",
                                  path, path));
  static const std::regex kId("(0[xX])?([0-9a-fA-F]{1,4}):(0[xX])?([0-9a-fA-F]{1,4})");
  std::smatch m;
  if (!std::regex_match(args[0], m, kId))
    throw usage_error(fmt::format(
        "{}: '{}' is not a PCI ID: give VENDOR:DEVICE in hex, e.g. 1002:687f (see lspci -nn)",
        path, args[0]));
  GpuId id;
  id.vendor = static_cast<uint16_t>(std::stoul(m[2].str(), nullptr, 16));
  id.device = static_cast<uint16_t>(std::stoul(m[4].str(), nullptr, 16));
  id.family = args[1];
  static const std::regex kFamily("[A-Za-z0-9_.-]+");
  if (id.family.size() > EGPU_FAMILY_NAME_MAX || !std::regex_match(id.family, kFamily))
    throw usage_error(fmt::format(
        "{}: '{}' is not a family name: at most {} letters, digits, '_', '-' or '.'", path,
        id.family, EGPU_FAMILY_NAME_MAX));
  return id;
}

int gpu_ids(Invocation& inv, bool add) {
  ArgParser p(inv);
  p.add_positional("VENDOR:DEVICE FAMILY", 2);
  if (!p.parse()) return 0;
  const GpuId id = parse_gpu_id(inv.path, p.positional());
  if (add)
    inv.ctx.control().addGpuId(id);
  else
    inv.ctx.control().removeGpuId(id);
  return 0;
}

}  // namespace

int cmd_gpu_list(Invocation& inv) {
  ArgParser p(inv);
  p.add_json();
  if (!p.parse()) return 0;
  std::vector<Gpu> gpus;
  try {
    gpus = inv.ctx.control().gpus();
  } catch (const Error& e) {
    if (e.code() != ExitCode::kNotLoaded) throw;
    FileTree& sysfs = inv.ctx.system().sysfs();
    inv.ctx.err << fmt::format(
        "egpuctl: module egpu_gate is not loaded: using sysfs ({}): GPUs by PCI class, no reset "
        "families or statistics\n",
        sysfs.root());
    const std::vector<PciFunction> found = sysfs_gpus(SysfsPci(sysfs));
    if (p.json())
      print_json(inv.ctx.out, sysfs_gpus_json(found));
    else
      print_sysfs_gpus_text(inv.ctx.out, found);
    return 0;
  }
  if (p.json())
    print_json(inv.ctx.out, gpus_json(gpus));
  else
    print_gpus_text(inv.ctx.out, gpus);
  return 0;
}

int cmd_gpu_reset(Invocation& inv) {
  ArgParser p(inv);
  bool force = false;
  p.options().add_options()("force", boost::program_options::bool_switch(&force),
                            "reset even when the GPU is in use by a VM (vfio device open)");
  p.add_positional("BDF", 1);
  if (!p.parse()) return 0;
  if (p.positional().empty())
    throw usage_error(
        fmt::format("{}: give the GPU's PCI address, e.g. '{} 0000:01:00.0'", inv.path, inv.path));
  const std::string bdf = parse_bdf(inv.path, p.positional().front());
  inv.ctx.control().resetGpu(bdf, force);
  inv.ctx.out << fmt::format("{}: reset\n", bdf);
  return 0;
}

int cmd_gpu_reset_method(Invocation& inv) {
  ArgParser p(inv);
  p.add_json();
  p.add_positional("BDF [METHOD...]", -1);
  if (!p.parse()) return 0;
  if (p.positional().empty())
    throw usage_error(fmt::format(
        "{}: give the GPU's PCI address and, to set it, the methods, e.g. '{} 0000:01:00.0 "
        "device_specific bus'",
        inv.path, inv.path));
  const std::string bdf = parse_bdf(inv.path, p.positional().front());
  const std::vector<std::string> methods(p.positional().begin() + 1, p.positional().end());
  SysfsPci pci(inv.ctx.system().sysfs());
  if (!methods.empty()) write_reset_method(pci, bdf, methods);
  const std::optional<PciFunction> f = pci.function(bdf);
  if (!f) throw Error(ExitCode::kFailure, fmt::format("no PCI device {} (see lspci -D)", bdf));
  const std::vector<std::string> now = reset_methods(*f);
  if (p.json()) {
    Json j;
    j["bdf"] = bdf;
    j["transport"] = "sysfs";
    j["reset_method"] = f->resetMethod ? Json(now) : Json(nullptr);
    print_json(inv.ctx.out, j);
    return 0;
  }
  std::string words;
  for (const std::string& m : now) words += (words.empty() ? "" : " ") + m;
  inv.ctx.out << fmt::format("{}: reset_method{}: {}\n", bdf, methods.empty() ? "" : " set",
                             words.empty() ? "- (no reset method)" : words);
  return 0;
}

int cmd_gpu_ids_add(Invocation& inv) { return gpu_ids(inv, true); }
int cmd_gpu_ids_del(Invocation& inv) { return gpu_ids(inv, false); }

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
