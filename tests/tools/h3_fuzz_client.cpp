// A small HTTP/3 fuzzing client for tests/e2e/test_http3.py: it completes real QUIC handshakes
// (ngtcp2's client with GnuTLS, as the server uses) and then writes malformed HTTP/3 onto the
// streams: garbage and mutated frames on request streams, bad control and QPACK streams,
// impossible lengths, frames in the wrong place. Each case runs on a fresh connection, because
// most of them are connection errors. QUIC itself stays well-formed (ngtcp2 writes it), so what
// is tested is the server's HTTP/3 layer and the code around it.
//
//   h3_fuzz_client HOST PORT SERVERNAME ITERATIONS SEED
//   h3_fuzz_client HOST PORT SERVERNAME websocket PATH MESSAGE
//
// The second form is an RFC 9220 client: an extended CONNECT with :protocol websocket, one
// masked text message in a DATA frame, the echo read back ("status: 200", "echo: MESSAGE").
//
// Prints one line per case ("case N kind: outcome"), and at the end "valid: <status>" for a
// well-formed request on a fresh connection. Exits 0 when every connection completed its
// handshake and the last request got a response; the server's health is the caller's to check.
#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <netdb.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

std::mt19937_64 rng;

uint64_t now() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch()).count());
}

void fill(uint8_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = uint8_t(rng());
}

std::string varint(uint64_t v) {
  std::string out;
  if (v < 64) {
    out.push_back(char(v));
  } else if (v < 16384) {
    out.push_back(char(0x40 | (v >> 8)));
    out.push_back(char(v & 0xff));
  } else if (v < (1u << 30)) {
    for (int i = 3; i >= 0; --i) out.push_back(char(((v >> (8 * i)) & 0xff) | (i == 3 ? 0x80 : 0)));
  } else {
    for (int i = 7; i >= 0; --i) out.push_back(char(((v >> (8 * i)) & 0xff) | (i == 7 ? 0xc0 : 0)));
  }
  return out;
}

std::string frame(uint64_t type, const std::string& payload) { return varint(type) + varint(payload.size()) + payload; }

// GET / for `authority`, QPACK with the static table only (RFC 9204 Appendix A): :method GET
// (17), :scheme https (23), :path / (1), :authority (0) with a literal value.
std::string validHeaders(const std::string& authority) {
  std::string block("\x00\x00", 2);
  block += char(0xC0 | 17);
  block += char(0xC0 | 23);
  block += char(0xC0 | 1);
  block += char(0x50);
  block += char(authority.size());
  block += authority;
  return frame(0x01, block);
}

struct Client {
  int fd = -1;
  sockaddr_storage local{}, remote{};
  socklen_t localLength = 0, remoteLength = 0;
  ngtcp2_conn* conn = nullptr;
  gnutls_session_t session = nullptr;
  gnutls_certificate_credentials_t credentials = nullptr;
  ngtcp2_crypto_conn_ref ref{};
  bool handshaken = false;
  bool closed = false;  // the server closed the connection
  std::string received;  // bytes on the request stream
  bool streamReset = false;

  static ngtcp2_conn* getConn(ngtcp2_crypto_conn_ref* r) { return static_cast<Client*>(r->user_data)->conn; }

  bool start(const char* host, const char* port, const char* serverName) {
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_DGRAM;
    if (getaddrinfo(host, port, &hints, &res) != 0) return false;
    fd = socket(res->ai_family, SOCK_DGRAM, 0);
    std::memcpy(&remote, res->ai_addr, res->ai_addrlen);
    remoteLength = res->ai_addrlen;
    freeaddrinfo(res);
    if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&remote), remoteLength) != 0) return false;
    localLength = sizeof local;
    getsockname(fd, reinterpret_cast<sockaddr*>(&local), &localLength);

    ngtcp2_callbacks cb{};
    cb.client_initial = ngtcp2_crypto_client_initial_cb;
    cb.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
    cb.encrypt = ngtcp2_crypto_encrypt_cb;
    cb.decrypt = ngtcp2_crypto_decrypt_cb;
    cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
    cb.recv_retry = ngtcp2_crypto_recv_retry_cb;
    cb.update_key = ngtcp2_crypto_update_key_cb;
    cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
    cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
    cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
    cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
    cb.rand = [](uint8_t* out, size_t n, const ngtcp2_rand_ctx*) { fill(out, n); };
    cb.get_new_connection_id = [](ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token, size_t n, void*) {
      fill(cid->data, n);
      cid->datalen = n;
      fill(token, NGTCP2_STATELESS_RESET_TOKENLEN);
      return 0;
    };
    cb.handshake_completed = [](ngtcp2_conn*, void* self) {
      static_cast<Client*>(self)->handshaken = true;
      return 0;
    };
    cb.recv_stream_data = [](ngtcp2_conn* c, uint32_t, int64_t id, uint64_t, const uint8_t* data, size_t n, void* self,
                             void*) {
      if (id == 0) static_cast<Client*>(self)->received.append(reinterpret_cast<const char*>(data), n);
      ngtcp2_conn_extend_max_stream_offset(c, id, n);
      ngtcp2_conn_extend_max_offset(c, n);
      return 0;
    };
    cb.stream_reset = [](ngtcp2_conn*, int64_t id, uint64_t, uint64_t, void* self, void*) {
      if (id == 0) static_cast<Client*>(self)->streamReset = true;
      return 0;
    };
    ngtcp2_cid dcid, scid;
    dcid.datalen = 18;
    fill(dcid.data, dcid.datalen);
    scid.datalen = 17;
    fill(scid.data, scid.datalen);
    ngtcp2_settings settings;
    ngtcp2_settings_default(&settings);
    settings.initial_ts = now();
    ngtcp2_transport_params params;
    ngtcp2_transport_params_default(&params);
    params.initial_max_streams_uni = 3;
    params.initial_max_stream_data_bidi_local = 1 << 20;
    params.initial_max_stream_data_uni = 1 << 20;
    params.initial_max_data = 4 << 20;
    params.max_idle_timeout = 5 * NGTCP2_SECONDS;
    ngtcp2_path path{{reinterpret_cast<ngtcp2_sockaddr*>(&local), localLength},
                     {reinterpret_cast<ngtcp2_sockaddr*>(&remote), remoteLength},
                     nullptr};
    if (ngtcp2_conn_client_new(&conn, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &cb, &settings, &params, nullptr,
                               this) != 0)
      return false;
    gnutls_certificate_allocate_credentials(&credentials);
    gnutls_init(&session, GNUTLS_CLIENT);
    ngtcp2_crypto_gnutls_configure_client_session(session);
    gnutls_priority_set_direct(session,
                               "%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:"
                               "+AES-256-GCM:+CHACHA20-POLY1305:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1",
                               nullptr);
    gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, credentials);
    gnutls_datum_t alpn{reinterpret_cast<unsigned char*>(const_cast<char*>("h3")), 2};
    gnutls_alpn_set_protocols(session, &alpn, 1, 0);
    gnutls_server_name_set(session, GNUTLS_NAME_DNS, serverName, std::strlen(serverName));
    ref.get_conn = &Client::getConn;
    ref.user_data = this;
    gnutls_session_set_ptr(session, &ref);
    ngtcp2_conn_set_tls_native_handle(conn, session);
    return true;
  }

  ~Client() {
    if (conn) ngtcp2_conn_del(conn);
    if (session) gnutls_deinit(session);
    if (credentials) gnutls_certificate_free_credentials(credentials);
    if (fd >= 0) close(fd);
  }

  // Writes what ngtcp2 has to send, and `data` on `stream` (with FIN when `fin`) if given.
  void write(int64_t stream = -1, std::string* data = nullptr, bool fin = false) {
    uint8_t out[1452];
    bool sending = data != nullptr;
    for (int i = 0; i < 400; ++i) {
      ngtcp2_path_storage ps;
      ngtcp2_path_storage_zero(&ps);
      ngtcp2_ssize written = -1;
      ngtcp2_vec vec{sending ? reinterpret_cast<uint8_t*>(data->data()) : nullptr, sending ? data->size() : 0};
      uint32_t flags = sending && fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0;
      ngtcp2_ssize n = ngtcp2_conn_writev_stream(conn, &ps.path, nullptr, out, sizeof out, &written, flags,
                                                 sending ? stream : -1, sending ? &vec : nullptr, sending ? 1 : 0, now());
      if (n < 0) return;  // blocked by flow control, or the stream is gone: the case is over
      if (sending && written >= 0) {
        data->erase(0, size_t(written));
        if (data->empty()) sending = false;
      }
      if (n == 0) return;
      send(fd, out, size_t(n), 0);
    }
  }

  // Reads and handles timers for up to `ms`, or until `until()` holds.
  template <class Until>
  void run(int ms, Until until) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    uint8_t buf[65536];
    while (!closed && !until() && std::chrono::steady_clock::now() < end) {
      pollfd p{fd, POLLIN, 0};
      poll(&p, 1, 5);
      if (p.revents & POLLIN) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
          ngtcp2_path path{{reinterpret_cast<ngtcp2_sockaddr*>(&local), localLength},
                           {reinterpret_cast<ngtcp2_sockaddr*>(&remote), remoteLength},
                           nullptr};
          ngtcp2_pkt_info pi{};
          int rv = ngtcp2_conn_read_pkt(conn, &path, &pi, buf, size_t(n), now());
          if (rv != 0) {
            closed = true;  // CONNECTION_CLOSE from the server (draining), or an error
            return;
          }
        }
      }
      if (ngtcp2_conn_get_expiry(conn) <= now() && ngtcp2_conn_handle_expiry(conn, now()) != 0) {
        closed = true;
        return;
      }
      write();
    }
  }
};

std::string mutate(std::string s) {
  if (s.empty()) return s;
  switch (rng() % 4) {
  case 0:  // flip some bits
    for (int i = 0, n = 1 + int(rng() % 4); i < n; ++i) s[rng() % s.size()] ^= char(1 << (rng() % 8));
    break;
  case 1:  // truncate
    s.resize(rng() % s.size());
    break;
  case 2: {  // random bytes in the middle
    std::string junk(1 + rng() % 16, '\0');
    fill(reinterpret_cast<uint8_t*>(junk.data()), junk.size());
    s.insert(rng() % s.size(), junk);
    break;
  }
  default:  // repeat a piece
    s += s.substr(rng() % s.size());
  }
  return s;
}

std::string randomBytes(size_t n);

// One QPACK string literal (no Huffman) with an N-bit length prefix under `flags`.
std::string literal(uint8_t flags, int prefixBits, const std::string& value) {
  std::string out;
  const size_t max = (1u << prefixBits) - 1;
  if (value.size() < max) {
    out.push_back(char(flags | value.size()));
  } else {
    out.push_back(char(flags | max));
    size_t rest = value.size() - max;
    while (rest >= 128) {
      out.push_back(char(0x80 | (rest & 0x7f)));
      rest >>= 7;
    }
    out.push_back(char(rest));
  }
  return out + value;
}

int websocket(Client& c, const std::string& authority, const std::string& path, const std::string& message) {
  int64_t control = -1;
  ngtcp2_conn_open_uni_stream(c.conn, &control, nullptr);
  std::string controlBytes = std::string("\x00", 1) + frame(0x04, "");
  c.write(control, &controlBytes, false);
  // QPACK, static table and literals: :method CONNECT (15), :scheme https (23), :path and
  // :authority by name reference (1, 0), :protocol and sec-websocket-version by literal name.
  std::string block("\x00\x00", 2);
  block += char(0xC0 | 15);
  block += char(0xC0 | 23);
  block += char(0x51);
  block += literal(0x00, 7, path);
  block += char(0x50);
  block += literal(0x00, 7, authority);
  block += literal(0x20, 3, ":protocol") + literal(0x00, 7, "websocket");
  block += literal(0x20, 3, "sec-websocket-version") + literal(0x00, 7, "13");
  // One masked text frame (RFC 6455 §5.2).
  std::string ws;
  ws.push_back(char(0x81));
  ws.push_back(char(0x80 | message.size()));
  std::string key = randomBytes(4);
  ws += key;
  for (size_t i = 0; i < message.size(); ++i) ws.push_back(char(message[i] ^ key[i % 4]));
  int64_t stream = -1;
  ngtcp2_conn_open_bidi_stream(c.conn, &stream, nullptr);
  std::string bytes = frame(0x01, block) + frame(0x00, ws);
  c.write(stream, &bytes, false);
  // Frames back: HEADERS, then DATA carrying the echo.
  std::string status, echo;
  auto parse = [&] {
    std::string_view in(c.received);
    while (!in.empty()) {
      auto readVarint = [&](uint64_t& v) {
        if (in.empty()) return false;
        size_t n = size_t(1) << (uint8_t(in[0]) >> 6);
        if (in.size() < n) return false;
        v = uint8_t(in[0]) & 0x3f;
        for (size_t i = 1; i < n; ++i) v = (v << 8) | uint8_t(in[i]);
        in.remove_prefix(n);
        return true;
      };
      uint64_t type = 0, length = 0;
      if (!readVarint(type) || !readVarint(length) || in.size() < length) return;
      std::string_view payload = in.substr(0, length);
      in.remove_prefix(length);
      if (type == 0x01 && status.empty() && payload.size() >= 3)
        status = uint8_t(payload[2]) == (0xC0 | 25) ? "200" : "other";  // :status 200 is static 25
      if (type == 0x00 && payload.size() >= 2 && (uint8_t(payload[1]) & 0x7f) < 126)
        echo.assign(payload.substr(2, uint8_t(payload[1]) & 0x7f));
    }
  };
  c.run(5000, [&] {
    parse();
    return !echo.empty() || c.streamReset;
  });
  std::printf("status: %s\necho: %s\n", status.c_str(), echo.c_str());
  // A close frame and the stream's end.
  std::string close = frame(0x00, std::string("\x88\x80", 2) + randomBytes(4));
  c.write(stream, &close, true);
  c.run(300, [] { return false; });
  return status == "200" && echo == message ? 0 : 1;
}

std::string randomBytes(size_t n) {
  std::string s(n, '\0');
  fill(reinterpret_cast<uint8_t*>(s.data()), n);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 7 && std::string(argv[4]) == "websocket") {
    rng.seed(uint64_t(now()));
    Client c;
    if (!c.start(argv[1], argv[2], argv[3])) return 1;
    c.write();
    c.run(2000, [&] { return c.handshaken; });
    if (!c.handshaken) {
      std::printf("no handshake\n");
      return 1;
    }
    return websocket(c, std::string(argv[3]) + ":" + argv[2], argv[5], argv[6]);
  }
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s HOST PORT SERVERNAME ITERATIONS SEED\n", argv[0]);
    return 2;
  }
  const char* host = argv[1];
  const char* port = argv[2];
  std::string name = argv[3];
  int iterations = std::atoi(argv[4]);
  rng.seed(std::strtoull(argv[5], nullptr, 10));
  const std::string authority = name + ":" + port;
  const std::string settings = frame(0x04, "");  // an empty SETTINGS frame
  int failures = 0;

  for (int i = 0; i <= iterations; ++i) {
    Client c;
    if (!c.start(host, port, name.c_str())) {
      std::printf("case %d: cannot start\n", i);
      return 1;
    }
    c.write();
    c.run(2000, [&] { return c.handshaken; });
    if (!c.handshaken) {
      std::printf("case %d: no handshake\n", i);
      ++failures;
      continue;
    }
    // The client's control stream (id 2) with SETTINGS, as a real client opens it.
    int64_t control = -1;
    ngtcp2_conn_open_uni_stream(c.conn, &control, nullptr);
    std::string controlBytes = std::string("\x00", 1) + settings;
    c.write(control, &controlBytes, false);
    int64_t request = -1;
    ngtcp2_conn_open_bidi_stream(c.conn, &request, nullptr);
    const bool last = i == iterations;
    std::string kind;
    std::string bytes;
    if (last) {
      kind = "valid";
      bytes = validHeaders(authority);
    } else {
      switch (rng() % 9) {
      case 0: kind = "garbage"; bytes = randomBytes(1 + rng() % 300); break;
      case 1: kind = "mutated-headers"; bytes = mutate(validHeaders(authority)); break;
      case 2: kind = "random-qpack"; bytes = frame(0x01, randomBytes(rng() % 200)); break;
      case 3: kind = "data-first"; bytes = frame(0x00, "body") + validHeaders(authority); break;
      case 4: kind = "huge-length"; bytes = varint(0x01) + varint((1ull << 62) - 1) + randomBytes(20); break;
      case 5: kind = "settings-on-request"; bytes = settings + validHeaders(authority); break;
      case 6: {
        kind = "second-control";
        int64_t again = -1;
        ngtcp2_conn_open_uni_stream(c.conn, &again, nullptr);
        std::string second = std::string("\x00", 1) + settings;
        c.write(again, &second, false);
        bytes = validHeaders(authority);
        break;
      }
      case 7: {
        kind = "bad-qpack-encoder";
        int64_t encoder = -1;
        ngtcp2_conn_open_uni_stream(c.conn, &encoder, nullptr);
        std::string instructions = std::string("\x02", 1) + randomBytes(1 + rng() % 64);
        c.write(encoder, &instructions, false);
        bytes = validHeaders(authority);
        break;
      }
      default: kind = "mutated-request"; bytes = mutate(validHeaders(authority) + frame(0x00, randomBytes(64))); break;
      }
    }
    c.write(request, &bytes, true);
    c.run(last ? 3000 : 300, [&] { return c.streamReset || c.received.size() > 2; });
    const char* outcome = c.closed ? "connection closed" : c.streamReset ? "stream reset"
                          : !c.received.empty() ? "response" : "no answer";
    if (last) {
      // HEADERS frame back: type 0x01; the status is in QPACK, enough to see a response came.
      std::printf("valid: %s (%zu bytes)\n", outcome, c.received.size());
      if (c.received.empty() || c.received[0] != 0x01) ++failures;
    } else {
      std::printf("case %d %s: %s\n", i, kind.c_str(), outcome);
    }
  }
  return failures ? 1 : 0;
}
