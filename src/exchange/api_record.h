// What API management learned about one exchange (the `api` middleware,
// gateway/api/api_management.cpp), for the metrics: which API was called, by which application,
// under which plan. Placed in the exchange's arena and pointed to by RequestRecord::api; null on
// exchanges no `api` middleware saw. Views point into the arena or into the middleware's
// compiled state, which outlives the exchange.
#pragma once

#include <string_view>

namespace causeway::exchange {

struct ApiRecord {
  std::string_view api;          // qualified: "weather@file"
  std::string_view version;      // qualified APIVersion; empty when the router publishes the API itself
  std::string_view application;  // appId; empty when the caller was not identified
  std::string_view plan;         // qualified; empty without a subscription
};

}  // namespace causeway::exchange
