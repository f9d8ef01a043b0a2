#include "file_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <random>

#include "error.h"

namespace egpuctl {

std::optional<std::string> FileTree::read(const std::string& path) const {
  try {
    return read_file(path);
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::string base_name(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  const size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::optional<std::string> FileTree::attr(const std::string& path) const {
  std::optional<std::string> s = read(path);
  if (!s) return s;
  while (!s->empty() && (s->back() == '\n' || s->back() == ' ' || s->back() == '\0'))
    s->pop_back();
  return s;
}

std::optional<std::string> FileTree::link_name(const std::string& path) const {
  std::optional<std::string> t = readlink(path);
  if (!t) return t;
  return base_name(*t);
}

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

class RealFileTree : public FileTree {
 public:
  RealFileTree(std::string root, Syscalls& sys) : root_(std::move(root)), sys_(sys) {
    while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
    if (root_ == "/") root_.clear();
  }

  std::optional<std::string> read_file(const std::string& path) const override {
    // sysfs attributes report a size of 4096; read until EOF.
    const std::string p = full(path);
    const int fd = sys_.open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
    if (fd < 0) {
      if (errno == ENOENT) return std::nullopt;
      throw file_error("cannot open " + p, errno);
    }
    std::string s;
    char buf[65536];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int err = errno;
        sys_.close(fd);
        throw file_error("cannot read " + p, err);
      }
      if (n == 0) break;
      s.append(buf, static_cast<size_t>(n));
      if (s.size() > (1u << 24)) break;
    }
    sys_.close(fd);
    return s;
  }

  int write(const std::string& path, const std::string& value) override {
    const int fd = ::open(full(path).c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    ssize_t n;
    do {
      n = ::write(fd, value.data(), value.size());
    } while (n < 0 && errno == EINTR);
    const int err = n < 0 ? errno : 0;
    if (::close(fd) < 0 && err == 0 && errno != EINTR) return errno;
    return err;
  }

  std::vector<std::string> list(const std::string& path) const override {
    std::vector<std::string> names;
    DIR* d = ::opendir(full(path).c_str());
    if (d == nullptr) return names;
    while (const dirent* e = ::readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
  }

  std::optional<std::string> readlink(const std::string& path) const override {
    char buf[4096];
    const ssize_t n = ::readlink(full(path).c_str(), buf, sizeof buf);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
  }

  bool exists(const std::string& path) const override {
    struct stat st;
    return ::stat(full(path).c_str(), &st) == 0 || ::lstat(full(path).c_str(), &st) == 0;
  }

  void write_atomic(const std::string& tree_path, std::string_view content, mode_t mode,
                    ExistingMode existing) override {
    const std::string path = full(tree_path);
    const std::string dir = dir_of(path);
    mkdirs(dir);
    struct stat st;
    if (existing == ExistingMode::kKeep && sys_.stat(path.c_str(), &st) == 0)
      mode = st.st_mode & 07777;
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
      return file_error(what + ": " + step + " (" + tmp + " removed; " + path + " unchanged)",
                        err);
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

  void remove(const std::string& tree_path) override {
    const std::string path = full(tree_path);
    if (sys_.unlink(path.c_str()) != 0) {
      if (errno == ENOENT) return;
      throw file_error("cannot remove " + path, errno);
    }
    fsync_dir(dir_of(path), "removed " + path);
  }

  std::string root() const override { return root_.empty() ? "/" : root_; }

 private:
  std::string full(const std::string& path) const { return root_ + path; }

  void mkdirs(const std::string& dir) {
    struct stat st;
    if (dir.empty() || sys_.stat(dir.c_str(), &st) == 0) return;
    mkdirs(dir_of(dir));
    if (sys_.mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
      throw file_error("cannot create directory " + dir, errno);
  }

  void fsync_dir(const std::string& dir, const std::string& what) {
    const int fd = sys_.open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0) throw file_error(what + ": cannot open directory " + dir, errno);
    if (sys_.fsync(fd) != 0) {
      const int err = errno;
      sys_.close(fd);
      throw file_error(what + ": fsync of directory " + dir + " failed", err);
    }
    sys_.close(fd);
  }

  std::string root_;
  Syscalls& sys_;
};

}  // namespace

Syscalls& real_syscalls() {
  static RealSyscalls sys;
  return sys;
}

std::unique_ptr<FileTree> make_real_file_tree(std::string root, Syscalls& sys) {
  return std::make_unique<RealFileTree>(std::move(root), sys);
}

}  // namespace egpuctl
