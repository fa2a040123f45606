// The start of a TLS connection, read without terminating TLS: what a TCP router needs from
// the client's ClientHello (RFC 8446 section 4.1.2, RFC 5246 section 7.4.1.2) to choose a
// route -- the SNI host name (HostSNI, RFC 6066 section 3) and the ALPN protocols (RFC 7301).
// Pure parsing, no I/O: the connection code peeks the first bytes, calls parseClientHello with
// everything received so far until the result is not NeedMore, then forwards those same bytes
// (untouched) to the chosen upstream or to the TLS terminator.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace causeway::net {

struct ClientHello {
  std::string serverName;         // SNI host_name, lower-cased, one trailing dot removed; "" when absent
  std::vector<std::string> alpn;  // protocols offered, in order (empty when no ALPN extension)
};

enum class HelloParse {
  Complete,  // `out` is filled
  NeedMore,  // the bytes so far are the start of a ClientHello that is not finished
  NotTls,    // the first byte is not a TLS handshake record (0x16): the connection is cleartext
  Invalid,   // a TLS record, but no acceptable ClientHello: the connection must be closed
};

// The bound on the bytes a caller buffers: the TLS records that carry the ClientHello (their
// 5-byte headers included) must end within the first kMaxClientHello bytes of the connection.
// 64 KiB is four times the largest plaintext record and far above real hellos (about 0.3 KiB
// for OpenSSL, under 2 KiB with post-quantum key shares, 0.5 KiB padded by browsers). So once
// kMaxClientHello bytes are buffered the answer is never NeedMore.
constexpr size_t kMaxClientHello = 64 * 1024;

// `data`: every byte received so far on the connection. The ClientHello handshake message may
// be split over several handshake records (each `0x16 0x03 xx len16`, 1..16384+2048 bytes of
// payload), and `data` may end at any byte. Bytes after the complete hello (the rest of its
// record, or whatever the client pipelined) are ignored. `out` is assigned only on Complete.
//
// NotTls: the first byte is not 0x16 (cleartext, and SSLv2-compatible hellos, whose first byte
// is 0x80, too). NeedMore when `data` is empty or a strict prefix of a hello. Invalid:
//  - a record header with version major != 3, a length of 0 or over 16384+2048, or a record that
//    is not a handshake (0x16) before the hello ends;
//  - a handshake message that is not client_hello (type 1), or that would end past
//    kMaxClientHello;
//  - a body whose lengths disagree: session_id over 32 bytes, cipher_suites empty or odd,
//    compression_methods empty, extensions not filling the rest of the message exactly, an
//    extension longer than the block;
//  - server_name (type 0) malformed: list empty or not filling the extension, the first
//    host_name (name_type 0) empty, over 255 bytes, with a byte outside 0x21..0x7e, or "."
//    (other name types are skipped; later host_names ignored);
//  - application_layer_protocol_negotiation (type 16) malformed: list empty or not filling the
//    extension, a protocol name empty;
//  - server_name or ALPN present twice (RFC 8446 forbids repeated extensions; a router must not
//    pick one of two names).
// Never throws (except std::bad_alloc); work and memory are linear in min(data.size(),
// kMaxClientHello).
HelloParse parseClientHello(std::string_view data, ClientHello& out);

}  // namespace causeway::net
