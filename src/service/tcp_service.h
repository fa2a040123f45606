// TCP services (Traefik's tcp.services; docs/tcp-udp.md): a loadBalancer dials one of its
// servers and pipes bytes both ways; weighted picks a child service by weight. Both are
// exchange::TcpHandlers built once per snapshot and shared by every worker.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "exchange/tcp_handler.h"
#include "upstream/health/state.h"
#include "upstream/tcp_dial.h"

namespace causeway::service {

// A smooth weighted round-robin order (nginx's), computed once, walked with an atomic
// position: thread-safe and lock-free. Weights ≤ 0 are never picked.
class WeightedSchedule {
 public:
  explicit WeightedSchedule(const std::vector<int>& weights);
  bool empty() const { return order_.empty(); }
  size_t next() const { return order_[position_.fetch_add(1, std::memory_order_relaxed) % order_.size()]; }
  const std::vector<uint32_t>& order() const { return order_; }

 private:
  std::vector<uint32_t> order_;
  mutable std::atomic<uint64_t> position_{0};
};

struct TcpServerTarget {
  upstream::ServerAddress address;
  int weight = 1;
  std::shared_ptr<upstream::ServerHealth> health;  // null: always UP
};

class TcpLoadBalancer final : public exchange::TcpHandler {
 public:
  TcpLoadBalancer(std::string name, std::vector<TcpServerTarget> servers,
                  std::shared_ptr<const upstream::TcpTransport> transport);
  awaitable<void> serve(exchange::TcpSession& session) const override;

 private:
  std::string name_;
  std::vector<TcpServerTarget> servers_;
  std::shared_ptr<const upstream::TcpTransport> transport_;
  WeightedSchedule schedule_;
};

class TcpWeighted final : public exchange::TcpHandler {
 public:
  TcpWeighted(std::vector<exchange::TcpHandlerPtr> children, const std::vector<int>& weights)
      : children_(std::move(children)), schedule_(weights) {}
  awaitable<void> serve(exchange::TcpSession& session) const override;

 private:
  std::vector<exchange::TcpHandlerPtr> children_;
  WeightedSchedule schedule_;
};

// Copies bytes both ways until both directions end. When one side ends its sending (EOF),
// the other side's sending is shut down and it gets `terminationDelay` to finish (negative:
// unlimited; enforced by `watchdog`, so to its tick's precision); an error on either side
// ends both. Between two plain sockets a direction that carries a stream moves to splice(2).
// Counts the bytes each way.
awaitable<void> pipeTcp(exchange::DuplexStream& client, exchange::DuplexStream& upstream,
                        std::chrono::nanoseconds terminationDelay, io::Watchdog* watchdog, uint64_t& fromClient,
                        uint64_t& toClient);

}  // namespace causeway::service
