// The background exporter of spans (OpenTelemetry's batch span processor + OTLP/HTTP JSON
// exporter). Workers hand it encoded spans through their own bounded queue and never wait; its
// thread batches them (OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
// OTEL_BSP_MAX_QUEUE_SIZE, OTEL_EXPORTER_OTLP_TIMEOUT, with the SDK's defaults) and POSTs
// them to <endpoint>/v1/traces. Spans that do not fit a queue are dropped and counted.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "observe/byte_ring.h"
#include "observe/http_post.h"

namespace causeway::observe {

struct ExporterOptions {
  std::chrono::milliseconds scheduleDelay{5000};
  std::chrono::milliseconds exportTimeout{10000};
  size_t maxBatch = 512;  // spans per request
  size_t maxQueue = 2048; // spans waiting in the exporter
  std::string resourceAttributes = "[]";  // JSON array (resourceAttributesJson)
  std::string scopeName = "github.com/traefik/traefik";

  // Reads the OTEL_BSP_* / OTEL_EXPORTER_OTLP_*TIMEOUT variables over the defaults.
  void applyEnvironment();
};

class SpanExporter {
 public:
  SpanExporter(ExporterOptions options, std::unique_ptr<HttpPost> client, unsigned workers);
  ~SpanExporter();
  SpanExporter(const SpanExporter&) = delete;
  SpanExporter& operator=(const SpanExporter&) = delete;

  void start();
  // Exports what is queued (within `timeout`; what is left then is dropped) and stops the
  // thread.
  void stop(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

  // Worker thread: queues `count` encoded spans (joined with commas); false when dropped.
  bool enqueue(unsigned worker, std::string_view spans, uint8_t count);

  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  uint64_t exported() const { return exported_.load(std::memory_order_relaxed); }

 private:
  void run();
  void exportBatch();

  ExporterOptions options_;
  std::unique_ptr<HttpPost> client_;
  std::vector<std::unique_ptr<ByteRing>> rings_;
  // Requests' encoded spans waiting for export, with their span counts (exporter thread).
  std::deque<std::pair<std::string, size_t>> pending_;
  size_t pendingCount_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point stopDeadline_{};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> exported_{0};
  std::chrono::steady_clock::time_point lastExport_{};
  std::chrono::steady_clock::time_point lastFailureLog_{};
};

}  // namespace causeway::observe
