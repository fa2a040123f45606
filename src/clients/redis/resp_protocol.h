// RESP2, the Redis wire protocol: commands are arrays of bulk strings; replies are simple
// strings, errors, integers, bulk strings (or nil) and arrays (or nil). Pure: no I/O.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace causeway::clients::redis::resp {

struct Value {
  enum class Type { Simple, Error, Integer, Bulk, Array, Nil };
  Type type = Type::Nil;
  std::string text;          // Simple, Error, Bulk
  int64_t integer = 0;       // Integer
  std::vector<Value> items;  // Array

  bool isError() const { return type == Type::Error; }
};

enum class Status { Complete, Incomplete, Error };

struct Limits {
  size_t maxBulk = 16u << 20;  // bytes in one bulk string
  size_t maxItems = 1u << 16;  // elements in one array
  int maxDepth = 8;            // nested arrays
};

// Parses one reply at the start of `data`. Complete: `out` is set and `consumed` is its
// length. Incomplete: more bytes are needed. Error: the bytes are not RESP2 (or exceed
// `limits`); `error` says why.
Status parse(std::string_view data, Value& out, size_t& consumed, std::string& error,
             const Limits& limits = {});

// "*<n>\r\n$<len>\r\n<arg>\r\n..." for a command and its arguments.
std::string encodeCommand(std::span<const std::string> args);

}  // namespace causeway::clients::redis::resp
