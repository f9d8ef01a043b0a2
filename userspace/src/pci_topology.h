// Where a Thunderbolt eGPU enters the PCI hierarchy, read from sysfs, and
// which bus numbers it can shift.
//
// Bus numbers are assigned depth-first in enumeration order.  Plugging an
// eGPU in (or booting with it attached) inserts bridges (the enclosure's
// Titan Ridge switch, the GPU's own bridges) below a Thunderbolt root or
// downstream port.  Their buses come from that port's reserved range or,
// when the range is too small or the device is there at boot, push every
// bus enumerated after the port in the same PCI domain up: a NIC on bus 86
// becomes bus 88 and enp86s0 becomes enp88s0 (the runbook's symptom).  So
// a bus is at risk when it lies in the same domain after (above) the
// secondary bus of such a port.
//
// The ports are found from sysfs (paths relative to /sys):
//   - the parent bridge of a PCI function that belongs to a Thunderbolt
//     device (the module's TB_GET list) or is marked removable (it sits
//     behind an external-facing port);
//   - a hot-plug capable bridge (a pciehp service "BDF:pcieX04" below it,
//     or a /bus/pci/slots/N/address on its secondary bus) on the bus of a
//     Thunderbolt controller: beside the NHI on the root bus (integrated
//     controllers: the TB4 root ports of the runbook's NUC), or beside the
//     NHI's downstream port inside a discrete controller;
// the controllers (NHIs) are the PCI parents of /bus/thunderbolt/devices/
// domainN.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "file_tree.h"

namespace egpuctl {

// "0000:58:00.0" -> domain 0, bus 0x58; false when it is not a BDF.
bool parse_bdf(const std::string& bdf, unsigned& domain, unsigned& bus);

struct ThunderboltPort {
  std::string bdf;         // "0000:00:07.0"
  unsigned domain = 0;     // PCI domain (segment)
  unsigned secondary = 0;  // its secondary bus
  std::string why;         // how it was recognized, for evidence
  bool operator==(const ThunderboltPort&) const = default;
};

class PciTopology {
 public:
  explicit PciTopology(const FileTree& sysfs) : fs_(sysfs) {}

  // The bridge above `bdf`, empty on a root bus (from the device's link).
  std::optional<std::string> parent(const std::string& bdf) const;
  // Secondary bus of bridge `bdf` (secondary_bus_number, else its pci_bus/
  // entry, else the bus of a function below it).
  std::optional<unsigned> secondary_bus(const std::string& bdf) const;
  bool hotplug_capable(const std::string& bdf) const;
  // The Thunderbolt host interfaces (NHIs), from the domains' links.
  std::vector<std::string> controllers() const;
  // Whether sysfs shows any Thunderbolt domain.
  bool has_thunderbolt() const;
  // The ports an eGPU can come in through, sorted by domain and bus;
  // `tunnel_functions` are PCI functions of Thunderbolt devices.
  std::vector<ThunderboltPort> thunderbolt_ports(
      const std::vector<std::string>& tunnel_functions = {}) const;

 private:
  std::vector<std::string> functions() const;
  bool is_bridge(const std::string& bdf) const;
  bool removable(const std::string& bdf) const;
  const FileTree& fs_;
};

}  // namespace egpuctl
