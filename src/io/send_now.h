// Writing to a plain socket without a trip through the reactor. Asio's async_write tries
// the send at once too, but still queues its completion and resumes the coroutine from
// the event loop; on a keep-alive proxy path almost every write fits the socket buffer, so
// sending directly (MSG_DONTWAIT) and falling back to Asio only for what is left saves an
// operation object, a queued completion and a resume per write.
#pragma once

#include <array>
#include <span>
#include <tuple>
#include <vector>

#include "io/asio.h"

namespace causeway::io {

struct SendResult {
  size_t sent = 0;
  bool complete = false;  // every byte went out
  error_code error;       // a real error (not "would block")
};

// One sendmsg(MSG_DONTWAIT | MSG_NOSIGNAL) of as much as the socket takes now.
SendResult sendNow(tcp::socket& socket, std::span<const asio::const_buffer> buffers);

// The buffers left after the first `skip` bytes.
class BufferTail {
 public:
  BufferTail(std::span<const asio::const_buffer> buffers, size_t skip);
  std::span<const asio::const_buffer> span() const { return {data_, size_}; }

 private:
  std::array<asio::const_buffer, 8> small_;
  std::vector<asio::const_buffer> large_;
  const asio::const_buffer* data_ = nullptr;
  size_t size_ = 0;
};

// Writes every byte: directly first, then through Asio for the rest.
awaitable<std::tuple<error_code, size_t>> writeAllDirect(tcp::socket& socket,
                                                          std::span<const asio::const_buffer> buffers);
awaitable<std::tuple<error_code, size_t>> writeAllDirect(tcp::socket& socket, asio::const_buffer buffer);

}  // namespace causeway::io
