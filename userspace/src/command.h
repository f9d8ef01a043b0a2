// The command tree of egpuctl: a table of {name, function, summary,
// subcommands}, a dispatcher, generated usage texts, and ArgParser, the
// per-command option parser (Boost.Program_options, --help built in).
//
// Option scheme: global options go before the command (`egpuctl --json
// status`); a command that prints data also accepts --json after its name
// (`egpuctl status --json`), with the same meaning.
#pragma once

#include <boost/program_options.hpp>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "control.h"

namespace egpuctl {

class System;
class DeviceControl;

// What every command may use: output streams, global options and the
// connection to the module (opened on first use).
class Context {
 public:
  using Connector = std::function<std::unique_ptr<Control>()>;
  Context(std::ostream& out, std::ostream& err, Connector connect);
  ~Context();

  std::ostream& out;
  std::ostream& err;
  bool json = false;  // global --json

  // The module; connects on the first call.  Throws Error.
  Control& control();

  // Files-only mode (policy apply --offline): from now on control(),
  // devices() and system().sysfs()/netlinkDevices()/events() throw an
  // internal Error naming `why` instead of opening a netlink socket (which
  // can make the kernel load the module) or touching /sys.  Only
  // system().files() and system().runner() stay usable.
  void forbid_live(std::string why);

  // Global --sysfs-root ("" = /sys).
  std::string sysfsRoot;
  // The host (sysfs, files, programs; system.h), made on first use by the
  // factory (tests) or make_real_system(sysfsRoot).
  using SystemFactory = std::function<std::unique_ptr<System>(Context&)>;
  void set_system_factory(SystemFactory f) { system_factory_ = std::move(f); }
  System& system();
  // Thunderbolt devices: the module when it has the Thunderbolt policy, else
  // sysfs (says so on `err`).  Throws Error.
  DeviceControl& devices();

 private:
  Connector connect_;
  std::string forbid_live_;  // non-empty: files-only mode, the reason
  std::unique_ptr<Control> control_;
  SystemFactory system_factory_;
  std::unique_ptr<System> system_;
  std::unique_ptr<DeviceControl> devices_;
};

struct Invocation;

struct Command {
  std::string name{};
  std::string summary{};  // one line, lower case, no full stop
  // Runs the command; returns the exit code.  Null for a group, which
  // dispatches to `subcommands` instead.
  std::function<int(Invocation&)> run{};
  std::vector<Command> subcommands{};
  std::string description{};  // longer text for the help; summary if empty
};

// One call of a command.
struct Invocation {
  Context& ctx;
  const Command& root;              // the whole tree (for `help`)
  const Command& command;           // the command being run
  std::string path;                 // e.g. "egpuctl status"
  std::vector<std::string> args;    // the arguments after the command name
};

// Option parsing of one command:
//
//   ArgParser p(inv);
//   p.add_json();
//   p.options().add_options()("force", po::bool_switch(&force), "do it");
//   if (!p.parse()) return 0;  // --help was given and printed
class ArgParser {
 public:
  explicit ArgParser(Invocation& inv);

  // Options of the command (--help is added by the parser).
  boost::program_options::options_description& options() { return options_; }
  // Accept --json here (and the global --json); see json().
  void add_json();
  // Positional arguments named `name` (upper case in the help), at most
  // max_count of them (-1: any number).
  void add_positional(std::string name, int max_count);

  // Parses inv.args.  Prints the help to ctx.out and returns false when
  // --help is given; throws a usage Error for anything wrong.
  bool parse();

  bool json() const { return json_; }
  const std::vector<std::string>& positional() const { return positional_; }
  const boost::program_options::variables_map& vm() const { return vm_; }

  // The generated help text of the command.
  std::string help() const;

 private:
  Invocation& inv_;
  boost::program_options::options_description options_;
  boost::program_options::variables_map vm_;
  bool json_supported_ = false;
  bool json_ = false;
  bool help_ = false;
  std::string positional_name_;
  int positional_max_ = 0;
  std::vector<std::string> positional_;
};

// Usage text of a group of commands (the root or a nested group),
// generated from the table.  `path` is e.g. "egpuctl" or "egpuctl gpu".
std::string group_usage(const Command& group, const std::string& path, bool is_root);

// Finds the subcommand `name` of `group`; throws a usage Error with a
// did-you-mean suggestion when there is none.  `path` names the group.
const Command& find_subcommand(const Command& group, const std::string& path,
                               const std::string& name);

// Runs `args` (without argv[0]) against the tree `root`: global options,
// dispatch, and the mapping of errors to messages on ctx.err
// ("egpuctl: ...") and exit codes.
int run_cli(Context& ctx, const Command& root, const std::vector<std::string>& args);

}  // namespace egpuctl
