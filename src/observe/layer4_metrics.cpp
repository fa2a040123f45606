#include "observe/layer4_metrics.h"

#include <array>
#include <mutex>

#include "observe/label_families.h"

namespace causeway::observe {
namespace {

constexpr std::array<double, 12> kDurationBuckets = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300, 3600};

}  // namespace

struct Layer4Metrics::Worker {
  std::mutex mutex;
  struct Protocol {
    std::map<std::string, double> connections, bytes;
    Family duration;
  } tcp, udp;

  template <class Map>
  static bool room(const Map& family, const std::string& labels) {
    return family.size() < kMaxSeries || family.count(labels) > 0;
  }
};

Layer4Metrics::Layer4Metrics(unsigned workers) {
  for (unsigned i = 0; i < std::max(workers, 1u); ++i) workers_.push_back(std::make_unique<Worker>());
}

Layer4Metrics::~Layer4Metrics() = default;

void Layer4Metrics::record(const exchange::Layer4Record& r) {
  Worker& w = *workers_[r.worker < workers_.size() ? r.worker : 0];
  std::string base;
  appendLabel(base, "entrypoint", r.entryPoint);
  appendLabel(base, "router", r.router);
  appendLabel(base, "service", r.service);
  std::string counted = base, in = base, out = base;
  appendLabel(counted, "result", r.error.empty() ? "ok" : "error");
  appendLabel(in, "direction", "in");
  appendLabel(out, "direction", "out");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - r.start).count();
  std::lock_guard lock(w.mutex);
  Worker::Protocol& p = r.protocol == "UDP" ? w.udp : w.tcp;
  if (Worker::room(p.connections, counted)) p.connections[counted] += 1;
  if (Worker::room(p.duration, base)) p.duration[base].observe(kDurationBuckets, seconds);
  if (Worker::room(p.bytes, in)) p.bytes[in] += double(r.bytesFromClient);
  if (Worker::room(p.bytes, out)) p.bytes[out] += double(r.bytesToClient);
}

void Layer4Metrics::render(std::string& out) const {
  Worker::Protocol tcp, udp;
  for (const auto& worker : workers_) {
    std::lock_guard lock(worker->mutex);
    for (auto [mine, from] : {std::pair{&tcp, &worker->tcp}, std::pair{&udp, &worker->udp}}) {
      for (const auto& [labels, v] : from->connections) mine->connections[labels] += v;
      for (const auto& [labels, v] : from->bytes) mine->bytes[labels] += v;
      for (const auto& [labels, h] : from->duration) mine->duration[labels].add(h);
    }
  }
  renderCounter(out, "causeway_tcp_connections_total", "TCP connections served by a router, by result.",
                tcp.connections);
  renderHistogram(out, "causeway_tcp_connection_duration_seconds", "How long TCP connections served by a router lasted.",
                  kDurationBuckets, tcp.duration);
  renderCounter(out, "causeway_tcp_bytes_total", "Bytes of TCP connections, from the client (in) and to it (out).",
                tcp.bytes);
  renderCounter(out, "causeway_udp_sessions_total", "UDP sessions served by a router, by result.", udp.connections);
  renderHistogram(out, "causeway_udp_session_duration_seconds", "How long UDP sessions lasted, idle timeout included.",
                  kDurationBuckets, udp.duration);
  renderCounter(out, "causeway_udp_bytes_total", "Bytes of UDP sessions, from the client (in) and to it (out).",
                udp.bytes);
}

}  // namespace causeway::observe
