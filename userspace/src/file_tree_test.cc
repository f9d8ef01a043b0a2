// The real FileTree: atomic replacement with a failure injected at every
// system call, on a real temporary directory; the real CommandRunner.
#include "file_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "error.h"
#include "system.h"

namespace egpuctl {
namespace {

using ::testing::HasSubstr;

// Real system calls; the `fail_at`-th call of `fail_op` fails with `err`.
class FaultySyscalls : public Syscalls {
 public:
  std::string fail_op;
  int fail_at = 1, err = EIO;
  std::vector<std::string> log;

  bool fail(const char* op) {
    log.push_back(op);
    if (fail_op != op) return false;
    if (--fail_at != 0) return false;
    errno = err;
    return true;
  }
  int open(const char* p, int f, mode_t m) override { return fail("open") ? -1 : ::open(p, f, m); }
  ssize_t write(int fd, const void* b, size_t n) override {
    return fail("write") ? -1 : ::write(fd, b, n);
  }
  int fsync(int fd) override { return fail("fsync") ? -1 : ::fsync(fd); }
  int fchmod(int fd, mode_t m) override { return fail("fchmod") ? -1 : ::fchmod(fd, m); }
  int close(int fd) override {
    if (fail("close")) {
      ::close(fd);
      return -1;
    }
    return ::close(fd);
  }
  int rename(const char* a, const char* b) override {
    return fail("rename") ? -1 : ::rename(a, b);
  }
  int unlink(const char* p) override { return fail("unlink") ? -1 : ::unlink(p); }
  int mkdir(const char* p, mode_t m) override { return fail("mkdir") ? -1 : ::mkdir(p, m); }
  int stat(const char* p, struct stat* st) override { return fail("stat") ? -1 : ::stat(p, st); }
};

class Files : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/egpuctl-files-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir = tmpl;
    path = dir + "/etc/egpu-gate/policy.toml";
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::string slurp(const std::string& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // Names in the file's directory (no temporary files may be left).
  std::vector<std::string> entries() {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir + "/etc/egpu-gate"))
      names.push_back(e.path().filename());
    return names;
  }
  std::string dir, path;
};

TEST_F(Files, WriteCreatesDirectoriesAndReadsBack) {
  auto fs = make_real_file_tree("/");
  EXPECT_EQ(fs->read_file(path), std::nullopt);
  fs->write_atomic(path, "one\n", 0640, ExistingMode::kKeep);
  EXPECT_EQ(fs->read_file(path), "one\n");
  EXPECT_EQ(std::filesystem::status(path).permissions(),
            std::filesystem::perms(0640));
  // An existing file keeps its mode.
  fs->write_atomic(path, "two\n", 0600, ExistingMode::kKeep);
  EXPECT_EQ(slurp(path), "two\n");
  EXPECT_EQ(std::filesystem::status(path).permissions(), std::filesystem::perms(0640));
  EXPECT_EQ(entries(), std::vector<std::string>{"policy.toml"});
  fs->remove(path);
  EXPECT_EQ(fs->read_file(path), std::nullopt);
  fs->remove(path);  // absent: fine
}

TEST_F(Files, TheSequenceIsWriteFsyncRenameDirFsync) {
  FaultySyscalls sys;
  auto fs = make_real_file_tree("/", sys);
  fs->write_atomic(path, "x", 0644, ExistingMode::kKeep);
  sys.log.clear();
  fs->write_atomic(path, "y", 0644, ExistingMode::kKeep);
  EXPECT_EQ(sys.log, (std::vector<std::string>{"stat", "stat", "open", "write", "fchmod",
                                               "fsync", "close", "rename", "open", "fsync",
                                               "close"}));
}

struct Fault {
  const char* op;
  int at;                 // which call of op
  bool after_rename;      // new contents in place
  const char* message;
};

void PrintTo(const Fault& f, std::ostream* os) { *os << f.op << "#" << f.at; }

class FilesFault : public Files, public ::testing::WithParamInterface<Fault> {};

TEST_P(FilesFault, PreviousContentsStayAndNoTemporaryIsLeft) {
  {
    auto good = make_real_file_tree("/");
    good->write_atomic(path, "previous\n", 0644, ExistingMode::kKeep);
  }
  FaultySyscalls sys;
  sys.fail_op = GetParam().op;
  sys.fail_at = GetParam().at;
  sys.err = ENOSPC;
  auto fs = make_real_file_tree("/", sys);
  try {
    fs->write_atomic(path, "new\n", 0644, ExistingMode::kKeep);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(GetParam().message));
    EXPECT_THAT(e.what(), HasSubstr("No space left on device"));
    EXPECT_THAT(e.what(), HasSubstr(path));
  }
  EXPECT_EQ(slurp(path), GetParam().after_rename ? "new\n" : "previous\n");
  EXPECT_EQ(entries(), std::vector<std::string>{"policy.toml"});
}

INSTANTIATE_TEST_SUITE_P(
    EveryStep, FilesFault,
    ::testing::Values(Fault{"open", 1, false, "cannot create"},
                      Fault{"write", 1, false, "write failed"},
                      Fault{"fchmod", 1, false, "chmod failed"},
                      Fault{"fsync", 1, false, "fsync failed"},
                      Fault{"close", 1, false, "close failed"},
                      Fault{"rename", 1, false, "rename failed"},
                      Fault{"open", 2, true, "cannot open directory"},
                      Fault{"fsync", 2, true, "fsync of directory"}));

TEST_F(Files, MkdirFailure) {
  FaultySyscalls sys;
  sys.fail_op = "mkdir";
  sys.err = EACCES;
  auto fs = make_real_file_tree("/", sys);
  try {
    fs->write_atomic(path, "x", 0644, ExistingMode::kKeep);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot create directory"));
    EXPECT_THAT(e.what(), HasSubstr("Permission denied"));
  }
}

TEST_F(Files, ReadFailureOtherThanMissing) {
  FaultySyscalls sys;
  sys.fail_op = "open";
  sys.err = EACCES;
  auto fs = make_real_file_tree("/", sys);
  try {
    fs->read_file(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot open " + path + ": Permission denied"));
  }
}

TEST(RealRunner, CapturesOutputAndStatus) {
  auto r = make_real_runner();
  RunResult ok = r->run({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(ok.status, 3);
  EXPECT_THAT(ok.output, HasSubstr("out\n"));
  EXPECT_THAT(ok.output, HasSubstr("err\n"));
  RunResult missing = r->run({"/nonexistent/egpuctl-test-program"});
  EXPECT_EQ(missing.status, -1);
  EXPECT_THAT(missing.output, HasSubstr("cannot run /nonexistent/egpuctl-test-program"));
  RunResult killed = r->run({"sh", "-c", "kill -TERM $$"});
  EXPECT_EQ(killed.status, 128 + 15);
  RunResult slow = r->run({"sleep", "5"}, std::chrono::seconds(1));
  EXPECT_EQ(slow.status, 124);
}

}  // namespace
}  // namespace egpuctl
