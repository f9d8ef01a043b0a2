#include "pve_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <regex>
#include <sstream>

namespace egpuctl {

namespace {

std::string trim(std::string s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  const size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A Proxmox property string ("k=v,k2=v2", values may be double-quoted to
// hold commas) -> its parts in order, each (key, value); a part without
// '=' has an empty key (the format's default key).
std::vector<std::pair<std::string, std::string>> property_string(const std::string& s) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string part;
  bool quoted = false;
  auto flush = [&] {
    const std::string p = trim(part);
    part.clear();
    if (p.empty()) return;
    const size_t eq = p.find('=');
    std::string k = eq == std::string::npos ? "" : trim(p.substr(0, eq));
    std::string v = eq == std::string::npos ? p : trim(p.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    out.emplace_back(std::move(k), std::move(v));
  };
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\' && quoted && i + 1 < s.size()) {
      part += s[++i];
      continue;
    }
    if (c == '"') quoted = !quoted;
    if (c == ',' && !quoted) {
      flush();
      continue;
    }
    part += c;
  }
  flush();
  return out;
}

// "30:00.0" / "0000:30:00.0" / "30:00" -> "0000:30:00.0" / "0000:30:00";
// nullopt when it is not a PCI address.
std::optional<std::string> pci_id(const std::string& text) {
  static const std::regex kId("(?:([0-9a-f]{4,}):)?([0-9a-f]{2}):([0-9a-f]{2})(\\.[0-7])?");
  const std::string id = lower(trim(text));
  std::smatch m;
  if (!std::regex_match(id, m, kId)) return std::nullopt;
  return fmt::format("{}:{}:{}{}", m[1].matched ? m[1].str() : "0000", m[2].str(), m[3].str(),
                     m[4].str());
}

bool is_slot(const std::string& id) { return id.find('.') == std::string::npos; }

// The present functions `id` stands for: itself, or every function of a slot.
std::vector<std::string> expand(const std::string& id, const std::vector<std::string>& present) {
  std::vector<std::string> out;
  if (!is_slot(id)) {
    out.push_back(id);
    return out;
  }
  for (const std::string& b : present)
    if (b.starts_with(id + ".")) out.push_back(b);
  std::sort(out.begin(), out.end());
  return out;
}

bool id_present(const std::string& id, const std::vector<std::string>& present) {
  if (is_slot(id)) return !expand(id, present).empty();
  return std::find(present.begin(), present.end(), id) != present.end();
}

// Sets h.ids, h.bdfs, h.absent from the chosen alternative.
// Returns the index of the alternative chosen.
size_t choose(PveHostPci& h, const std::vector<std::vector<std::string>>& alternatives,
              const std::vector<std::string>& present) {
  if (alternatives.empty()) return 0;
  size_t pick = 0;
  for (size_t i = 0; i < alternatives.size(); ++i) {
    const auto& alt = alternatives[i];
    if (std::all_of(alt.begin(), alt.end(),
                    [&](const std::string& id) { return id_present(id, present); })) {
      pick = i;
      break;
    }
  }
  h.ids = alternatives[pick];
  for (const std::string& id : h.ids) {
    if (is_slot(id)) h.allFunctions = true;
    if (!id_present(id, present)) h.absent.push_back(id);
    for (const std::string& b : expand(id, present))
      if (std::find(h.bdfs.begin(), h.bdfs.end(), b) == h.bdfs.end()) h.bdfs.push_back(b);
  }
  return pick;
}

}  // namespace

namespace {

// "0x1002:0x687F" -> "1002:687f" (assert_valid drops every "0x" too).
std::string hex_id(const std::string& v) {
  std::string r = lower(v);
  for (size_t at; (at = r.find("0x")) != std::string::npos;) r.erase(at, 2);
  return r;
}

}  // namespace

PvePciMappings parse_pve_pci_mappings(const std::string& text) {
  // PVE::SectionConfig as PVE::Mapping::PCI uses it: a section starts with
  // a line holding only its ID, its properties follow on indented lines
  // ("\tmap node=pve,path=0000:30:00,id=1002:687f"), a blank line ends it;
  // "map" is an array property (one line per node and device).
  PvePciMappings out;
  std::istringstream in(text);
  std::string section;
  int lineno = 0;
  for (std::string line; std::getline(in, line);) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string t = trim(line);
    if (t.empty()) {
      section.clear();
      continue;
    }
    if (t[0] == '#') continue;
    if (line[0] != ' ' && line[0] != '\t') {
      static const std::regex kHeader("([A-Za-z][A-Za-z0-9_.-]*)");
      std::smatch m;
      if (std::regex_match(t, m, kHeader)) {
        section = m[1];
        out.ids[section];
      } else {
        section.clear();
        out.errors.push_back(fmt::format("line {}: '{}' is not a mapping ID", lineno, t));
      }
      continue;
    }
    if (section.empty()) continue;  // a property of a section already refused
    const size_t sp = t.find_first_of(" \t");
    const std::string key = t.substr(0, sp);
    if (key != "map") continue;  // description, mdev, live-migration-capable, ...
    const std::string value = sp == std::string::npos ? "" : trim(t.substr(sp));
    PvePciMap map;
    map.raw = value;
    std::string error;
    for (const auto& [k, v] : property_string(value)) {
      if (k == "node") {
        map.node = v;
      } else if (k == "path") {
        std::istringstream ids(v);
        for (std::string id; std::getline(ids, id, ';');) {
          if (auto full = pci_id(id)) map.path.push_back(*full);
          else error = fmt::format("'{}' in path is not a PCI address", id);
        }
      } else if (k == "id") {
        map.id = hex_id(v);
      } else if (k == "subsystem-id") {
        map.subsystemId = hex_id(v);
      } else if (k == "iommugroup") {
        map.iommuGroup = v;
      } else if (k.empty()) {
        error = fmt::format("'{}' has no key", v);
      }
    }
    if (error.empty() && map.node.empty()) error = "no node=";
    if (error.empty() && map.path.empty()) error = "no path=";
    if (!error.empty()) {
      out.errors.push_back(fmt::format("line {}: mapping {}: {}", lineno, section, error));
      continue;
    }
    out.ids[section].push_back(std::move(map));
  }
  return out;
}

PveHost read_pve_host(const FileTree& files, const FileTree& sysfs) {
  PveHost host;
  host.present = sysfs.list("/bus/pci/devices");
  std::string node = files.attr("/proc/sys/kernel/hostname").value_or("");
  if (const size_t dot = node.find('.'); dot != std::string::npos) node.resize(dot);
  host.node = node;
  if (const auto text = files.read(kPveMappingFile)) host.mappings = parse_pve_pci_mappings(*text);
  return host;
}

namespace {

// mapping=NAME -> the alternatives for this node (their paths, and the
// map entries in the same order), or an error.
std::string resolve_mapping(const std::string& name, const PveHost& host,
                            std::vector<std::vector<std::string>>& alternatives,
                            std::vector<PvePciMap>& maps) {
  const std::string fix =
      "define it for this node (Datacenter > Resource Mappings, or pvesh create "
      "/cluster/mapping/pci) or pass the device by address (hostpciN: 0000:30:00)";
  if (!host.mappings)
    return fmt::format("PCI mapping '{}': cannot read {}: {}", name, kPveMappingFile, fix);
  const auto it = host.mappings->ids.find(name);
  if (it == host.mappings->ids.end()) {
    std::string why = fmt::format("PCI mapping '{}' is not in {}", name, kPveMappingFile);
    for (const std::string& e : host.mappings->errors)
      if (e.find("mapping " + name + ":") != std::string::npos) why += " (" + e + ")";
    return fmt::format("{}: {}", why, fix);
  }
  std::vector<std::string> nodes;
  for (const PvePciMap& m : it->second) {
    if (m.node != host.node) {
      nodes.push_back(m.node);
      continue;
    }
    alternatives.push_back(m.path);
    maps.push_back(m);
  }
  if (!alternatives.empty()) return {};
  std::string why = fmt::format("PCI mapping '{}' has no device on node '{}'", name,
                                host.node.empty() ? "?" : host.node);
  if (!nodes.empty()) {
    std::string list;
    for (const std::string& n : nodes) list += (list.empty() ? "" : ", ") + n;
    why += fmt::format(" (only on {})", list);
  }
  for (const std::string& e : host.mappings->errors)
    if (e.find("mapping " + name + ":") != std::string::npos) why += " (" + e + ")";
  return fmt::format("{}: {}", why, fix);
}

}  // namespace

PveVmConfig parse_pve_config(const std::string& vmid, const std::string& text,
                             const PveHost& host) {
  PveVmConfig vm;
  vm.vmid = vmid;
  std::istringstream in(text);
  static const std::regex kHostPci("hostpci[0-9]+");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("[")) break;  // snapshots and pending changes follow
    if (line.empty() || line[0] == '#') continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon);
    const std::string value = trim(line.substr(colon + 1));
    if (key == "machine") vm.machine = value;
    if (key == "hookscript") vm.hookscript = value;
    if (!std::regex_match(key, kHostPci)) continue;
    PveHostPci h;
    h.key = key;
    h.raw = value;
    std::vector<std::vector<std::string>> alternatives;
    std::vector<PvePciMap> maps;  // mapping=: the entry of each alternative
    std::vector<std::string> host_ids;
    bool has_host = false;
    for (const auto& [k, v] : property_string(value)) {
      if (k.empty() || k == "host") {
        // "0000:30:00.0", "30:00.0", "30:00" (every function); ";"-separated.
        has_host = true;
        std::istringstream ids(v);
        for (std::string id; std::getline(ids, id, ';');) {
          if (auto full = pci_id(id)) host_ids.push_back(*full);
          else h.error = fmt::format("{}: '{}' is not a PCI address", key, id);
        }
      } else if (k == "mapping") {
        h.mapping = v;
      } else if (k == "pcie") {
        h.pcie = v;
      } else if (k == "rombar") {
        h.rombar = v;
      }
    }
    if (has_host && h.mapping) {
      h.error = fmt::format("{}: both a host address and mapping={}: Proxmox refuses it", key,
                            *h.mapping);
    } else if (h.mapping) {
      const std::string err = resolve_mapping(*h.mapping, host, alternatives, maps);
      if (!err.empty()) h.error = fmt::format("{}: {}", key, err);
    } else if (!host_ids.empty()) {
      alternatives.push_back(host_ids);
    } else if (h.error.empty()) {
      h.error = fmt::format("{}: neither a host address nor mapping= in '{}'", key, value);
    }
    if (h.error.empty()) {
      const size_t pick = choose(h, alternatives, host.present);
      if (pick < maps.size()) h.map = maps[pick];
    }
    vm.hostpci.push_back(h);
  }
  return vm;
}

PveVmConfig parse_pve_config(const std::string& vmid, const std::string& text,
                             const std::vector<std::string>& present_bdfs) {
  PveHost host;
  host.present = present_bdfs;
  return parse_pve_config(vmid, text, host);
}

}  // namespace egpuctl
