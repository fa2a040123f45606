// causeway's own log (not the access log). Thread-safe; a line is written whole.
// Levels and formats follow Traefik's `log` section: level TRACE..PANIC (default ERROR),
// format "common" (timestamp, level, message, key=value fields) or "json".
#pragma once

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

}  // namespace causeway::log
