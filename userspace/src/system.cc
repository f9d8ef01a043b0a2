#include "system.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "command.h"
#include "egpu_gate.h"
#include "error.h"
#include "netlink_devices.h"
#include "sysfs_devices.h"

extern char** environ;

namespace egpuctl {
namespace {

class RealRunner : public CommandRunner {
 public:
  RunResult run(const std::vector<std::string>& argv, std::chrono::seconds timeout) override {
    RunResult r;
    int pipefd[2];
    if (argv.empty()) return r;
    if (::pipe2(pipefd, O_CLOEXEC) < 0) {
      r.output = "pipe: " + errno_text(errno);
      return r;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid;
    const int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(pipefd[1]);
    if (rc != 0) {
      ::close(pipefd[0]);
      r.output = fmt::format("cannot run {}: {}", argv[0], errno_text(rc));
      return r;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    bool killed = false;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        ::kill(pid, SIGKILL);
        killed = true;
        break;
      }
      pollfd p{.fd = pipefd[0], .events = POLLIN, .revents = 0};
      const int n = ::poll(&p, 1, static_cast<int>(left.count()));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) continue;
      const ssize_t got = ::read(pipefd[0], buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      if (r.output.size() < (1u << 20)) r.output.append(buf, static_cast<size_t>(got));
    }
    ::close(pipefd[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    // posix_spawnp reports a missing program as exit status 127.
    if (killed)
      r.status = 124;
    else if (WIFEXITED(status))
      r.status = WEXITSTATUS(status) == 127 && r.output.empty() ? -1 : WEXITSTATUS(status);
    else
      r.status = 128 + WTERMSIG(status);
    return r;
  }
};

class RealSystem : public System {
 public:
  explicit RealSystem(const std::string& sysfs_root)
      : sysfs_(make_real_file_tree(sysfs_root.empty() ? "/sys" : sysfs_root)),
        files_(make_real_file_tree("/")),
        runner_(make_real_runner()) {}
  FileTree& sysfs() override { return *sysfs_; }
  FileTree& files() override { return *files_; }
  CommandRunner& runner() override { return *runner_; }
  std::unique_ptr<DeviceControl> netlinkDevices() override {
    return make_netlink_device_control();
  }
  std::unique_ptr<EventSource> events() override { return std::make_unique<LibnlEventSource>(); }

 private:
  std::unique_ptr<FileTree> sysfs_, files_;
  std::unique_ptr<CommandRunner> runner_;
};

// Context::forbid_live(): the files and programs of `inner`, nothing live.
class FilesOnlySystem : public System {
 public:
  FilesOnlySystem(std::unique_ptr<System> inner, std::string why)
      : inner_(std::move(inner)), why_(std::move(why)) {}
  FileTree& sysfs() override { throw live_forbidden(why_, "read or write /sys"); }
  FileTree& files() override { return inner_->files(); }
  CommandRunner& runner() override { return inner_->runner(); }
  std::unique_ptr<DeviceControl> netlinkDevices() override {
    throw live_forbidden(why_, "contact module egpu_gate");
  }
  std::unique_ptr<EventSource> events() override {
    throw live_forbidden(why_, "listen to module egpu_gate");
  }

 private:
  std::unique_ptr<System> inner_;
  std::string why_;
};

}  // namespace

std::unique_ptr<CommandRunner> make_real_runner() { return std::make_unique<RealRunner>(); }

std::unique_ptr<System> make_real_system(const std::string& sysfs_root) {
  return std::make_unique<RealSystem>(sysfs_root);
}

// --- Context: the parts that need a System --------------------------------------

System& Context::system() {
  if (!system_) {
    system_ = system_factory_ ? system_factory_(*this) : make_real_system(sysfsRoot);
    if (!forbid_live_.empty())
      system_ = std::make_unique<FilesOnlySystem>(std::move(system_), forbid_live_);
  }
  return *system_;
}

void Context::forbid_live(std::string why) {
  if (!forbid_live_.empty()) return;
  forbid_live_ = std::move(why);
  devices_.reset();
  if (system_) system_ = std::make_unique<FilesOnlySystem>(std::move(system_), forbid_live_);
}

DeviceControl& Context::devices() {
  if (!forbid_live_.empty()) throw live_forbidden(forbid_live_, "use the Thunderbolt devices");
  if (devices_) return *devices_;
  std::string why;
  try {
    const Status s = control().status();
    if (s.features && (*s.features & EGPU_FEATURE_TB_POLICY)) {
      devices_ = system().netlinkDevices();
      return *devices_;
    }
    why = fmt::format("module egpu_gate {} has no Thunderbolt policy (feature tb_policy)",
                      s.version);
  } catch (const Error& e) {
    if (e.code() != ExitCode::kNotLoaded) throw;
    why = "module egpu_gate is not loaded";
  }
  err << fmt::format("egpuctl: {}: using sysfs ({}): no rules, decisions or teardown plan\n", why,
                     system().sysfs().root());
  devices_ = std::make_unique<SysfsControl>(system().sysfs());
  return *devices_;
}

}  // namespace egpuctl
