#include "libnl_transport.h"

#include <fmt/format.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/socket.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "egpu_gate.h"
#include "error.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

namespace egpuctl {
namespace {

struct MsgDeleter {
  void operator()(nl_msg* m) const { nlmsg_free(m); }
};
// The TLVs of an extended ack, `len` bytes at `base`.
ExtAck parse_ext_ack_tlvs(const uint8_t* base, size_t len);
struct CbDeleter {
  void operator()(nl_cb* cb) const { nl_cb_put(cb); }
};

// State of one request, shared with the libnl callbacks.
struct Exchange {
  std::vector<Bytes> replies;
  bool done = false;    // ack or error received
  int error = 0;        // positive errno from the kernel
  ExtAck extack;
  std::string invalid;  // a reply we could not use
};

int on_valid(nl_msg* msg, void* arg) {
  auto* ex = static_cast<Exchange*>(arg);
  nlmsghdr* hdr = nlmsg_hdr(msg);
  if (!genlmsg_valid_hdr(hdr, 0)) {
    ex->invalid = "reply without generic netlink header";
    return NL_SKIP;
  }
  auto* gnlh = static_cast<genlmsghdr*>(nlmsg_data(hdr));
  auto* data = reinterpret_cast<const uint8_t*>(genlmsg_attrdata(gnlh, 0));
  ex->replies.emplace_back(data, data + genlmsg_attrlen(gnlh, 0));
  return NL_OK;
}

int on_ack(nl_msg*, void* arg) {
  static_cast<Exchange*>(arg)->done = true;
  return NL_STOP;
}

// NLMSG_DONE of a dump: its payload is the dump's error code (0 or -errno),
// possibly followed by extended-ack TLVs.
int on_finish(nl_msg* msg, void* arg) {
  auto* ex = static_cast<Exchange*>(arg);
  ex->done = true;
  const nlmsghdr* hdr = nlmsg_hdr(msg);
  if (hdr->nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) {
    int err;
    std::memcpy(&err, NLMSG_DATA(hdr), sizeof err);
    if (err < 0) {
      ex->error = -err;
      ex->extack = parse_ext_ack(hdr);
    }
  }
  return NL_STOP;
}

int on_error(sockaddr_nl*, nlmsgerr* err, void* arg) {
  auto* ex = static_cast<Exchange*>(arg);
  ex->done = true;
  ex->error = -err->error;
  // libnl passes nlmsg_data() of the NLMSG_ERROR message; its header is
  // right before it, and libnl has checked nlmsg_len >= the nlmsgerr.
  auto* hdr = reinterpret_cast<const nlmsghdr*>(reinterpret_cast<const char*>(err) - NLMSG_HDRLEN);
  ex->extack = parse_ext_ack(hdr);
  return NL_STOP;
}

std::string nl_error_text(int nlerr) { return nl_geterror(nlerr < 0 ? -nlerr : nlerr); }

}  // namespace

ExtAck parse_ext_ack(const nlmsghdr* hdr) {
  ExtAck ack;
  if (!(hdr->nlmsg_flags & NLM_F_ACK_TLVS)) return ack;
  const size_t len = hdr->nlmsg_len;
  size_t off;
  if (hdr->nlmsg_type == NLMSG_DONE) {
    off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(int));
    if (len <= off) return ack;
    return parse_ext_ack_tlvs(reinterpret_cast<const uint8_t*>(hdr) + off, len - off);
  }
  if (hdr->nlmsg_type != NLMSG_ERROR) return ack;
  off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nlmsgerr));
  if (len < off) return ack;
  const auto* err = reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(hdr));
  // Unless capped, the request's payload follows the nlmsgerr.
  if (!(hdr->nlmsg_flags & NLM_F_CAPPED)) {
    if (err->msg.nlmsg_len < NLMSG_HDRLEN) return ack;
    off += NLMSG_ALIGN(err->msg.nlmsg_len - NLMSG_HDRLEN);
  }
  if (len <= off) return ack;
  return parse_ext_ack_tlvs(reinterpret_cast<const uint8_t*>(hdr) + off, len - off);
}

namespace {

ExtAck parse_ext_ack_tlvs(const uint8_t* base, size_t len) {
  ExtAck ack;
  const nlattr* tb[NLMSGERR_ATTR_MAX + 1];
  try {
    parse_attrs({base, len}, NLMSGERR_ATTR_MAX, tb, "extended ack");
  } catch (const Error&) {
    // Keep what was parsed before the damage.
  }
  if (const nlattr* a = tb[NLMSGERR_ATTR_MSG]; a && nla_len(a) > 0) {
    const char* s = static_cast<const char*>(nla_data(a));
    ack.message.assign(s, strnlen(s, static_cast<size_t>(nla_len(a))));
  }
  auto u32 = [](const nlattr* a) -> std::optional<uint32_t> {
    if (a == nullptr || nla_len(a) != 4) return std::nullopt;
    uint32_t v;
    std::memcpy(&v, nla_data(a), 4);
    return v;
  };
  ack.offset = u32(tb[NLMSGERR_ATTR_OFFS]);
  ack.missingType = u32(tb[NLMSGERR_ATTR_MISS_TYPE]);
  return ack;
}

}  // namespace

std::string describe_ext_ack(const ExtAck& ack) {
  std::string s = ack.message;
  if (ack.missingType) {
    if (!s.empty()) s += "; ";
    s += fmt::format("missing attribute {}", *ack.missingType);
  }
  if (s.empty() && ack.offset) s = fmt::format("invalid attribute at offset {}", *ack.offset);
  return s;
}

LibnlTransport::LibnlTransport(std::chrono::milliseconds timeout, std::string family,
                               uint8_t version)
    : timeout_(timeout), family_name_(std::move(family)), version_(version) {}

LibnlTransport::~LibnlTransport() {
  if (sock_ != nullptr) nl_socket_free(sock_);
}

void LibnlTransport::connect(const char* what) {
  if (sock_ != nullptr) return;
  nl_sock* sk = nl_socket_alloc();
  if (sk == nullptr) throw local_error(what, "cannot allocate a netlink socket");
  std::unique_ptr<nl_sock, void (*)(nl_sock*)> guard(sk, nl_socket_free);
  if (int rc = genl_connect(sk); rc < 0)
    throw local_error(what, "cannot open a generic netlink socket: " + nl_error_text(rc));
  const int fd = nl_socket_get_fd(sk);
  // Extended acks: the kernel's messages name the bad attribute.  Best
  // effort (older kernels lack them); capped acks keep errors short.
  const int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout_.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout_.count() % 1000) * 1000);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
    throw local_error(what, fmt::format("cannot set a receive timeout: {}", errno_text(errno)));
  const int family = genl_ctrl_resolve(sk, family_name_.c_str());
  if (family == -NLE_OBJ_NOTFOUND) throw module_not_loaded();
  if (family < 0)
    throw local_error(what, fmt::format("cannot resolve generic netlink family {}: {}",
                                        family_name_, nl_error_text(family)));
  family_ = family;
  sock_ = guard.release();
}

std::vector<Bytes> LibnlTransport::transact(uint8_t cmd, const Bytes& attrs, const char* what) {
  return exchange(cmd, attrs, what, NLM_F_ACK);
}

std::vector<Bytes> LibnlTransport::dump(uint8_t cmd, const Bytes& attrs, const char* what) {
  // No NLM_F_ACK: the NLMSG_DONE ends a dump (errors at its start still
  // come as NLMSG_ERROR).
  return exchange(cmd, attrs, what, NLM_F_DUMP);
}

std::vector<Bytes> LibnlTransport::exchange(uint8_t cmd, const Bytes& attrs, const char* what,
                                            int flags) {
  connect(what);
  std::unique_ptr<nl_msg, MsgDeleter> msg(nlmsg_alloc());
  if (!msg) throw local_error(what, "out of memory");
  if (genlmsg_put(msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family_, 0, flags, cmd, version_) ==
          nullptr ||
      (!attrs.empty() && nlmsg_append(msg.get(), const_cast<uint8_t*>(attrs.data()),
                                      attrs.size(), NLMSG_ALIGNTO) < 0))
    throw local_error(what, "cannot build the netlink message");

  std::unique_ptr<nl_cb, CbDeleter> cb(nl_cb_alloc(NL_CB_CUSTOM));
  if (!cb) throw local_error(what, "out of memory");
  Exchange ex;
  nl_cb_set(cb.get(), NL_CB_VALID, NL_CB_CUSTOM, on_valid, &ex);
  nl_cb_set(cb.get(), NL_CB_ACK, NL_CB_CUSTOM, on_ack, &ex);
  nl_cb_set(cb.get(), NL_CB_FINISH, NL_CB_CUSTOM, on_finish, &ex);
  nl_cb_err(cb.get(), NL_CB_CUSTOM, on_error, &ex);

  if (int rc = nl_send_auto(sock_, msg.get()); rc < 0) {
    // EPERM can only come from the kernel's reply, but be safe.
    throw local_error(what, "cannot send the request: " + nl_error_text(rc));
  }
  while (!ex.done) {
    const int rc = nl_recvmsgs_report(sock_, cb.get());
    if (ex.done) break;
    if (rc == 0) {
      // nl_recv() returns 0 when SO_RCVTIMEO expired.
      throw local_error(what, fmt::format("no answer from module egpu_gate within {} ms",
                                          timeout_.count()));
    }
    if (rc < 0) throw local_error(what, "cannot receive the reply: " + nl_error_text(rc));
  }
  if (ex.error != 0) throw kernel_error(what, ex.error, describe_ext_ack(ex.extack));
  if (!ex.invalid.empty()) throw malformed_reply(what, ex.invalid);
  return std::move(ex.replies);
}

}  // namespace egpuctl
