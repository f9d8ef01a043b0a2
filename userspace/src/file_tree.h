// FileTree: reads, writes and lists files below a root directory, as an
// abstract interface so commands that look at sysfs, /proc or /etc can be
// tested against an in-memory tree (FakeFileTree, tests only).
//
// Paths are absolute within the tree ("/bus/thunderbolt/devices" for the
// sysfs tree rooted at /sys, "/proc/cmdline" for the host tree rooted at /).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace egpuctl {

class FileTree {
 public:
  virtual ~FileTree() = default;
  // Contents of the file, or empty when it does not exist or cannot be read.
  virtual std::optional<std::string> read(const std::string& path) const = 0;
  // Writes `value` to an existing file (sysfs attribute: one write).
  // Returns 0 or the errno of the failure.
  virtual int write(const std::string& path, const std::string& value) = 0;
  // Names in directory `path` (no "." or ".."), sorted; empty when absent.
  virtual std::vector<std::string> list(const std::string& path) const = 0;
  // Target of symbolic link `path`, or empty when it is not a link.
  virtual std::optional<std::string> readlink(const std::string& path) const = 0;
  virtual bool exists(const std::string& path) const = 0;
  // Creates or replaces regular file `path` atomically (temporary file in
  // the same directory, fsync, rename) with mode `mode`.  Returns 0 or an
  // errno; on failure the previous file is untouched.
  virtual int replace(const std::string& path, const std::string& content, unsigned mode) = 0;
  // Where the tree is, for messages ("/sys").
  virtual std::string root() const = 0;

  // Helpers.
  // read() without the trailing newline and spaces.
  std::optional<std::string> attr(const std::string& path) const;
  // Last component of the link's target ("vfio-pci" of ".../drivers/vfio-pci").
  std::optional<std::string> link_name(const std::string& path) const;
};

// The real file system below `root` ("/sys", "/", or a test directory).
std::unique_ptr<FileTree> make_real_file_tree(std::string root);

// "/a/b/c" -> "c".
std::string base_name(const std::string& path);

}  // namespace egpuctl
