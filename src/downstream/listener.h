// One worker's listening sockets: one per TCP entryPoint (a QuicListener more with http3, and a UdpListener per UDP one), bound with SO_REUSEPORT so that
// every worker accepts on the same port and the kernel spreads connections between them.
// Accepted sockets are served on the worker that accepted them (downstream/connection.h).
#pragma once

#include <memory>
#include <vector>

#include "downstream/quic_listener.h"
#include "downstream/udp_listener.h"
#include "io/asio.h"
#include "runtime/entry_point.h"
#include "runtime/worker.h"

namespace causeway::downstream {

class Listener {
 public:
  // `workers`: how many workers listen on the same ports (the connection cap is shared).
  Listener(runtime::Worker& worker, unsigned workers) : worker_(worker), workers_(workers ? workers : 1) {}
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Binds a socket per entryPoint. Throws on failure (at start-up only).
  void bind(const std::vector<const runtime::EntryPoint*>& entryPoints);
  // Starts the accept loops on the worker's event loop (before or after the worker starts).
  void start();
  // Closes the listening sockets, on the worker thread.
  void close();
  // The QUIC sockets (entryPoints with http3), in entryPoint order: the same on every worker.
  std::vector<QuicListener*> quicListeners() const;

 private:
  awaitable<void> acceptLoop(tcp::acceptor& acceptor, const runtime::EntryPoint& entryPoint);

  runtime::Worker& worker_;
  unsigned workers_;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
  std::vector<const runtime::EntryPoint*> entryPoints_;
  std::vector<std::unique_ptr<UdpListener>> udp_;
  std::vector<std::unique_ptr<QuicListener>> quic_;
};

}  // namespace causeway::downstream
