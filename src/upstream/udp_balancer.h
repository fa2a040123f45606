// The contract of UDP routing (Traefik's udp.routers/services; docs/tcp-udp.md): a UDP
// router has no rule; its service picks the server a new client session is sent to. The
// sessions themselves live in downstream/udp_listener; service/udp_service implements it.
#pragma once

#include <memory>

#include "upstream/tcp_dial.h"

namespace causeway::upstream {

class UdpBalancer {
 public:
  virtual ~UdpBalancer() = default;
  // The server for a new session, or nullptr when there is none. Thread-safe.
  virtual const ServerAddress* pick() const = 0;
};
using UdpBalancerPtr = std::shared_ptr<const UdpBalancer>;

}  // namespace causeway::upstream
