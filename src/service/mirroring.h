// The mirroring service (Traefik's pkg/server/service/loadbalancer/mirror): the request goes
// to the main service, and a copy goes to each mirror whose share is due. A mirror with
// `percent` p gets exactly p% of the requests over time (deterministic counters, shared by
// the workers). Mirror copies run in the background on the worker that took the request,
// after the main service has answered; the main path never waits for them and their
// responses are read and discarded.
//
// Bodies: with mirrorBody (default) the request body is read ahead into memory (Traefik's
// behaviour; maxBodySize -1 = no limit) so the main service and every mirror get it; a body
// over maxBodySize goes to the main service only, streamed on, and is not mirrored. With
// mirrorBody false mirrors get the request without its body. Upgrade (WebSocket) requests
// are not mirrored.
//
// Bounded: at most kMaxMirrorJobs mirror copies per worker per mirroring service are in
// flight; beyond that a request is served without mirroring.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "service/service.h"
#include "service/weighted.h"

namespace causeway::service {

struct MirrorTarget {
  std::string name;
  int percent = 0;  // 0..100
  exchange::HandlerPtr handler;
};

class MirroringService final : public ServiceHandler,
                               public std::enable_shared_from_this<MirroringService> {
 public:
  static constexpr size_t kMaxMirrorJobs = 1024;

  MirroringService(std::string name, ServiceChild main, std::vector<MirrorTarget> mirrors,
                   bool mirrorBody, int64_t maxBodySize, unsigned workers);
  awaitable<void> handle(exchange::Exchange& ex) const override;
  // The main service's status (Traefik propagates it through a mirroring service).
  bool up() const override { return !main_.health || main_.health->up(); }

  // Called when a background mirror job ends (on the worker that ran it).
  void jobDone(unsigned worker) const { --slots_[worker].jobs; }

 private:
  struct alignas(64) Slot {
    size_t jobs = 0;  // mirror jobs in flight on this worker
  };
  // Which mirrors take this request (Traefik's getActiveMirrors).
  std::vector<exchange::HandlerPtr> dueMirrors() const;

  std::string name_;
  ServiceChild main_;
  std::vector<MirrorTarget> mirrors_;
  bool mirrorBody_;
  int64_t maxBodySize_;
  mutable std::mutex mutex_;  // guards the counters below (process-wide shares)
  mutable uint64_t total_ = 0;
  mutable std::vector<uint64_t> counts_;
  std::unique_ptr<Slot[]> slots_;  // per worker
};

}  // namespace causeway::service
