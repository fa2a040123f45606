#include "clients/redis/resp_protocol.h"

#include <charconv>

namespace causeway::clients::redis::resp {
namespace {

struct Parser {
  std::string_view data;
  size_t pos = 0;
  std::string& error;
  const Limits& limits;

  // The line starting at pos (without CRLF); false when incomplete. A bare LF is an error.
  Status line(std::string_view& out) {
    size_t end = data.find("\r\n", pos);
    if (end == std::string_view::npos) {
      if (data.find('\n', pos) != std::string_view::npos) {
        error = "line not terminated by CRLF";
        return Status::Error;
      }
      return Status::Incomplete;
    }
    out = data.substr(pos, end - pos);
    if (out.find('\n') != std::string_view::npos || out.find('\r') != std::string_view::npos) {
      error = "bare CR or LF in a line";
      return Status::Error;
    }
    pos = end + 2;
    return Status::Complete;
  }

  bool integer(std::string_view text, int64_t& out) {
    if (text.empty()) return false;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
  }

  Status value(Value& out, int depth) {
    if (pos >= data.size()) return Status::Incomplete;
    char kind = data[pos++];
    std::string_view text;
    Status s = line(text);
    if (s != Status::Complete) return s;
    switch (kind) {
    case '+':
      out.type = Value::Type::Simple;
      out.text.assign(text);
      return Status::Complete;
    case '-':
      out.type = Value::Type::Error;
      out.text.assign(text);
      return Status::Complete;
    case ':':
      out.type = Value::Type::Integer;
      if (!integer(text, out.integer)) {
        error = "bad integer";
        return Status::Error;
      }
      return Status::Complete;
    case '$': {
      int64_t length = 0;
      if (!integer(text, length) || length < -1) {
        error = "bad bulk length";
        return Status::Error;
      }
      if (length == -1) {
        out.type = Value::Type::Nil;
        return Status::Complete;
      }
      if (size_t(length) > limits.maxBulk) {
        error = "bulk string too large";
        return Status::Error;
      }
      if (data.size() - pos < size_t(length) + 2) return Status::Incomplete;
      if (data.substr(pos + size_t(length), 2) != "\r\n") {
        error = "bulk string not terminated by CRLF";
        return Status::Error;
      }
      out.type = Value::Type::Bulk;
      out.text.assign(data.substr(pos, size_t(length)));
      pos += size_t(length) + 2;
      return Status::Complete;
    }
    case '*': {
      int64_t count = 0;
      if (!integer(text, count) || count < -1) {
        error = "bad array length";
        return Status::Error;
      }
      if (count == -1) {
        out.type = Value::Type::Nil;
        return Status::Complete;
      }
      if (size_t(count) > limits.maxItems) {
        error = "array too large";
        return Status::Error;
      }
      if (depth >= limits.maxDepth) {
        error = "arrays nested too deeply";
        return Status::Error;
      }
      out.type = Value::Type::Array;
      out.items.clear();
      out.items.reserve(size_t(std::min<int64_t>(count, 64)));
      for (int64_t i = 0; i < count; ++i) {
        Value item;
        Status st = value(item, depth + 1);
        if (st != Status::Complete) return st;
        out.items.push_back(std::move(item));
      }
      return Status::Complete;
    }
    default:
      error = std::string("unknown reply type '") + kind + "'";
      return Status::Error;
    }
  }
};

}  // namespace

Status parse(std::string_view data, Value& out, size_t& consumed, std::string& error,
             const Limits& limits) {
  Parser p{data, 0, error, limits};
  Value v;
  Status s = p.value(v, 0);
  if (s == Status::Complete) {
    out = std::move(v);
    consumed = p.pos;
  }
  return s;
}

std::string encodeCommand(std::span<const std::string> args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& arg : args) {
    out += '$';
    out += std::to_string(arg.size());
    out += "\r\n";
    out += arg;
    out += "\r\n";
  }
  return out;
}

}  // namespace causeway::clients::redis::resp
