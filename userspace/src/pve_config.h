// Proxmox VE configuration that egpuctl reads (doctor and pve-hook): a VM's
// config (/etc/pve/qemu-server/VMID.conf) and the cluster's PCI resource
// mappings (/etc/pve/mapping/pci.cfg), resolved for this node the way
// qemu-server does (PVE::QemuServer::PCI::parse_hostpci,
// PVE::Mapping::PCI::get_node_mapping).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "file_tree.h"

namespace egpuctl {

// One "map" entry of a mapping: a device on one node.
struct PvePciMap {
  std::string node;
  std::vector<std::string> path;        // "0000:30:00.0" or a slot "0000:30:00"
  std::optional<std::string> id;        // expected "vendor:device" of the first function
  std::optional<std::string> subsystemId;
  std::optional<std::string> iommuGroup;
  std::string raw;
};

// /etc/pve/mapping/pci.cfg: mapping ID -> its map entries (every node).
// Entries that do not parse are left out and named in `errors` (Proxmox
// warns and skips them too).
struct PvePciMappings {
  std::map<std::string, std::vector<PvePciMap>> ids;
  std::vector<std::string> errors;  // "line 4: ..."
};
PvePciMappings parse_pve_pci_mappings(const std::string& text);

// What a hostpci entry is resolved against.
struct PveHost {
  std::vector<std::string> present;   // PCI functions present now
  std::string node;                   // this node's name (short hostname)
  std::optional<PvePciMappings> mappings;  // absent: no readable pci.cfg
};

constexpr const char kPveMappingFile[] = "/etc/pve/mapping/pci.cfg";

// Reads the node name (/proc/sys/kernel/hostname up to the first dot, as
// PVE::INotify::nodename) and the mappings from `files`, the present PCI
// functions from `sysfs`.
PveHost read_pve_host(const FileTree& files, const FileTree& sysfs);

// A hostpciN entry.
struct PveHostPci {
  std::string key;                   // "hostpci0"
  std::vector<std::string> bdfs;     // full addresses it passes (present ones for a slot)
  bool allFunctions = false;         // "30:00": every function of the slot
  std::optional<std::string> pcie;   // value of pcie=
  std::optional<std::string> rombar; // value of rombar=
  std::string raw;
  std::optional<std::string> mapping;  // mapping=NAME
  // The ids it passes ("0000:30:00.0", or a slot "0000:30:00"), of the
  // alternative chosen (a mapping may give several devices on a node;
  // Proxmox takes a free one: here the first whose ids are all present).
  std::vector<std::string> ids;
  std::vector<std::string> absent;   // those of `ids` not present now
  // mapping= only: the map entry of the alternative chosen; its id=,
  // subsystem-id= and iommugroup= describe the device Proxmox expects there.
  std::optional<PvePciMap> map;
  std::string error;                 // why it cannot be resolved, or ""
};
struct PveVmConfig {
  std::string vmid;
  std::optional<std::string> machine;
  std::vector<PveHostPci> hostpci;
  std::optional<std::string> hookscript;
};

// `text` of VMID.conf (main section only: snapshots and pending changes
// follow a "[...]" line).
PveVmConfig parse_pve_config(const std::string& vmid, const std::string& text,
                             const PveHost& host);
// Without mappings (mapping= entries get an error).
PveVmConfig parse_pve_config(const std::string& vmid, const std::string& text,
                             const std::vector<std::string>& present_bdfs);

}  // namespace egpuctl
