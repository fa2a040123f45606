#include "exchange/spill_buffer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace causeway::exchange {
namespace {

int openTemporaryFile() {
  const char* dir = std::getenv("TMPDIR");
  if (!dir || !*dir) dir = "/tmp";
  int fd = -1;
#ifdef O_TMPFILE
  fd = ::open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
#endif
  std::string path = std::string(dir) + "/causeway-buffer-XXXXXX";
  fd = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd >= 0) ::unlink(path.c_str());
  return fd;
}

}  // namespace

SpillBuffer::~SpillBuffer() {
  if (fd_ >= 0) ::close(fd_);
}

bool SpillBuffer::append(std::string_view data) {
  if (fd_ < 0) {
    size_t room = memLimit_ > memory_.size() ? memLimit_ - memory_.size() : 0;
    size_t n = std::min(room, data.size());
    memory_.append(data.substr(0, n));
    data.remove_prefix(n);
    if (data.empty()) return true;
    fd_ = openTemporaryFile();
    if (fd_ < 0) return false;
  }
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd_, data.data(), data.size(), off_t(fileSize_));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    fileSize_ += uint64_t(n);
    data.remove_prefix(size_t(n));
  }
  return true;
}

int64_t SpillBuffer::readAt(uint64_t offset, char* out, size_t n) const {
  if (offset < memory_.size()) {
    size_t take = std::min(n, memory_.size() - size_t(offset));
    std::memcpy(out, memory_.data() + offset, take);
    return int64_t(take);
  }
  uint64_t fileOffset = offset - memory_.size();
  if (fileOffset >= fileSize_) return 0;
  size_t take = size_t(std::min<uint64_t>(n, fileSize_ - fileOffset));
  while (true) {
    ssize_t got = ::pread(fd_, out, take, off_t(fileOffset));
    if (got < 0 && errno == EINTR) continue;
    return got;
  }
}

awaitable<BodyChunk> SpillBody::read() {
  if (offset_ >= buffer_.size()) {
    finished_ = true;
    co_return BodyChunk{{}, true, false};
  }
  if (!piece_) piece_.reset(new char[kPiece]);
  int64_t n = buffer_.readAt(offset_, piece_.get(), kPiece);
  if (n <= 0) co_return BodyChunk{{}, false, true};
  offset_ += uint64_t(n);
  bool last = offset_ >= buffer_.size();
  if (last) finished_ = true;
  co_return BodyChunk{std::string_view(piece_.get(), size_t(n)), last, false};
}

}  // namespace causeway::exchange
