#include "files.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <random>

#include "error.h"

extern char** environ;

namespace egpuctl {
namespace {

class RealSyscalls : public Syscalls {
 public:
  int open(const char* path, int flags, mode_t mode) override { return ::open(path, flags, mode); }
  ssize_t write(int fd, const void* buf, size_t len) override { return ::write(fd, buf, len); }
  int fsync(int fd) override { return ::fsync(fd); }
  int fchmod(int fd, mode_t mode) override { return ::fchmod(fd, mode); }
  int close(int fd) override { return ::close(fd); }
  int rename(const char* from, const char* to) override { return ::rename(from, to); }
  int unlink(const char* path) override { return ::unlink(path); }
  int mkdir(const char* path, mode_t mode) override { return ::mkdir(path, mode); }
  int stat(const char* path, struct stat* st) override { return ::stat(path, st); }
};

std::string dir_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Error file_error(const std::string& what, int err) { return local_error(what, errno_text(err)); }

}  // namespace

Syscalls& real_syscalls() {
  static RealSyscalls sys;
  return sys;
}

std::optional<std::string> PosixFileSystem::read(const std::string& path) {
  const int fd = sys_.open(path.c_str(), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw file_error("cannot open " + path, errno);
  }
  std::string s;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      sys_.close(fd);
      throw file_error("cannot read " + path, err);
    }
    if (n == 0) break;
    s.append(buf, static_cast<size_t>(n));
  }
  sys_.close(fd);
  return s;
}

void PosixFileSystem::mkdirs(const std::string& dir) {
  struct stat st;
  if (dir.empty() || sys_.stat(dir.c_str(), &st) == 0) return;
  mkdirs(dir_of(dir));
  if (sys_.mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    throw file_error("cannot create directory " + dir, errno);
}

void PosixFileSystem::fsync_dir(const std::string& dir, const std::string& what) {
  const int fd = sys_.open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) throw file_error(what + ": cannot open directory " + dir, errno);
  if (sys_.fsync(fd) != 0) {
    const int err = errno;
    sys_.close(fd);
    throw file_error(what + ": fsync of directory " + dir + " failed", err);
  }
  sys_.close(fd);
}

void PosixFileSystem::write_atomic(const std::string& path, std::string_view content,
                                   mode_t mode) {
  const std::string dir = dir_of(path);
  mkdirs(dir);
  struct stat st;
  if (sys_.stat(path.c_str(), &st) == 0) mode = st.st_mode & 07777;
  static std::mt19937_64 rng{std::random_device{}()};
  const std::string tmp = fmt::format("{}/.{}.tmp{:08x}", dir, path.substr(dir.size() + 1),
                                      static_cast<uint32_t>(rng()));
  const std::string what = "cannot write " + path;
  const int fd = sys_.open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw file_error(what + ": cannot create " + tmp, errno);
  // Any failure from here on: close and remove the temporary file.
  auto fail = [&](const std::string& step, int err, bool open) {
    if (open) sys_.close(fd);
    sys_.unlink(tmp.c_str());
    return file_error(what + ": " + step + " (" + tmp + " removed; " + path + " unchanged)", err);
  };
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = sys_.write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw fail("write failed", n < 0 ? errno : EIO, true);
    done += static_cast<size_t>(n);
  }
  if (sys_.fchmod(fd, mode) != 0) throw fail("chmod failed", errno, true);
  if (sys_.fsync(fd) != 0) throw fail("fsync failed", errno, true);
  if (sys_.close(fd) != 0) throw fail("close failed", errno, false);
  if (sys_.rename(tmp.c_str(), path.c_str()) != 0) throw fail("rename failed", errno, false);
  fsync_dir(dir, what + " (the new contents are in place but may not survive a crash)");
}

void PosixFileSystem::remove(const std::string& path) {
  if (sys_.unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return;
    throw file_error("cannot remove " + path, errno);
  }
  fsync_dir(dir_of(path), "removed " + path);
}

ProgramResult SpawnRunner::run(const std::vector<std::string>& argv) {
  ProgramResult r;
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    r.status = 127;
    r.output = "pipe: " + errno_text(errno);
    return r;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  const int err = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(pipefd[1]);
  if (err != 0) {
    ::close(pipefd[0]);
    r.status = 127;
    r.output = fmt::format("cannot run {}: {}", argv[0], errno_text(err));
    return r;
  }
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(pipefd[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    r.output.append(buf, static_cast<size_t>(n));
  }
  ::close(pipefd[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

}  // namespace egpuctl
