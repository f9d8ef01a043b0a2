#include "file_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cerrno>
#include <fstream>
#include <sstream>

namespace egpuctl {

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

class RealFileTree : public FileTree {
 public:
  explicit RealFileTree(std::string root) : root_(std::move(root)) {
    while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
    if (root_ == "/") root_.clear();
  }

  std::optional<std::string> read(const std::string& path) const override {
    // sysfs attributes report a size of 4096; read until EOF.
    const int fd = ::open(full(path).c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return std::nullopt;
    std::string s;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ::close(fd);
        return std::nullopt;
      }
      if (n == 0) break;
      s.append(buf, static_cast<size_t>(n));
      if (s.size() > (1u << 24)) break;
    }
    ::close(fd);
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

  int replace(const std::string& path, const std::string& content, unsigned mode) override {
    const std::string target = full(path);
    std::string tmp = target + ".XXXXXX";
    const int fd = ::mkstemp(tmp.data());
    if (fd < 0) return errno;
    int err = 0;
    for (size_t done = 0; done < content.size() && err == 0;) {
      const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0)
        err = errno;
      else
        done += static_cast<size_t>(n);
    }
    if (err == 0 && ::fchmod(fd, static_cast<mode_t>(mode)) < 0) err = errno;
    if (err == 0 && ::fsync(fd) < 0) err = errno;
    if (::close(fd) < 0 && err == 0) err = errno;
    if (err == 0 && ::rename(tmp.c_str(), target.c_str()) < 0) err = errno;
    if (err != 0) ::unlink(tmp.c_str());
    return err;
  }

  std::string root() const override { return root_.empty() ? "/" : root_; }

 private:
  std::string full(const std::string& path) const { return root_ + path; }
  std::string root_;
};

}  // namespace

std::unique_ptr<FileTree> make_real_file_tree(std::string root) {
  return std::make_unique<RealFileTree>(std::move(root));
}

}  // namespace egpuctl
