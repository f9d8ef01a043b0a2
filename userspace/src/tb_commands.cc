#include "tb_commands.h"

#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>

#include "error.h"
#include "system.h"
#include "tb_report.h"

namespace po = boost::program_options;

namespace egpuctl {

const char kTbListHelp[] =
    "List the Thunderbolt devices, parents first: name (DOMAIN-ROUTE), vendor\n"
    "and device ID and names, whether it is authorized (0, 1, 2; host routers\n"
    "always are), the domain's security level and IOMMU DMA protection, the\n"
    "UUID and, from module egpu_gate, the matched rule, its decision and the\n"
    "reason.  Without the module it reads sysfs (and says so).  --tree shows\n"
    "the topology with the PCI functions found below each device.\n";
const char kTbAuthorizeHelp[] =
    "Authorize Thunderbolt device DEV (its name, \"0-1\", or UUID) now: its\n"
    "PCIe tunnel opens and its PCI functions appear.  Its parent must be\n"
    "authorized.  Through the module when it is loaded (an explicit action: no\n"
    "rule needed), else by writing sysfs.  Already authorized is success.\n";
const char kTbDeauthorizeHelp[] =
    "De-authorize Thunderbolt device DEV and everything below it, deepest\n"
    "first (the module also unbinds and removes their PCI functions first).\n"
    "Needs a domain whose deauthorization is 1.\n";
const char kShutdownPlanHelp[] =
    "Show, numbered, the teardown module egpu_gate would run at shutdown or\n"
    "reboot now: unbind and remove the PCI functions of the devices it\n"
    "authorized, then de-authorize the devices, deepest first (a skipped step\n"
    "says why).  Needs the module.\n";
const char kMonitorHelp[] =
    "Print the events of module egpu_gate as they happen (Thunderbolt devices\n"
    "seen, matched, authorized, denied, gone; vfio-pci bindings; teardown\n"
    "steps; GPU resets; errors), one line each; --json prints one JSON object\n"
    "per line.  Runs until SIGINT or SIGTERM, --count N events or --timeout S\n"
    "seconds.\n";

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string one_device(Invocation& inv, ArgParser& p) {
  if (p.positional().empty())
    throw usage_error(fmt::format(
        "{}: give the device's name or UUID, e.g. '{} 0-1' (see 'egpuctl tb list')", inv.path,
        inv.path));
  return p.positional().front();
}

}  // namespace

const TbDevice& find_tb_device(const std::vector<TbDevice>& devices, const std::string& dev) {
  for (const TbDevice& d : devices)
    if (d.name == dev || (d.uniqueId && lower(*d.uniqueId) == lower(dev))) return d;
  std::string names;
  for (const TbDevice& d : devices) names += (names.empty() ? "" : ", ") + d.name;
  throw Error(ExitCode::kFailure,
              fmt::format("no Thunderbolt device '{}' (present: {}); give a name from 'egpuctl tb "
                          "list' or a UUID",
                          dev, names.empty() ? "none" : names));
}

int cmd_tb_list(Invocation& inv) {
  ArgParser p(inv);
  p.add_json();
  bool tree = false;
  p.options().add_options()("tree", po::bool_switch(&tree), "show the devices as a tree");
  if (!p.parse()) return 0;
  DeviceControl& dc = inv.ctx.devices();
  const std::vector<TbDevice> devices = dc.tbDevices();
  const bool policy = dc.transport() == "netlink";
  if (p.json())
    print_json(inv.ctx.out, tb_list_json(devices, dc.transport()));
  else if (tree)
    print_tb_tree(inv.ctx.out, devices, policy);
  else
    print_tb_table(inv.ctx.out, devices, policy);
  return 0;
}

namespace {

int authorize(Invocation& inv, bool on) {
  ArgParser p(inv);
  p.add_positional("DEV", 1);
  if (!p.parse()) return 0;
  const std::string dev = one_device(inv, p);
  DeviceControl& dc = inv.ctx.devices();
  const std::vector<TbDevice> devices = dc.tbDevices();
  const TbDevice& d = find_tb_device(devices, dev);
  const std::string name = d.name;
  if (on)
    dc.tbAuthorize(name);
  else
    dc.tbDeauthorize(name);
  inv.ctx.out << fmt::format("{}: {} ({})\n", name, on ? "authorized" : "de-authorized",
                             dc.transport());
  return 0;
}

std::atomic<int> g_stop_signal{0};

void on_stop_signal(int sig) { g_stop_signal = sig; }

// SIGINT/SIGTERM end the wait (no SA_RESTART) and set g_stop_signal;
// the previous handlers come back on destruction.
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

}  // namespace

int cmd_tb_authorize(Invocation& inv) { return authorize(inv, true); }
int cmd_tb_deauthorize(Invocation& inv) { return authorize(inv, false); }

int cmd_shutdown_plan(Invocation& inv) {
  ArgParser p(inv);
  p.add_json();
  if (!p.parse()) return 0;
  const std::vector<TeardownStep> steps = inv.ctx.devices().teardownPlan();
  if (p.json())
    print_json(inv.ctx.out, plan_json(steps));
  else
    print_plan_text(inv.ctx.out, steps);
  return 0;
}

int cmd_monitor(Invocation& inv) {
  ArgParser p(inv);
  p.add_json();
  unsigned count = 0;
  double timeout = 0;
  p.options().add_options()("count", po::value<unsigned>(&count)->value_name("N"),
                            "stop after N events")(
      "timeout", po::value<double>(&timeout)->value_name("S"),
      "stop after S seconds (exit 0; with --count: exit 1 when fewer came)");
  if (!p.parse()) return 0;
  if (timeout < 0) throw usage_error("monitor: --timeout must not be negative");
  std::unique_ptr<EventSource> src = inv.ctx.system().events();
  src->subscribe();
  StopSignals signals;
  if (!p.json()) inv.ctx.err << "egpuctl: monitoring events of egpu_gate (Ctrl-C ends)\n";
  using clock = std::chrono::steady_clock;
  const auto deadline =
      timeout > 0 ? clock::now() + std::chrono::milliseconds(static_cast<int64_t>(timeout * 1000))
                  : clock::time_point::max();
  unsigned seen = 0;
  std::vector<Event> batch;
  while (g_stop_signal == 0 && (count == 0 || seen < count)) {
    auto slice = std::chrono::milliseconds(250);
    if (deadline != clock::time_point::max()) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
      if (left.count() <= 0) break;
      slice = std::min(slice, left);
    }
    batch.clear();
    src->wait(slice, batch);
    for (const Event& e : batch) {
      if (p.json())
        inv.ctx.out << event_json(e).dump(-1, ' ', false, Json::error_handler_t::replace) << "\n";
      else
        inv.ctx.out << event_text(e) << "\n";
      inv.ctx.out.flush();
      if (count != 0 && ++seen >= count) break;
    }
  }
  if (count != 0 && seen < count && g_stop_signal == 0)
    throw Error(ExitCode::kFailure,
                fmt::format("monitor: {} of {} events within {} s", seen, count, timeout));
  return 0;
}

}  // namespace egpuctl
