#include "middleware/compress/encoders.h"

#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

namespace causeway::middleware::compress {
namespace {

constexpr size_t kOutStep = 16 * 1024;

class GzipEncoder final : public Encoder {
 public:
  GzipEncoder() { ok_ = deflateInit2(&z_, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK; }
  ~GzipEncoder() override {
    if (ok_) deflateEnd(&z_);
  }
  bool valid() const { return ok_; }
  std::string_view name() const override { return "gzip"; }

  bool compress(std::string_view input, Flush flush, std::string& out) override {
    if (finished_) return input.empty();
    int mode = flush == Flush::Finish ? Z_FINISH : flush == Flush::Sync ? Z_SYNC_FLUSH : Z_NO_FLUSH;
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
    z_.avail_in = uInt(input.size());
    while (true) {
      size_t at = out.size();
      out.resize(at + kOutStep);
      z_.next_out = reinterpret_cast<Bytef*>(out.data() + at);
      z_.avail_out = uInt(kOutStep);
      int rc = deflate(&z_, mode);
      out.resize(at + (kOutStep - z_.avail_out));
      if (rc == Z_STREAM_END) {
        finished_ = true;
        return true;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
      // Done when all input is taken and deflate did not fill the output.
      if (z_.avail_in == 0 && z_.avail_out != 0 && mode != Z_FINISH) return true;
      if (rc == Z_BUF_ERROR && z_.avail_in == 0 && mode != Z_FINISH) return true;
    }
  }

 private:
  z_stream z_{};
  bool ok_ = false;
  bool finished_ = false;
};

class BrotliEncoder final : public Encoder {
 public:
  BrotliEncoder() : state_(BrotliEncoderCreateInstance(nullptr, nullptr, nullptr)) {
    if (state_) {
      BrotliEncoderSetParameter(state_, BROTLI_PARAM_QUALITY, 6);
      BrotliEncoderSetParameter(state_, BROTLI_PARAM_LGWIN, 20);
    }
  }
  ~BrotliEncoder() override {
    if (state_) BrotliEncoderDestroyInstance(state_);
  }
  bool valid() const { return state_ != nullptr; }
  std::string_view name() const override { return "br"; }

  bool compress(std::string_view input, Flush flush, std::string& out) override {
    BrotliEncoderOperation op = flush == Flush::Finish ? BROTLI_OPERATION_FINISH
                                : flush == Flush::Sync ? BROTLI_OPERATION_FLUSH
                                                       : BROTLI_OPERATION_PROCESS;
    size_t availIn = input.size();
    const uint8_t* nextIn = reinterpret_cast<const uint8_t*>(input.data());
    while (true) {
      size_t at = out.size();
      out.resize(at + kOutStep);
      size_t availOut = kOutStep;
      uint8_t* nextOut = reinterpret_cast<uint8_t*>(out.data() + at);
      if (!BrotliEncoderCompressStream(state_, op, &availIn, &nextIn, &availOut, &nextOut, nullptr))
        return false;
      out.resize(at + (kOutStep - availOut));
      bool more = BrotliEncoderHasMoreOutput(state_);
      if (op == BROTLI_OPERATION_FINISH) {
        if (BrotliEncoderIsFinished(state_)) return true;
        continue;
      }
      if (availIn == 0 && !more) return true;
    }
  }

 private:
  BrotliEncoderState* state_;
};

class ZstdEncoder final : public Encoder {
 public:
  ZstdEncoder() : cctx_(ZSTD_createCCtx()) {
    if (cctx_) {
      ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, 3);
      ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1);
    }
  }
  ~ZstdEncoder() override {
    if (cctx_) ZSTD_freeCCtx(cctx_);
  }
  bool valid() const { return cctx_ != nullptr; }
  std::string_view name() const override { return "zstd"; }

  bool compress(std::string_view input, Flush flush, std::string& out) override {
    ZSTD_EndDirective mode = flush == Flush::Finish ? ZSTD_e_end
                             : flush == Flush::Sync ? ZSTD_e_flush
                                                    : ZSTD_e_continue;
    ZSTD_inBuffer in{input.data(), input.size(), 0};
    while (true) {
      size_t at = out.size();
      out.resize(at + kOutStep);
      ZSTD_outBuffer o{out.data() + at, kOutStep, 0};
      size_t remaining = ZSTD_compressStream2(cctx_, &o, &in, mode);
      out.resize(at + o.pos);
      if (ZSTD_isError(remaining)) return false;
      if (mode == ZSTD_e_continue) {
        if (in.pos == in.size) return true;
      } else if (remaining == 0) {
        return true;
      }
    }
  }

 private:
  ZSTD_CCtx* cctx_;
};

template <class T> std::unique_ptr<Encoder> make() {
  auto e = std::make_unique<T>();
  if (!e->valid()) return nullptr;
  return e;
}

}  // namespace

std::unique_ptr<Encoder> makeEncoder(std::string_view encoding) {
  if (encoding == "gzip") return make<GzipEncoder>();
  if (encoding == "br") return make<BrotliEncoder>();
  if (encoding == "zstd") return make<ZstdEncoder>();
  return nullptr;
}

}  // namespace causeway::middleware::compress
