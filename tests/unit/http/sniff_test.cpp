// Go's http.DetectContentType table (net/http/sniff_test.go cases).
#include <gtest/gtest.h>

#include "http/sniff.h"

namespace causeway::http {
namespace {

using namespace std::string_view_literals;

struct Case {
  std::string_view data;
  std::string_view type;
};

TEST(SniffTest, GoCases) {
  const Case cases[] = {
      {""sv, "text/plain; charset=utf-8"},
      {"\x01\x02\x03"sv, "application/octet-stream"},
      {"<HtMl><bOdY>blah blah blah</body></html>"sv, "text/html; charset=utf-8"},
      {"<HTML></HTML>"sv, "text/html; charset=utf-8"},
      {"   <!DOCTYPE HTML>..."sv, "text/html; charset=utf-8"},
      {"\r\n<html>..."sv, "text/html; charset=utf-8"},
      {"<htmlx>"sv, "text/plain; charset=utf-8"},
      {"This is not HTML. It has \xe2\x98\x83 though."sv, "text/plain; charset=utf-8"},
      {"\n<?xml!"sv, "text/xml; charset=utf-8"},
      {"%PDF-1.4\n"sv, "application/pdf"},
      {"\x00\x00\x01\x00"sv, "image/x-icon"},
      {"\x00\x00\x02\x00"sv, "image/x-icon"},
      {"BM..."sv, "image/bmp"},
      {"GIF87a"sv, "image/gif"},
      {"GIF89a..."sv, "image/gif"},
      {"RIFF\x00\x00\x00\x00WEBPVP"sv, "image/webp"},
      {"\x89PNG\x0D\x0A\x1A\x0A"sv, "image/png"},
      {"\xFF\xD8\xFF"sv, "image/jpeg"},
      {"MThd\x00\x00\x00\x06\x00\x01"sv, "audio/midi"},
      {"ID3\x03\x00\x00\x00\x00\x0f"sv, "audio/mpeg"},
      {"RIFFb\xb8\x00\x00WAVEfmt \x12\x00\x00\x00\x06"sv, "audio/wave"},
      {"FORM\x00\x00\x00\x00"
       "AIFFCOMM\x00\x00\x00\x12\x00\x01\x00\x00\x57\x55\x00\x10\x40\x0d\xf3\x34"sv,
       "audio/aiff"},
      {"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x7e\x46\x00\x00"sv, "application/ogg"},
      {"oggS\x00"sv, "application/octet-stream"},
      {"\x00\x00\x00\x18"
       "ftypmp42\x00\x00\x00\x00mp42isom<\x06t\xbfmdat"sv,
       "video/mp4"},
      {"RIFF,O\n\x00"
       "AVI LISTL"sv,
       "video/avi"},
      {"\x1A\x45\xDF\xA3"sv, "video/webm"},
      {"\x00\x01\x00\x00\x00\x17\x01\x00\x00\x04\x01\x60\x4f"sv, "font/ttf"},
      {"OTTO\x00\x0e\x00\x80"sv, "font/otf"},
      {"wOFF\x00\x01\x00\x00"sv, "font/woff"},
      {"wOF2\x00\x01\x00\x00"sv, "font/woff2"},
      {"\x00\x61\x73\x6d\x01\x00"sv, "application/wasm"},
      {"Rar!\x1A\x07\x00"sv, "application/x-rar-compressed"},
      {"Rar!\x1A\x07\x01\x00"sv, "application/x-rar-compressed"},
      {"Rar \x1A\x07\x00"sv, "application/octet-stream"},
      {"\x1F\x8B\x08\x00"sv, "application/x-gzip"},
      {"PK\x03\x04rest"sv, "application/zip"},
      {"\xEF\xBB\xBFhello"sv, "text/plain; charset=utf-8"},
      {"\xFE\xFF\x00h"sv, "text/plain; charset=utf-16be"},
      {"{\"json\": true}"sv, "text/plain; charset=utf-8"},
  };
  for (const auto& c : cases)
    EXPECT_EQ(detectContentType(c.data), c.type) << "data: " << c.data;
}

TEST(SniffTest, OnlyTheFirst512BytesCount) {
  std::string text(512, 'a');
  text += '\x01';  // a control byte past the window does not make it binary
  EXPECT_EQ(detectContentType(text), "text/plain; charset=utf-8");
  std::string binary(511, 'a');
  binary += '\x01';
  EXPECT_EQ(detectContentType(binary), "application/octet-stream");
}

}  // namespace
}  // namespace causeway::http
