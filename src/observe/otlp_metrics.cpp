#include "observe/otlp_metrics.h"

#include <map>
#include <vector>

#include "core/log.h"
#include "observe/text_format.h"

namespace causeway::observe {
namespace {

struct Sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  std::string value;
};

// One sample line: name{label="value",...} value. False for anything else.
bool parseSample(std::string_view line, Sample& out) {
  size_t nameEnd = line.find_first_of("{ ");
  if (nameEnd == std::string_view::npos || nameEnd == 0) return false;
  out.name = std::string(line.substr(0, nameEnd));
  out.labels.clear();
  size_t at = nameEnd;
  if (line[at] == '{') {
    ++at;
    while (at < line.size() && line[at] != '}') {
      size_t eq = line.find('=', at);
      if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"') return false;
      std::string key(line.substr(at, eq - at));
      std::string value;
      size_t i = eq + 2;
      for (; i < line.size() && line[i] != '"'; ++i) {
        if (line[i] == '\\' && i + 1 < line.size()) {
          ++i;
          value.push_back(line[i] == 'n' ? '\n' : line[i]);
        } else {
          value.push_back(line[i]);
        }
      }
      if (i >= line.size()) return false;
      out.labels.emplace_back(std::move(key), std::move(value));
      at = i + 1;
      if (at < line.size() && line[at] == ',') ++at;
    }
    if (at >= line.size()) return false;
    ++at;  // '}'
  }
  while (at < line.size() && line[at] == ' ') ++at;
  size_t end = line.find(' ', at);  // a timestamp may follow
  out.value = std::string(line.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at));
  return !out.value.empty();
}

void appendAttributes(std::string& out, const std::vector<std::pair<std::string, std::string>>& labels) {
  out += "\"attributes\":[";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += "{\"key\":";
    appendJsonString(out, k);
    out += ",\"value\":{\"stringValue\":";
    appendJsonString(out, v);
    out += "}}";
  }
  out += ']';
}

// JSON has no NaN or infinities; OTLP/JSON writes doubles as numbers.
std::string jsonNumber(const std::string& text) {
  if (text == "+Inf" || text == "-Inf" || text == "NaN") return "0";
  return text;
}

struct Histogram {
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<std::pair<double, uint64_t>> buckets;  // (le, cumulative count), +Inf last
  std::string sum = "0";
  uint64_t count = 0;
};

std::string labelsKey(const std::vector<std::pair<std::string, std::string>>& labels) {
  std::string key;
  for (const auto& [k, v] : labels) key += k + '\x1f' + v + '\x1e';
  return key;
}

}  // namespace

std::string prometheusTextToOtlpJson(std::string_view text, std::string_view resourceAttributesJson,
                                     std::string_view scopeName, int64_t startUnixNanos, int64_t nowUnixNanos) {
  const std::string times = "\"startTimeUnixNano\":\"" + std::to_string(startUnixNanos) +
                            "\",\"timeUnixNano\":\"" + std::to_string(nowUnixNanos) + "\"";
  std::string metrics;
  std::string family, type;
  std::string points;                                // counter or gauge data points so far
  std::map<std::string, Histogram> histograms;      // by labels without le
  std::vector<std::string> histogramOrder;
  auto flush = [&] {
    if (family.empty()) return;
    std::string body;
    if (type == "histogram") {
      for (const auto& key : histogramOrder) {
        const Histogram& h = histograms[key];
        if (!body.empty()) body += ',';
        body += '{';
        appendAttributes(body, h.labels);
        body += ',' + times + ",\"count\":\"" + std::to_string(h.count) + "\",\"sum\":" + jsonNumber(h.sum) +
                ",\"bucketCounts\":[";
        uint64_t previous = 0;
        std::string bounds;
        for (size_t i = 0; i < h.buckets.size(); ++i) {
          if (i) body += ',';
          body += '"' + std::to_string(h.buckets[i].second - std::min(previous, h.buckets[i].second)) + '"';
          previous = h.buckets[i].second;
          if (i + 1 < h.buckets.size()) {
            if (!bounds.empty()) bounds += ',';
            char number[32];
            std::snprintf(number, sizeof number, "%.17g", h.buckets[i].first);
            bounds += number;
          }
        }
        body += "],\"explicitBounds\":[" + bounds + "]}";
      }
    } else {
      body = points;
    }
    if (!body.empty()) {
      if (!metrics.empty()) metrics += ',';
      metrics += "{\"name\":";
      appendJsonString(metrics, family);
      if (type == "counter")
        metrics += ",\"sum\":{\"aggregationTemporality\":2,\"isMonotonic\":true,\"dataPoints\":[" + body + "]}}";
      else if (type == "histogram")
        metrics += ",\"histogram\":{\"aggregationTemporality\":2,\"dataPoints\":[" + body + "]}}";
      else
        metrics += ",\"gauge\":{\"dataPoints\":[" + body + "]}}";
    }
    family.clear();
    points.clear();
    histograms.clear();
    histogramOrder.clear();
  };

  Sample sample;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    std::string_view line = text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    at = end == std::string_view::npos ? text.size() : end + 1;
    if (line.starts_with("# TYPE ")) {
      flush();
      std::string_view rest = line.substr(7);
      size_t space = rest.find(' ');
      if (space == std::string_view::npos) continue;
      family = std::string(rest.substr(0, space));
      type = std::string(rest.substr(space + 1));
      continue;
    }
    if (line.empty() || line[0] == '#' || family.empty() || !parseSample(line, sample)) continue;
    if (type == "histogram") {
      std::string le;
      std::vector<std::pair<std::string, std::string>> labels;
      for (auto& label : sample.labels) {
        if (label.first == "le") le = label.second;
        else labels.push_back(label);
      }
      std::string key = labelsKey(labels);
      auto [it, inserted] = histograms.try_emplace(key);
      if (inserted) {
        it->second.labels = labels;
        histogramOrder.push_back(key);
      }
      Histogram& h = it->second;
      if (sample.name == family + "_bucket")
        h.buckets.emplace_back(le == "+Inf" ? 0.0 : std::strtod(le.c_str(), nullptr), std::strtoull(sample.value.c_str(), nullptr, 10));
      else if (sample.name == family + "_sum")
        h.sum = sample.value;
      else if (sample.name == family + "_count")
        h.count = std::strtoull(sample.value.c_str(), nullptr, 10);
      continue;
    }
    if (sample.name != family) continue;
    if (!points.empty()) points += ',';
    points += '{';
    appendAttributes(points, sample.labels);
    points += ',' + times + ",\"asDouble\":" + jsonNumber(sample.value) + '}';
  }
  flush();

  std::string out = "{\"resourceMetrics\":[{\"resource\":{\"attributes\":";
  out += resourceAttributesJson;
  out += "},\"scopeMetrics\":[{\"scope\":{\"name\":";
  appendJsonString(out, scopeName);
  out += "},\"metrics\":[" + metrics + "]}]}]}";
  return out;
}

MetricsPusher::MetricsPusher(std::function<std::string()> render, std::unique_ptr<HttpPost> client,
                             std::chrono::nanoseconds interval, std::string resourceAttributesJson)
    : render_(std::move(render)),
      client_(std::move(client)),
      interval_(interval),
      resource_(std::move(resourceAttributesJson)),
      startUnixNanos_(std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count()) {}

MetricsPusher::~MetricsPusher() { stop(); }

void MetricsPusher::start() {
  thread_ = std::thread([this] { run(); });
}

void MetricsPusher::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MetricsPusher::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
    lock.unlock();
    push();
    lock.lock();
  }
}

void MetricsPusher::push() {
  const int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::string body = prometheusTextToOtlpJson(render_(), resource_, "github.com/traefik/traefik", startUnixNanos_, now);
  std::string error;
  int status = client_->post("application/json", body, std::chrono::seconds(10), error);
  if (status < 200 || status > 299)
    log::error("Unable to push OTLP metrics", {{"endpoint", client_->endpoint().authority},
                                              {"status", status},
                                              {"error", error}});
}

}  // namespace causeway::observe
