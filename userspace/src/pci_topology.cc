#include "pci_topology.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <tuple>

namespace egpuctl {

namespace {

constexpr char kPciDevices[] = "/bus/pci/devices";

// Parses all of `s` as a number in `base`.
bool to_unsigned(const std::string& s, int base, unsigned& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  const unsigned long v = std::strtoul(s.c_str(), &end, base);
  if (end != s.c_str() + s.size() || v > 0xffffffffUL) return false;
  out = static_cast<unsigned>(v);
  return true;
}

// "0000:2c" or "0000:2c:00" (a bus or a slot address) -> domain, bus.
bool parse_bus_address(const std::string& s, unsigned& domain, unsigned& bus) {
  const size_t colon = s.find(':');
  if (colon == std::string::npos) return false;
  const size_t end = s.find(':', colon + 1);
  return to_unsigned(s.substr(0, colon), 16, domain) &&
         to_unsigned(s.substr(colon + 1, end == std::string::npos ? end : end - colon - 1), 16,
                     bus);
}

// Components of a link target ("../../../devices/pci0000:00/0000:00:07.0/X").
std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t slash = path.find('/', start);
    const std::string part =
        path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (!part.empty()) out.push_back(part);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return out;
}

// The component before `name` in the link at `path`, if it is a PCI function;
// "" when it is something else (a root bus "pci0000:00"); nullopt without a
// link.
std::optional<std::string> pci_parent_in_link(const FileTree& fs, const std::string& path) {
  const auto target = fs.readlink(path);
  if (!target) return std::nullopt;
  const std::vector<std::string> parts = components(*target);
  if (parts.size() < 2) return std::string();
  const std::string& up = parts[parts.size() - 2];
  unsigned domain = 0, bus = 0;
  return parse_bdf(up, domain, bus) ? up : std::string();
}

}  // namespace

bool parse_bdf(const std::string& bdf, unsigned& domain, unsigned& bus) {
  // dddd:bb:ss.f
  if (bdf.size() != 12 || bdf[4] != ':' || bdf[7] != ':' || bdf[10] != '.') return false;
  unsigned slot = 0, fn = 0;
  return to_unsigned(bdf.substr(0, 4), 16, domain) && to_unsigned(bdf.substr(5, 2), 16, bus) &&
         to_unsigned(bdf.substr(8, 2), 16, slot) && to_unsigned(bdf.substr(11, 1), 16, fn);
}

std::vector<std::string> PciTopology::functions() const {
  std::vector<std::string> out;
  unsigned domain = 0, bus = 0;
  for (const std::string& name : fs_.list(kPciDevices))
    if (parse_bdf(name, domain, bus)) out.push_back(name);
  return out;
}

std::optional<std::string> PciTopology::parent(const std::string& bdf) const {
  return pci_parent_in_link(fs_, fmt::format("{}/{}", kPciDevices, bdf));
}

bool PciTopology::is_bridge(const std::string& bdf) const {
  unsigned cls = 0;
  const std::string s = fs_.attr(fmt::format("{}/{}/class", kPciDevices, bdf)).value_or("");
  return to_unsigned(s.starts_with("0x") ? s.substr(2) : s, 16, cls) && (cls >> 8) == 0x0604;
}

bool PciTopology::removable(const std::string& bdf) const {
  return fs_.attr(fmt::format("{}/{}/removable", kPciDevices, bdf)) == "removable";
}

std::optional<unsigned> PciTopology::secondary_bus(const std::string& bdf) const {
  const std::string dir = fmt::format("{}/{}/", kPciDevices, bdf);
  unsigned v = 0, domain = 0;
  if (to_unsigned(fs_.attr(dir + "secondary_bus_number").value_or(""), 10, v)) return v;
  for (const std::string& b : fs_.list(dir + "pci_bus"))
    if (parse_bus_address(b, domain, v)) return v;
  for (const std::string& f : functions())
    if (parent(f) == bdf && parse_bdf(f, domain, v)) return v;
  return std::nullopt;
}

bool PciTopology::hotplug_capable(const std::string& bdf) const {
  // pciehp's service device: "<bdf>:pcie<id>", id = (port type - 4) << 8 |
  // service, and the hot-plug service is bit 2 (drivers/pci/pcie/portdrv.h).
  const std::string prefix = bdf + ":pcie";
  for (const std::string& name : fs_.list(fmt::format("{}/{}", kPciDevices, bdf))) {
    unsigned id = 0;
    if (name.starts_with(prefix) && to_unsigned(name.substr(prefix.size()), 16, id) &&
        (id & 0xff) == 0x04)
      return true;
  }
  // A hot-plug slot (pciehp or acpiphp) addresses the bridge's secondary bus.
  unsigned domain = 0, bus = 0, sdomain = 0, sbus = 0;
  const auto secondary = secondary_bus(bdf);
  if (!secondary || !parse_bdf(bdf, domain, bus)) return false;
  for (const std::string& slot : fs_.list("/bus/pci/slots"))
    if (parse_bus_address(fs_.attr("/bus/pci/slots/" + slot + "/address").value_or(""), sdomain,
                          sbus) &&
        sdomain == domain && sbus == *secondary)
      return true;
  return false;
}

std::vector<std::string> PciTopology::controllers() const {
  std::set<std::string> out;
  for (const std::string& name : fs_.list("/bus/thunderbolt/devices")) {
    if (!name.starts_with("domain")) continue;
    const auto nhi = pci_parent_in_link(fs_, "/bus/thunderbolt/devices/" + name);
    if (nhi && !nhi->empty()) out.insert(*nhi);
  }
  return {out.begin(), out.end()};
}

bool PciTopology::has_thunderbolt() const {
  const auto names = fs_.list("/bus/thunderbolt/devices");
  return std::any_of(names.begin(), names.end(),
                     [](const std::string& n) { return n.starts_with("domain"); });
}

std::vector<ThunderboltPort> PciTopology::thunderbolt_ports(
    const std::vector<std::string>& tunnel_functions) const {
  const std::vector<std::string> all = functions();
  std::map<std::string, std::string> found;  // bdf -> why

  // Above the functions of Thunderbolt devices: the bridge above the
  // topmost of them (the device's list may name only some functions).
  std::set<std::string> tunnel(tunnel_functions.begin(), tunnel_functions.end());
  for (const std::string& f : all)
    if (removable(f)) tunnel.insert(f);
  for (const std::string& f : tunnel) {
    std::string top = f;
    // Bounded: PCI hierarchies are at most 256 buses deep.
    int depth = 0;
    for (std::optional<std::string> p = parent(f); p && !p->empty() && depth < 256;
         p = parent(*p), ++depth)
      if (tunnel.count(*p) != 0) top = *p;
    const auto port = parent(top);
    if (port && !port->empty())
      found.emplace(*port,
                    fmt::format("the bridge above {}, a function of a Thunderbolt device", top));
  }

  // Hot-plug capable bridges beside a controller.
  for (const std::string& nhi : controllers()) {
    const auto up = parent(nhi);
    if (!up) continue;
    const std::string anchor = up->empty() ? nhi : *up;
    unsigned adomain = 0, abus = 0, domain = 0, bus = 0;
    if (!parse_bdf(anchor, adomain, abus)) continue;
    for (const std::string& b : all)
      if (b != anchor && parse_bdf(b, domain, bus) && domain == adomain && bus == abus &&
          is_bridge(b) && hotplug_capable(b))
        found.emplace(b, fmt::format("a hot-plug port beside Thunderbolt controller {}", nhi));
  }

  std::vector<ThunderboltPort> out;
  for (const auto& [bdf, why] : found) {
    unsigned domain = 0, bus = 0;
    const auto secondary = secondary_bus(bdf);
    if (secondary && parse_bdf(bdf, domain, bus))
      out.push_back({.bdf = bdf, .domain = domain, .secondary = *secondary, .why = why});
  }
  std::sort(out.begin(), out.end(), [](const ThunderboltPort& a, const ThunderboltPort& b) {
    return std::tie(a.domain, a.secondary, a.bdf) < std::tie(b.domain, b.secondary, b.bdf);
  });
  return out;
}

}  // namespace egpuctl
