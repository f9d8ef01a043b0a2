// GPUs as sysfs shows them, for what egpuctl does without the module
// (`gpu list` falls back to it) or through sysfs alone (`gpu reset-method`):
// display functions and the other functions of their slot (the HDMI audio),
// with driver, IOMMU group and reset_method; and reset_method writes.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "status_report.h"
#include "sysfs_devices.h"

namespace egpuctl {

// Display functions (PCI class 0x03) and the other functions of their slot,
// sorted by address.
std::vector<PciFunction> sysfs_gpus(const SysfsPci& pci);

// "display", "audio" or the class in hex ("0x0c0330").
std::string pci_class_name(const PciFunction& f);

void print_sysfs_gpus_text(std::ostream& out, const std::vector<PciFunction>& gpus);
// {"transport": "sysfs", "gpus": [...]}
Json sysfs_gpus_json(const std::vector<PciFunction>& gpus);

// The words of reset_method ("device_specific bus" -> {..., ...}).
std::vector<std::string> reset_methods(const PciFunction& f);

// Writes `methods` (space-joined; {"default"} restores the kernel's order)
// to reset_method of `bdf`.  Throws Error: usage for a malformed method
// name, failure when the device or its reset_method is missing or the
// kernel refuses, permission without root.
void write_reset_method(SysfsPci& pci, const std::string& bdf,
                        const std::vector<std::string>& methods);

}  // namespace egpuctl
