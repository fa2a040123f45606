#include "http/sniff.h"

#include <cstdint>

namespace causeway::http {
namespace {

bool isWhitespace(unsigned char b) {
  return b == '\t' || b == '\n' || b == '\x0c' || b == '\r' || b == ' ';
}

enum class Kind { Html, Masked, Exact, Mp4, Text };

struct Signature {
  Kind kind;
  std::string_view pattern;  // Html: upper-case tag start; Exact: prefix; Masked: pattern
  std::string_view mask;     // Masked only
  bool skipWhitespace;       // Masked only
  std::string_view type;
};

using namespace std::string_view_literals;

constexpr std::string_view kHtml = "text/html; charset=utf-8";

// Order matters: the first match wins (the table of the WHATWG spec, as Go orders it).
constexpr Signature kSignatures[] = {
    {Kind::Html, "<!DOCTYPE HTML", {}, true, kHtml},
    {Kind::Html, "<HTML", {}, true, kHtml},
    {Kind::Html, "<HEAD", {}, true, kHtml},
    {Kind::Html, "<SCRIPT", {}, true, kHtml},
    {Kind::Html, "<IFRAME", {}, true, kHtml},
    {Kind::Html, "<H1", {}, true, kHtml},
    {Kind::Html, "<DIV", {}, true, kHtml},
    {Kind::Html, "<FONT", {}, true, kHtml},
    {Kind::Html, "<TABLE", {}, true, kHtml},
    {Kind::Html, "<A", {}, true, kHtml},
    {Kind::Html, "<STYLE", {}, true, kHtml},
    {Kind::Html, "<TITLE", {}, true, kHtml},
    {Kind::Html, "<B", {}, true, kHtml},
    {Kind::Html, "<BODY", {}, true, kHtml},
    {Kind::Html, "<BR", {}, true, kHtml},
    {Kind::Html, "<P", {}, true, kHtml},
    {Kind::Html, "<!--", {}, true, kHtml},
    {Kind::Masked, "<?xml", "\xFF\xFF\xFF\xFF\xFF", true, "text/xml; charset=utf-8"},
    {Kind::Exact, "%PDF-", {}, false, "application/pdf"},
    {Kind::Exact, "%!PS-Adobe-", {}, false, "application/postscript"},
    // Byte order marks.
    {Kind::Masked, "\xFE\xFF\x00\x00"sv, "\xFF\xFF\x00\x00"sv, false,
     "text/plain; charset=utf-16be"},
    {Kind::Masked, "\xFF\xFE\x00\x00"sv, "\xFF\xFF\x00\x00"sv, false,
     "text/plain; charset=utf-16le"},
    {Kind::Masked, "\xEF\xBB\xBF\x00"sv, "\xFF\xFF\xFF\x00"sv, false, "text/plain; charset=utf-8"},
    // Images.
    {Kind::Exact, "\x00\x00\x01\x00"sv, {}, false, "image/x-icon"},
    {Kind::Exact, "\x00\x00\x02\x00"sv, {}, false, "image/x-icon"},
    {Kind::Exact, "BM", {}, false, "image/bmp"},
    {Kind::Exact, "GIF87a", {}, false, "image/gif"},
    {Kind::Exact, "GIF89a", {}, false, "image/gif"},
    {Kind::Masked, "RIFF\x00\x00\x00\x00WEBPVP"sv,
     "\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF\xFF\xFF"sv, false, "image/webp"},
    {Kind::Exact, "\x89PNG\x0D\x0A\x1A\x0A", {}, false, "image/png"},
    {Kind::Exact, "\xFF\xD8\xFF", {}, false, "image/jpeg"},
    // Audio and video.
    {Kind::Masked, ".snd", "\xFF\xFF\xFF\xFF", false, "audio/basic"},
    {Kind::Masked,
     "FORM\x00\x00\x00\x00"
     "AIFF"sv,
     "\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF"sv, false, "audio/aiff"},
    {Kind::Masked, "ID3", "\xFF\xFF\xFF", false, "audio/mpeg"},
    {Kind::Masked, "OggS\x00"sv, "\xFF\xFF\xFF\xFF\xFF"sv, false, "application/ogg"},
    {Kind::Masked, "MThd\x00\x00\x00\x06"sv, "\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF"sv, false,
     "audio/midi"},
    {Kind::Masked,
     "RIFF\x00\x00\x00\x00"
     "AVI "sv,
     "\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF"sv, false, "video/avi"},
    {Kind::Masked, "RIFF\x00\x00\x00\x00WAVE"sv,
     "\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF"sv, false, "audio/wave"},
    {Kind::Mp4, {}, {}, false, "video/mp4"},
    {Kind::Exact, "\x1A\x45\xDF\xA3", {}, false, "video/webm"},
    // Fonts.
    {Kind::Masked,
     "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
     "\x00\x00\x00\x00"
     "\x00\x00\x00\x00\x00\x00\x00LP"sv,
     "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
     "\x00\x00\x00\x00"
     "\x00\x00\x00\x00\x00\x00\x00\xFF\xFF"sv,
     false, "application/vnd.ms-fontobject"},
    {Kind::Exact, "\x00\x01\x00\x00"sv, {}, false, "font/ttf"},
    {Kind::Exact, "OTTO", {}, false, "font/otf"},
    {Kind::Exact, "ttcf", {}, false, "font/collection"},
    {Kind::Exact, "wOFF", {}, false, "font/woff"},
    {Kind::Exact, "wOF2", {}, false, "font/woff2"},
    // Archives.
    {Kind::Exact, "\x1F\x8B\x08", {}, false, "application/x-gzip"},
    {Kind::Exact, "PK\x03\x04", {}, false, "application/zip"},
    {Kind::Exact, "Rar!\x1A\x07\x00"sv, {}, false, "application/x-rar-compressed"},
    {Kind::Exact, "Rar!\x1A\x07\x01\x00"sv, {}, false, "application/x-rar-compressed"},
    {Kind::Exact, "\x00\x61\x73\x6D"sv, {}, false, "application/wasm"},
    {Kind::Text, {}, {}, false, "text/plain; charset=utf-8"},
};

bool matchHtml(std::string_view data, std::string_view tag) {
  if (data.size() < tag.size() + 1) return false;
  for (size_t i = 0; i < tag.size(); ++i) {
    unsigned char b = static_cast<unsigned char>(tag[i]);
    unsigned char d = static_cast<unsigned char>(data[i]);
    if (b >= 'A' && b <= 'Z') d &= 0xDF;
    if (b != d) return false;
  }
  char next = data[tag.size()];
  return next == ' ' || next == '>';
}

bool matchMasked(std::string_view data, std::string_view pattern, std::string_view mask) {
  if (pattern.size() != mask.size() || data.size() < mask.size()) return false;
  for (size_t i = 0; i < mask.size(); ++i)
    if ((static_cast<unsigned char>(data[i]) & static_cast<unsigned char>(mask[i])) !=
        static_cast<unsigned char>(pattern[i]))
      return false;
  return true;
}

bool matchMp4(std::string_view data) {
  if (data.size() < 12) return false;
  uint32_t boxSize = uint32_t(uint8_t(data[0])) << 24 | uint32_t(uint8_t(data[1])) << 16 |
                     uint32_t(uint8_t(data[2])) << 8 | uint8_t(data[3]);
  if (boxSize % 4 != 0 || data.size() < boxSize) return false;
  if (data.substr(4, 4) != "ftyp") return false;
  for (size_t at = 8; at < boxSize; at += 4) {
    if (at == 12) continue;  // the minor version
    if (data.substr(at, 3) == "mp4") return true;
  }
  return false;
}

bool matchText(std::string_view data) {
  for (unsigned char b : data) {
    if (b <= 0x08 || b == 0x0B || (b >= 0x0E && b <= 0x1A) || (b >= 0x1C && b <= 0x1F))
      return false;
  }
  return true;
}

}  // namespace

std::string_view detectContentType(std::string_view data) {
  if (data.size() > kSniffLength) data = data.substr(0, kSniffLength);
  size_t firstNonWs = 0;
  while (firstNonWs < data.size() && isWhitespace(static_cast<unsigned char>(data[firstNonWs])))
    ++firstNonWs;
  std::string_view trimmed = data.substr(firstNonWs);
  for (const auto& sig : kSignatures) {
    bool match = false;
    switch (sig.kind) {
    case Kind::Html:
      match = matchHtml(trimmed, sig.pattern);
      break;
    case Kind::Masked:
      match = matchMasked(sig.skipWhitespace ? trimmed : data, sig.pattern, sig.mask);
      break;
    case Kind::Exact:
      match = data.starts_with(sig.pattern);
      break;
    case Kind::Mp4:
      match = matchMp4(data);
      break;
    case Kind::Text:
      match = matchText(trimmed);
      break;
    }
    if (match) return sig.type;
  }
  return "application/octet-stream";
}

}  // namespace causeway::http
