#include "service/mirroring.h"

#include "http/go_text.h"

#include "core/log.h"
#include "io/failures.h"
#include "exchange/local_reply.h"

namespace causeway::service {
namespace {

// A request copied out of the exchange, sent to the due mirrors one after the other.
struct MirrorJob {
  MirrorJob(exchange::WorkerContext& w, const exchange::ConnectionInfo& c) : worker(w), connection(c) {}
  exchange::WorkerContext& worker;
  exchange::ConnectionInfo connection;
  std::shared_ptr<const MirroringService> owner;
  std::vector<exchange::HandlerPtr> mirrors;
  std::shared_ptr<const std::string> body;  // null: no body
  Arena requestArena;
  exchange::Request request;  // views into requestArena
};

awaitable<void> runMirrorJob(std::unique_ptr<MirrorJob> job) {
  struct Done {
    MirrorJob& job;
    ~Done() { job.owner->jobDone(job.worker.index()); }
  } done{*job};
  for (const exchange::HandlerPtr& mirror : job->mirrors) {
    Arena arena;
    exchange::Exchange sub(job->worker, arena, job->connection);
    sub.request = job->request;
    if (job->body) sub.request.body = arena.make<exchange::MemoryBody>(*job->body);
    sub.record.start = Clock::now();
    co_await mirror->handle(sub);
    // The answer is discarded; reading it to its end returns the connection to the pool.
    if (exchange::BodySource* body = sub.response.body; body && !sub.response.tunnel) {
      while (!body->finished()) {
        exchange::BodyChunk chunk = co_await body->read();
        if (chunk.error || chunk.last) break;
      }
    }
    // Coroutines beside the exchange (an HTTP/2 body pump) end before its arena goes.
    if (!sub.background.empty()) co_await sub.background.join();
  }
}

}  // namespace

MirroringService::MirroringService(std::string name, ServiceChild main,
                                   std::vector<MirrorTarget> mirrors, bool mirrorBody,
                                   int64_t maxBodySize, unsigned workers)
    : name_(std::move(name)), main_(std::move(main)), mirrors_(std::move(mirrors)),
      mirrorBody_(mirrorBody), maxBodySize_(maxBodySize), counts_(mirrors_.size(), 0),
      slots_(std::make_unique<Slot[]>(std::max(workers, 1u))) {}

std::vector<exchange::HandlerPtr> MirroringService::dueMirrors() const {
  std::vector<exchange::HandlerPtr> due;
  std::lock_guard lock(mutex_);
  ++total_;
  for (size_t i = 0; i < mirrors_.size(); ++i) {
    if (counts_[i] * 100 < total_ * uint64_t(mirrors_[i].percent)) {
      ++counts_[i];
      due.push_back(mirrors_[i].handler);
    }
  }
  return due;
}

awaitable<void> MirroringService::handle(exchange::Exchange& ex) const {
  unsigned worker = ex.worker.index();
  if (mirrors_.empty() || ex.request.upgrade) {
    co_await main_.handler->handle(ex);
    co_return;
  }
  if (slots_[worker].jobs >= kMaxMirrorJobs) {
    log::debug("No mirroring, too many mirror requests in flight", {{"service", name_}});
    co_await main_.handler->handle(ex);
    co_return;
  }
  std::vector<exchange::HandlerPtr> due = dueMirrors();
  if (due.empty()) {
    co_await main_.handler->handle(ex);
    co_return;
  }

  exchange::BodySource* original = ex.request.body;
  std::shared_ptr<std::string> body;
  if (mirrorBody_ && original) {
    body = std::make_shared<std::string>();
    // The exchange keeps the bytes alive for the main service's MemoryBody.
    ex.arena.make<std::shared_ptr<std::string>>(body);
    exchange::ReadResult read = co_await exchange::readBody(*original, *body, maxBodySize_);
    if (read == exchange::ReadResult::Failed) {
      exchange::errorReply(ex, 500, http::reasonPhrase(500));
      ex.response.closeConnection = true;
      co_return;
    }
    if (read == exchange::ReadResult::TooLarge) {
      log::debug("No mirroring, request body larger than allowed size", {{"service", name_}});
      ex.request.body = ex.arena.make<exchange::PrefixedBody>(*body, original, original->length());
      co_await main_.handler->handle(ex);
      ex.request.body = original;
      co_return;
    }
    ex.request.body = ex.arena.make<exchange::MemoryBody>(*body);
  }

  // The mirrors get the request as it reached this service, whatever the main path does to it.
  auto job = std::make_unique<MirrorJob>(ex.worker, ex.connection);
  job->owner = shared_from_this();
  job->mirrors = std::move(due);
  job->body = std::move(body);
  job->request = exchange::copyRequest(ex.request, job->requestArena);
  ++slots_[worker].jobs;

  co_await main_.handler->handle(ex);
  ex.request.body = original;

  asio::co_spawn(ex.worker.io(), runMirrorJob(std::move(job)), io::logFailures("mirror request failed"));
}

}  // namespace causeway::service
