// Encoding of egpu_gate requests and decoding of its replies: pure
// functions over netlink attribute buffers (no socket), so they can be unit
// tested and fuzzed.  The attribute tree is documented in egpu_gate.h.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "control.h"
#include "egpu_gate.h"

namespace egpuctl {

// A sequence of netlink attributes (the payload after the genlmsghdr).
using Bytes = std::vector<uint8_t>;

// Decodes a GET_STATUS reply from its attribute table (tb[type] = last
// attribute of that type or null; tb has EGPU_A_MAX + 1 entries).  Every
// present attribute must have exactly its type's size.  Throws Error
// (exit code 1) when EGPU_A_VERSION or EGPU_A_API_VERSION is missing or an
// attribute is malformed.  Attributes unknown to this egpuctl are ignored.
Status decode_status(const nlattr* const tb[]);

// Same, from the raw attribute stream of the reply.  Any byte sequence is
// safe to pass (this is the fuzzing entry point).
Status decode_status(std::span<const uint8_t> attrs);

// Encodes the attributes of a SET_CONFIG request (one EGPU_A_CONFIG nest
// with NLA_F_NESTED, holding the members that are set).  Throws a usage
// Error when `change` is empty.
Bytes encode_config_change(const ConfigChange& change);

// Decodes one message of a GPU_GET dump (one EGPU_A_GPU nest).  Throws
// Error (exit code 1) when the nest or one of BDF, vendor, device, family
// is missing or an attribute is malformed; unknown attributes are ignored.
// Any byte sequence is safe to pass.
Gpu decode_gpu(std::span<const uint8_t> attrs);

// The attributes of a GPU_RESET request: EGPU_A_GPU { BDF, [FORCE] }.
Bytes encode_gpu_reset(const std::string& bdf, bool force);

// The attributes of a GPU_ID_ADD / _DEL request: EGPU_A_GPU { VENDOR,
// DEVICE, FAMILY }.
Bytes encode_gpu_id(const GpuId& id);

// Fills tb[0..maxtype] from the attribute stream; later duplicates win,
// types above maxtype are ignored.  Throws Error when the stream is
// truncated.  `what` names the stream in the message.
void parse_attrs(std::span<const uint8_t> attrs, int maxtype, const nlattr* tb[],
                 const char* what);

}  // namespace egpuctl
