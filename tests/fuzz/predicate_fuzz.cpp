// libFuzzer target for the expression language of circuitBreaker.expression and
// buffering.retryExpression (expr/predicate.h): compiles the input against both function
// tables; an expression that compiles is evaluated against fixed function values and must
// reach a result without throwing.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "expr/predicate.h"

namespace predicate = causeway::expr::predicate;
using predicate::Type;

namespace {

const std::array<predicate::Function, 4> kCircuitBreaker = {{
    {"NetworkErrorRatio", {}, Type::Float},
    {"ResponseCodeRatio", {Type::Int, Type::Int, Type::Int, Type::Int}, Type::Float},
    {"LatencyAtQuantileMS", {Type::Float}, Type::Int},
    {"RequestThreshold", {}, Type::Int},
}};

const std::array<predicate::Function, 4> kRetry = {{
    {"RequestMethod", {}, Type::String},
    {"IsNetworkError", {}, Type::Predicate},
    {"Attempts", {}, Type::Int},
    {"ResponseCode", {}, Type::Int},
}};

void run(std::string_view text, std::span<const predicate::Function> functions) {
  std::string error;
  auto expression = predicate::parse(text, functions, error);
  if (!expression) return;
  predicate::Resolver resolve = [&](int function, const std::vector<predicate::Value>&) {
    predicate::Value v;
    v.type = functions[size_t(function)].result;
    v.i = 3;
    v.f = 0.25;
    v.s = "GET";
    return v;
  };
  (void)expression->evaluate(resolve);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  run(text, kCircuitBreaker);
  run(text, kRetry);
  return 0;
}
