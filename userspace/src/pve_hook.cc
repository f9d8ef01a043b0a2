#include "pve_hook.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <thread>

#include "error.h"
#include "gpu_report.h"
#include "pve_config.h"
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
    "post-start, pre-stop, post-stop).  pre-start makes sure every device the VM\n"
    "passes (hostpciN in /etc/pve/qemu-server/VMID.conf: an address, or\n"
    "mapping=NAME resolved for this node from /etc/pve/mapping/pci.cfg) is\n"
    "present (authorizing the Thunderbolt devices a rule of egpu_gate allows,\n"
    "then waiting for them, at most --wait seconds), bound to vfio-pci, and that\n"
    "each GPU egpu_gate handles ('egpuctl gpu list'; without the module: AMD\n"
    "display functions) has device_specific first in its reset_method; it fixes\n"
    "what it can and exits non-zero with the reason when it cannot, so the VM\n"
    "does not start.\n"
    "post-stop prints the GPUs' reset counters (the task log keeps them).\n"
    "\n"
    "'install VMID' writes the hookscript snippet egpu-gate-hook.sh into the\n"
    "snippets directory of storage NAME (default local: /var/lib/vz/snippets)\n"
    "and runs 'qm set VMID --hookscript NAME:snippets/egpu-gate-hook.sh'.\n";

namespace {

constexpr const char kSnippet[] = "egpu-gate-hook.sh";


std::string joined(const std::vector<std::string>& v) { return fmt::format("{}", fmt::join(v, ", ")); }

// What differs between a mapping's entry and the devices at its paths, as
// PVE::Mapping::PCI::assert_valid compares them: id= at every path (a slot
// by its function 0), subsystem-id= at every path, iommugroup= at the first
// path only.  Properties the entry leaves out are not required here (Proxmox
// itself requires them at start); absent paths are not checked.  "" when
// nothing differs.
std::string mapping_mismatch(const PveHostPci& h, const SysfsPci& pci) {
  if (!h.map || !h.mapping) return {};
  const PvePciMap& m = *h.map;
  const auto differs = [&](const std::string& what, const std::string& want,
                           const std::string& path, const std::string& found) {
    return fmt::format("{}: mapping {} expects {}{} at {}, found {}: the hardware changed; "
                       "update the mapping (Datacenter > Resource Mappings)",
                       h.key, *h.mapping, what, want, path, found);
  };
  for (size_t i = 0; i < h.ids.size(); ++i) {
    std::string path = h.ids[i];
    if (path.find('.') == std::string::npos) path += ".0";
    const auto f = pci.function(path);
    if (!f) continue;
    if (m.id && f->id() != *m.id) return differs("", *m.id, path, f->id());
    if (m.subsystemId && f->subsystemId != m.subsystemId)
      return differs("subsystem ", *m.subsystemId, path, f->subsystemId.value_or("none"));
    if (i == 0 && m.iommuGroup && f->iommuGroup != m.iommuGroup)
      return differs("IOMMU group ", *m.iommuGroup, path, f->iommuGroup.value_or("none"));
  }
  return {};
}

struct Hook {
  Invocation& inv;
  std::string vmid;
  std::ostream& out() { return inv.ctx.out; }
  void say(const std::string& s) { out() << fmt::format("egpu-gate: VM {}: {}\n", vmid, s); }
  [[noreturn]] void abort(const std::string& s) {
    throw Error(ExitCode::kFailure,
                fmt::format("VM {} must not start: {}", vmid, s));
  }

  // VMID.conf, its hostpci entries resolved (mappings of this node, slots
  // to the functions present now).
  PveVmConfig config() {
    System& sys = inv.ctx.system();
    const std::string path = fmt::format("/etc/pve/qemu-server/{}.conf", vmid);
    const auto text = sys.files().read(path);
    if (!text)
      throw Error(ExitCode::kFailure,
                  fmt::format("no VM {}: cannot read {} (run on the Proxmox node of the VM)",
                              vmid, path));
    return parse_pve_config(vmid, *text, read_pve_host(sys.files(), sys.sysfs()));
  }

  // Every BDF the VM passes.
  static std::vector<std::string> passed(const PveVmConfig& vm) {
    std::vector<std::string> out;
    for (const PveHostPci& h : vm.hostpci)
      for (const std::string& b : h.bdfs)
        if (std::find(out.begin(), out.end(), b) == out.end()) out.push_back(b);
    return out;
  }
  static std::vector<std::string> absent(const PveVmConfig& vm) {
    std::vector<std::string> out;
    for (const PveHostPci& h : vm.hostpci) out.insert(out.end(), h.absent.begin(), h.absent.end());
    return out;
  }

  // Slots passed whole whose function 0 is multifunction (header type bit
  // 7, config offset 0x0e) but still alone: a hot-plug adds the functions
  // one by one, the others are on their way.
  std::vector<std::string> incomplete(const PveVmConfig& vm) {
    std::vector<std::string> out;
    const FileTree& fs = inv.ctx.system().sysfs();
    for (const PveHostPci& h : vm.hostpci)
      for (const std::string& id : h.ids) {
        if (id.find('.') != std::string::npos) continue;
        const auto n = std::count_if(h.bdfs.begin(), h.bdfs.end(),
                                     [&](const std::string& b) { return b.starts_with(id + "."); });
        if (n != 1) continue;
        const auto cfg = fs.read(fmt::format("/bus/pci/devices/{}.0/config", id));
        if (cfg && cfg->size() > 0x0e && (static_cast<unsigned char>((*cfg)[0x0e]) & 0x80))
          out.push_back(id);
      }
    return out;
  }

  // The Thunderbolt side of absent GPUs: authorizes the devices a rule of
  // the module allows; names those nothing allows.
  struct TbState {
    int authorized = 0;                // by this call
    bool pending = false;              // an authorized device (its PCIe may still come)
    std::vector<std::string> refused;  // "0-1 (Blackmagic Design eGPU Pro)"
    std::vector<std::string> names;    // "0-1"
    bool noModule = false;             // over sysfs: no rules at all
  };
  TbState authorize_waiting() {
    DeviceControl& dc = inv.ctx.devices();
    TbState st;
    for (const TbDevice& d : dc.tbDevices()) {
      if (!d.parent || !d.authorized) continue;
      if (*d.authorized != 0) {
        st.pending = true;
        continue;
      }
      if (dc.transport() != "netlink" || !d.ruleId) {
        st.noModule = dc.transport() != "netlink";
        say(fmt::format("Thunderbolt device {} ({}) is not authorized and no rule allows it{}",
                        d.name, tb_display_name(d),
                        st.noModule ? " (egpu_gate is not loaded)" : ""));
        st.refused.push_back(fmt::format("{} ({})", d.name, tb_display_name(d)));
        st.names.push_back(d.name);
        continue;
      }
      try {
        dc.tbAuthorize(d.name);
      } catch (const Error& e) {
        abort(fmt::format("cannot authorize Thunderbolt device {} ({}): {}", d.name,
                          tb_display_name(d), e.what()));
      }
      say(fmt::format("authorized Thunderbolt device {} ({}, rule {})", d.name,
                      tb_display_name(d), *d.ruleId));
      ++st.authorized;
      st.pending = true;
    }
    return st;
  }

  // The GPUs egpu_gate handles (its gpu list, with the IDs added at run
  // time); nullopt when the module is not there (then AMD display
  // functions count, the families it has).
  std::optional<std::vector<Gpu>> module_gpus() {
    try {
      return inv.ctx.control().gpus();
    } catch (const Error& e) {
      if (e.code() != ExitCode::kNotLoaded)
        say(fmt::format("cannot ask egpu_gate for its GPUs ({}): taking AMD display functions",
                        e.what()));
      return std::nullopt;
    }
  }

  void bind_vfio(SysfsPci& pci, const PciFunction& f) {
    System& sys = inv.ctx.system();
    // As Proxmox does (PVE::SysFSTools::pci_dev_bind_to_vfio).
    if (!sys.sysfs().exists("/bus/pci/drivers/vfio-pci"))
      sys.runner().run({"modprobe", "vfio-pci"});
    try {
      pci.bind_vfio(f);
    } catch (const Error& e) {
      abort(fmt::format("cannot bind {} to vfio-pci: {}", f.bdf, e.what()));
    }
    say(fmt::format("{}: bound to vfio-pci (was {})", f.bdf, f.driver.value_or("unbound")));
  }

  int pre_start(double wait_s) {
    const auto started = std::chrono::steady_clock::now();
    PveVmConfig vm = config();
    for (const PveHostPci& h : vm.hostpci)
      if (!h.error.empty()) abort(h.error);
    if (vm.hostpci.empty()) {
      say("passes no PCI device: nothing to do");
      return 0;
    }
    // 1. Present (an eGPU appears once its Thunderbolt device is authorized).
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(wait_s * 1000));
    std::vector<std::string> missing = absent(vm);
    bool waited = false;
    if (!missing.empty()) {
      say(fmt::format("{} not present", joined(missing)));
      const TbState tb = authorize_waiting();
      if (tb.pending) {
        // Bounded poll: the functions appear when the PCIe tunnel is up
        // and the hot-plug is enumerated.
        waited = true;
        while (!(missing = absent(vm = config())).empty() && Clock::now() < deadline)
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (!missing.empty() && !tb.refused.empty())
        abort(fmt::format(
            "{} not present: Thunderbolt device {} is not authorized and {}: {}allow it with "
            "'egpuctl tb allow {}' (or once: 'egpuctl tb authorize {}'); 'egpuctl tb list' "
            "shows the reason",
            joined(missing), joined(tb.refused),
            tb.noModule ? "egpu_gate is not loaded" : "no rule of egpu_gate allows it",
            tb.noModule ? "load it ('modprobe egpu_gate') and " : "", tb.names.front(),
            tb.names.front()));
      if (!missing.empty())
        abort(fmt::format(
            "{} not present{}: connect the eGPU with a Thunderbolt cable and authorize it "
            "('egpuctl tb list', 'egpuctl tb authorize DEV', or a rule: 'egpuctl tb allow "
            "DEV'); 'egpuctl doctor' explains more",
            joined(missing),
            tb.pending ? fmt::format(" {:g} s after its Thunderbolt device was authorized", wait_s)
                       : ""));
    }
    // The other functions of a slot that just appeared: until function 0
    // is no longer alone, then until the set holds still for 300 ms.
    if (!incomplete(vm).empty()) waited = true;
    if (waited) {
      std::vector<std::string> last = passed(vm);
      int still = 0;
      while (Clock::now() < deadline && (!incomplete(vm).empty() || still < 3)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        vm = config();
        const std::vector<std::string> now = passed(vm);
        still = now == last ? still + 1 : 0;
        last = now;
      }
      if (const auto alone = incomplete(vm); !alone.empty())
        say(fmt::format("{}: function 0 is multifunction but alone after {:g} s: passing it "
                        "as it is",
                        joined(alone), wait_s));
      say(fmt::format("{} present after {:.1f} s", joined(passed(vm)),
                      std::chrono::duration<double>(Clock::now() - started).count()));
    }
    SysfsPci pci(inv.ctx.system().sysfs());
    // 2. The devices a mapping expects (qemu-server refuses others): checked
    // before anything is rebound, so a changed path never takes another
    // device away from the host.
    for (const PveHostPci& h : vm.hostpci)
      if (const std::string why = mapping_mismatch(h, pci); !why.empty()) abort(why);
    // 3. vfio-pci, 4. device_specific first on the GPUs egpu_gate handles.
    const std::vector<std::string> bdfs = passed(vm);
    const std::optional<std::vector<Gpu>> gpus = module_gpus();
    for (const std::string& b : bdfs) {
      const std::optional<PciFunction> f = pci.function(b);
      if (!f) abort(fmt::format("{} went away", b));
      if (f->driver != "vfio-pci") bind_vfio(pci, *f);
      const bool gpu =
          gpus ? std::any_of(gpus->begin(), gpus->end(), [&](const Gpu& g) { return g.bdf == b; })
               : f->isDisplay() && f->vendor == 0x1002;
      if (!gpu) {
        if (gpus && f->isDisplay())
          say(fmt::format("{}: not a GPU egpu_gate handles (reset_method left as is)", b));
        continue;
      }
      if (f->resetMethod.value_or("").starts_with("device_specific")) continue;
      try {
        pci.set_device_specific_first(*f);
      } catch (const Error& e) {
        abort(fmt::format("{} has no working reset (reset_method '{}'): {}", b,
                          f->resetMethod.value_or(""), e.what()));
      }
      say(fmt::format("{}: device_specific is now first in reset_method", b));
    }
    say(fmt::format("{} ready", joined(bdfs)));
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
  sys.files().write_atomic(path, pve_hook_snippet(self), 0755, ExistingMode::kSet);
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
