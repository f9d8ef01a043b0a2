// Files and programs of the system, behind interfaces so the policy
// commands can be tested against a tree, with failures injected:
//
//   FileSystem     read a file, replace one atomically, remove one
//   Syscalls       the system calls PosixFileSystem makes (fakes fail one)
//   ProgramRunner  run a program (update-initramfs) and capture its output
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace egpuctl {

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // The contents of `path`, or empty when it does not exist.  Throws Error
  // for any other failure.
  virtual std::optional<std::string> read(const std::string& path) = 0;
  // Replaces `path` with `content` atomically: a temporary file in the same
  // directory is written, fsync()ed and renamed over `path`, then the
  // directory is fsync()ed.  Missing parent directories are created (0755).
  // A new file gets `mode`; an existing one keeps its mode.  On failure the
  // temporary file is removed and Error says which step failed; `path` then
  // holds its previous contents unless the failure came after the rename
  // (the directory fsync), which the message says.
  virtual void write_atomic(const std::string& path, std::string_view content, mode_t mode) = 0;
  // Removes `path` (absent is fine) and fsync()s its directory.
  virtual void remove(const std::string& path) = 0;
};

// The system calls of PosixFileSystem.  Each returns what the libc call
// returns and leaves errno set.
class Syscalls {
 public:
  virtual ~Syscalls() = default;
  virtual int open(const char* path, int flags, mode_t mode) = 0;
  virtual ssize_t write(int fd, const void* buf, size_t len) = 0;
  virtual int fsync(int fd) = 0;
  virtual int fchmod(int fd, mode_t mode) = 0;
  virtual int close(int fd) = 0;
  virtual int rename(const char* from, const char* to) = 0;
  virtual int unlink(const char* path) = 0;
  virtual int mkdir(const char* path, mode_t mode) = 0;
  virtual int stat(const char* path, struct stat* st) = 0;
};

// The real system calls.
Syscalls& real_syscalls();

class PosixFileSystem : public FileSystem {
 public:
  explicit PosixFileSystem(Syscalls& sys = real_syscalls()) : sys_(sys) {}
  std::optional<std::string> read(const std::string& path) override;
  void write_atomic(const std::string& path, std::string_view content, mode_t mode) override;
  void remove(const std::string& path) override;

 private:
  void mkdirs(const std::string& dir);
  void fsync_dir(const std::string& dir, const std::string& what);
  Syscalls& sys_;
};

struct ProgramResult {
  int status = 0;      // exit status; 128+N when killed by signal N; 127: not run
  std::string output;  // stdout and stderr, interleaved
};

class ProgramRunner {
 public:
  virtual ~ProgramRunner() = default;
  // Runs argv (argv[0] looked up in PATH) with stdin from /dev/null.
  virtual ProgramResult run(const std::vector<std::string>& argv) = 0;
};

// posix_spawnp() and a pipe.
class SpawnRunner : public ProgramRunner {
 public:
  ProgramResult run(const std::vector<std::string>& argv) override;
};

}  // namespace egpuctl
