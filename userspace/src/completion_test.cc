// The bash completion (../completion/egpuctl): sourced in bash against the
// built egpuctl and a sysfs tree in a temporary directory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

class Completion : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/egpuctl-compl-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    for (const char* d : {"bus/thunderbolt/devices/domain0", "bus/thunderbolt/devices/0-0",
                          "bus/thunderbolt/devices/0-1", "bus/thunderbolt/devices/1-301",
                          "bus/thunderbolt/devices/0-0:1.1", "bus/pci/devices/0000:30:00.0",
                          "bus/pci/devices/0000:30:00.1", "bus/pci/devices/0000:00:02.0"})
      std::filesystem::create_directories(root_ + "/" + d);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // COMPREPLY for the words (the last one is being completed).
  std::string complete(const std::string& words) {
    const std::string bin = std::filesystem::path(EGPUCTL_BINARY).parent_path();
    const std::string script =
        ". '" EGPUCTL_COMPLETION "'; PATH='" + bin + "':$PATH; COMP_WORDS=(" + words +
        "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _egpuctl; echo \"${COMPREPLY[*]}\"";
    std::ofstream(root_ + "/t.sh") << script;
    FILE* p = popen(("bash " + root_ + "/t.sh 2>&1").c_str(), "r");
    std::string out;
    std::array<char, 512> buf;
    while (fgets(buf.data(), buf.size(), p) != nullptr) out += buf.data();
    pclose(p);
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }
  std::string root_;
};

TEST_F(Completion, Subcommands) {
  EXPECT_THAT(complete("egpuctl ''"), ::testing::HasSubstr("status version gpu tb"));
  EXPECT_THAT(complete("egpuctl ''"), ::testing::HasSubstr("doctor pve-hook"));
  EXPECT_EQ(complete("egpuctl sh"), "shutdown-plan");
  EXPECT_THAT(complete("egpuctl tb ''"), ::testing::HasSubstr("list authorize deauthorize"));
  EXPECT_EQ(complete("egpuctl --json gpu re"), "reset reset-method");
  EXPECT_EQ(complete("egpuctl --json gpu i"), "ids");
  EXPECT_EQ(complete("egpuctl nothing ''"), "");
}

TEST_F(Completion, Options) {
  EXPECT_EQ(complete("egpuctl --sy"), "--sysfs-root");
  EXPECT_EQ(complete("egpuctl tb list --t"), "--tree");
  EXPECT_EQ(complete("egpuctl monitor --co"), "--count");
  EXPECT_EQ(complete("egpuctl policy apply --of"), "--offline");
}

TEST_F(Completion, ThunderboltNamesAndBdfsFromSysfs) {
  EXPECT_EQ(complete("egpuctl --sysfs-root " + root_ + " tb authorize ''"), "0-0 0-1 1-301");
  EXPECT_EQ(complete("egpuctl --sysfs-root=" + root_ + " tb deauthorize 1"), "1-301");
  EXPECT_EQ(complete("egpuctl --sysfs-root " + root_ + " gpu reset 0000:30"),
            "0000:30:00.0 0000:30:00.1");
  EXPECT_EQ(complete("egpuctl --sysfs-root " + root_ + " gpu reset-method 0000:30"),
            "0000:30:00.0 0000:30:00.1");
  EXPECT_EQ(complete("egpuctl gpu reset-method 0000:30:00.0 device_specific b"), "bus");
}

TEST_F(Completion, PveHookPhases) {
  EXPECT_EQ(complete("egpuctl pve-hook 100 post-"), "post-start post-stop");
  EXPECT_THAT(complete("egpuctl pve-hook ins"), "install");
}

}  // namespace
