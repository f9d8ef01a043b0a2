#include "pve_hook.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <thread>

#include "doctor.h"
#include "error.h"
#include "gpu_report.h"
#include "sysfs_devices.h"
#include "system.h"
#include "tb_codec.h"
#include "tb_report.h"

namespace po = boost::program_options;

namespace egpuctl {

const char kPveHookHelp[] =
    "Usage as a Proxmox VE hookscript: egpuctl pve-hook VMID PHASE\n"
    "       egpuctl pve-hook install VMID [--storage NAME] [--dir DIR]\n"
    "\n"
    "Proxmox runs the hookscript with the VM's ID and the phase (pre-start,\n"
    "post-start, pre-stop, post-stop).  pre-start makes sure every GPU the VM\n"
    "passes (hostpciN in /etc/pve/qemu-server/VMID.conf) is present (authorizing\n"
    "the Thunderbolt devices a rule of egpu_gate allows, then waiting for the\n"
    "GPU), bound to vfio-pci with the other functions it passes, and has\n"
    "device_specific first in its reset_method; it fixes what it can and exits\n"
    "non-zero with the reason when it cannot, so the VM does not start.\n"
    "post-stop prints the GPUs' reset counters (the task log keeps them).\n"
    "\n"
    "'install VMID' writes the hookscript snippet egpu-gate-hook.sh into the\n"
    "snippets directory of storage NAME (default local: /var/lib/vz/snippets)\n"
    "and runs 'qm set VMID --hookscript NAME:snippets/egpu-gate-hook.sh'.\n";

namespace {

constexpr const char kSnippet[] = "egpu-gate-hook.sh";


struct Hook {
  Invocation& inv;
  std::string vmid;
  std::ostream& out() { return inv.ctx.out; }
  void say(const std::string& s) { out() << fmt::format("egpu-gate: VM {}: {}\n", vmid, s); }
  [[noreturn]] void abort(const std::string& s) {
    throw Error(ExitCode::kFailure,
                fmt::format("VM {} must not start: {}", vmid, s));
  }

  PveVmConfig config() {
    FileTree& files = inv.ctx.system().files();
    const std::string path = fmt::format("/etc/pve/qemu-server/{}.conf", vmid);
    const auto text = files.read(path);
    if (!text)
      throw Error(ExitCode::kFailure,
                  fmt::format("no VM {}: cannot read {} (run on the Proxmox node of the VM)",
                              vmid, path));
    std::vector<std::string> present;
    for (const PciFunction& f : SysfsPci(inv.ctx.system().sysfs()).functions())
      present.push_back(f.bdf);
    return parse_pve_config(vmid, *text, present);
  }

  // Every BDF the VM passes.
  static std::vector<std::string> passed(const PveVmConfig& vm) {
    std::vector<std::string> out;
    for (const PveHostPci& h : vm.hostpci)
      for (const std::string& b : h.bdfs)
        if (std::find(out.begin(), out.end(), b) == out.end()) out.push_back(b);
    return out;
  }

  // Authorizes the Thunderbolt devices that are waiting for it (a matching
  // rule of the module); returns how many.
  int authorize_waiting() {
    DeviceControl& dc = inv.ctx.devices();
    int n = 0;
    for (const TbDevice& d : dc.tbDevices()) {
      if (!d.parent || !d.authorized || *d.authorized != 0) continue;
      if (dc.transport() != "netlink" || !d.ruleId) {
        say(fmt::format("Thunderbolt device {} ({}) is not authorized and no rule allows it",
                        d.name, tb_display_name(d)));
        continue;
      }
      dc.tbAuthorize(d.name);
      say(fmt::format("authorized Thunderbolt device {} ({}, rule {})", d.name,
                      tb_display_name(d), *d.ruleId));
      ++n;
    }
    return n;
  }

  int pre_start(double wait_s) {
    const PveVmConfig vm = config();
    std::vector<std::string> bdfs = passed(vm);
    SysfsPci pci(inv.ctx.system().sysfs());
    if (bdfs.empty()) {
      say("passes no PCI device: nothing to do");
      return 0;
    }
    // 1. Present (an eGPU appears once its Thunderbolt device is authorized).
    auto missing = [&] {
      std::vector<std::string> m;
      for (const std::string& b : bdfs)
        if (!pci.function(b)) m.push_back(b);
      return m;
    };
    std::vector<std::string> absent = missing();
    if (!absent.empty()) {
      say(fmt::format("{} not present", fmt::join(absent, ", ")));
      if (authorize_waiting() > 0) {
        const auto deadline = std::chrono::steady_clock::now() +
                              std::chrono::milliseconds(static_cast<int64_t>(wait_s * 1000));
        while (!(absent = missing()).empty() && std::chrono::steady_clock::now() < deadline)
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      if (!absent.empty())
        abort(fmt::format(
            "{} not present: connect the eGPU with a Thunderbolt cable and authorize it "
            "('egpuctl tb list', 'egpuctl tb authorize DEV', or a rule: 'egpuctl tb allow "
            "DEV'); 'egpuctl doctor' explains more",
            fmt::join(absent, ", ")));
    }
    // 2. vfio-pci, 3. device_specific first.
    for (const std::string& b : bdfs) {
      const PciFunction f = *pci.function(b);
      if (f.driver != "vfio-pci") {
        try {
          pci.bind_vfio(f);
        } catch (const Error& e) {
          abort(fmt::format("cannot bind {} to vfio-pci: {}", b, e.what()));
        }
        say(fmt::format("{}: bound to vfio-pci (was {})", b, f.driver.value_or("unbound")));
      }
      if (!f.isDisplay()) continue;
      if (f.resetMethod.value_or("").starts_with("device_specific")) continue;
      if (f.vendor != 0x1002) continue;  // egpu_gate resets AMD GPUs only
      try {
        pci.set_device_specific_first(f);
      } catch (const Error& e) {
        abort(fmt::format("{} has no working reset (reset_method '{}'): {}", b,
                          f.resetMethod.value_or(""), e.what()));
      }
      say(fmt::format("{}: device_specific is now first in reset_method", b));
    }
    say(fmt::format("{} ready", fmt::join(bdfs, ", ")));
    return 0;
  }

  int post_stop() {
    const PveVmConfig vm = config();
    const std::vector<std::string> bdfs = passed(vm);
    std::vector<Gpu> gpus;
    try {
      gpus = inv.ctx.control().gpus();
    } catch (const Error& e) {
      say(fmt::format("no reset counters: {}", e.what()));
      return 0;
    }
    for (const Gpu& g : gpus) {
      if (std::find(bdfs.begin(), bdfs.end(), g.bdf) == bdfs.end()) continue;
      const GpuStats st = g.stats.value_or(GpuStats{});
      std::string line = fmt::format("{} ({}): resets={} failures={}", g.bdf, g.family,
                                     st.count.value_or(0), st.failures.value_or(0));
      if (st.count.value_or(0) > 0) {
        line += " last=" + result_name(st.lastResult.value_or(0));
        if (st.lastDurationUs) line += fmt::format(" last_us={}", *st.lastDurationUs);
        if (st.lastMethod) line += " method=" + reset_method_name(*st.lastMethod);
      }
      say(line);
    }
    return 0;
  }
};

int install(Invocation& inv, const std::string& vmid, const std::string& storage,
            std::string dir) {
  System& sys = inv.ctx.system();
  if (dir.empty()) {
    if (storage != "local")
      throw usage_error(fmt::format(
          "pve-hook install: give the snippets directory of storage '{}' with --dir (see "
          "/etc/pve/storage.cfg)",
          storage));
    dir = "/var/lib/vz/snippets";
  }
  if (!sys.files().exists(dir))
    throw Error(ExitCode::kFailure,
                fmt::format("{} does not exist: allow snippets on storage {} (pvesm set {} "
                            "--content vztmpl,iso,backup,snippets) or create it",
                            dir, storage, storage));
  if (!sys.files().exists(fmt::format("/etc/pve/qemu-server/{}.conf", vmid)))
    throw Error(ExitCode::kFailure,
                fmt::format("no VM {} on this node (/etc/pve/qemu-server/{}.conf)", vmid, vmid));
  const std::string self = sys.files().readlink("/proc/self/exe").value_or("/usr/sbin/egpuctl");
  const std::string path = dir + "/" + kSnippet;
  if (int err = sys.files().replace(path, pve_hook_snippet(self), 0755))
    throw local_error(fmt::format("write {}", path), errno_text(err));
  inv.ctx.out << fmt::format("wrote {}\n", path);
  const std::string volume = fmt::format("{}:snippets/{}", storage, kSnippet);
  const RunResult r = sys.runner().run({"qm", "set", vmid, "--hookscript", volume});
  if (r.status < 0)
    throw Error(ExitCode::kFailure, "qm is not installed: is this a Proxmox VE node?");
  if (r.status != 0)
    throw Error(ExitCode::kFailure,
                fmt::format("qm set {} --hookscript {} failed (exit {}): {}", vmid, volume,
                            r.status, r.output));
  inv.ctx.out << fmt::format("VM {}: hookscript {}\n", vmid, volume);
  return 0;
}

void check_vmid(const std::string& vmid) {
  static const std::regex kVmid("[1-9][0-9]{2,8}");
  if (!std::regex_match(vmid, kVmid))
    throw usage_error(fmt::format("pve-hook: '{}' is not a VM ID (100 to 999999999)", vmid));
}

}  // namespace

std::string pve_hook_snippet(const std::string& egpuctl_path) {
  return fmt::format(
      "#!/bin/sh\n"
      "# Proxmox VE hookscript of egpu-gate (written by 'egpuctl pve-hook install').\n"
      "# Proxmox runs it as: egpu-gate-hook.sh VMID PHASE\n"
      "exec {} pve-hook \"$@\"\n",
      egpuctl_path);
}

int cmd_pve_hook(Invocation& inv) {
  ArgParser p(inv);
  std::string storage = "local", dir;
  double wait_s = 15;
  p.options().add_options()(
      "storage", po::value<std::string>(&storage)->value_name("NAME"),
      "install: the storage of the snippet (default local)")(
      "dir", po::value<std::string>(&dir)->value_name("DIR"),
      "install: its snippets directory (default /var/lib/vz/snippets for local)")(
      "wait", po::value<double>(&wait_s)->value_name("S"),
      "pre-start: how long to wait for a GPU after authorizing its device (default 15)");
  p.add_positional("VMID PHASE | install VMID", 2);
  if (!p.parse()) return 0;
  const std::vector<std::string>& a = p.positional();
  if (a.size() != 2)
    throw usage_error(
        "pve-hook: give VMID PHASE (as Proxmox does: pre-start, post-start, pre-stop, "
        "post-stop) or 'install VMID'");
  if (a[0] == "install") {
    check_vmid(a[1]);
    return install(inv, a[1], storage, dir);
  }
  check_vmid(a[0]);
  Hook hook{inv, a[0]};
  const std::string& phase = a[1];
  if (phase == "pre-start") return hook.pre_start(wait_s);
  if (phase == "post-stop") return hook.post_stop();
  if (phase == "post-start" || phase == "pre-stop") return 0;
  throw usage_error(fmt::format(
      "pve-hook: unknown phase '{}': Proxmox passes pre-start, post-start, pre-stop or "
      "post-stop",
      phase));
}

}  // namespace egpuctl
