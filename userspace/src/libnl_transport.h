// LibnlTransport: GenlTransport over a libnl-genl-3 socket.
#pragma once

#include <linux/netlink.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "egpu_gate.h"
#include "genl_transport.h"

struct nl_sock;

namespace egpuctl {

// The extended-ack TLVs of an NLMSG_ERROR (or ack) message.
struct ExtAck {
  std::string message;                  // NLMSGERR_ATTR_MSG
  std::optional<uint32_t> offset;       // NLMSGERR_ATTR_OFFS
  std::optional<uint32_t> missingType;  // NLMSGERR_ATTR_MISS_TYPE (Linux >= 6.0)
  bool operator==(const ExtAck&) const = default;
};

// Parses the TLVs after the nlmsgerr of `hdr` (type NLMSG_ERROR, nlmsg_len
// bytes readable at hdr), or after the error code of a dump's NLMSG_DONE.
// Empty when the kernel sent none.  Pure.
ExtAck parse_ext_ack(const nlmsghdr* hdr);

// One line for the user: the kernel's message, else what the other TLVs
// say; empty when there is nothing to say.
std::string describe_ext_ack(const ExtAck& ack);

class LibnlTransport : public GenlTransport {
 public:
  // `timeout` bounds each wait for a reply.  `family` and `version` are
  // egpu_gate's; tests talk to the kernel's own "nlctrl" family instead (a
  // missing family is reported as module_not_loaded() either way).
  explicit LibnlTransport(std::chrono::milliseconds timeout = std::chrono::seconds(10),
                          std::string family = EGPU_GATE_GENL_NAME,
                          uint8_t version = EGPU_GATE_GENL_VERSION);
  ~LibnlTransport() override;
  LibnlTransport(const LibnlTransport&) = delete;
  LibnlTransport& operator=(const LibnlTransport&) = delete;

  std::vector<Bytes> transact(uint8_t cmd, const Bytes& attrs, const char* what) override;
  std::vector<Bytes> dump(uint8_t cmd, const Bytes& attrs, const char* what) override;

 private:
  // One request with nlmsg flags `flags` (NLM_F_ACK or NLM_F_DUMP).
  std::vector<Bytes> exchange(uint8_t cmd, const Bytes& attrs, const char* what, int flags);

  // Opens the socket and resolves the family on first use.
  void connect(const char* what);

  std::chrono::milliseconds timeout_;
  std::string family_name_;
  uint8_t version_;
  nl_sock* sock_ = nullptr;
  int family_ = -1;
};

}  // namespace egpuctl
