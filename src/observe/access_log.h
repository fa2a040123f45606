// The access log (reference §1.6, §6.2): one line per request in Traefik's common, genericCLF
// or JSON format, with its filters (statusCodes, retryAttempts, minDuration) and field modes
// (fields.defaultMode/names, fields.headers.defaultMode/names, fields.queryParameters).
//
// Writing never blocks a worker: the worker formats the line and pushes it into its own
// bounded queue (ByteRing); a writer thread drains every queue into the file. When a queue is
// full the line is dropped and counted (the writer logs the count). reopen() (SIGUSR1) makes
// the writer reopen the file, for logrotate.
//
// Secrets never appear in clear: Authorization, Proxy-Authorization, Cookie and Set-Cookie are
// REDACTED even when headers are kept, and control characters are escaped so a value cannot
// forge a line.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/observability_config.h"
#include "exchange/exchange.h"
#include "observe/access_log_format.h"
#include "observe/byte_ring.h"

namespace causeway::observe {

enum class LogFormat { Common, GenericClf, Json };
enum class HeaderMode { Keep, Drop, Redact };

struct AccessLogOptions {
  LogFormat format = LogFormat::Common;
  std::string filePath;  // empty: standard output
  // Filters: a line is kept when any configured filter matches (none configured: all kept).
  bool filtered = false;
  std::vector<std::pair<int, int>> statusRanges;
  bool retryAttempts = false;
  int64_t minDurationNanos = 0;
  // Fields.
  FieldMask keep = kAllFields;
  HeaderMode headersDefault = HeaderMode::Drop;
  std::map<std::string, HeaderMode> headerModes;  // by canonical name
  bool keepQuery = true;
  size_t queueBytes = 1 << 20;  // per worker

  // From the static configuration; problems (unknown format, bad status range) are
  // appended to `warnings` as Traefik logs them, and the defaults apply.
  static AccessLogOptions from(const config::AccessLog& config, std::vector<std::string>& warnings);
  HeaderMode modeOf(std::string_view canonicalName) const;
  bool keepLine(int status, int retries, int64_t durationNanos) const;
};

// "200", "300-302" → inclusive ranges; false with `error` on a malformed entry.
bool parseStatusRanges(const std::vector<std::string>& codes, std::vector<std::pair<int, int>>& out,
                       std::string& error);

class AccessLog {
 public:
  AccessLog(AccessLogOptions options, std::vector<std::string> entryPointNames, unsigned workers);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Opens the file and starts the writer thread. False with `error` when the file cannot be
  // opened (a FIFO without a reader yet is opened by the writer once one appears).
  bool start(std::string& error);
  // Writes what is queued (giving up on a destination that takes nothing for `timeout`) and
  // stops the writer.
  void stop(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
  // SIGUSR1: the writer reopens the file (no-op on standard output).
  void reopen() { reopen_.store(true, std::memory_order_release); }

  // Worker thread: logs one finished exchange.
  void log(const exchange::Exchange& ex);
  // Worker thread: one line for a TCP connection or UDP session that ended: RequestMethod and
  // RequestProtocol "TCP"/"UDP", RequestHost the SNI, RequestContentSize the bytes from the
  // client, DownstreamContentSize those to it, OriginStatus/DownstreamStatus 0.
  void logLayer4(const exchange::Layer4Record& record);
  // Worker thread: formats a record into the worker's queue (what log() does after gathering).
  void push(unsigned worker, const LogRecord& record);

  uint64_t dropped() const;
  const AccessLogOptions& options() const { return options_; }
  // accessLog.otlp: every kept line also goes to `sink` (with its record), on the worker
  // thread; with `fileToo` false (no dualOutput) the file or stdout gets nothing. Before start().
  void setOtlpSink(std::function<void(const LogRecord&, std::string_view line)> sink, bool fileToo) {
    otlpSink_ = std::move(sink);
    fileToo_ = fileToo;
  }

 private:
  struct WorkerState;
  void writerLoop();
  // Opens filePath non-blocking; -1 with `error` empty for a FIFO without a reader yet.
  int openFile(std::string& error);
  // Writer: the queued lines of every worker, merged in request order.
  size_t collectLines(std::string& out);
  void collectHeaders(const http::Headers& headers, bool request, std::vector<LogHeader>& out) const;

  AccessLogOptions options_;
  std::function<void(const LogRecord&, std::string_view line)> otlpSink_;
  bool fileToo_ = true;
  std::vector<std::string> entryPoints_;
  std::vector<std::unique_ptr<WorkerState>> workers_;
  bool anyHeaders_ = false;  // some header may be kept or redacted
  int fd_ = -1;
  bool ownsFd_ = false;
  std::thread writer_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> stopDeadline_{0};  // steady clock ticks: the writer gives up then
  std::atomic<bool> reopen_{false};
  std::atomic<int> localOffset_{0};
  std::atomic<uint64_t> requestCount_{0};
};

// Seconds east of UTC of the local time zone now.
int localUtcOffset();

}  // namespace causeway::observe
