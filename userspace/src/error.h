// Errors of egpuctl: a message that says what to do, and a stable exit code.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace egpuctl {

// Exit codes: stable, documented in `egpuctl --help` (see kExitCodesHelp).
enum class ExitCode : int {
  kOk = 0,
  kFailure = 1,     // anything else; the message says what failed
  kUsage = 2,       // bad command line
  kNotLoaded = 3,   // module egpu_gate is not loaded (family not found)
  kPermission = 4,  // the kernel refused: not privileged enough
};

// The "Exit status" section of the usage text.
extern const char kExitCodesHelp[];

// An error to show to the user ("egpuctl: <message>") and exit with.
class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }
  int exit_code() const { return static_cast<int>(code_); }
  // The errno the kernel answered with (kernel_error()), else 0.
  int errnum() const { return errnum_; }
  Error& with_errnum(int errnum) {
    errnum_ = errnum;
    return *this;
  }

 private:
  ExitCode code_;
  int errnum_ = 0;
};

// Factories: the one place that words each kind of error.

// Generic netlink family egpu_gate does not exist.
Error module_not_loaded();
// The kernel answered `what` (e.g. "get status") with -errnum (errnum > 0)
// and, possibly, an extended-ack message `extack`.
Error kernel_error(std::string_view what, int errnum, std::string_view extack = {});
// A local (system call / libnl) failure while doing `what`.
Error local_error(std::string_view what, std::string_view detail);
// The module's reply could not be decoded.
Error malformed_reply(std::string_view what, std::string_view detail);
// Bad command line.
Error usage_error(std::string_view message);
// A files-only mode (`why`, e.g. "policy apply --offline") was about to
// `what` (e.g. "contact module egpu_gate"): a bug, stopped before it.
Error live_forbidden(std::string_view why, std::string_view what);

// strerror() text for errnum, independent of the locale ("Operation not
// permitted"); "error N" for unknown numbers.
std::string errno_text(int errnum);

}  // namespace egpuctl
