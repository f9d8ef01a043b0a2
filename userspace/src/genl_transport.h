// GenlTransport: request/reply exchange with the egpu_gate generic netlink
// family, as an abstract interface (the real one is LibnlTransport; tests
// use fakes).  Requests and replies are attribute streams (see genl_codec.h).
#pragma once

#include <cstdint>
#include <vector>

#include "genl_codec.h"

namespace egpuctl {

class GenlTransport {
 public:
  virtual ~GenlTransport() = default;

  // Sends command `cmd` (EGPU_CMD_*) with the attribute stream `attrs`,
  // requests an ack and waits for it.  Returns the attribute streams of the
  // replies received before the ack (none for commands that only ack).
  // Throws Error: module_not_loaded() when the family does not exist,
  // kernel_error(what, errno, extack) when the kernel refuses the request,
  // local_error() for socket failures and timeouts.  `what` names the
  // operation in messages ("get status").
  virtual std::vector<Bytes> transact(uint8_t cmd, const Bytes& attrs, const char* what) = 0;

  // Same for a dump request (NLM_F_DUMP): returns the attribute streams of
  // every message of the dump, up to its NLMSG_DONE.  An error the kernel
  // reports at the start or in the NLMSG_DONE is thrown like transact()'s.
  virtual std::vector<Bytes> dump(uint8_t cmd, const Bytes& attrs, const char* what) = 0;
};

}  // namespace egpuctl
