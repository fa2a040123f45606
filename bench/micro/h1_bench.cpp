// Micro-benchmarks of the HTTP/1.1 codec hot path: request and response heads, chunked
// decoding, and path normalisation.
#include <benchmark/benchmark.h>

#include <string>

#include "core/arena.h"
#include "http/h1/chunked.h"
#include "http/h1/request_parser.h"
#include "http/h1/response_parser.h"
#include "http/uri.h"

namespace {

using namespace causeway;
using namespace causeway::http;
using namespace causeway::http::h1;

constexpr std::string_view kCurlRequest = "GET /api/v1/items?id=42 HTTP/1.1\r\n"
                                          "Host: example.com\r\n"
                                          "User-Agent: curl/8.5.0\r\n"
                                          "Accept: */*\r\n"
                                          "\r\n";

constexpr std::string_view kSixHeaderRequest =
    "GET /static/app.js HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36\r\n"
    "Accept: */*\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Connection: keep-alive\r\n"
    "\r\n";

constexpr std::string_view kBrowserRequest =
    "GET /products/shoes?color=red&size=42 HTTP/1.1\r\n"
    "Host: shop.example.com\r\n"
    "Connection: keep-alive\r\n"
    "sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n"
    "sec-ch-ua-mobile: ?0\r\n"
    "sec-ch-ua-platform: \"Linux\"\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Referer: https://shop.example.com/products\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Accept-Language: en-US,en;q=0.9,fr;q=0.8\r\n"
    "Cookie: session=3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c; theme=dark; "
    "_ga=GA1.2.123456789.1700000000\r\n"
    "\r\n";

constexpr std::string_view kResponse = "HTTP/1.1 200 OK\r\n"
                                       "Date: Mon, 27 May 2024 12:00:00 GMT\r\n"
                                       "Content-Type: application/json; charset=utf-8\r\n"
                                       "Content-Length: 1234\r\n"
                                       "Cache-Control: no-cache\r\n"
                                       "Vary: Accept-Encoding\r\n"
                                       "Server: whoami\r\n"
                                       "\r\n";

void parseRequest(benchmark::State& state, std::string_view input) {
  RequestHead head;
  ParseError error;
  Limits limits;
  for (auto _ : state) {
    ParseStatus s = parseRequestHead(input, limits, head, error);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(head.headBytes);
  }
  if (parseRequestHead(input, limits, head, error) != ParseStatus::Complete)
    state.SkipWithError("parse failed");
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(input.size()));
  state.counters["headers"] = double(head.headers.size());
}

void BM_H1RequestCurl(benchmark::State& state) {
  parseRequest(state, kCurlRequest);
}
void BM_H1RequestSixHeaders(benchmark::State& state) {
  parseRequest(state, kSixHeaderRequest);
}
void BM_H1RequestBrowser(benchmark::State& state) {
  parseRequest(state, kBrowserRequest);
}

void BM_H1ResponseHead(benchmark::State& state) {
  ResponseHead head;
  ParseError error;
  Limits limits;
  for (auto _ : state) {
    ParseStatus s = parseResponseHead(kResponse, "GET", limits, head, error);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(head.headBytes);
  }
  if (parseResponseHead(kResponse, "GET", limits, head, error) != ParseStatus::Complete)
    state.SkipWithError("parse failed");
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(kResponse.size()));
}

// A chunked body of `total` bytes in chunks of state.range(0) bytes, decoded in one call.
void BM_H1ChunkedDecode(benchmark::State& state) {
  const size_t chunk = size_t(state.range(0));
  const size_t total = 64 * 1024;
  std::string body;
  std::string data(chunk, 'x');
  for (size_t n = 0; n < total; n += chunk) {
    appendChunkHeader(body, chunk);
    body += data;
    body += "\r\n";
  }
  appendLastChunk(body, Headers{});
  Arena arena;
  ChunkedDecoder decoder(arena);
  size_t sum = 0;
  for (auto _ : state) {
    decoder.reset();
    auto r = decoder.decode(body, [&](std::string_view d) { sum += d.size(); });
    benchmark::DoNotOptimize(r.consumed);
  }
  benchmark::DoNotOptimize(sum);
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(body.size()));
}

void BM_NormalizePath(benchmark::State& state) {
  std::string out;
  for (auto _ : state) {
    bool ok = normalizePath("/api/v1/../v2/items/%7Euser/./list", true, out);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(out.data());
  }
}

void BM_NormalizePathPlain(benchmark::State& state) {
  std::string out;
  for (auto _ : state) {
    bool ok = normalizePath("/products/shoes", true, out);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(out.data());
  }
}

BENCHMARK(BM_H1RequestCurl);
BENCHMARK(BM_H1RequestSixHeaders);
BENCHMARK(BM_H1RequestBrowser);
BENCHMARK(BM_H1ResponseHead);
BENCHMARK(BM_H1ChunkedDecode)->Arg(64)->Arg(4096);
BENCHMARK(BM_NormalizePath);
BENCHMARK(BM_NormalizePathPlain);

}  // namespace
