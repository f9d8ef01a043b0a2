#include "sysfs_devices.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <regex>
#include <sstream>

#include "error.h"

namespace egpuctl {
namespace {

constexpr const char kTbDevices[] = "/bus/thunderbolt/devices";
constexpr const char kPciDevices[] = "/bus/pci/devices";

std::optional<uint64_t> parse_hex(const std::optional<std::string>& s) {
  if (!s || s->empty()) return std::nullopt;
  try {
    size_t pos = 0;
    const uint64_t v = std::stoull(*s, &pos, 16);
    if (pos != s->size()) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Hops of a route, first hop first (0x301 -> {1, 3}).
std::vector<unsigned> hops(uint64_t route) {
  std::vector<unsigned> h;
  for (; route != 0; route >>= 8) h.push_back(static_cast<unsigned>(route & 0xff));
  return h;
}

Error write_error(const std::string& path, const std::string& value, int err,
                  const std::string& hint) {
  if (err == EACCES || err == EROFS)
    return Error(ExitCode::kPermission,
                 fmt::format("permission denied writing '{}' to {}: egpuctl needs root", value,
                             path));
  return Error(ExitCode::kFailure, fmt::format("writing '{}' to {}: {}{}", value, path,
                                               errno_text(err), hint.empty() ? "" : ": " + hint));
}

}  // namespace

bool parse_tb_name(const std::string& name, uint32_t& domain, uint64_t& route) {
  static const std::regex kName("([0-9]+)-([0-9a-f]{1,16})");
  std::smatch m;
  if (!std::regex_match(name, m, kName)) return false;
  try {
    domain = static_cast<uint32_t>(std::stoul(m[1].str()));
    route = std::stoull(m[2].str(), nullptr, 16);
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

// --- Thunderbolt ---------------------------------------------------------------

TbDevice SysfsControl::read_device(const std::string& name) const {
  TbDevice d;
  uint64_t route = 0;
  parse_tb_name(name, d.domain, route);
  d.name = name;
  // One byte per hop, the first hop in the lowest byte: the parent's route
  // is this one without its highest byte.
  if (route != 0) {
    const size_t depth = hops(route).size();
    const uint64_t parent = route & ((uint64_t{1} << (8 * (depth - 1))) - 1);
    d.parent = fmt::format("{}-{:x}", d.domain, parent);
  }
  const std::string dev = fmt::format("{}/{}/", kTbDevices, name);
  d.uniqueId = fs_.attr(dev + "unique_id");
  if (auto v = parse_hex(fs_.attr(dev + "vendor"))) d.vendor = static_cast<uint32_t>(*v);
  if (auto v = parse_hex(fs_.attr(dev + "device"))) d.device = static_cast<uint32_t>(*v);
  d.vendorName = fs_.attr(dev + "vendor_name");
  d.deviceName = fs_.attr(dev + "device_name");
  if (auto a = fs_.attr(dev + "authorized"); a && a->size() == 1 && (*a)[0] >= '0' && (*a)[0] <= '2')
    d.authorized = static_cast<uint8_t>((*a)[0] - '0');
  const std::string dom = fmt::format("{}/domain{}/", kTbDevices, d.domain);
  d.security = fs_.attr(dom + "security");
  if (auto v = fs_.attr(dom + "iommu_dma_protection")) d.iommuProtection = *v == "1";
  if (auto v = fs_.attr(dom + "deauthorization")) d.deauthorization = *v == "1";
  return d;
}

std::vector<TbDevice> SysfsControl::tbDevices() {
  struct Entry {
    uint32_t domain;
    std::vector<unsigned> hops;
    std::string name;
  };
  std::vector<Entry> entries;
  for (const std::string& name : fs_.list(kTbDevices)) {
    uint32_t domain;
    uint64_t route;
    if (parse_tb_name(name, domain, route)) entries.push_back({domain, hops(route), name});
  }
  // Depth-first: a parent's hops are a prefix of its children's.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.domain, a.hops) < std::tie(b.domain, b.hops);
  });
  std::vector<TbDevice> devices;
  for (const Entry& e : entries) devices.push_back(read_device(e.name));
  return devices;
}

namespace {

const TbDevice& find_device(const std::vector<TbDevice>& all, const std::string& name) {
  for (const TbDevice& d : all)
    if (d.name == name) return d;
  throw Error(ExitCode::kFailure,
              fmt::format("no Thunderbolt device '{}' (see 'egpuctl tb list')", name));
}

bool below(const TbDevice& d, const std::string& ancestor, const std::vector<TbDevice>& all) {
  for (std::optional<std::string> p = d.parent; p;) {
    if (*p == ancestor) return true;
    auto it = std::find_if(all.begin(), all.end(), [&](const TbDevice& x) { return x.name == *p; });
    if (it == all.end()) return false;
    p = it->parent;
  }
  return false;
}

}  // namespace

void SysfsControl::tbAuthorize(const std::string& name) {
  const std::vector<TbDevice> all = tbDevices();
  const TbDevice& d = find_device(all, name);
  if (!d.parent) return;  // host router: always authorized
  if (!d.authorized)
    throw Error(ExitCode::kFailure,
                fmt::format("{} has no 'authorized' attribute: domain{} security level '{}' "
                            "does not tunnel PCIe",
                            name, d.domain, d.security.value_or("?")));
  if (*d.authorized != 0) return;
  auto parent = std::find_if(all.begin(), all.end(),
                             [&](const TbDevice& x) { return x.name == *d.parent; });
  if (parent != all.end() && parent->parent && parent->authorized && *parent->authorized == 0)
    throw Error(ExitCode::kFailure,
                fmt::format("{}: its parent {} is not authorized: run 'egpuctl tb authorize {}' "
                            "first",
                            name, parent->name, parent->name));
  const std::string path = fmt::format("{}/{}/authorized", kTbDevices, name);
  if (int err = fs_.write(path, "1"))
    throw write_error(fs_.root() + path, "1", err,
                      err == EINVAL ? "the kernel refused (domain security 'secure' needs a key)"
                                    : "");
}

void SysfsControl::tbDeauthorize(const std::string& name) {
  const std::vector<TbDevice> all = tbDevices();
  const TbDevice& d = find_device(all, name);
  if (!d.parent)
    throw usage_error(fmt::format("{} is a host router: it cannot be de-authorized", name));
  if (d.deauthorization && !*d.deauthorization)
    throw Error(ExitCode::kFailure,
                fmt::format("domain{} cannot de-authorize devices (deauthorization is 0: the "
                            "connection manager or security level '{}' does not allow it); "
                            "unplug the device instead",
                            d.domain, d.security.value_or("?")));
  // Deepest first: the reverse of the depth-first order.
  std::vector<const TbDevice*> order;
  for (const TbDevice& x : all)
    if (x.name == name || below(x, name, all)) order.push_back(&x);
  std::reverse(order.begin(), order.end());
  for (const TbDevice* x : order) {
    const std::string path = fmt::format("{}/{}/authorized", kTbDevices, x->name);
    const std::optional<std::string> now = fs_.attr(path);
    if (!now || *now == "0") continue;
    if (int err = fs_.write(path, "0"))
      throw write_error(fs_.root() + path, "0", err,
                        err == EPERM ? "the connection manager cannot de-authorize" : "");
  }
}

std::vector<TeardownStep> SysfsControl::teardownPlan() {
  throw Error(ExitCode::kNotLoaded,
              "the shutdown teardown plan comes from module egpu_gate, which is not loaded: run "
              "`modprobe egpu_gate`");
}

// --- PCI -------------------------------------------------------------------------

std::optional<PciFunction> SysfsPci::function(const std::string& bdf) const {
  const std::string dir = fmt::format("{}/{}/", kPciDevices, bdf);
  const auto vendor = parse_hex(fs_.attr(dir + "vendor"));
  const auto device = parse_hex(fs_.attr(dir + "device"));
  if (!vendor || !device) return std::nullopt;
  PciFunction f;
  f.bdf = bdf;
  f.vendor = static_cast<uint16_t>(*vendor);
  f.device = static_cast<uint16_t>(*device);
  f.classCode = static_cast<uint32_t>(parse_hex(fs_.attr(dir + "class")).value_or(0));
  f.driver = fs_.link_name(dir + "driver");
  f.iommuGroup = fs_.link_name(dir + "iommu_group");
  f.resetMethod = fs_.attr(dir + "reset_method");
  if (f.resetMethod && f.resetMethod->empty()) f.resetMethod.reset();
  const auto sub_vendor = parse_hex(fs_.attr(dir + "subsystem_vendor"));
  const auto sub_device = parse_hex(fs_.attr(dir + "subsystem_device"));
  if (sub_vendor && sub_device)
    f.subsystemId = fmt::format("{:04x}:{:04x}", *sub_vendor, *sub_device);
  return f;
}

std::vector<PciFunction> SysfsPci::functions() const {
  std::vector<PciFunction> out;
  for (const std::string& bdf : fs_.list(kPciDevices))
    if (auto f = function(bdf)) out.push_back(*f);
  return out;
}

std::vector<std::string> SysfsPci::iommu_group(const std::string& group) const {
  return fs_.list(fmt::format("/kernel/iommu_groups/{}/devices", group));
}

size_t SysfsPci::iommu_group_count() const { return fs_.list("/kernel/iommu_groups").size(); }

void SysfsPci::write_failed(const std::string& path, const std::string& value, int err,
                            const std::string& hint) const {
  throw write_error(fs_.root() + path, value, err, hint);
}

void SysfsPci::write(const std::string& path, const std::string& value, const std::string& hint) {
  if (int err = fs_.write(path, value)) write_failed(path, value, err, hint);
}

void SysfsPci::set_device_specific_first(const PciFunction& f) {
  const std::string path = fmt::format("{}/{}/reset_method", kPciDevices, f.bdf);
  std::string value = "device_specific";
  std::istringstream in(f.resetMethod.value_or(""));
  for (std::string m; in >> m;)
    if (m != "device_specific") value += " " + m;
  write(path, value,
        "the kernel has no device-specific reset for it: load egpu_gate (`modprobe egpu_gate`) "
        "and check 'egpuctl gpu list'");
}

void SysfsPci::set_reset_method(const PciFunction& f, const std::string& value,
                                const std::string& hint) {
  const std::string path = fmt::format("{}/{}/reset_method", kPciDevices, f.bdf);
  if (!fs_.exists(path))
    throw Error(ExitCode::kFailure,
                fmt::format("{} has no reset_method in sysfs: the kernel has no reset for it "
                            "(or is older than 5.15)",
                            f.bdf));
  write(path, value, hint);
}

void SysfsPci::bind_vfio(const PciFunction& f) {
  if (f.driver == "vfio-pci") return;
  if (!fs_.exists("/bus/pci/drivers/vfio-pci"))
    throw Error(ExitCode::kFailure,
                fmt::format("{}: vfio-pci is not loaded: run `modprobe vfio-pci`", f.bdf));
  const std::string dir = fmt::format("{}/{}/", kPciDevices, f.bdf);
  write(dir + "driver_override", "vfio-pci", "");
  if (f.driver) write(dir + "driver/unbind", f.bdf, "");
  write("/bus/pci/drivers_probe", f.bdf, "");
  const auto now = fs_.link_name(dir + "driver");
  if (now != "vfio-pci")
    throw Error(ExitCode::kFailure,
                fmt::format("{}: still bound to {} after binding it to vfio-pci; see dmesg",
                            f.bdf, now.value_or("no driver")));
}

}  // namespace egpuctl
