// Test helpers for the codec tests (tests only): Attrs builds a generic
// netlink attribute stream with libnl, as the kernel would send it, and
// error_of() returns the message of the Error a decoder throws.
#pragma once

#include <gtest/gtest.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "error.h"
#include "genl_codec.h"

namespace egpuctl::testing {

class Attrs {
 public:
  Attrs() : msg_(nlmsg_alloc(), nlmsg_free) {}
  Attrs& str(int type, const char* s) { return check(nla_put_string(msg_.get(), type, s)); }
  Attrs& u8(int type, uint8_t v) { return check(nla_put_u8(msg_.get(), type, v)); }
  Attrs& u16(int type, uint16_t v) { return check(nla_put_u16(msg_.get(), type, v)); }
  Attrs& u32(int type, uint32_t v) { return check(nla_put_u32(msg_.get(), type, v)); }
  // The kernel pads 64-bit attributes with EGPU_A_PAD to align them; libnl
  // does not (the decoders accept both).
  Attrs& u64(int type, uint64_t v) { return check(nla_put_u64(msg_.get(), type, v)); }
  Attrs& flag(int type) { return check(nla_put_flag(msg_.get(), type)); }
  Attrs& raw(int type, const void* data, int len) {
    return check(nla_put(msg_.get(), type, len, data));
  }
  // A nest, marked NLA_F_NESTED as the kernel's nla_nest_start() does.
  Attrs& nest(int type, const std::function<void(Attrs&)>& body) {
    nlattr* n = nla_nest_start(msg_.get(), type);
    EXPECT_NE(n, nullptr);
    body(*this);
    nla_nest_end(msg_.get(), n);
    n->nla_type |= NLA_F_NESTED;
    return *this;
  }
  // The attributes (the message's payload).
  Bytes bytes() const {
    nlmsghdr* h = nlmsg_hdr(msg_.get());
    auto* d = static_cast<const uint8_t*>(nlmsg_data(h));
    return Bytes(d, d + nlmsg_datalen(h));
  }

 private:
  Attrs& check(int rc) {
    EXPECT_EQ(rc, 0);
    return *this;
  }
  std::unique_ptr<nl_msg, void (*)(nl_msg*)> msg_;
};

// The message of the Error (exit code 1) `f` throws; a test failure and ""
// when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 1);
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return {};
}

}  // namespace egpuctl::testing
