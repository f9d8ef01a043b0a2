#include "doctor.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "egpu_gate.h"
#include "error.h"
#include "pci_topology.h"
#include "status_report.h"
#include "sysfs_devices.h"
#include "tb_codec.h"
#include "tb_report.h"
#include "version.h"

namespace egpuctl {

const char kDoctorHelp[] =
    "Check the host for what GPU passthrough of an eGPU needs, the runbook's\n"
    "verification and troubleshooting steps as checks: IOMMU (firmware table,\n"
    "kernel command line, groups), each GPU's IOMMU group, vfio-pci binding and\n"
    "reset_method, module egpu_gate (loaded, version, signature, Secure Boot and\n"
    "MOK enrollment), Thunderbolt domains (security, iommu_dma_protection,\n"
    "deauthorization), a USB-only eGPU enclosure (USB-C cable without\n"
    "Thunderbolt), unauthorized Thunderbolt devices, network interface names a\n"
    "PCI bus shift can change, and Proxmox VM configs that pass a GPU (q35,\n"
    "pcie=1, rombar=0 on audio, GPU and audio in one VM).  Each check prints\n"
    "OK, WARN or FAIL with the evidence and the fix.  Exit status: 0 all OK,\n"
    "1 a warning, 2 a failure.\n";

const char* level_name(Level l) {
  switch (l) {
    case Level::kOk: return "OK";
    case Level::kWarn: return "WARN";
    case Level::kFail: return "FAIL";
  }
  return "?";
}

namespace {

// --- helpers -----------------------------------------------------------------

std::string join(const std::vector<std::string>& v, const std::string& sep = ", ") {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}


bool is_bridge(const PciFunction& f) { return (f.classCode >> 8) == 0x0604; }

class Doctor {
 public:
  explicit Doctor(const DoctorInputs& in) : in_(in), pci_(in.sysfs) {
    functions_ = pci_.functions();
    for (const PciFunction& f : functions_) by_bdf_[f.bdf] = f;
  }

  std::vector<Check> run() {
    iommu();
    module();
    gpus();
    thunderbolt();
    usb_enclosure();
    network_names();
    pve_configs();
    return std::move(checks_);
  }

 private:
  void add(std::string id, std::string subject, Level level, std::string evidence,
           std::string fix = {}) {
    checks_.push_back({std::move(id), std::move(subject), level, std::move(evidence),
                       level == Level::kOk ? std::string() : std::move(fix)});
  }

  // --- IOMMU -------------------------------------------------------------------
  void iommu() {
    const bool dmar = in_.sysfs.exists("/firmware/acpi/tables/DMAR");
    const bool ivrs = in_.sysfs.exists("/firmware/acpi/tables/IVRS");
    groups_ = pci_.iommu_group_count();
    if (dmar || ivrs)
      add("iommu.firmware", "", Level::kOk,
          fmt::format("ACPI {} table present ({})", dmar ? "DMAR" : "IVRS",
                      dmar ? "Intel VT-d" : "AMD-Vi"));
    else
      add("iommu.firmware", "", groups_ > 0 ? Level::kWarn : Level::kFail,
          "no ACPI DMAR or IVRS table: the firmware does not announce an IOMMU",
          "enable VT-d (Intel) or AMD-Vi/IOMMU (AMD) in the firmware setup");

    const std::string cmdline = in_.files.attr("/proc/cmdline").value_or("");
    std::vector<std::string> words;
    std::istringstream is(cmdline);
    for (std::string w; is >> w;) words.push_back(w);
    auto has = [&](const std::string& w) {
      return std::find(words.begin(), words.end(), w) != words.end();
    };
    const bool off = has("intel_iommu=off") || has("amd_iommu=off") || has("iommu=off");
    const bool on = has("intel_iommu=on") || has("amd_iommu=on");
    const std::string fix =
        "add intel_iommu=on iommu=pt (AMD: amd_iommu=on iommu=pt) to GRUB_CMDLINE_LINUX_DEFAULT "
        "in /etc/default/grub and run update-grub (systemd-boot: /etc/kernel/cmdline and "
        "proxmox-boot-tool refresh), then reboot";
    if (off)
      add("iommu.cmdline", "", Level::kFail,
          fmt::format("the kernel command line turns the IOMMU off: {}", cmdline), fix);
    else if (on)
      add("iommu.cmdline", "", Level::kOk,
          fmt::format("{}{}", has("intel_iommu=on") ? "intel_iommu=on" : "amd_iommu=on",
                      has("iommu=pt") ? " iommu=pt" : ""));
    else
      add("iommu.cmdline", "", groups_ > 0 ? Level::kOk : Level::kWarn,
          groups_ > 0 ? "no intel_iommu=/amd_iommu= on the command line; the kernel enabled "
                        "the IOMMU by default"
                      : "no intel_iommu=on or amd_iommu=on on the kernel command line",
          fix);
    if (groups_ > 0)
      add("iommu.groups", "", Level::kOk, fmt::format("{} IOMMU groups", groups_));
    else
      add("iommu.groups", "", Level::kFail,
          "/sys/kernel/iommu_groups is empty: the IOMMU is off, passthrough is impossible",
          "enable the IOMMU in the firmware and on the kernel command line (see iommu.cmdline)");
  }

  // --- module ------------------------------------------------------------------
  void module() {
    const bool in_sysfs = in_.sysfs.exists("/module/egpu_gate");
    if (in_.status) {
      const Status& s = *in_.status;
      Level l = Level::kOk;
      std::string ev = fmt::format("egpu_gate {} loaded (API {})", s.version, s.apiVersion);
      std::string fix;
      if (!in_.egpuctlVersion.empty() && s.version != in_.egpuctlVersion) {
        l = Level::kWarn;
        ev += fmt::format("; egpuctl is {}", in_.egpuctlVersion);
        fix = "install the same version of the module and egpuctl (reinstall the package, then "
              "`modprobe -r egpu_gate && modprobe egpu_gate`)";
      }
      add("module.loaded", "", l, ev, fix);
    } else if (!in_.moduleError.empty()) {
      add("module.loaded", "", Level::kFail,
          fmt::format("egpu_gate is loaded but does not answer: {}", in_.moduleError),
          "run egpuctl as root; see dmesg for egpu_gate messages");
    } else {
      add("module.loaded", "", Level::kFail,
          in_sysfs ? "egpu_gate is in /sys/module but its netlink family is missing"
                   : "module egpu_gate is not loaded: no device-specific reset for the GPU, "
                     "no Thunderbolt policy",
          "modprobe egpu_gate (installed with DKMS: dkms status egpu-gate); to load it at "
          "boot: egpuctl policy apply");
    }

    // Signature, Secure Boot, MOK.
    const RunResult mi = in_.runner.run({"modinfo", "egpu_gate"});
    std::string signer, filename;
    if (mi.status == 0) {
      std::istringstream ls(mi.output);
      for (std::string line; std::getline(ls, line);) {
        auto value = [&](const char* key) -> std::optional<std::string> {
          const std::string k = std::string(key) + ":";
          if (!line.starts_with(k)) return std::nullopt;
          std::string v = line.substr(k.size());
          v.erase(0, v.find_first_not_of(" \t"));
          return v;
        };
        if (auto v = value("signer")) signer = *v;
        if (auto v = value("filename")) filename = *v;
      }
    }
    const RunResult sb = in_.runner.run({"mokutil", "--sb-state"});
    std::optional<bool> secure_boot;
    if (sb.status >= 0 && sb.output.find("SecureBoot enabled") != std::string::npos)
      secure_boot = true;
    else if (sb.status >= 0 && (sb.output.find("SecureBoot disabled") != std::string::npos ||
                                sb.output.find("not supported") != std::string::npos))
      secure_boot = false;

    if (mi.status != 0)
      add("module.signature", "", Level::kFail,
          mi.status < 0 ? "modinfo is not installed" : "modinfo does not find egpu_gate",
          "install it: apt install egpu-gate-dkms (or make dkms-install), then dkms status");
    else if (!signer.empty())
      add("module.signature", "", Level::kOk, fmt::format("{} signed by '{}'", filename, signer));
    else
      add("module.signature", "", secure_boot.value_or(false) ? Level::kFail : Level::kOk,
          fmt::format("{} is not signed", filename),
          "Secure Boot is on: let DKMS sign it (/etc/dkms/framework.conf mok_signing_key) and "
          "reinstall: dkms install --force egpu-gate/VERSION");

    if (!secure_boot) {
      add("secureboot.state", "", Level::kWarn,
          sb.status < 0 ? "mokutil is not installed: Secure Boot state unknown"
                        : "mokutil --sb-state: " + sb.output,
          "apt install mokutil");
      return;
    }
    add("secureboot.state", "", Level::kOk,
        *secure_boot ? "Secure Boot enabled: modules must be signed by an enrolled key"
                     : "Secure Boot disabled");
    if (!*secure_boot || signer.empty()) return;
    const RunResult keys = in_.runner.run({"mokutil", "--list-enrolled"});
    if (keys.status == 0 && keys.output.find(signer) != std::string::npos)
      add("secureboot.mok", "", Level::kOk, fmt::format("key '{}' is enrolled", signer));
    else
      add("secureboot.mok", "", Level::kFail,
          fmt::format("the signing key '{}' is not enrolled: the kernel refuses to load the "
                      "module",
                      signer),
          "mokutil --import /var/lib/dkms/mok.pub, set a one-time password, reboot and choose "
          "Enroll MOK at the blue MokManager screen");
  }

  // --- GPUs ----------------------------------------------------------------------
  // The GPUs to look at: handled by the module, AMD display functions, and
  // display functions a VM passes.
  std::vector<PciFunction> candidate_gpus() {
    std::set<std::string> bdfs;
    for (const Gpu& g : in_.handledGpus) bdfs.insert(g.bdf);
    for (const PciFunction& f : functions_)
      if (f.isDisplay() && f.vendor == 0x1002) bdfs.insert(f.bdf);
    for (const PveVmConfig& vm : vms())
      for (const PveHostPci& h : vm.hostpci)
        for (const std::string& b : h.bdfs)
          if (auto it = by_bdf_.find(b); it != by_bdf_.end() && it->second.isDisplay())
            bdfs.insert(b);
    std::vector<PciFunction> out;
    for (const std::string& b : bdfs)
      if (auto it = by_bdf_.find(b); it != by_bdf_.end()) out.push_back(it->second);
    return out;
  }

  std::vector<PciFunction> slot_functions(const PciFunction& gpu) const {
    std::vector<PciFunction> out;
    for (const PciFunction& f : functions_)
      if (f.slot() == gpu.slot()) out.push_back(f);
    return out;
  }

  bool handled(const std::string& bdf) const {
    return std::any_of(in_.handledGpus.begin(), in_.handledGpus.end(),
                       [&](const Gpu& g) { return g.bdf == bdf; });
  }

  void gpus() {
    const std::vector<PciFunction> list = candidate_gpus();
    if (list.empty()) {
      add("gpu.present", "", Level::kWarn,
          "no AMD GPU is present (an eGPU appears only once its Thunderbolt device is "
          "authorized)",
          "connect the eGPU with a Thunderbolt cable and authorize it: egpuctl tb list, "
          "egpuctl tb authorize DEV");
      return;
    }
    for (const PciFunction& g : list) {
      const std::vector<PciFunction> slot = slot_functions(g);
      // IOMMU group.
      if (!g.iommuGroup) {
        add("gpu.iommu_group", g.bdf, Level::kFail, "in no IOMMU group: the IOMMU is off",
            "see iommu.cmdline");
      } else {
        std::vector<std::string> others;
        for (const std::string& m : pci_.iommu_group(*g.iommuGroup)) {
          if (pci_slot(m) == g.slot()) continue;
          auto it = by_bdf_.find(m);
          if (it != by_bdf_.end() && is_bridge(it->second)) continue;
          others.push_back(it == by_bdf_.end() ? m
                                               : fmt::format("{} ({})", m, it->second.id()));
        }
        if (others.empty())
          add("gpu.iommu_group", g.bdf, Level::kOk,
              fmt::format("group {} holds only its own functions", *g.iommuGroup));
        else
          add("gpu.iommu_group", g.bdf, Level::kWarn,
              fmt::format("group {} also holds {}: they go to the VM with the GPU",
                          *g.iommuGroup, join(others)),
              "put the eGPU on another port, or pass the whole group; do not use "
              "pcie_acs_override on a host you trust with other devices");
      }
      // Driver of every function of the slot.
      std::vector<std::string> wrong;
      for (const PciFunction& f : slot)
        if (f.driver != "vfio-pci")
          wrong.push_back(fmt::format("{} ({}) is bound to {}", f.bdf, f.id(),
                                      f.driver.value_or("no driver")));
      if (wrong.empty())
        add("gpu.driver", g.bdf, Level::kOk,
            fmt::format("{} bound to vfio-pci", join([&] {
                          std::vector<std::string> b;
                          for (const PciFunction& f : slot) b.push_back(f.bdf);
                          return b;
                        }())));
      else
        add("gpu.driver", g.bdf, Level::kWarn, join(wrong, "; "),
            fmt::format("bind the GPU and its audio function to vfio-pci: egpuctl tb allow DEV "
                        "--bind {}, or the pve-hook does it at VM start",
                        join([&] {
                          std::vector<std::string> ids;
                          for (const PciFunction& f : slot)
                            if (std::find(ids.begin(), ids.end(), f.id()) == ids.end())
                              ids.push_back(f.id());
                          return ids;
                        }(),
                             ",")));
      // reset_method.
      const std::string rm = g.resetMethod.value_or("");
      const bool first = rm.starts_with("device_specific");
      const bool has_ds = rm.find("device_specific") != std::string::npos;
      if (first)
        add("gpu.reset_method", g.bdf, Level::kOk, "reset_method: " + rm);
      else if (handled(g.bdf) || has_ds)
        add("gpu.reset_method", g.bdf, Level::kWarn,
            fmt::format("reset_method is '{}': device_specific is not first", rm),
            fmt::format("echo device_specific > /sys/bus/pci/devices/{}/reset_method, or set "
                        "auto_reset_method=1 (egpuctl policy), or use egpuctl pve-hook",
                        g.bdf));
      else
        add("gpu.reset_method", g.bdf, g.vendor == 0x1002 ? Level::kFail : Level::kWarn,
            fmt::format("reset_method is '{}' and egpu_gate does not handle it: the reset "
                        "between VM starts fails (\"Inappropriate ioctl for device\")",
                        rm.empty() ? "(none)" : rm),
            fmt::format("load egpu_gate and check 'egpuctl gpu list'; if {} is missing, add it: "
                        "egpuctl gpu ids add {} FAMILY",
                        g.id(), g.id()));
    }
  }

  // --- Thunderbolt -------------------------------------------------------------
  void thunderbolt() {
    std::map<uint32_t, const TbDevice*> domains;
    for (const TbDevice& d : in_.tbDevices) domains.emplace(d.domain, &d);
    if (domains.empty()) {
      add("tb.domain", "", Level::kWarn,
          "no Thunderbolt domain in /sys/bus/thunderbolt",
          "enable Thunderbolt in the firmware setup and load the driver: modprobe thunderbolt");
      return;
    }
    for (const auto& [n, d] : domains) {
      const std::string subject = fmt::format("domain{}", n);
      const std::string sec = d->security.value_or("?");
      if (sec == "user" || sec == "secure")
        add("tb.security", subject, Level::kOk,
            fmt::format("security level '{}': devices wait for authorization", sec));
      else if (sec == "none")
        add("tb.security", subject, Level::kWarn,
            "security level 'none': every device is authorized when plugged in, no policy "
            "applies",
            "set Thunderbolt security to 'User Authorization' (SL1) in the firmware setup");
      else
        add("tb.security", subject, Level::kFail,
            fmt::format("security level '{}': no PCIe tunnels, an eGPU cannot work", sec),
            "set Thunderbolt security to 'User Authorization' (SL1) in the firmware setup");
      if (d->iommuProtection.value_or(false))
        add("tb.iommu_dma_protection", subject, Level::kOk, "iommu_dma_protection=1");
      else
        add("tb.iommu_dma_protection", subject, Level::kWarn,
            "iommu_dma_protection=0: devices can DMA before the IOMMU is set up; rules with "
            "iommu=required do not authorize here",
            "enable Kernel DMA Protection (and VT-d) in the firmware setup, or mark the rule "
            "iommu=optional (egpuctl tb allow --no-iommu-required)");
      if (d->deauthorization.value_or(false))
        add("tb.deauthorization", subject, Level::kOk, "deauthorization=1");
      else
        add("tb.deauthorization", subject, Level::kWarn,
            "deauthorization=0: devices cannot be de-authorized, so the shutdown teardown "
            "cannot close the PCIe tunnel (boot hang with the eGPU connected)",
            "use a connection manager that supports de-authorization (software connection "
            "manager, USB4 hosts) or unplug the eGPU before reboot");
    }
    // Unauthorized devices.
    for (const TbDevice& d : in_.tbDevices) {
      if (!d.parent || !d.authorized || *d.authorized != 0) continue;
      const std::string what =
          fmt::format("{} ({}) is not authorized", d.name, tb_display_name(d));
      if (in_.tbFromModule && d.ruleId)
        add("tb.unauthorized", d.name, Level::kWarn,
            fmt::format("{} although rule {} matches it: {}{}", what, *d.ruleId,
                        d.decision ? decision_name(*d.decision) : "?",
                        d.reason ? " (" + *d.reason + ")" : ""),
            "fix what the reason names, then egpuctl tb authorize " + d.name);
      else if (in_.tbFromModule)
        add("tb.unauthorized", d.name, Level::kWarn,
            fmt::format("{}: no rule matches it{}", what,
                        d.reason ? " (" + *d.reason + ")" : ""),
            fmt::format("if it is your eGPU: egpuctl tb allow {}", d.name));
      else
        add("tb.unauthorized", d.name, Level::kWarn,
            what + " (module egpu_gate is not loaded: no rule authorizes it)",
            fmt::format("modprobe egpu_gate and egpuctl tb allow {}; once: egpuctl tb "
                        "authorize {}",
                        d.name, d.name));
    }
  }

  // --- USB-C cable without Thunderbolt -------------------------------------------
  void usb_enclosure() {
    static const std::vector<std::string> kVendors = {
        "Blackmagic", "Razer", "Sonnet", "AKiTiO", "Akitio", "Mantiz", "PowerColor",
        "GIGABYTE", "ASUS", "OWC"};
    static const std::vector<std::string> kProducts = {"eGPU", "Core X", "Gaming Box",
                                                       "Breakaway", "XG Station", "Mercury"};
    static const std::set<std::string> kVendorIds = {"1edb"};  // Blackmagic Design
    const bool tb_device = std::any_of(in_.tbDevices.begin(), in_.tbDevices.end(),
                                       [](const TbDevice& d) { return d.parent.has_value(); });
    for (const std::string& dev : in_.sysfs.list("/bus/usb/devices")) {
      const std::string dir = "/bus/usb/devices/" + dev + "/";
      const std::string vid = in_.sysfs.attr(dir + "idVendor").value_or("");
      if (vid.empty()) continue;
      const std::string mfr = in_.sysfs.attr(dir + "manufacturer").value_or("");
      const std::string product = in_.sysfs.attr(dir + "product").value_or("");
      auto contains_any = [](const std::string& s, const std::vector<std::string>& words) {
        return std::any_of(words.begin(), words.end(),
                           [&](const std::string& w) { return s.find(w) != std::string::npos; });
      };
      const bool enclosure = (kVendorIds.count(vid) != 0 || contains_any(mfr, kVendors)) &&
                             contains_any(product, kProducts);
      if (!enclosure) continue;
      const std::string ev =
          fmt::format("USB device {} is '{} {}' ({}:{})", dev, mfr, product, vid,
                      in_.sysfs.attr(dir + "idProduct").value_or("?"));
      if (tb_device)
        add("tb.cable", dev, Level::kOk, ev + " and a Thunderbolt device is present");
      else
        add("tb.cable", dev, Level::kFail,
            ev + " but there is no Thunderbolt device: the enclosure is connected over USB "
                 "only, the PCIe tunnel never opens",
            "use a certified Thunderbolt 3/4 cable (the lightning-bolt logo), in a Thunderbolt "
            "port of the host");
    }
  }

  // --- network interface names ---------------------------------------------------
  // A predictable name (enp86s0, enP1p5s0, wlp2s0) carries the PCI bus number;
  // an eGPU shifts the buses enumerated after its Thunderbolt port in the same
  // PCI domain (pci_topology.h), which renames the interface.
  void network_names() {
    const PciTopology topo(in_.sysfs);
    std::vector<std::string> tunnel;
    for (const TbDevice& d : in_.tbDevices) tunnel.insert(tunnel.end(), d.pci.begin(), d.pci.end());
    const std::vector<ThunderboltPort> ports = topo.thunderbolt_ports(tunnel);
    const bool tb = topo.has_thunderbolt() || !in_.tbDevices.empty();
    static const std::regex kBusName("(en|wl|ww)(P([0-9]+))?p([0-9]+)s[0-9]+.*");
    for (const std::string& ifname : in_.sysfs.list("/class/net")) {
      const std::string dir = "/class/net/" + ifname + "/";
      const auto device = in_.sysfs.link_name(dir + "device");
      if (!device) continue;  // virtual: lo, bridges, bonds, VLANs
      std::smatch m;
      if (!std::regex_match(ifname, m, kBusName)) {
        add("net.name", ifname, Level::kOk,
            fmt::format("{} ({}) is not named after a PCI bus (onboard index, slot, MAC or a "
                        "chosen name): a bus shift cannot rename it",
                        ifname, *device));
        continue;
      }
      const unsigned domain = m[3].matched ? static_cast<unsigned>(std::stoul(m[3].str())) : 0;
      const unsigned bus = static_cast<unsigned>(std::stoul(m[4].str()));
      const std::string mac = in_.sysfs.attr(dir + "address").value_or("MAC");
      const std::string ev = fmt::format("{} (PCI {}) is named after PCI bus {} ({:#04x})", ifname,
                                         *device, bus, bus);
      const std::string fix = fmt::format(
          "pin it by MAC: /etc/systemd/network/10-lan0.link with [Match] "
          "MACAddress={} and [Link] Name=lan0, use lan0 in /etc/network/interfaces, "
          "then update-initramfs -u",
          mac);
      if (!tb) {
        add("net.name", ifname, Level::kOk,
            ev + "; there is no Thunderbolt controller through which an eGPU could shift it");
        continue;
      }
      if (ports.empty()) {
        add("net.name", ifname, Level::kWarn,
            ev + ": a Thunderbolt controller is present but sysfs does not show the PCI port "
                 "it tunnels through, so an eGPU may renumber this bus and rename it (network "
                 "down after reboot)",
            fix);
        continue;
      }
      std::vector<std::string> before, after, elsewhere;
      for (const ThunderboltPort& p : ports) {
        const std::string what = fmt::format("{} (secondary bus {} = {:#04x}, {})", p.bdf,
                                             p.secondary, p.secondary, p.why);
        if (p.domain != domain)
          elsewhere.push_back(fmt::format("{:04x}", p.domain));
        else if (p.secondary < bus)
          before.push_back(what);
        else
          after.push_back(what);
      }
      if (!before.empty())
        add("net.name", ifname, Level::kWarn,
            fmt::format("{}, enumerated after Thunderbolt port{} {} in PCI domain {:04x}: an eGPU "
                        "there adds PCIe bridges that can renumber bus {} and rename {} (network "
                        "down after reboot)",
                        ev, before.size() > 1 ? "s" : "", join(before), domain, bus, ifname),
            fix);
      else if (!after.empty())
        add("net.name", ifname, Level::kOk,
            fmt::format("{}, enumerated before Thunderbolt port{} {} in PCI domain {:04x}: the "
                        "buses an eGPU adds come after it",
                        ev, after.size() > 1 ? "s" : "", join(after), domain));
      else {
        std::sort(elsewhere.begin(), elsewhere.end());
        elsewhere.erase(std::unique(elsewhere.begin(), elsewhere.end()), elsewhere.end());
        add("net.name", ifname, Level::kOk,
            fmt::format("{}, in PCI domain {:04x}; the Thunderbolt ports are in domain {}: an "
                        "eGPU renumbers buses of its own domain only",
                        ev, domain, join(elsewhere)));
      }
    }
  }

  // --- Proxmox ----------------------------------------------------------------------
  const std::vector<PveVmConfig>& vms() {
    if (vms_) return *vms_;
    vms_.emplace();
    const PveHost host = read_pve_host(in_.files, in_.sysfs);
    for (const std::string& name : in_.files.list("/etc/pve/qemu-server")) {
      if (!name.ends_with(".conf")) continue;
      const auto text = in_.files.read("/etc/pve/qemu-server/" + name);
      if (text) vms_->push_back(parse_pve_config(name.substr(0, name.size() - 5), *text, host));
    }
    return *vms_;
  }

  void pve_configs() {
    for (const PveVmConfig& vm : vms()) {
      for (const PveHostPci& h : vm.hostpci)
        if (!h.error.empty())
          add("pve.hostpci", "vm " + vm.vmid, Level::kWarn, h.error,
              fmt::format("qm set {} -{} ... (a PCI address or a mapping of this node)", vm.vmid,
                          h.key));
      // The GPUs it passes (display functions present now).
      std::vector<std::pair<const PveHostPci*, std::string>> gpus, all;
      for (const PveHostPci& h : vm.hostpci)
        for (const std::string& b : h.bdfs) {
          all.emplace_back(&h, b);
          auto it = by_bdf_.find(b);
          if (it != by_bdf_.end() && it->second.isDisplay()) gpus.emplace_back(&h, b);
        }
      if (gpus.empty()) continue;
      std::vector<std::string> problems, fixes;
      Level level = Level::kOk;
      auto problem = [&](Level l, std::string p, std::string f) {
        level = std::max(level, l);
        problems.push_back(std::move(p));
        fixes.push_back(std::move(f));
      };
      if (!vm.machine || vm.machine->find("q35") == std::string::npos)
        problem(Level::kFail,
                fmt::format("machine is '{}', not q35 (i440fx has no PCIe slots)",
                            vm.machine.value_or("default i440fx")),
                fmt::format("qm set {} -machine q35", vm.vmid));
      for (const auto& [h, b] : gpus) {
        if (h->pcie != "1")
          problem(Level::kFail, fmt::format("{} ({}) has no pcie=1", h->key, b),
                  fmt::format("qm set {} -{} {},pcie=1", vm.vmid, h->key, h->raw));
        // Its audio functions must go to the same VM.
        for (const PciFunction& f : functions_) {
          if (f.slot() != pci_slot(b) || f.bdf == b) continue;
          auto with = std::find_if(all.begin(), all.end(),
                                   [&](const auto& x) { return x.second == f.bdf; });
          if (with == all.end()) {
            problem(Level::kWarn,
                    fmt::format("{} passes GPU {} but not its function {} ({})", h->key, b,
                                f.bdf, f.id()),
                    fmt::format("qm set {} -hostpciN {},pcie=1{}", vm.vmid, f.bdf,
                                f.isAudio() ? ",rombar=0" : ""));
          } else if (f.isAudio() && !with->first->allFunctions && with->first->rombar != "0") {
            problem(Level::kWarn,
                    fmt::format("{} passes audio function {} without rombar=0",
                                with->first->key, f.bdf),
                    fmt::format("qm set {} -{} {},rombar=0", vm.vmid, with->first->key,
                                with->first->raw));
          }
        }
      }
      std::vector<std::string> gpu_names;
      for (const auto& [h, b] : gpus) gpu_names.push_back(b);
      const std::string subject = "vm " + vm.vmid;
      if (level == Level::kOk)
        add("pve.vm", subject, Level::kOk,
            fmt::format("passes {}: q35, pcie=1, audio with rombar=0", join(gpu_names)));
      else
        add("pve.vm", subject, level,
            fmt::format("passes {}: {}", join(gpu_names), join(problems, "; ")),
            join(fixes, "; "));
    }
  }

  const DoctorInputs& in_;
  SysfsPci pci_;
  std::vector<PciFunction> functions_;
  std::map<std::string, PciFunction> by_bdf_;
  size_t groups_ = 0;
  std::optional<std::vector<PveVmConfig>> vms_;
  std::vector<Check> checks_;
};

}  // namespace

std::vector<Check> run_doctor(const DoctorInputs& in) { return Doctor(in).run(); }

int cmd_doctor(Invocation& inv) {
  ArgParser p(inv);
  p.add_json();
  if (!p.parse()) return 0;
  System& sys = inv.ctx.system();
  DoctorInputs in{sys.sysfs(), sys.files(), sys.runner(), {}, {}, {}, {}, false, kVersion};
  try {
    in.status = inv.ctx.control().status();
    in.handledGpus = inv.ctx.control().gpus();
  } catch (const Error& e) {
    if (e.code() != ExitCode::kNotLoaded) in.moduleError = e.what();
  }
  if (in.status && in.status->features && (*in.status->features & EGPU_FEATURE_TB_POLICY)) {
    try {
      in.tbDevices = sys.netlinkDevices()->tbDevices();
      in.tbFromModule = true;
    } catch (const Error& e) {
      in.moduleError = e.what();
    }
  }
  if (!in.tbFromModule) in.tbDevices = SysfsControl(sys.sysfs()).tbDevices();

  const std::vector<Check> checks = run_doctor(in);
  Level worst = Level::kOk;
  int counts[3] = {0, 0, 0};
  for (const Check& c : checks) {
    worst = std::max(worst, c.level);
    ++counts[static_cast<int>(c.level)];
  }
  if (p.json()) {
    Json list = Json::array();
    for (const Check& c : checks) {
      Json j;
      j["id"] = c.id;
      j["subject"] = c.subject.empty() ? Json(nullptr) : Json(c.subject);
      j["level"] = level_name(c.level);
      j["evidence"] = c.evidence;
      j["fix"] = c.fix.empty() ? Json(nullptr) : Json(c.fix);
      list.push_back(j);
    }
    Json j;
    j["checks"] = list;
    j["ok"] = counts[0];
    j["warn"] = counts[1];
    j["fail"] = counts[2];
    j["result"] = level_name(worst);
    j["transport"] = in.tbFromModule ? "netlink" : "sysfs";
    print_json(inv.ctx.out, j);
  } else {
    std::ostream& out = inv.ctx.out;
    for (const Check& c : checks) {
      out << fmt::format("{:<4}  {}{}: {}\n", level_name(c.level), c.id,
                         c.subject.empty() ? "" : " " + c.subject, c.evidence);
      if (!c.fix.empty()) out << "      fix: " << c.fix << "\n";
    }
    out << fmt::format("{} ok, {} warn, {} fail\n", counts[0], counts[1], counts[2]);
  }
  return static_cast<int>(worst);
}

}  // namespace egpuctl
