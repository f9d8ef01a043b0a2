#include "error.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace egpuctl {

const char kExitCodesHelp[] =
    "Exit status:\n"
    "  0  success\n"
    "  1  failure (the message says what failed)\n"
    "  2  usage error (unknown command or option, bad argument)\n"
    "  3  module egpu_gate is not loaded\n"
    "  4  permission denied (needs root)\n";

Error module_not_loaded() {
  return Error(ExitCode::kNotLoaded, "module egpu_gate is not loaded: run `modprobe egpu_gate`");
}

Error kernel_error(std::string_view what, int errnum, std::string_view extack) {
  std::string kernel_says = extack.empty() ? std::string() : fmt::format(" (kernel: {})", extack);
  if (errnum == EPERM || errnum == EACCES) {
    return Error(ExitCode::kPermission,
                 "permission denied: egpuctl needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN "
                 "in the initial user namespace)" +
                     kernel_says)
        .with_errnum(errnum);
  }
  return Error(ExitCode::kFailure, fmt::format("{}: {}{}", what, errno_text(errnum), kernel_says))
      .with_errnum(errnum);
}

Error local_error(std::string_view what, std::string_view detail) {
  return Error(ExitCode::kFailure, fmt::format("{}: {}", what, detail));
}

Error live_forbidden(std::string_view why, std::string_view what) {
  return Error(ExitCode::kFailure,
               fmt::format("internal error: {} must not {}; stopped before doing it (nothing "
                           "live was touched); please report this",
                           why, what));
}

Error malformed_reply(std::string_view what, std::string_view detail) {
  return Error(ExitCode::kFailure,
               fmt::format("{}: malformed reply from module egpu_gate: {}", what, detail));
}

Error usage_error(std::string_view message) {
  return Error(ExitCode::kUsage, std::string(message));
}

std::string errno_text(int errnum) {
  // strerrordesc_np() is locale-independent (glibc >= 2.32); the guest
  // initramfs has no locale files anyway.
  const char* s = strerrordesc_np(errnum);
  if (s == nullptr) return fmt::format("error {}", errnum);
  return s;
}

}  // namespace egpuctl
