// Metric families kept as maps from formatted labels to values, for the series a worker
// records under its own lock and a scrape merges (GenAI, MCP, TCP and UDP): histograms,
// label formatting and the text exposition of counters and histograms.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace causeway::observe {

struct Histogram {
  std::vector<uint64_t> counts;  // one per bucket (not cumulative), then +Inf
  double sum = 0;
  uint64_t count = 0;
  void observe(std::span<const double> bounds, double value) {
    if (counts.empty()) counts.assign(bounds.size() + 1, 0);
    size_t i = 0;
    while (i < bounds.size() && value > bounds[i]) ++i;
    ++counts[i];
    sum += value;
    ++count;
  }
  void add(const Histogram& other) {
    if (counts.empty()) counts.assign(other.counts.size(), 0);
    for (size_t i = 0; i < other.counts.size() && i < counts.size(); ++i) counts[i] += other.counts[i];
    sum += other.sum;
    count += other.count;
  }
};

using Family = std::map<std::string, Histogram>;  // labels → histogram

inline void appendEscaped(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out.append("\\n");
      continue;
    }
    out.push_back(c);
  }
}

inline void appendLabel(std::string& out, std::string_view name, std::string_view value) {
  if (!out.empty()) out.push_back(',');
  out.append(name);
  out.append("=\"");
  appendEscaped(out, value);
  out.push_back('"');
}

inline void appendNumber(std::string& out, double value) {
  char buffer[32];
  int n = std::snprintf(buffer, sizeof buffer, "%.10g", value);
  out.append(buffer, size_t(n));
}

inline void renderHistogram(std::string& out, const char* name, const char* help, std::span<const double> bounds,
                     const Family& family) {
  if (family.empty()) return;
  out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ").append(name).append(" histogram\n");
  for (const auto& [labels, h] : family) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= bounds.size() && i < h.counts.size(); ++i) {
      cumulative += h.counts[i];
      out.append(name).append("_bucket{").append(labels).append(",le=\"");
      if (i < bounds.size()) appendNumber(out, bounds[i]);
      else out.append("+Inf");
      out.append("\"} ");
      appendNumber(out, double(cumulative));
      out.push_back('\n');
    }
    out.append(name).append("_sum{").append(labels).append("} ");
    appendNumber(out, h.sum);
    out.append("\n").append(name).append("_count{").append(labels).append("} ");
    appendNumber(out, double(h.count));
    out.push_back('\n');
  }
}

// One family of plain samples (labels → value) of `type` ("counter", "gauge").
inline void renderSamples(std::string& out, const char* name, const char* help, const char* type,
                          const std::map<std::string, double>& family) {
  if (family.empty()) return;
  out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ").append(name).append(" ");
  out.append(type).append("\n");
  for (const auto& [labels, value] : family) {
    out.append(name).append("{").append(labels).append("} ");
    appendNumber(out, value);
    out.push_back('\n');
  }
}

inline void renderCounter(std::string& out, const char* name, const char* help, const std::map<std::string, double>& family) {
  renderSamples(out, name, help, "counter", family);
}

inline void renderGauge(std::string& out, const char* name, const char* help, const std::map<std::string, double>& family) {
  renderSamples(out, name, help, "gauge", family);
}


}  // namespace causeway::observe
