// In-memory FileSystem and ProgramRunner with failures injected.  Test code
// only.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "error.h"
#include "files.h"

namespace egpuctl::testing {

class FakeFileSystem : public FileSystem {
 public:
  std::optional<std::string> read(const std::string& path) override {
    if (path == fail_read) throw local_error("cannot read " + path, "Permission denied");
    auto it = files.find(path);
    if (it == files.end()) return std::nullopt;
    return it->second;
  }
  void write_atomic(const std::string& path, std::string_view content, mode_t) override {
    writes.push_back(path);
    if (path == fail_write && --fail_write_at == 0)
      throw local_error("cannot write " + path,
                        "rename failed (temporary removed; " + path + " unchanged)");
    files[path] = std::string(content);
  }
  void remove(const std::string& path) override {
    removes.push_back(path);
    files.erase(path);
  }

  std::map<std::string, std::string> files;
  std::vector<std::string> writes, removes;
  std::string fail_read, fail_write;  // path whose read / write fails
  int fail_write_at = 1;              // which write of fail_write fails
};

class FakeRunner : public ProgramRunner {
 public:
  ProgramResult run(const std::vector<std::string>& argv) override {
    runs.push_back(argv);
    return result;
  }
  std::vector<std::vector<std::string>> runs;
  ProgramResult result;
};

}  // namespace egpuctl::testing
