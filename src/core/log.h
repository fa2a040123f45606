// causeway's own log (not the access log). Thread-safe; a line is written whole.
// Levels and formats follow Traefik's `log` section: level TRACE..PANIC (default ERROR),
// format "common" (timestamp, level, message, key=value fields) or "json".
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <string_view>

namespace causeway::log {

enum class Level { Trace = 0, Debug, Info, Warn, Error, Fatal, Panic };

struct Field {
  std::string_view key;
  std::string value;
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  template <class Number, class = std::enable_if_t<std::is_arithmetic_v<Number>>>
  Field(std::string_view k, Number v) : key(k), value(std::to_string(v)) {}
};

struct Options {
  Level level = Level::Error;
  bool json = false;
  std::string filePath;  // empty: standard output
};

// Parses "debug", "INFO", "warn", ...; false if unknown.
bool parseLevel(std::string_view text, Level& out);
// Replaces the logger's options (called at start-up; safe at any time).
bool configure(const Options& options, std::string& error);
// Reopens the log file (SIGUSR1, for logrotate).
void reopen();
bool enabled(Level level);
void write(Level level, std::string_view message, std::initializer_list<Field> fields = {});
// A second destination for every line written (log.otlp); null removes it. Called on the
// writing thread, after the line is out.
using Sink = void (*)(Level level, std::string_view message, std::initializer_list<Field> fields);
void setSink(Sink sink);
// "debug", "info", ... (the level names of the JSON format).
std::string_view levelName(Level level);

inline void trace(std::string_view m, std::initializer_list<Field> f = {}) {
  if (enabled(Level::Trace)) write(Level::Trace, m, f);
}
inline void debug(std::string_view m, std::initializer_list<Field> f = {}) {
  if (enabled(Level::Debug)) write(Level::Debug, m, f);
}
inline void info(std::string_view m, std::initializer_list<Field> f = {}) {
  if (enabled(Level::Info)) write(Level::Info, m, f);
}
inline void warn(std::string_view m, std::initializer_list<Field> f = {}) {
  if (enabled(Level::Warn)) write(Level::Warn, m, f);
}
inline void error(std::string_view m, std::initializer_list<Field> f = {}) {
  if (enabled(Level::Error)) write(Level::Error, m, f);
}

// A message that can repeat in a storm (accept failing with EMFILE, an upstream down for
// every request): at most one line per interval, which says how many it stands for
// (docs/security.md, H10). Thread-safe; one per call site, usually a function-local static.
class Throttle {
 public:
  explicit Throttle(std::chrono::steady_clock::duration interval) : interval_(interval.count()) {}
  // True when this occurrence should be written; `suppressed` is then the number of
  // occurrences dropped since the last line.
  bool allow(uint64_t& suppressed) {
    const int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
    int64_t next = next_.load(std::memory_order_relaxed);
    if (now < next || !next_.compare_exchange_strong(next, now + interval_, std::memory_order_relaxed)) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    suppressed = dropped_.exchange(0, std::memory_order_relaxed);
    return true;
  }

 private:
  int64_t interval_;
  std::atomic<int64_t> next_{0};
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace causeway::log
