// FileTree: the one interface for files.  It reads, writes and lists files
// below a root directory, so the commands that look at sysfs, /proc or /etc
// and the policy commands that write /etc can be tested against an
// in-memory tree (FakeFileTree, fake_system.h) with failures injected.
//
// Paths are absolute within the tree ("/bus/thunderbolt/devices" for the
// sysfs tree rooted at /sys, "/proc/cmdline" or "/etc/egpu-gate/policy.toml"
// for the host tree rooted at /).
//
//   FileTree   read, write a sysfs attribute, list, readlink, replace a
//              file atomically, remove one
//   Syscalls   the system calls the real tree makes (tests fail one)
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace egpuctl {

// What write_atomic() does with the mode of a file that exists already.
enum class ExistingMode {
  kKeep,  // it keeps its mode (a file the administrator may have chmod'ed)
  kSet,   // it gets the mode given (an executable snippet)
};

class FileTree {
 public:
  virtual ~FileTree() = default;
  // Contents of the file, or empty when it does not exist.  Throws Error
  // ("cannot open/read PATH: ...") for any other failure.
  virtual std::optional<std::string> read_file(const std::string& path) const = 0;
  // Writes `value` to an existing file (sysfs attribute: one write).
  // Returns 0 or the errno of the failure.
  virtual int write(const std::string& path, const std::string& value) = 0;
  // Names in directory `path` (no "." or ".."), sorted; empty when absent.
  virtual std::vector<std::string> list(const std::string& path) const = 0;
  // Target of symbolic link `path`, or empty when it is not a link.
  virtual std::optional<std::string> readlink(const std::string& path) const = 0;
  virtual bool exists(const std::string& path) const = 0;
  // Replaces `path` with `content` atomically: a temporary file in the same
  // directory is written, chmod()ed, fsync()ed and renamed over `path`, then
  // the directory is fsync()ed.  Missing parent directories are created
  // (0755).  A new file gets `mode`; an existing one keeps its mode or gets
  // `mode` (`existing`).  On failure the temporary file is removed and Error
  // says which step failed; `path` then holds its previous contents unless
  // the failure came after the rename (the directory fsync), which the
  // message says.
  virtual void write_atomic(const std::string& path, std::string_view content, mode_t mode,
                            ExistingMode existing) = 0;
  // Removes `path` (absent is fine) and fsync()s its directory.  Throws Error.
  virtual void remove(const std::string& path) = 0;
  // Where the tree is, for messages ("/sys").
  virtual std::string root() const = 0;

  // Helpers.
  // Contents of the file, or empty when it does not exist or cannot be read
  // (sysfs attributes that fail to read count as absent).
  std::optional<std::string> read(const std::string& path) const;
  // read() without the trailing newline and spaces.
  std::optional<std::string> attr(const std::string& path) const;
  // Last component of the link's target ("vfio-pci" of ".../drivers/vfio-pci").
  std::optional<std::string> link_name(const std::string& path) const;
};

// The system calls of the real tree.  Each returns what the libc call
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

// The real file system below `root` ("/sys", "/", or a test directory).
std::unique_ptr<FileTree> make_real_file_tree(std::string root,
                                              Syscalls& sys = real_syscalls());

// "/a/b/c" -> "c".
std::string base_name(const std::string& path);

}  // namespace egpuctl
