// Go templates (config/go_template.h): any text parses to a template or an error with a line,
// renders within its bounds (64 MiB, 10 million steps) or fails with an error, and never crashes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/go_template.h"

using namespace causeway::config::gotemplate;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Value dot = Value::Map{{"Name", "web"},
                         {"Labels", Value::Map{{"app", "shop"}, {"team", "a"}}},
                         {"List", Value::List{1, "two", 3.5, true}}};
  Functions extra{{"normalize", [](const std::vector<Value>& a, Value& r, std::string&) {
                     r = a.empty() ? Value() : a[0];
                     return true;
                   }}};
  std::string out;
  Error error;
  bool ok = render(text, dot, out, error, &extra);
  if (ok && !error.message.empty()) __builtin_trap();   // success leaves no error
  if (!ok && error.message.empty()) __builtin_trap();   // a failure always says why
  if (out.size() > (64u << 20)) __builtin_trap();
  return 0;
}
