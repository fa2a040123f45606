// Boost.Asio names used by the data plane. Every operation completes with an error code
// instead of an exception (`nothrow`): untrusted input never throws through the data path.
#pragma once

#include <boost/asio.hpp>

namespace causeway {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using asio::awaitable;
using error_code = boost::system::error_code;

// Completion token: `auto [ec, n] = co_await sock.async_read_some(buf, nothrow);`
inline constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
}  // namespace causeway
