// etcd v3 through its JSON gateway (POST /v3/..., keys and values base64), the pieces the etcd
// provider and the ACME shared store both use: requests with the authentication token, error
// messages, prefix ranges, base64 fields and authentication. Control thread only.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <string>
#include <string_view>

#include "clients/http/http_client.h"
#include "io/asio.h"

namespace causeway::provider::etcd {

// A gateway request: POST `path` with `body` as JSON, and the token when there is one.
clients::http::Request post(std::string_view path, const boost::json::object& body, const std::string& token);

// The message of an answer that failed: the transport's error, or the status and the
// gateway's {"message": ...}.
std::string errorOf(const clients::http::Answer& answer);

// The key after every key that starts with `prefix` (a range's range_end).
std::string prefixEnd(std::string prefix);

// A base64 field (keys and values) of a gateway object; absent or empty is "". False when it
// is not base64.
bool bytesField(const boost::json::object& o, std::string_view name, std::string& out);

// POST /v3/auth/authenticate with `username` and `password`: the token, or "" with `error`.
awaitable<std::string> authenticate(asio::io_context& io, const clients::http::Endpoint& endpoint,
                                    const std::string& username, const std::string& password,
                                    std::chrono::milliseconds timeout, std::string& error);

}  // namespace causeway::provider::etcd
