// libFuzzer entry point for the reply decoders (opt-in, clang only):
//
//   CXX=clang++ cmake -S userspace -B build/fuzz -DEGPUCTL_FUZZ=ON -DEGPUCTL_TESTS=OFF
//   cmake --build build/fuzz --target egpuctl_decode_fuzz -j2
//   build/fuzz/egpuctl_decode_fuzz -max_total_time=60
//
// Input: any bytes.  They are decoded as a GET_STATUS attribute stream, as a
// GPU_GET, TB_RULE_GET and TB_GET dump message, a TEARDOWN_PLAN step, an
// EVENT notification, and as the payload of an NLMSG_ERROR message with
// extended-ack TLVs.
#include <linux/netlink.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "error.h"
#include "genl_codec.h"
#include "libnl_transport.h"
#include "tb_codec.h"
#include "tb_rule_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    egpuctl::decode_status(std::span<const uint8_t>(data, size));
  } catch (const egpuctl::Error&) {
  }
  try {
    egpuctl::decode_gpu(std::span<const uint8_t>(data, size));
  } catch (const egpuctl::Error&) {
  }
  try {
    egpuctl::decode_tb_rule(std::span<const uint8_t>(data, size));
  } catch (const egpuctl::Error&) {
  }
  try {
    egpuctl::decode_tb_device_info(std::span<const uint8_t>(data, size));
  } catch (const egpuctl::Error&) {
  }
  try {
    egpuctl::decode_tb(std::span<const uint8_t>(data, size));
  } catch (const egpuctl::Error&) {
  }
  try {
    egpuctl::decode_step(std::span<const uint8_t>(data, size));
  } catch (const egpuctl::Error&) {
  }
  try {
    egpuctl::decode_event(std::span<const uint8_t>(data, size));
  } catch (const egpuctl::Error&) {
  }
  // As an NLMSG_ERROR message: a header (whose length is the real length),
  // then the input.  Flags come from the first input byte.
  std::vector<uint32_t> buf((NLMSG_HDRLEN + size + 3) / 4);
  auto* hdr = reinterpret_cast<nlmsghdr*>(buf.data());
  hdr->nlmsg_len = static_cast<uint32_t>(NLMSG_HDRLEN + size);
  hdr->nlmsg_type = NLMSG_ERROR;
  hdr->nlmsg_flags = NLM_F_ACK_TLVS | (size > 0 && (data[0] & 1) ? NLM_F_CAPPED : 0);
  if (size > 0) std::memcpy(reinterpret_cast<uint8_t*>(buf.data()) + NLMSG_HDRLEN, data, size);
  (void)egpuctl::describe_ext_ack(egpuctl::parse_ext_ack(hdr));
  return 0;
}
