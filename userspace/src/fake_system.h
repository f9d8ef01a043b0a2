// Test doubles of the host (tests only): an in-memory FileTree (sysfs and
// the host's files, with failures injected), a program runner, the module's
// Thunderbolt side and its events, and HostFixture, which builds sysfs and
// /etc trees shaped like real hosts (the runbook's NUC with a Thunderbolt
// eGPU, a USB-only enclosure, a dirty IOMMU group, bad Proxmox VM configs).
#pragma once

#include <algorithm>
#include <cerrno>
#include <deque>
#include <fmt/format.h>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "command.h"
#include "device_control.h"
#include "egpu_gate.h"
#include "error.h"
#include "fake_control.h"
#include "file_tree.h"
#include "system.h"

namespace egpuctl::testing {

// An in-memory FileTree (sysfs, or the host's /etc and /proc) with
// failures injected.
class FakeFileTree : public FileTree {
 public:
  explicit FakeFileTree(std::string root = "/fake") : root_(std::move(root)) {}

  std::map<std::string, std::string> files;  // path -> contents
  std::map<std::string, std::string> links;  // path -> target
  std::set<std::string> dirs;                // empty directories
  std::map<std::string, unsigned> modes;     // of write_atomic()ed files
  std::map<std::string, int> read_errors;    // path -> errno of read_file()
  // path -> errno of write() and write_atomic(); write_atomic() fails only
  // at the write_error_at-th write of the path when that is set (1 = first).
  std::map<std::string, int> write_errors;
  std::map<std::string, int> write_error_at;
  // Called instead of storing the value; returns 0 or an errno.
  std::map<std::string, std::function<int(const std::string& value)>> on_write;
  std::vector<std::pair<std::string, std::string>> writes;  // write()s, in order
  std::vector<std::string> replaced;  // write_atomic()s (paths), in order
  std::vector<std::string> removes;   // remove()s, in order

  void file(const std::string& path, const std::string& contents) { files[path] = contents; }
  void link(const std::string& path, const std::string& target) { links[path] = target; }
  void dir(const std::string& path) { dirs.insert(path); }
  void remove_prefix(const std::string& prefix) {
    std::erase_if(files, [&](const auto& kv) { return kv.first.starts_with(prefix); });
    std::erase_if(links, [&](const auto& kv) { return kv.first.starts_with(prefix); });
    std::erase_if(dirs, [&](const std::string& d) { return d.starts_with(prefix); });
  }

  std::optional<std::string> read_file(const std::string& path) const override {
    if (auto e = read_errors.find(path); e != read_errors.end())
      throw local_error("cannot read " + path, errno_text(e->second));
    auto it = files.find(path);
    if (it == files.end()) return std::nullopt;
    return it->second;
  }
  int write(const std::string& path, const std::string& value) override {
    writes.emplace_back(path, value);
    if (auto e = write_errors.find(path); e != write_errors.end()) return e->second;
    if (auto h = on_write.find(path); h != on_write.end()) return h->second(value);
    auto it = files.find(path);
    if (it == files.end()) return ENOENT;
    it->second = value + "\n";
    return 0;
  }
  std::vector<std::string> list(const std::string& path) const override {
    std::set<std::string> names;
    const std::string prefix = path + "/";
    auto take = [&](const std::string& p) {
      if (!p.starts_with(prefix)) return;
      const std::string rest = p.substr(prefix.size());
      names.insert(rest.substr(0, rest.find('/')));
    };
    for (const auto& [p, _] : files) take(p);
    for (const auto& [p, _] : links) take(p);
    for (const std::string& d : dirs) take(d);
    names.erase("");
    return {names.begin(), names.end()};
  }
  std::optional<std::string> readlink(const std::string& path) const override {
    auto it = links.find(path);
    if (it == links.end()) return std::nullopt;
    return it->second;
  }
  bool exists(const std::string& path) const override {
    if (files.count(path) || links.count(path) || dirs.count(path)) return true;
    return !list(path).empty();
  }
  void write_atomic(const std::string& path, std::string_view content, mode_t mode,
                    ExistingMode existing) override {
    replaced.push_back(path);
    if (auto e = write_errors.find(path); e != write_errors.end()) {
      const auto at = write_error_at.find(path);
      const auto nth = std::count(replaced.begin(), replaced.end(), path);
      if (at == write_error_at.end() || at->second == nth)
        throw local_error("cannot write " + path,
                          "rename failed (temporary removed; " + path +
                              " unchanged): " + errno_text(e->second));
    }
    if (existing == ExistingMode::kSet || !files.count(path) || !modes.count(path))
      modes[path] = mode;
    files[path] = std::string(content);
  }
  void remove(const std::string& path) override {
    removes.push_back(path);
    files.erase(path);
    modes.erase(path);
  }
  std::string root() const override { return root_; }

 private:
  std::string root_;
};

class FakeCommandRunner : public CommandRunner {
 public:
  // Keyed by the arguments joined with spaces.  Unknown: not installed.
  std::map<std::string, RunResult> results;
  std::vector<std::string> calls;  // arguments joined with spaces, in order
  RunResult run(const std::vector<std::string>& argv, std::chrono::seconds) override {
    std::string key;
    for (const std::string& a : argv) key += (key.empty() ? "" : " ") + a;
    calls.push_back(key);
    auto it = results.find(key);
    return it == results.end() ? RunResult{} : it->second;
  }
};

class FakeDeviceControl : public DeviceControl {
 public:
  std::string transport() const override { return "netlink"; }
  std::vector<TbDevice> tbDevices() override {
    if (error) throw *error;
    return devices;
  }
  void tbAuthorize(const std::string& name) override {
    if (error) throw *error;
    authorized.push_back(name);
    if (on_authorize) on_authorize(name);
  }
  void tbDeauthorize(const std::string& name) override {
    if (error) throw *error;
    deauthorized.push_back(name);
  }
  std::vector<TeardownStep> teardownPlan() override {
    if (error) throw *error;
    return plan;
  }
  std::vector<TbDevice> devices;
  std::vector<TeardownStep> plan;
  std::vector<std::string> authorized, deauthorized;
  std::function<void(const std::string&)> on_authorize;
  std::optional<Error> error;
};

class FakeEventSource : public EventSource {
 public:
  explicit FakeEventSource(std::deque<std::vector<Event>>& batches, bool& subscribed,
                           std::optional<Error>& error)
      : batches_(batches), subscribed_(subscribed), error_(error) {}
  void subscribe() override {
    if (error_) throw *error_;
    subscribed_ = true;
  }
  bool wait(std::chrono::milliseconds, std::vector<Event>& out) override {
    if (batches_.empty()) return false;
    out.insert(out.end(), batches_.front().begin(), batches_.front().end());
    batches_.pop_front();
    return true;
  }

 private:
  std::deque<std::vector<Event>>& batches_;
  bool& subscribed_;
  std::optional<Error>& error_;
};

// The host of a test; owned by the test, lent to the Context.
class FakeSystem {
 public:
  FakeFileTree sysfs{"/fake/sys"};
  FakeFileTree files{"/fake"};
  FakeCommandRunner runner;
  FakeDeviceControl devices;  // the module's Thunderbolt side
  std::deque<std::vector<Event>> events;
  std::optional<Error> events_error;
  bool subscribed = false;

  // For run_egpuctl(args, fake, sys.setup()).
  std::function<void(Context&)> setup() {
    return [this](Context& ctx) {
      ctx.set_system_factory([this](Context&) { return std::make_unique<Lent>(*this); });
    };
  }

 private:
  struct ForwardDevices : DeviceControl {
    explicit ForwardDevices(FakeDeviceControl& d) : d(d) {}
    std::string transport() const override { return d.transport(); }
    std::vector<TbDevice> tbDevices() override { return d.tbDevices(); }
    void tbAuthorize(const std::string& n) override { d.tbAuthorize(n); }
    void tbDeauthorize(const std::string& n) override { d.tbDeauthorize(n); }
    std::vector<TeardownStep> teardownPlan() override { return d.teardownPlan(); }
    FakeDeviceControl& d;
  };
  struct Lent : System {
    explicit Lent(FakeSystem& s) : s(s) {}
    FileTree& sysfs() override { return s.sysfs; }
    FileTree& files() override { return s.files; }
    CommandRunner& runner() override { return s.runner; }
    std::unique_ptr<DeviceControl> netlinkDevices() override {
      return std::make_unique<ForwardDevices>(s.devices);
    }
    std::unique_ptr<EventSource> events() override {
      return std::make_unique<FakeEventSource>(s.events, s.subscribed, s.events_error);
    }
    FakeSystem& s;
  };
};

// Builds host trees in a FakeSystem (sysfs paths relative to /sys).
class HostFixture {
 public:
  explicit HostFixture(FakeSystem& sys) : sys_(sys), fs_(sys.sysfs) {}

  HostFixture& cmdline(const std::string& text) {
    sys_.files.file("/proc/cmdline", text + "\n");
    return *this;
  }
  HostFixture& acpi_table(const std::string& name) {
    fs_.file("/firmware/acpi/tables/" + name, "");
    return *this;
  }
  HostFixture& module_loaded(const std::string& version = "0.1.0") {
    fs_.file("/module/egpu_gate/version", version + "\n");
    return *this;
  }
  HostFixture& tb_domain(int n, const std::string& security = "user", bool iommu = true,
                         bool deauth = true) {
    const std::string d = fmt::format("/bus/thunderbolt/devices/domain{}/", n);
    fs_.file(d + "security", security + "\n");
    fs_.file(d + "iommu_dma_protection", iommu ? "1\n" : "0\n");
    fs_.file(d + "deauthorization", deauth ? "1\n" : "0\n");
    return *this;
  }
  HostFixture& tb_device(const std::string& name, unsigned vendor, unsigned device,
                         const std::string& vendor_name, const std::string& device_name,
                         const std::string& uuid, int authorized) {
    const std::string d = "/bus/thunderbolt/devices/" + name + "/";
    fs_.file(d + "vendor", fmt::format("{:#x}\n", vendor));
    fs_.file(d + "device", fmt::format("{:#x}\n", device));
    fs_.file(d + "vendor_name", vendor_name + "\n");
    fs_.file(d + "device_name", device_name + "\n");
    fs_.file(d + "unique_id", uuid + "\n");
    fs_.file(d + "authorized", fmt::format("{}\n", authorized));
    return *this;
  }
  HostFixture& pci(const std::string& bdf, unsigned vendor, unsigned device, unsigned cls,
                   const std::string& driver, const std::string& group,
                   const std::string& reset_method = "") {
    const std::string d = "/bus/pci/devices/" + bdf + "/";
    // On the root bus of its domain until under() places it below a bridge.
    if (!fs_.links.count("/bus/pci/devices/" + bdf))
      fs_.link("/bus/pci/devices/" + bdf,
               fmt::format("../../../devices/pci{}:00/{}", bdf.substr(0, 4), bdf));
    fs_.file(d + "vendor", fmt::format("{:#06x}\n", vendor));
    fs_.file(d + "device", fmt::format("{:#06x}\n", device));
    fs_.file(d + "class", fmt::format("{:#08x}\n", cls));
    fs_.file(d + "driver_override", "(null)\n");
    if (!reset_method.empty()) fs_.file(d + "reset_method", reset_method + "\n");
    if (!driver.empty()) bind(bdf, driver);
    if (!group.empty()) {
      fs_.link(d + "iommu_group", "../../../kernel/iommu_groups/" + group);
      fs_.link("/kernel/iommu_groups/" + group + "/devices/" + bdf,
               "../../../../devices/pci0000:00/" + bdf);
    }
    return *this;
  }
  HostFixture& subsystem(const std::string& bdf, unsigned vendor, unsigned device) {
    const std::string d = "/bus/pci/devices/" + bdf + "/";
    fs_.file(d + "subsystem_vendor", fmt::format("{:#06x}\n", vendor));
    fs_.file(d + "subsystem_device", fmt::format("{:#06x}\n", device));
    return *this;
  }
  // Places function `bdf` below bridge `parent` (its /bus/pci/devices link).
  HostFixture& under(const std::string& bdf, const std::string& parent) {
    const auto up = fs_.readlink("/bus/pci/devices/" + parent);
    fs_.link("/bus/pci/devices/" + bdf,
             up ? *up + "/" + bdf : fmt::format("../../../devices/pci0000:00/{}/{}", parent, bdf));
    return *this;
  }
  // Bridge attributes: its secondary bus; a hot-plug capable PCIe port has
  // pciehp's service device below it ("BDF:pcie004" on a root port).
  HostFixture& bridge(const std::string& bdf, unsigned secondary, bool hotplug = false) {
    const std::string d = "/bus/pci/devices/" + bdf + "/";
    fs_.file(d + "secondary_bus_number", fmt::format("{}\n", secondary));
    if (hotplug) fs_.dir(d + bdf + ":pcie004");
    return *this;
  }
  // Thunderbolt domain `n` hangs below NHI `bdf`.
  HostFixture& tb_nhi(int n, const std::string& bdf) {
    const auto dev = fs_.readlink("/bus/pci/devices/" + bdf).value_or(
        "../../../devices/pci0000:00/" + bdf);
    fs_.link(fmt::format("/bus/thunderbolt/devices/domain{}", n),
             fmt::format("{}/domain{}", dev, n));
    return *this;
  }
  HostFixture& bind(const std::string& bdf, const std::string& driver) {
    bind_in(fs_, bdf, driver);
    return *this;
  }
  HostFixture& usb(const std::string& name, const std::string& vid, const std::string& pid,
                   const std::string& manufacturer, const std::string& product) {
    const std::string d = "/bus/usb/devices/" + name + "/";
    fs_.file(d + "idVendor", vid + "\n");
    fs_.file(d + "idProduct", pid + "\n");
    fs_.file(d + "manufacturer", manufacturer + "\n");
    fs_.file(d + "product", product + "\n");
    return *this;
  }
  HostFixture& net(const std::string& ifname, const std::string& bdf, const std::string& mac) {
    fs_.link("/class/net/" + ifname + "/device", "../../../" + bdf);
    fs_.file("/class/net/" + ifname + "/address", mac + "\n");
    return *this;
  }
  HostFixture& pve_vm(const std::string& vmid, const std::string& conf) {
    sys_.files.file("/etc/pve/qemu-server/" + vmid + ".conf", conf);
    return *this;
  }
  HostFixture& program(const std::string& cmd, int status, const std::string& output) {
    sys_.runner.results[cmd] = RunResult{status, output};
    return *this;
  }
  // drivers_probe binds a function to the driver of its driver_override.
  HostFixture& vfio_available() {
    fs_.dir("/bus/pci/drivers/vfio-pci");
    // The callbacks outlive this fixture (often a temporary): they hold
    // the fake tree, never `this`.
    FakeFileTree& fs = fs_;
    fs_.on_write["/bus/pci/drivers_probe"] = [&fs](const std::string& bdf) {
      const std::string d = "/bus/pci/devices/" + bdf + "/";
      const auto ov = fs.attr(d + "driver_override");
      if (ov && *ov != "(null)") bind_in(fs, bdf, *ov);
      return 0;
    };
    for (const auto& [p, _] : std::map<std::string, std::string>(fs_.files))
      if (p.ends_with("/driver/unbind"))
        fs_.on_write[p] = [&fs, p](const std::string&) {
          fs.links.erase(p.substr(0, p.size() - 7));
          return 0;
        };
    return *this;
  }

  // The runbook's host: Intel NUC (Meteor Lake) with a TB4 root port, NHIs
  // on domain0 and domain1, the Blackmagic eGPU Pro (Titan Ridge bridge,
  // RX Vega 56 1002:687f + HDMI audio 1002:aaf8 in IOMMU group 25) on
  // domain1 as 1-1, the I226-LM NIC renamed enp88s0 by the eGPU's buses,
  // Proxmox VM 100 passing the GPU as the runbook configures it.
  HostFixture& runbook_host(bool egpu_authorized = true, bool vfio_bound = true,
                            bool device_specific = true) {
    cmdline("BOOT_IMAGE=/boot/vmlinuz-6.17.13-2-pve root=/dev/mapper/pve-root ro quiet "
            "intel_iommu=on iommu=pt");
    acpi_table("DMAR");
    pci("0000:00:02.0", 0x8086, 0x7d55, 0x030000, "i915", "0");
    // The TB4 root ports tunnel PCIe (hot-plug capable, buses 0x2c-0x41 and
    // 0x42-0x55 reserved); the PCH root port 00:1c.0 with the NIC is
    // enumerated after them.
    pci("0000:00:07.0", 0x8086, 0x7ec4, 0x060400, "pcieport", "4").bridge("0000:00:07.0", 0x2c,
                                                                        true);
    pci("0000:00:07.2", 0x8086, 0x7ec6, 0x060400, "pcieport", "5").bridge("0000:00:07.2", 0x42,
                                                                        true);
    pci("0000:00:0d.0", 0x8086, 0x7ec0, 0x0c0330, "xhci_hcd", "9");
    pci("0000:00:0d.2", 0x8086, 0x7ec2, 0x0c0340, "thunderbolt", "9");
    pci("0000:00:0d.3", 0x8086, 0x7ec3, 0x0c0340, "thunderbolt", "9");
    tb_domain(0).tb_domain(1).tb_nhi(0, "0000:00:0d.2").tb_nhi(1, "0000:00:0d.3");
    tb_device("0-0", 0x8086, 0x7eb2, "Intel", "Meteor Lake", "c1e1a000-0000-0000-0000-000000000000",
              1);
    tb_device("1-0", 0x8086, 0x7eb2, "Intel", "Meteor Lake", "c1e1a000-0000-0000-0000-000000000001",
              1);
    tb_device("1-1", 0x4, 0xa153, "Blackmagic Design", "eGPU Pro",
              "d1e2a3b4-0000-0000-0000-000000000001", egpu_authorized ? 1 : 0);
    if (egpu_authorized) egpu_functions(vfio_bound, device_specific);
    const std::string nic = egpu_authorized ? "0000:58:00.0" : "0000:56:00.0";
    pci("0000:00:1c.0", 0x8086, 0x7e38, 0x060400, "pcieport", "14")
        .bridge("0000:00:1c.0", egpu_authorized ? 0x58 : 0x56);
    pci(nic, 0x8086, 0x125b, 0x020000, "igc", "15").under(nic, "0000:00:1c.0");
    net(egpu_authorized ? "enp88s0" : "enp86s0", nic, "88:ae:dd:72:13:25");
    pve_vm("100",
           "boot: order=scsi0\ncores: 6\ncpu: host\nhostpci0: 0000:30:00.0,pcie=1,rombar=1\n"
           "hostpci1: 0000:30:00.1,pcie=1,rombar=0\nmachine: q35\nmemory: 16384\n"
           "name: ollama\n");
    return *this;
  }
  // The PCI functions that appear once 1-1 is authorized.
  HostFixture& egpu_functions(bool vfio_bound = true, bool device_specific = true) {
    pci("0000:2c:00.0", 0x8086, 0x15e7, 0x060400, "pcieport", "19");
    pci("0000:2d:01.0", 0x8086, 0x15e7, 0x060400, "pcieport", "20");
    pci("0000:2d:02.0", 0x8086, 0x15e7, 0x060400, "pcieport", "21");
    pci("0000:2d:04.0", 0x8086, 0x15e7, 0x060400, "pcieport", "22");
    pci("0000:2e:00.0", 0x1002, 0x14a0, 0x060400, "pcieport", "23");
    pci("0000:2f:00.0", 0x1002, 0x14a1, 0x060400, "pcieport", "24");
    pci("0000:30:00.0", 0x1002, 0x687f, 0x030000, vfio_bound ? "vfio-pci" : "amdgpu", "25",
        device_specific ? "device_specific bus" : "bus");
    pci("0000:30:00.1", 0x1002, 0xaaf8, 0x040300, vfio_bound ? "vfio-pci" : "snd_hda_intel",
        "25");
    pci("0000:31:00.0", 0x8086, 0x15ec, 0x0c0330, "xhci_hcd", "27");
    // Below TB4 root port 00:07.0: Titan Ridge (2c, 2d), the GPU's bridges.
    under("0000:2c:00.0", "0000:00:07.0").bridge("0000:2c:00.0", 0x2d);
    for (const char* port : {"0000:2d:01.0", "0000:2d:02.0", "0000:2d:04.0"})
      under(port, "0000:2c:00.0");
    bridge("0000:2d:01.0", 0x2e).bridge("0000:2d:02.0", 0x31).bridge("0000:2d:04.0", 0x32, true);
    under("0000:2e:00.0", "0000:2d:01.0").bridge("0000:2e:00.0", 0x2f);
    under("0000:2f:00.0", "0000:2e:00.0").bridge("0000:2f:00.0", 0x30);
    under("0000:30:00.0", "0000:2f:00.0").under("0000:30:00.1", "0000:2f:00.0");
    under("0000:31:00.0", "0000:2d:02.0");
    return *this;
  }
  // The same host with a USB-C cable that does not carry Thunderbolt: the
  // enclosure's management controller is a USB device, no 1-1.
  HostFixture& usb_only_host() {
    runbook_host(false);
    fs_.remove_prefix("/bus/thunderbolt/devices/1-1/");
    usb("3-3", "1edb", "bd3b", "Blackmagic Design", "eGPU Pro");
    return *this;
  }
  // A host device shares the GPU's IOMMU group.
  HostFixture& dirty_group() {
    pci("0000:00:1f.3", 0x8086, 0x7e28, 0x040300, "snd_hda_intel", "25");
    return *this;
  }
  // The runbook's VM 100, as a first try would configure it: i440fx, no
  // pcie=1, audio with the ROM BAR, audio function in another VM.
  HostFixture& bad_vm() {
    pve_vm("100", "cores: 6\nhostpci0: 0000:30:00.0,rombar=1\nhostpci1: 0000:30:00.1\n"
                  "name: ollama\n");
    pve_vm("101", "machine: pc-q35-9.0\nhostpci0: 30:00.0,pcie=1\n");
    return *this;
  }
  // Secure Boot on, module signed by the DKMS key, key enrolled or not.
  HostFixture& secure_boot(bool enrolled) {
    program("modinfo egpu_gate", 0,
            "filename:       /lib/modules/6.17.13-2-pve/updates/dkms/egpu_gate.ko\n"
            "version:        0.1.0\nsigner:         DKMS module signing key\n"
            "sig_key:        1A:2B\n");
    program("mokutil --sb-state", 0, "SecureBoot enabled\n");
    program("mokutil --list-enrolled", 0,
            enrolled ? "[key 1]\nSubject: CN=DKMS module signing key\n"
                     : "[key 1]\nSubject: CN=Proxmox Secure Boot CA\n");
    return *this;
  }

 private:
  FakeSystem& sys_;
  static void bind_in(FakeFileTree& fs, const std::string& bdf, const std::string& driver) {
    const std::string d = "/bus/pci/devices/" + bdf + "/";
    fs.link(d + "driver", "../../../bus/pci/drivers/" + driver);
    fs.file(d + "driver/unbind", "");
    fs.dir("/bus/pci/drivers/" + driver);
  }
  FakeFileTree& fs_;
};

// The module's view of the runbook's host (TB_GET): rule 1 matched 1-1.
inline std::vector<TbDevice> runbook_tb_devices(bool authorized = true) {
  TbDevice host0{.name = "0-0", .domain = 0, .uniqueId = "c1e1a000-0000-0000-0000-000000000000",
                 .vendor = 0x8086, .device = 0x7eb2, .vendorName = "Intel",
                 .deviceName = "Meteor Lake", .authorized = 1, .security = "user",
                 .iommuProtection = true, .deauthorization = true,
                 .decision = EGPU_TB_DECISION_HOST, .reason = "host router"};
  TbDevice host1 = host0;
  host1.name = "1-0";
  host1.domain = 1;
  host1.uniqueId = "c1e1a000-0000-0000-0000-000000000001";
  TbDevice egpu{.name = "1-1", .domain = 1, .parent = "1-0",
                .uniqueId = "d1e2a3b4-0000-0000-0000-000000000001", .vendor = 0x4,
                .device = 0xa153, .vendorName = "Blackmagic Design", .deviceName = "eGPU Pro",
                .authorized = static_cast<uint8_t>(authorized ? 1 : 0), .security = "user",
                .iommuProtection = true, .deauthorization = true, .ruleId = 1,
                .decision = static_cast<uint8_t>(authorized ? EGPU_TB_DECISION_AUTHORIZED
                                                            : EGPU_TB_DECISION_PENDING),
                .reason = authorized ? "rule 1" : "waiting for the administrator",
                .byEgpu = authorized};
  if (authorized) egpu.pci = {"0000:2c:00.0", "0000:30:00.0", "0000:30:00.1"};
  return {host0, host1, egpu};
}

// A status with the Thunderbolt policy.
inline Status tb_status() {
  Status s = sample_status();
  *s.features |= EGPU_FEATURE_TB_POLICY;
  return s;
}

}  // namespace egpuctl::testing
