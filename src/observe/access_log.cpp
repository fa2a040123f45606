#include "observe/access_log.h"

#include <fcntl.h>
#include <poll.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "core/log.h"
#include "core/strings.h"
#include "exchange/trace_notes.h"
#include "http/go_text.h"
#include "observe/request_facts.h"
#include "observe/text_format.h"
#include "observe/trace_context.h"
#include "runtime/entry_point.h"
#include "runtime/worker.h"

namespace causeway::observe {
namespace {

using SteadyClock = std::chrono::steady_clock;

HeaderMode parseMode(std::string_view text, HeaderMode fallback) {
  if (text == "keep") return HeaderMode::Keep;
  if (text == "drop") return HeaderMode::Drop;
  if (text == "redact") return HeaderMode::Redact;
  return fallback;
}

std::string subjectText(X509* cert) {
  std::string out;
  X509_NAME* name = cert ? X509_get_subject_name(cert) : nullptr;
  if (!name) return out;
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio) return out;
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  if (length > 0) out.assign(data, size_t(length));
  BIO_free(bio);
  return out;
}

}  // namespace

struct AccessLog::WorkerState {
  explicit WorkerState(size_t bytes) : ring(bytes) {}
  ByteRing ring;
  std::atomic<uint64_t> dropped{0};
  std::string line;
  std::string path, port, cipher, subject, traceId, spanId;
  std::vector<LogHeader> requestHeaders, responseHeaders;
  std::string scratch;
  alignas(64) char end = 0;
};

int localUtcOffset() {
  time_t now = time(nullptr);
  struct tm local {};
  localtime_r(&now, &local);
  return int(local.tm_gmtoff);
}

bool parseStatusRanges(const std::vector<std::string>& codes, std::vector<std::pair<int, int>>& out,
                       std::string& error) {
  out.clear();
  for (const auto& code : codes) {
    std::string_view text = trim(code);
    size_t dash = text.find('-');
    std::string_view low = text.substr(0, dash);
    std::string_view high = dash == std::string_view::npos ? low : text.substr(dash + 1);
    int a = 0, b = 0;
    auto r1 = std::from_chars(low.data(), low.data() + low.size(), a);
    auto r2 = std::from_chars(high.data(), high.data() + high.size(), b);
    if (low.empty() || high.empty() || r1.ec != std::errc() || r1.ptr != low.data() + low.size() ||
        r2.ec != std::errc() || r2.ptr != high.data() + high.size() || high.find('-') != std::string_view::npos) {
      error = "invalid status code range \"" + code + "\"";
      out.clear();
      return false;
    }
    out.emplace_back(a, b);
  }
  return true;
}

AccessLogOptions AccessLogOptions::from(const config::AccessLog& c, std::vector<std::string>& warnings) {
  AccessLogOptions o;
  o.filePath = c.filePath;
  if (c.format == "common") o.format = LogFormat::Common;
  else if (c.format == "genericCLF") o.format = LogFormat::GenericClf;
  else if (c.format == "json") o.format = LogFormat::Json;
  else warnings.push_back("Unsupported access log format: \"" + c.format + "\", defaulting to common format instead.");
  if (c.filters) {
    std::string error;
    if (!parseStatusRanges(c.filters->statusCodes, o.statusRanges, error))
      warnings.push_back("Failed to create new HTTP code ranges: " + error);
    o.retryAttempts = c.filters->retryAttempts;
    o.minDurationNanos = c.filters->minDuration.value.count();
    o.filtered = !o.statusRanges.empty() || o.retryAttempts || o.minDurationNanos > 0;
  }
  bool defaultKeep = c.fields.defaultMode != "drop";
  o.keep = defaultKeep ? kAllFields : 0;
  for (const auto& [name, mode] : c.fields.names) {
    LogField field;
    if (!logFieldByName(name, field)) continue;
    bool keep = mode == "keep" ? true : mode == "drop" ? false : defaultKeep;
    if (keep) o.keep |= bit(field);
    else o.keep &= ~bit(field);
  }
  o.headersDefault = parseMode(c.fields.headers.defaultMode, HeaderMode::Keep);
  for (const auto& [name, mode] : c.fields.headers.names)
    o.headerModes[http::canonicalHeaderKey(name)] = parseMode(mode, o.headersDefault);
  o.keepQuery = c.fields.queryParameters.defaultMode != "drop";
  if (c.bufferingSize > 0)
    o.queueBytes = size_t(std::clamp<int64_t>(c.bufferingSize * 1024, 1 << 20, int64_t(64) << 20));
  return o;
}

HeaderMode AccessLogOptions::modeOf(std::string_view canonicalName) const {
  auto it = headerModes.find(std::string(canonicalName));
  return it == headerModes.end() ? headersDefault : it->second;
}

bool AccessLogOptions::keepLine(int status, int retries, int64_t durationNanos) const {
  if (!filtered) return true;
  for (const auto& [low, high] : statusRanges)
    if (status >= low && status <= high) return true;
  if (retryAttempts && retries > 0) return true;
  if (minDurationNanos > 0 && durationNanos > minDurationNanos) return true;
  return false;
}

AccessLog::AccessLog(AccessLogOptions options, std::vector<std::string> entryPointNames, unsigned workers)
    : options_(std::move(options)), entryPoints_(std::move(entryPointNames)) {
  for (unsigned i = 0; i < std::max(workers, 1u); ++i)
    workers_.push_back(std::make_unique<WorkerState>(options_.queueBytes));
  anyHeaders_ = options_.headersDefault != HeaderMode::Drop;
  for (const auto& [name, mode] : options_.headerModes) anyHeaders_ = anyHeaders_ || mode != HeaderMode::Drop;
  localOffset_.store(localUtcOffset());
}

AccessLog::~AccessLog() { stop(); }

int AccessLog::openFile(std::string& error) {
  // Non-blocking: a FIFO without a reader fails with ENXIO instead of waiting, and a
  // destination that stops reading makes write() return EAGAIN instead of holding the writer.
  std::filesystem::path path(options_.filePath);
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  int fd = ::open(options_.filePath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK, 0664);
  if (fd < 0) {
    if (errno == ENXIO) return -1;  // a FIFO nobody reads yet: try again later
    error = "error opening file " + options_.filePath + ": " + std::strerror(errno);
  }
  return fd;
}

bool AccessLog::start(std::string& error) {
  if (options_.filePath.empty()) {
    fd_ = STDOUT_FILENO;  // shared with causeway's own log: left blocking
    ownsFd_ = false;
  } else {
    fd_ = openFile(error);
    if (fd_ < 0 && !error.empty()) return false;
    ownsFd_ = true;
  }
  writer_ = std::thread([this] { writerLoop(); });
  return true;
}

void AccessLog::stop(std::chrono::milliseconds timeout) {
  if (!writer_.joinable()) return;
  stopDeadline_.store(SteadyClock::now().time_since_epoch().count() +
                          std::chrono::duration_cast<SteadyClock::duration>(timeout).count(),
                      std::memory_order_relaxed);
  stopping_.store(true, std::memory_order_release);
  // The writer gives up on a stalled destination at the deadline.
  writer_.join();
  if (ownsFd_ && fd_ >= 0) ::close(fd_);
  fd_ = -1;
  uint64_t lost = 0;
  for (auto& w : workers_) w->ring.drain([&](std::string_view, std::string_view) { ++lost; });
  if (lost) log::warn("access log: the destination took nothing; lines lost at shutdown", {{"lines", lost}});
}

uint64_t AccessLog::dropped() const {
  uint64_t total = 0;
  for (const auto& w : workers_) total += w->dropped.load(std::memory_order_relaxed);
  return total;
}

size_t AccessLog::collectLines(std::string& out) {
  // Each worker's queue is in order; lines of different workers are merged by their request
  // number so the file reads in completion order.
  struct Source {
    std::string bytes;
    std::vector<std::pair<uint64_t, std::pair<size_t, size_t>>> lines;  // (number, (offset, size))
    size_t next = 0;
  };
  thread_local std::vector<Source> sources;
  sources.resize(workers_.size());
  size_t total = 0;
  for (size_t i = 0; i < workers_.size(); ++i) {
    Source& source = sources[i];
    source.bytes.clear();
    source.lines.clear();
    source.next = 0;
    workers_[i]->ring.drain([&](std::string_view a, std::string_view b) {
      std::string record(a);
      record.append(b);
      if (record.size() < sizeof(uint64_t)) return;
      uint64_t number;
      std::memcpy(&number, record.data(), sizeof number);
      source.lines.push_back({number, {source.bytes.size(), record.size() - sizeof number}});
      source.bytes.append(record, sizeof number);
    }, 4096);
    total += source.lines.size();
  }
  for (size_t emitted = 0; emitted < total; ++emitted) {
    Source* best = nullptr;
    for (auto& source : sources)
      if (source.next < source.lines.size() &&
          (!best || source.lines[source.next].first < best->lines[best->next].first))
        best = &source;
    auto [offset, size] = best->lines[best->next++].second;
    out.append(best->bytes, offset, size);
  }
  return total;
}

void AccessLog::writerLoop() {
  std::string pending;
  size_t written = 0;
  auto lastHousekeeping = SteadyClock::now();
  uint64_t reportedDrops = 0;
  bool failed = false;
  int idle = 0;
  auto giveUp = [&] {
    return stopping_.load(std::memory_order_acquire) &&
           SteadyClock::now().time_since_epoch().count() >= stopDeadline_.load(std::memory_order_relaxed);
  };
  while (true) {
    const bool stopping = stopping_.load(std::memory_order_acquire);
    auto now = SteadyClock::now();
    if (now - lastHousekeeping >= std::chrono::seconds(1)) {
      lastHousekeeping = now;
      localOffset_.store(localUtcOffset(), std::memory_order_relaxed);
      uint64_t drops = dropped();
      if (drops != reportedDrops) {
        log::warn("access log: lines dropped (the destination does not keep up)",
                  {{"dropped", drops - reportedDrops}, {"total", drops}, {"filePath", options_.filePath}});
        reportedDrops = drops;
      }
      if (fd_ < 0 && !options_.filePath.empty()) {
        std::string error;
        fd_ = openFile(error);  // a FIFO that had no reader
      }
    }
    if (reopen_.exchange(false, std::memory_order_acq_rel) && !options_.filePath.empty()) {
      std::string error;
      int fd = openFile(error);
      if (fd >= 0 || error.empty()) {
        if (ownsFd_ && fd_ >= 0) ::close(fd_);
        fd_ = fd;
        failed = false;
      } else {
        log::error("access log: cannot reopen the file", {{"error", error}});
      }
    }
    if (written == pending.size()) {
      pending.clear();
      written = 0;
      if (fd_ >= 0) collectLines(pending);  // without a destination yet, lines wait in the queues
    }
    if (written < pending.size()) {
      idle = 0;
      // Wait (briefly) until the destination takes bytes: the writer never sleeps in write(),
      // so housekeeping goes on and stop() is honoured even when nobody reads.
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, 50) <= 0) {
        if (giveUp()) break;
        continue;
      }
      size_t size = pending.size() - written;
      // Standard output stays blocking (it is shared with causeway's log): after POLLOUT a
      // pipe takes at least a page without blocking.
      if (fd_ == STDOUT_FILENO) size = std::min<size_t>(size, 4096);
      ssize_t n = ::write(fd_, pending.data() + written, size);
      if (n > 0) {
        written += size_t(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (giveUp()) break;
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        if (!failed)
          log::error("access log: write failed", {{"filePath", options_.filePath}, {"error", std::strerror(errno)}});
        failed = true;
        written = pending.size();  // drop it
      }
      continue;
    }
    if (stopping) {
      bool empty = true;
      for (auto& w : workers_) empty = empty && w->ring.empty();
      if (empty || fd_ < 0 || giveUp()) break;
      continue;
    }
    idle = std::min(idle + 1, 5);
    std::this_thread::sleep_for(std::chrono::milliseconds(1 << (idle - 1)));  // 1 ms .. 16 ms
  }
}

void AccessLog::collectHeaders(const http::Headers& headers, bool request, std::vector<LogHeader>& out) const {
  out.clear();
  std::string name;
  for (const auto& field : headers) {
    name.clear();
    http::appendCanonicalHeaderKey(name, field.name);
    if (request && name == "Host") continue;  // Go keeps it out of Header
    auto it = std::find_if(out.begin(), out.end(), [&](const LogHeader& h) { return h.name == name; });
    if (it != out.end()) {
      it->value.push_back(',');
      it->value.append(field.value);
    } else {
      out.push_back({name, std::string(field.value)});
    }
  }
  std::erase_if(out, [&](LogHeader& h) {
    HeaderMode mode = options_.modeOf(h.name);
    if (mode == HeaderMode::Drop) return true;
    if (mode == HeaderMode::Redact || secretHeader(h.name)) h.value = "REDACTED";
    return false;
  });
  std::sort(out.begin(), out.end(), [](const LogHeader& a, const LogHeader& b) { return a.name < b.name; });
}

void AccessLog::logLayer4(const exchange::Layer4Record& record) {
  const unsigned index = record.worker < workers_.size() ? record.worker : 0;
  WorkerState& w = *workers_[index];
  const int64_t duration =
      std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - record.start).count();
  const uint64_t count = requestCount_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (!options_.keepLine(0, 0, duration)) return;
  LogRecord r;
  r.startUnixNanos = std::chrono::duration_cast<std::chrono::nanoseconds>(record.startWall.time_since_epoch()).count();
  r.nowUnixNanos = r.startUnixNanos + duration;
  r.localOffset = localOffset_.load(std::memory_order_relaxed);
  r.durationNanos = duration;
  r.entryPointName = record.entryPoint;
  r.routerName = record.router;
  if (!record.upstream.empty()) {
    r.serviceName = record.service;
    r.serviceAddr = record.upstream;
    r.serviceUrl = record.upstream;
  }
  r.clientAddr = record.clientAddress;
  r.clientHost = record.clientIp;
  w.port.clear();
  appendDecimal(w.port, uint64_t(record.clientPort));
  r.clientPort = w.port;
  if (!record.serverName.empty()) {
    r.requestAddr = record.serverName;
    r.requestHost = record.serverName;
  }
  r.requestMethod = record.protocol;
  r.requestPath = "-";
  r.requestProtocol = record.protocol;
  r.requestScheme = record.protocol == "UDP" ? "udp" : "tcp";
  r.requestContentSize = record.bytesFromClient;
  r.downstreamContentSize = record.bytesToClient;
  r.originContentSize = record.bytesToClient;
  r.requestCount = count;
  r.tls = record.tls;
  push(index, r);
}

void AccessLog::log(const exchange::Exchange& ex) {
  const unsigned index = ex.worker.index() < workers_.size() ? ex.worker.index() : 0;
  WorkerState& w = *workers_[index];
  const exchange::RequestRecord& rec = ex.record;
  const exchange::Request& req = ex.request;
  const exchange::ConnectionInfo& conn = ex.connection;
  const auto steadyNow = SteadyClock::now();
  const int64_t duration = std::chrono::duration_cast<std::chrono::nanoseconds>(steadyNow - rec.start).count();
  const int status = ex.response.status;
  const uint64_t count = requestCount_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (!options_.keepLine(status, rec.retryAttempts, duration)) return;

  LogRecord r;
  r.startUnixNanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(rec.startWall.time_since_epoch()).count();
  r.nowUnixNanos = r.startUnixNanos + duration;
  r.localOffset = localOffset_.load(std::memory_order_relaxed);
  r.durationNanos = duration;
  r.routerName = rec.routerName;
  if (!rec.serviceUrl.empty()) {
    r.serviceName = rec.upstreamService.empty() ? rec.serviceName : rec.upstreamService;  // the innermost
    r.serviceUrl = rec.serviceUrl;
    std::string_view addr = rec.serviceUrl;
    if (size_t scheme = addr.find("://"); scheme != std::string_view::npos) addr.remove_prefix(scheme + 3);
    r.serviceAddr = addr.substr(0, addr.find('/'));
  }
  r.clientAddr = conn.peerAddress;
  r.clientHost = conn.peerIpText;
  w.port.clear();
  appendDecimal(w.port, uint64_t(conn.peerPort));
  r.clientPort = w.port;
  if (std::string_view forwarded = req.headers.get("X-Forwarded-For"); !forwarded.empty()) r.clientHost = forwarded;
  if (!rec.user.empty()) r.clientUsername = rec.user;
  if (!req.authority.empty()) {
    r.requestAddr = req.authority;
    auto [host, port] = splitHostPort(req.authority);
    r.requestHost = host;
    r.requestPort = port;
  }
  r.requestMethod = req.method;
  const exchange::ExchangeNotes* notes = rec.notes;
  w.path.assign(notes ? notes->path : req.path);
  bool hasQuery = notes ? notes->hasQuery : req.hasQuery;
  if (hasQuery && options_.keepQuery) {
    w.path.push_back('?');
    w.path.append(notes ? notes->query : req.query);
  }
  r.requestPath = w.path;
  r.requestProtocol = protoText(req);
  r.requestScheme = conn.tls ? "https" : "http";
  r.requestContentSize = rec.requestBytes;
  r.downstreamStatus = status;
  r.downstreamContentSize = rec.responseBytes;
  if (!rec.serviceUrl.empty()) {
    r.originStatus = rec.originStatus ? rec.originStatus : status;
    r.originContentSize = rec.responseBytes;
    if (rec.originStart != SteadyClock::time_point{})
      r.originDurationNanos =
          std::chrono::duration_cast<std::chrono::nanoseconds>(steadyNow - rec.originStart).count();
  }
  r.overheadNanos = duration - r.originDurationNanos;
  r.requestCount = count;
  r.retryAttempts = rec.retryAttempts;
  r.cacheStatus = rec.cacheStatus;
  if (const exchange::AiRecord* ai = rec.ai) {
    r.ai = true;
    r.aiProvider = ai->provider;
    r.aiRequestModel = ai->requestModel;
    r.aiResponseModel = ai->responseModel;
    r.aiCacheResult = ai->cacheResult;
    r.aiInputTokens = ai->inputTokens;
    r.aiOutputTokens = ai->outputTokens;
    r.aiCostUsd = ai->costUsd;
  }
  if (const exchange::ApiRecord* api = rec.api) {
    r.apiName = api->api;
    r.apiVersion = api->version;
    r.apiApplication = api->application;
    r.apiPlan = api->plan;
  }
  if (const exchange::McpRecord* mcp = rec.mcp) {
    r.mcp = true;
    r.mcpDecision = mcp->decision;
    r.mcpErrorCode = mcp->errorCode;
    r.mcpMethod = mcp->method;
    r.mcpName = mcp->name;
    r.mcpRule = mcp->rule;
    r.mcpSessionId = mcp->sessionId;
  }
  if (conn.tls) {
    r.tls = true;
    r.tlsVersion = tlsVersionLabel(conn.tlsVersion);
    w.cipher = cipherLabel(conn.tlsCipher);
    r.tlsCipher = w.cipher;
    if (conn.peerCertificate) {
      w.subject = subjectText(conn.peerCertificate);
      r.tlsClientSubject = w.subject;
    }
  }
  if (notes && notes->traced) {
    w.traceId.clear();
    appendHex(w.traceId, notes->traceId.data(), notes->traceId.size());
    w.spanId.clear();
    appendHex(w.spanId, notes->serverSpan.data(), notes->serverSpan.size());
    r.traceId = w.traceId;
    r.spanId = w.spanId;
  }
  r.entryPointName = conn.entryPoint && conn.entryPoint->index < entryPoints_.size()
                         ? std::string_view(entryPoints_[conn.entryPoint->index])
                         : std::string_view();
  if (anyHeaders_) {
    collectHeaders(req.headers, true, w.requestHeaders);
    collectHeaders(ex.response.headers, false, w.responseHeaders);
    r.requestHeaders = &w.requestHeaders;
    r.downstreamHeaders = &w.responseHeaders;
  }
  push(index, r);
}

void AccessLog::push(unsigned worker, const LogRecord& record) {
  WorkerState& w = *workers_[worker < workers_.size() ? worker : 0];
  w.line.assign(sizeof record.requestCount, '\0');
  std::memcpy(w.line.data(), &record.requestCount, sizeof record.requestCount);  // merge order
  switch (options_.format) {
    case LogFormat::Common: formatCommon(record, options_.keep, w.line); break;
    case LogFormat::GenericClf: formatGenericClf(record, options_.keep, w.line); break;
    case LogFormat::Json: formatJson(record, options_.keep, w.line); break;
  }
  if (otlpSink_) {
    std::string_view line = std::string_view(w.line).substr(sizeof record.requestCount);
    while (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    otlpSink_(record, line);
    if (!fileToo_) return;
  }
  if (!w.ring.push(w.line)) w.dropped.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace causeway::observe
