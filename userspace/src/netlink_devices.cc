#include "netlink_devices.h"

#include <fmt/format.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <poll.h>

#include <cerrno>

#include "egpu_gate.h"
#include "error.h"
#include "libnl_transport.h"
#include "tb_codec.h"

namespace egpuctl {

NetlinkDeviceControl::NetlinkDeviceControl(std::unique_ptr<GenlTransport> transport)
    : transport_(std::move(transport)) {}

std::vector<TbDevice> NetlinkDeviceControl::tbDevices() {
  std::vector<TbDevice> devices;
  for (const Bytes& reply : transport_->dump(EGPU_CMD_TB_GET, {}, "list Thunderbolt devices"))
    devices.push_back(decode_tb(reply));
  return devices;
}

void NetlinkDeviceControl::tbAuthorize(const std::string& name) {
  transport_->transact(EGPU_CMD_TB_AUTHORIZE, encode_tb_name(name),
                       "authorize Thunderbolt device");
}

void NetlinkDeviceControl::tbDeauthorize(const std::string& name) {
  transport_->transact(EGPU_CMD_TB_DEAUTHORIZE, encode_tb_name(name),
                       "de-authorize Thunderbolt device");
}

std::vector<TeardownStep> NetlinkDeviceControl::teardownPlan() {
  std::vector<TeardownStep> steps;
  for (const Bytes& reply : transport_->dump(EGPU_CMD_TEARDOWN_PLAN, {}, "get the teardown plan"))
    steps.push_back(decode_step(reply));
  return steps;
}

std::unique_ptr<DeviceControl> make_netlink_device_control() {
  return std::make_unique<NetlinkDeviceControl>(std::make_unique<LibnlTransport>());
}

// --- events ------------------------------------------------------------------

namespace {

constexpr const char kWhat[] = "receive events";

struct Batch {
  int family;
  std::vector<Event>* out;
  std::string error;
};

int on_event(nl_msg* msg, void* arg) {
  auto* b = static_cast<Batch*>(arg);
  nlmsghdr* hdr = nlmsg_hdr(msg);
  if (hdr->nlmsg_type != b->family || !genlmsg_valid_hdr(hdr, 0)) return NL_SKIP;
  auto* g = static_cast<genlmsghdr*>(nlmsg_data(hdr));
  if (g->cmd != EGPU_CMD_EVENT) return NL_SKIP;
  const auto* data = reinterpret_cast<const uint8_t*>(genlmsg_attrdata(g, 0));
  try {
    b->out->push_back(decode_event({data, static_cast<size_t>(genlmsg_attrlen(g, 0))}));
  } catch (const Error& e) {
    b->error = e.what();
  }
  return NL_OK;
}

}  // namespace

LibnlEventSource::~LibnlEventSource() {
  if (sock_ != nullptr) nl_socket_free(sock_);
}

void LibnlEventSource::subscribe() {
  if (sock_ != nullptr) return;
  std::unique_ptr<nl_sock, void (*)(nl_sock*)> sk(nl_socket_alloc(), nl_socket_free);
  if (!sk) throw local_error(kWhat, "cannot allocate a netlink socket");
  if (int rc = genl_connect(sk.get()); rc < 0)
    throw local_error(kWhat, fmt::format("cannot open a generic netlink socket: {}",
                                         nl_geterror(-rc)));
  nl_socket_disable_seq_check(sk.get());
  const int family = genl_ctrl_resolve(sk.get(), EGPU_GATE_GENL_NAME);
  if (family == -NLE_OBJ_NOTFOUND) throw module_not_loaded();
  if (family < 0)
    throw local_error(kWhat, fmt::format("cannot resolve family {}: {}", EGPU_GATE_GENL_NAME,
                                         nl_geterror(-family)));
  const int group = genl_ctrl_resolve_grp(sk.get(), EGPU_GATE_GENL_NAME, EGPU_GATE_MCGRP_EVENTS);
  if (group < 0)
    throw local_error(kWhat,
                      fmt::format("module egpu_gate has no multicast group '{}' (update the "
                                  "module: egpuctl and the module must be of the same version)",
                                  EGPU_GATE_MCGRP_EVENTS));
  if (int rc = nl_socket_add_membership(sk.get(), group); rc < 0)
    throw kernel_error(kWhat, EPERM, nl_geterror(-rc));
  if (int rc = nl_socket_set_nonblocking(sk.get()); rc < 0)
    throw local_error(kWhat, fmt::format("cannot make the socket non-blocking: {}",
                                         nl_geterror(-rc)));
  family_ = family;
  sock_ = sk.release();
}

bool LibnlEventSource::wait(std::chrono::milliseconds timeout, std::vector<Event>& out) {
  subscribe();
  pollfd p{.fd = nl_socket_get_fd(sock_), .events = POLLIN, .revents = 0};
  const int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (n < 0 && errno == EINTR) return false;
  if (n < 0) throw local_error(kWhat, fmt::format("poll: {}", errno_text(errno)));
  if (n == 0) return false;
  std::unique_ptr<nl_cb, void (*)(nl_cb*)> cb(nl_cb_alloc(NL_CB_DEFAULT), nl_cb_put);
  if (!cb) throw local_error(kWhat, "out of memory");
  Batch b{family_, &out, {}};
  // Notifications carry sequence number 0: this callback set is new, so
  // the socket's disabled sequence check does not apply to it.
  nl_cb_set(cb.get(), NL_CB_SEQ_CHECK, NL_CB_CUSTOM,
            [](nl_msg*, void*) -> int { return NL_OK; }, nullptr);
  nl_cb_set(cb.get(), NL_CB_VALID, NL_CB_CUSTOM, on_event, &b);
  const size_t before = out.size();
  const int rc = nl_recvmsgs(sock_, cb.get());
  if (rc < 0 && rc != -NLE_AGAIN && rc != -NLE_INTR) {
    if (rc == -NLE_NOMEM)  // ENOBUFS: the kernel dropped events
      throw local_error(kWhat, "events were lost (receive buffer overrun); run monitor again");
    throw local_error(kWhat, fmt::format("cannot receive: {}", nl_geterror(-rc)));
  }
  if (!b.error.empty()) throw Error(ExitCode::kFailure, b.error);
  return out.size() > before;
}

}  // namespace egpuctl
