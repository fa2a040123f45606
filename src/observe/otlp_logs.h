// accessLog.otlp and log.otlp: log records pushed to an OpenTelemetry collector over OTLP/HTTP
// with the JSON encoding of ExportLogsServiceRequest (POST <endpoint>/v1/logs). Any thread may
// add a record (a mutex around a bounded list: these are opt-in, and a record is one short
// string); a thread of the pusher's own sends what is pending every second, or sooner once
// 512 records wait. Records beyond 8,192 waiting are dropped and counted.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "observe/http_post.h"

namespace causeway::observe {

class LogPusher {
 public:
  LogPusher(std::unique_ptr<HttpPost> client, std::string resourceAttributesJson, std::string scopeName);
  ~LogPusher();
  LogPusher(const LogPusher&) = delete;
  LogPusher& operator=(const LogPusher&) = delete;

  void start();
  // Sends what is pending, then stops.
  void stop();

  // One record. severityNumber follows OTLP (5 DEBUG, 9 INFO, 13 WARN, 17 ERROR, 21 FATAL).
  void add(int64_t timeUnixNanos, int severityNumber, std::string_view severityText, std::string_view body,
           const std::vector<std::pair<std::string_view, std::string_view>>& attributes);

  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // True on the pusher's own thread (its own error lines are not pushed again).
  static bool onPusherThread();

 private:
  void run();
  void send(std::vector<std::string>& records);

  std::unique_ptr<HttpPost> client_;
  std::string resource_;
  std::string scope_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::string> pending_;  // encoded logRecord objects
  bool stopping_ = false;
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace causeway::observe
