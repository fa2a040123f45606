#include "observe/otlp_logs.h"

#include "core/log.h"
#include "observe/text_format.h"

namespace causeway::observe {
namespace {

constexpr size_t kMaxPending = 8192;
constexpr size_t kBatch = 512;
thread_local bool pusherThread = false;

}  // namespace

LogPusher::LogPusher(std::unique_ptr<HttpPost> client, std::string resourceAttributesJson, std::string scopeName)
    : client_(std::move(client)), resource_(std::move(resourceAttributesJson)), scope_(std::move(scopeName)) {}

LogPusher::~LogPusher() { stop(); }

bool LogPusher::onPusherThread() { return pusherThread; }

void LogPusher::start() {
  thread_ = std::thread([this] {
    pusherThread = true;
    run();
  });
}

void LogPusher::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LogPusher::add(int64_t timeUnixNanos, int severityNumber, std::string_view severityText, std::string_view body,
                    const std::vector<std::pair<std::string_view, std::string_view>>& attributes) {
  std::string record = "{\"timeUnixNano\":\"" + std::to_string(timeUnixNanos) + "\",\"observedTimeUnixNano\":\"" +
                       std::to_string(timeUnixNanos) + "\",\"severityNumber\":" + std::to_string(severityNumber) +
                       ",\"severityText\":";
  appendJsonString(record, severityText);
  record += ",\"body\":{\"stringValue\":";
  appendJsonString(record, body);
  record += "},\"attributes\":[";
  bool first = true;
  for (const auto& [key, value] : attributes) {
    if (value.empty()) continue;
    if (!first) record += ',';
    first = false;
    record += "{\"key\":";
    appendJsonString(record, key);
    record += ",\"value\":{\"stringValue\":";
    appendJsonString(record, value);
    record += "}}";
  }
  record += "]}";
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (pending_.size() >= kMaxPending) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    pending_.push_back(std::move(record));
    wake = pending_.size() == kBatch;
  }
  if (wake) wake_.notify_one();
}

void LogPusher::run() {
  std::vector<std::string> batch;
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_ || pending_.size() >= kBatch; });
    batch.swap(pending_);
    const bool last = stopping_;
    lock.unlock();
    if (!batch.empty()) send(batch);
    batch.clear();
    lock.lock();
    if (last && pending_.empty()) return;
  }
}

void LogPusher::send(std::vector<std::string>& records) {
  std::string body = "{\"resourceLogs\":[{\"resource\":{\"attributes\":" + resource_ + "},\"scopeLogs\":[{\"scope\":{\"name\":";
  appendJsonString(body, scope_);
  body += "},\"logRecords\":[";
  for (size_t i = 0; i < records.size(); ++i) {
    if (i) body += ',';
    body += records[i];
  }
  body += "]}]}]}";
  std::string error;
  int status = client_->post("application/json", body, std::chrono::seconds(10), error);
  if (status < 200 || status > 299)
    log::error("Unable to push OTLP logs", {{"endpoint", client_->endpoint().authority}, {"status", status},
                                           {"error", error}, {"records", records.size()}});
}

}  // namespace causeway::observe
