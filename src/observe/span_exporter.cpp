#include "observe/span_exporter.h"

#include <cstdlib>

#include "core/log.h"
#include "core/strings.h"
#include "observe/otlp_json.h"

namespace causeway::observe {
namespace {

using SteadyClock = std::chrono::steady_clock;

void readMillis(const char* name, std::chrono::milliseconds& out) {
  if (const char* text = std::getenv(name))
    if (auto value = parseDecimal(trim(text))) out = std::chrono::milliseconds(*value);
}

void readCount(const char* name, size_t& out) {
  if (const char* text = std::getenv(name))
    if (auto value = parseDecimal(trim(text)); value && *value > 0) out = size_t(*value);
}

}  // namespace

void ExporterOptions::applyEnvironment() {
  readMillis("OTEL_BSP_SCHEDULE_DELAY", scheduleDelay);
  readMillis("OTEL_EXPORTER_OTLP_TIMEOUT", exportTimeout);
  readMillis("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", exportTimeout);
  readCount("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", maxBatch);
  readCount("OTEL_BSP_MAX_QUEUE_SIZE", maxQueue);
  if (maxBatch > maxQueue) maxBatch = maxQueue;
}

SpanExporter::SpanExporter(ExporterOptions options, std::unique_ptr<HttpPost> client, unsigned workers)
    : options_(std::move(options)), client_(std::move(client)) {
  // Room for the whole queue in each worker's ring (about 2 KiB per span).
  size_t bytes = std::clamp<size_t>(options_.maxQueue * 2048, 64 << 10, 32 << 20);
  for (unsigned i = 0; i < std::max(workers, 1u); ++i) rings_.push_back(std::make_unique<ByteRing>(bytes));
}

SpanExporter::~SpanExporter() { stop(); }

void SpanExporter::start() {
  lastExport_ = SteadyClock::now();
  thread_ = std::thread([this] { run(); });
}

void SpanExporter::stop(std::chrono::milliseconds timeout) {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    stopDeadline_ = SteadyClock::now() + timeout;
  }
  wake_.notify_all();
  // The last exports are bounded by the deadline, so the thread ends in time.
  thread_.join();
}

bool SpanExporter::enqueue(unsigned worker, std::string_view spans, uint8_t count) {
  ByteRing& ring = *rings_[worker < rings_.size() ? worker : 0];
  char prefix = char(count);
  if (ring.push(std::string_view(&prefix, 1), spans)) return true;
  dropped_.fetch_add(count, std::memory_order_relaxed);
  return false;
}

void SpanExporter::run() {
  while (true) {
    bool stopping;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, std::chrono::milliseconds(20), [this] { return stopping_; });
      stopping = stopping_;
    }
    if (stopping && SteadyClock::now() >= stopDeadline_) {
      if (pendingCount_) log::warn("tracing: spans not exported before shutdown", {{"spans", pendingCount_}});
      break;
    }
    // Take what the workers queued, up to the exporter's own queue size.
    for (auto& ring : rings_) {
      ring->drain([&](std::string_view a, std::string_view b) {
        std::string record(a);
        record.append(b);
        if (record.empty()) return;
        size_t count = uint8_t(record[0]);
        if (pendingCount_ + count > options_.maxQueue) {
          dropped_.fetch_add(count, std::memory_order_relaxed);
          return;
        }
        record.erase(0, 1);
        pending_.emplace_back(std::move(record), count);
        pendingCount_ += count;
      });
    }
    auto now = SteadyClock::now();
    if (pendingCount_ > 0 &&
        (stopping || pendingCount_ >= options_.maxBatch || now - lastExport_ >= options_.scheduleDelay)) {
      while (pendingCount_ >= options_.maxBatch || (pendingCount_ > 0 && (stopping || now - lastExport_ >= options_.scheduleDelay)))
        exportBatch();
    } else if (pendingCount_ == 0) {
      lastExport_ = now;
    }
    if (stopping && pendingCount_ == 0) {
      bool empty = true;
      for (auto& ring : rings_) empty = empty && ring->empty();
      if (empty) break;
    }
  }
}

void SpanExporter::exportBatch() {
  // Spans are grouped per request; one request's spans always go together.
  std::string spans;
  size_t count = 0;
  while (!pending_.empty() && (count == 0 || count + pending_.front().second <= options_.maxBatch)) {
    if (!spans.empty()) spans.push_back(',');
    spans.append(pending_.front().first);
    count += pending_.front().second;
    pending_.pop_front();
  }
  pendingCount_ -= count;
  std::string body;
  appendExportRequest(body, options_.resourceAttributes, options_.scopeName, spans);
  lastExport_ = SteadyClock::now();
  std::string error;
  auto timeout = options_.exportTimeout;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(stopDeadline_ - SteadyClock::now());
      timeout = std::clamp(left, std::chrono::milliseconds(1), timeout);
    }
  }
  int status = client_->post("application/json", body, timeout, error);
  if (status >= 200 && status < 300) {
    exported_.fetch_add(count, std::memory_order_relaxed);
    return;
  }
  dropped_.fetch_add(count, std::memory_order_relaxed);
  auto now = SteadyClock::now();
  if (now - lastFailureLog_ >= std::chrono::seconds(10)) {
    lastFailureLog_ = now;
    if (status) error = "the collector answered " + std::to_string(status);
    log::error("tracing: exporting spans failed", {{"endpoint", client_->endpoint().authority},
                                                    {"error", error},
                                                    {"spans", count}});
  }
}

}  // namespace causeway::observe
