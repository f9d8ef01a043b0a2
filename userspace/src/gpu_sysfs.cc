#include "gpu_sysfs.h"

#include <fmt/format.h>

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>

#include "error.h"
#include "status_report.h"

namespace egpuctl {
namespace {

constexpr const char kNone[] = "-";

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& w : v) s += (s.empty() ? "" : " ") + w;
  return s;
}

}  // namespace

std::vector<PciFunction> sysfs_gpus(const SysfsPci& pci) {
  const std::vector<PciFunction> all = pci.functions();
  std::set<std::string> slots;
  for (const PciFunction& f : all)
    if (f.isDisplay()) slots.insert(f.slot());
  std::vector<PciFunction> out;
  for (const PciFunction& f : all)
    if (slots.count(f.slot())) out.push_back(f);
  std::sort(out.begin(), out.end(),
            [](const PciFunction& a, const PciFunction& b) { return a.bdf < b.bdf; });
  return out;
}

std::string pci_class_name(const PciFunction& f) {
  if (f.isDisplay()) return "display";
  if (f.isAudio()) return "audio";
  return fmt::format("{:#08x}", f.classCode);
}

std::vector<std::string> reset_methods(const PciFunction& f) {
  std::vector<std::string> v;
  std::istringstream in(f.resetMethod.value_or(""));
  for (std::string m; in >> m;) v.push_back(m);
  return v;
}

void print_sysfs_gpus_text(std::ostream& out, const std::vector<PciFunction>& gpus) {
  if (gpus.empty()) {
    out << "no GPU (PCI display function) in sysfs\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {
      {"BDF", "ID", "CLASS", "DRIVER", "IOMMU_GROUP", "RESET_METHOD"}};
  for (const PciFunction& f : gpus) {
    const std::string rm = joined(reset_methods(f));
    rows.push_back({f.bdf, f.id(), pci_class_name(f),
                    f.driver.value_or(kNone), f.iommuGroup.value_or(kNone),
                    rm.empty() ? kNone : rm});
  }
  print_columns(out, rows);
}

Json sysfs_gpus_json(const std::vector<PciFunction>& gpus) {
  Json list = Json::array();
  for (const PciFunction& f : gpus) {
    Json j;
    j["bdf"] = f.bdf;
    j["id"] = f.id();
    j["vendor"] = f.vendor;
    j["device"] = f.device;
    j["class"] = pci_class_name(f);
    j["driver"] = or_null(f.driver);
    j["iommu_group"] = or_null(f.iommuGroup);
    j["reset_method"] = f.resetMethod ? Json(reset_methods(f)) : Json(nullptr);
    list.push_back(j);
  }
  Json j;
  j["transport"] = "sysfs";
  j["gpus"] = list;
  return j;
}

void write_reset_method(SysfsPci& pci, const std::string& bdf,
                        const std::vector<std::string>& methods) {
  static const std::regex kMethod("[a-z][a-z0-9_]{0,31}");
  if (methods.empty()) throw usage_error("reset-method: give at least one method");
  for (const std::string& m : methods)
    if (!std::regex_match(m, kMethod))
      throw usage_error(fmt::format(
          "reset-method: '{}' is not a reset method name: give names such as device_specific, "
          "flr, pm, bus, or default",
          m));
  if (methods.size() > 1 && std::count(methods.begin(), methods.end(), "default"))
    throw usage_error("reset-method: 'default' stands alone: it restores the kernel's order");
  const std::optional<PciFunction> f = pci.function(bdf);
  if (!f) throw Error(ExitCode::kFailure, fmt::format("no PCI device {} (see lspci -D)", bdf));
  pci.set_reset_method(*f, joined(methods),
                       "the kernel refused it: a method this device does not support "
                       "(device_specific needs module egpu_gate loaded and the GPU handled: "
                       "see 'egpuctl gpu list')");
}

}  // namespace egpuctl
