#include "core/log.h"

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>

#include "core/strings.h"

namespace causeway::log {
namespace {

struct State {
  std::mutex mutex;
  Options options;
  FILE* file = stdout;
  std::atomic<int> level{int(Level::Error)};
  std::atomic<Sink> sink{nullptr};
};

State& state() {
  static State s;
  return s;
}

const char* shortName(Level level) {
  switch (level) {
    case Level::Trace: return "TRC";
    case Level::Debug: return "DBG";
    case Level::Info: return "INF";
    case Level::Warn: return "WRN";
    case Level::Error: return "ERR";
    case Level::Fatal: return "FTL";
    case Level::Panic: return "PNC";
  }
  return "???";
}

const char* longName(Level level) {
  switch (level) {
    case Level::Trace: return "trace";
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warn";
    case Level::Error: return "error";
    case Level::Fatal: return "fatal";
    case Level::Panic: return "panic";
  }
  return "unknown";
}

void appendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (uint8_t(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// Values in the common format are quoted when they hold spaces or quotes, and control
// characters are escaped so a log line can never be split by input (log injection).
void appendCommonValue(std::string& out, std::string_view s) {
  bool quote = s.empty() || s.find_first_of(" \"=") != std::string_view::npos;
  for (char c : s)
    if (uint8_t(c) < 0x20 || c == 0x7f) quote = true;
  if (!quote) {
    out += s;
    return;
  }
  appendJsonString(out, s);
}

}  // namespace

bool parseLevel(std::string_view text, Level& out) {
  static constexpr std::pair<std::string_view, Level> names[] = {
      {"trace", Level::Trace}, {"debug", Level::Debug}, {"info", Level::Info},
      {"warn", Level::Warn},   {"warning", Level::Warn}, {"error", Level::Error},
      {"fatal", Level::Fatal}, {"panic", Level::Panic}};
  for (auto [name, level] : names) {
    if (iequals(name, text)) {
      out = level;
      return true;
    }
  }
  return false;
}

bool configure(const Options& options, std::string& error) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  FILE* file = stdout;
  if (!options.filePath.empty()) {
    file = std::fopen(options.filePath.c_str(), "a");
    if (!file) {
      error = "cannot open log file " + options.filePath;
      return false;
    }
  }
  if (s.file != stdout && s.file) std::fclose(s.file);
  s.file = file;
  s.options = options;
  s.level.store(int(options.level), std::memory_order_relaxed);
  return true;
}

void reopen() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  if (s.options.filePath.empty()) return;
  if (FILE* file = std::fopen(s.options.filePath.c_str(), "a")) {
    if (s.file != stdout && s.file) std::fclose(s.file);
    s.file = file;
  }
}

bool enabled(Level level) {
  return int(level) >= state().level.load(std::memory_order_relaxed);
}

void write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  State& s = state();
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);

  std::string line;
  line.reserve(128);
  bool json;
  {
    std::lock_guard lock(s.mutex);
    json = s.options.json;
  }
  if (json) {
    line += "{\"level\":\"";
    line += longName(level);
    line += "\",\"time\":\"";
    line += stamp;
    line += "\",\"message\":";
    appendJsonString(line, message);
    for (const auto& f : fields) {
      line += ',';
      appendJsonString(line, f.key);
      line += ':';
      appendJsonString(line, f.value);
    }
    line += "}\n";
  } else {
    line += stamp;
    line += ' ';
    line += shortName(level);
    line += ' ';
    for (char c : message) line += (c == '\n' || c == '\r') ? ' ' : c;
    for (const auto& f : fields) {
      line += ' ';
      line += f.key;
      line += '=';
      appendCommonValue(line, f.value);
    }
    line += '\n';
  }
  {
    std::lock_guard lock(s.mutex);
    std::fwrite(line.data(), 1, line.size(), s.file);
    std::fflush(s.file);
  }
  if (Sink sink = s.sink.load(std::memory_order_acquire)) sink(level, message, fields);
}

void setSink(Sink sink) { state().sink.store(sink, std::memory_order_release); }

std::string_view levelName(Level level) { return longName(level); }

}  // namespace causeway::log
