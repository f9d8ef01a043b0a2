#include "command.h"

#include <fmt/format.h>

#include <algorithm>
#include <span>
#include <utility>

#include "device_control.h"
#include "error.h"
#include "suggest.h"
#include "system.h"

namespace po = boost::program_options;

namespace egpuctl {
namespace {

constexpr int kHelpWidth = 80;

// "egpuctl gpu reset" -> "gpu reset": how messages name a command.
std::string short_path(const std::string& path) {
  const size_t sp = path.find(' ');
  return sp == std::string::npos ? path : path.substr(sp + 1);
}

// The long help of a command: its description, else its summary as a
// sentence.
std::string describe(const Command& c) {
  if (!c.description.empty()) return c.description;
  std::string s = c.summary + ".\n";
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

// The root name ("egpuctl") of a path.
std::string program(const std::string& path) { return path.substr(0, path.find(' ')); }

// Two columns: names, then their help, aligned; long help wrapped.
std::string columns(const std::vector<std::pair<std::string, std::string>>& rows) {
  size_t width = 0;
  for (const auto& [left, right] : rows) width = std::max(width, left.size());
  std::string out;
  for (const auto& [left, right] : rows) {
    std::string line = fmt::format("  {:<{}}  ", left, width);
    const size_t indent = line.size();
    size_t col = indent;
    // Greedy word wrap of the help text.
    size_t pos = 0;
    bool first = true;
    while (pos < right.size()) {
      size_t end = right.find(' ', pos);
      if (end == std::string::npos) end = right.size();
      const std::string word = right.substr(pos, end - pos);
      if (!first && col + 1 + word.size() > kHelpWidth) {
        line += "\n" + std::string(indent, ' ');
        col = indent;
        first = true;
      }
      if (!first) {
        line += ' ';
        ++col;
      }
      line += word;
      col += word.size();
      first = false;
      pos = end + 1;
    }
    out += line + "\n";
  }
  return out;
}

std::vector<std::string> subcommand_names(const Command& group) {
  std::vector<std::string> names;
  for (const Command& c : group.subcommands) names.push_back(c.name);
  return names;
}

// Global options (before the command).
struct GlobalOption {
  const char* names;  // as shown
  const char* help;
};
constexpr GlobalOption kGlobalOptions[] = {
    {"--json", "print JSON (stable snake_case keys); commands that print data also accept "
               "--json after their name"},
    {"-h, --help", "show this help"},
    {"-V, --version", "same as 'egpuctl version'"},
    {"--sysfs-root DIR", "read and write sysfs below DIR instead of /sys (tests)"},
};
const std::vector<std::string> kGlobalOptionNames = {"--json", "--help", "--version",
                                                     "--sysfs-root"};

int dispatch(Context& ctx, const Command& root, const Command& group, const std::string& path,
             std::span<const std::string> args, bool is_root) {
  if (args.empty()) {
    ctx.err << group_usage(group, path, is_root);
    return static_cast<int>(ExitCode::kUsage);
  }
  const std::string& name = args.front();
  if (!is_root && (name == "-h" || name == "--help")) {
    ctx.out << group_usage(group, path, is_root);
    return 0;
  }
  if (!is_root && name.size() > 1 && name[0] == '-') {
    throw usage_error(fmt::format("{}: expected a command, not option '{}'\nRun '{} --help' for usage.",
                                  short_path(path), name, path));
  }
  const Command& cmd = find_subcommand(group, path, name);
  const std::string sub_path = path + " " + cmd.name;
  if (!cmd.run) return dispatch(ctx, root, cmd, sub_path, args.subspan(1), false);
  Invocation inv{ctx, root, cmd, sub_path, {args.begin() + 1, args.end()}};
  return cmd.run(inv);
}

}  // namespace

Context::Context(std::ostream& out, std::ostream& err, Connector connect)
    : out(out), err(err), connect_(std::move(connect)) {}
Context::~Context() = default;

Control& Context::control() {
  if (!forbid_live_.empty()) throw live_forbidden(forbid_live_, "contact module egpu_gate");
  if (!control_) control_ = connect_();
  return *control_;
}

// --- ArgParser -------------------------------------------------------------

ArgParser::ArgParser(Invocation& inv) : inv_(inv), options_("Options") {}

void ArgParser::add_json() {
  json_supported_ = true;
  options_.add_options()("json", po::bool_switch(&json_),
                         "print JSON (same as 'egpuctl --json ...')");
}

void ArgParser::add_positional(std::string name, int max_count) {
  positional_name_ = std::move(name);
  positional_max_ = max_count;
}

bool ArgParser::parse() {
  const std::string cmd = short_path(inv_.path);
  const std::string hint = fmt::format("\nRun '{} --help' for usage.", inv_.path);

  po::options_description all;
  all.add(options_);
  all.add_options()("help,h", po::bool_switch(&help_), "show this help");
  all.add_options()("__args", po::value<std::vector<std::string>>());
  po::positional_options_description pos;
  pos.add("__args", -1);
  // No abbreviated options: scripts must not break when options are added.
  const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
  try {
    po::store(po::command_line_parser(inv_.args).options(all).positional(pos).style(style).run(),
              vm_);
    po::notify(vm_);
  } catch (const po::unknown_option& e) {
    const std::string opt = e.get_option_name();
    std::vector<std::string> names = {"--help"};
    for (const auto& o : options_.options())
      names.push_back(o->canonical_display_name(po::command_line_style::allow_long));
    const std::string dym = did_you_mean(opt, names);
    throw usage_error(fmt::format("{}: unknown option '{}'{}", cmd, opt, dym.empty() ? hint : dym));
  } catch (const po::error& e) {
    throw usage_error(fmt::format("{}: {}{}", cmd, e.what(), hint));
  }
  if (help_) {
    inv_.ctx.out << help();
    return false;
  }
  if (vm_.count("__args")) positional_ = vm_["__args"].as<std::vector<std::string>>();
  if (positional_max_ >= 0 && positional_.size() > static_cast<size_t>(positional_max_)) {
    throw usage_error(
        fmt::format("{}: unexpected argument '{}'{}", cmd, positional_[positional_max_], hint));
  }
  if (json_supported_) {
    json_ = json_ || inv_.ctx.json;
  } else if (inv_.ctx.json) {
    throw usage_error(fmt::format("{}: --json is not supported by this command", cmd));
  }
  return true;
}

std::string ArgParser::help() const {
  std::string usage = "Usage: " + inv_.path + " [OPTIONS]";
  if (positional_max_ == 1) usage += " [" + positional_name_ + "]";
  if (positional_max_ < 0 || positional_max_ > 1) usage += " [" + positional_name_ + "...]";
  const Command& c = inv_.command;
  std::string text = usage + "\n\n" + describe(c);
  if (text.back() != '\n') text += '\n';

  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto& o : options_.options()) {
    std::string names;
    const std::string s = o->canonical_display_name(po::command_line_style::allow_dash_for_short);
    if (s.size() == 2 && s[0] == '-') names = s + ", ";
    names += "--" + o->long_name();
    if (o->semantic()->max_tokens() > 0) names += " " + o->semantic()->name();
    rows.emplace_back(names, o->description());
  }
  rows.emplace_back("-h, --help", "show this help");
  return text + "\nOptions:\n" + columns(rows);
}

// --- the tree --------------------------------------------------------------

std::string group_usage(const Command& group, const std::string& path, bool is_root) {
  std::string text = fmt::format("Usage: {}{} COMMAND [ARGS...]\n\n", path, is_root ? " [OPTIONS]" : "");
  text += describe(group);
  if (text.back() != '\n') text += '\n';
  std::vector<std::pair<std::string, std::string>> rows;
  for (const Command& c : group.subcommands) rows.emplace_back(c.name, c.summary);
  text += "\nCommands:\n" + columns(rows);
  if (is_root) {
    rows.clear();
    for (const GlobalOption& o : kGlobalOptions) rows.emplace_back(o.names, o.help);
    text += "\nOptions (before COMMAND):\n" + columns(rows);
    text += std::string("\n") + kExitCodesHelp;
  }
  text += fmt::format("\nRun '{} help {}COMMAND' or '{} COMMAND --help' for details.\n",
                      program(path), is_root ? "" : short_path(path) + " ", path);
  return text;
}

const Command& find_subcommand(const Command& group, const std::string& path,
                               const std::string& name) {
  for (const Command& c : group.subcommands)
    if (c.name == name) return c;
  const std::string where = path.find(' ') == std::string::npos ? "" : short_path(path) + ": ";
  const std::string dym = did_you_mean(name, subcommand_names(group));
  throw usage_error(fmt::format("{}unknown command '{}'{}", where, name,
                                dym.empty() ? fmt::format("\nRun '{} --help' for a list of commands.", path)
                                            : dym));
}

namespace {

// Global options, then dispatch.
int run_tree(Context& ctx, const Command& root, const std::vector<std::string>& args) {
  const std::string& path = root.name;
  size_t i = 0;
  std::vector<std::string> rest;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.size() < 2 || a[0] != '-') break;
    if (a == "--json") {
      ctx.json = true;
    } else if (a == "--sysfs-root" || a.starts_with("--sysfs-root=")) {
      if (a == "--sysfs-root" && i + 1 >= args.size())
        throw usage_error("option '--sysfs-root' needs a directory");
      ctx.sysfsRoot = a == "--sysfs-root" ? args[++i] : a.substr(13);
      if (ctx.sysfsRoot.empty()) throw usage_error("option '--sysfs-root' needs a directory");
    } else if (a == "-h" || a == "--help") {
      ctx.out << group_usage(root, path, true);
      return 0;
    } else if (a == "-V" || a == "--version") {
      rest = {"version"};
      ++i;
      break;
    } else {
      const std::string dym = did_you_mean(a, kGlobalOptionNames);
      throw usage_error(fmt::format(
          "unknown option '{}'{}", a,
          dym.empty() ? fmt::format("\nRun '{} --help' for usage.", path) : dym));
    }
  }
  if (!rest.empty() && i < args.size())
    throw usage_error(fmt::format("unexpected argument '{}' after --version", args[i]));
  rest.insert(rest.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  return dispatch(ctx, root, root, path, rest, true);
}

}  // namespace

int run_cli(Context& ctx, const Command& root, const std::vector<std::string>& args) {
  const std::string& path = root.name;
  int rc;
  try {
    rc = run_tree(ctx, root, args);
  } catch (const Error& e) {
    ctx.out.flush();
    ctx.err << path << ": " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    ctx.out.flush();
    ctx.err << path << ": internal error: " << e.what() << "\n";
    return static_cast<int>(ExitCode::kFailure);
  }
  ctx.out.flush();
  if (!ctx.out) {
    ctx.err << path << ": cannot write the output\n";
    return static_cast<int>(ExitCode::kFailure);
  }
  return rc;
}

}  // namespace egpuctl
