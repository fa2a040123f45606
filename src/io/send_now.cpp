#include "io/send_now.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>

namespace causeway::io {

SendResult sendNow(tcp::socket& socket, std::span<const asio::const_buffer> buffers) {
  constexpr size_t kMaxIov = 16;
  std::array<iovec, kMaxIov> iov;
  size_t count = 0, total = 0;
  for (const auto& b : buffers) {
    if (b.size() == 0) continue;
    if (count == kMaxIov) break;  // the rest goes through the fallback
    iov[count].iov_base = const_cast<void*>(b.data());
    iov[count].iov_len = b.size();
    total += b.size();
    ++count;
  }
  bool everything = count < kMaxIov || buffers.size() == kMaxIov;
  SendResult result;
  if (count == 0) {
    result.complete = everything;
    return result;
  }
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = count;
  ssize_t n;
  do {
    n = ::sendmsg(socket.native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) result.error = error_code(errno, asio::error::get_system_category());
    return result;
  }
  result.sent = size_t(n);
  result.complete = everything && result.sent == total;
  return result;
}

BufferTail::BufferTail(std::span<const asio::const_buffer> buffers, size_t skip) {
  size_t first = 0;
  while (first < buffers.size() && skip >= buffers[first].size()) {
    skip -= buffers[first].size();
    ++first;
  }
  size_t count = buffers.size() - first;
  asio::const_buffer* out = small_.data();
  if (count > small_.size()) {
    large_.resize(count);
    out = large_.data();
  }
  for (size_t i = 0; i < count; ++i) out[i] = buffers[first + i];
  if (count > 0) out[0] += skip;
  data_ = out;
  size_ = count;
}

awaitable<std::tuple<error_code, size_t>> writeAllDirect(tcp::socket& socket,
                                                          std::span<const asio::const_buffer> buffers) {
  SendResult now = sendNow(socket, buffers);
  if (now.error) co_return std::tuple{now.error, now.sent};
  if (now.complete) co_return std::tuple{error_code(), now.sent};
  BufferTail rest(buffers, now.sent);
  auto [ec, n] = co_await asio::async_write(socket, rest.span(), nothrow);
  co_return std::tuple{ec, now.sent + n};
}

awaitable<std::tuple<error_code, size_t>> writeAllDirect(tcp::socket& socket, asio::const_buffer buffer) {
  // A coroutine of its own: the span below points into this frame.
  co_return co_await writeAllDirect(socket, std::span<const asio::const_buffer>(&buffer, 1));
}

}  // namespace causeway::io
