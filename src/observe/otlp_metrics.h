// metrics.otlp: Traefik's metrics pushed to an OpenTelemetry collector over OTLP/HTTP with the
// JSON encoding of ExportMetricsServiceRequest, every pushInterval, from a thread of its own.
// The numbers come from a Metrics instance of their own (OTLP's labels options and
// explicitBoundaries), rendered in the text exposition and converted: counters become
// cumulative monotonic sums, gauges gauges, histograms cumulative histograms with per-bucket
// counts. Names are Traefik's (the same as for Prometheus).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "observe/http_post.h"

namespace causeway::observe {

// The text exposition (format 0.0.4) of `text` as an ExportMetricsServiceRequest in JSON.
// `resourceAttributesJson` is an OTLP attribute array; times are Unix nanoseconds.
std::string prometheusTextToOtlpJson(std::string_view text, std::string_view resourceAttributesJson,
                                     std::string_view scopeName, int64_t startUnixNanos, int64_t nowUnixNanos);

class MetricsPusher {
 public:
  // `render` returns the current text exposition; called on the pusher's thread.
  MetricsPusher(std::function<std::string()> render, std::unique_ptr<HttpPost> client,
                std::chrono::nanoseconds interval, std::string resourceAttributesJson);
  ~MetricsPusher();
  MetricsPusher(const MetricsPusher&) = delete;
  MetricsPusher& operator=(const MetricsPusher&) = delete;

  void start();
  // Pushes once more (the last numbers), then stops.
  void stop();

 private:
  void run();
  void push();

  std::function<std::string()> render_;
  std::unique_ptr<HttpPost> client_;
  std::chrono::nanoseconds interval_;
  std::string resource_;
  int64_t startUnixNanos_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

}  // namespace causeway::observe
