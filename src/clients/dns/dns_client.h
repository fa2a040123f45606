// Sends DNS messages (dns_message.h) and waits for the answer: over UDP, again over TCP when
// the answer is truncated, within a timeout. For the ACME DNS-01 challenge (docs/acme.md):
// RFC 2136 updates and the propagation check's TXT queries. Control thread only.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "clients/dns/dns_message.h"
#include "io/asio.h"

namespace causeway::clients::dns {

// "host", "host:port", "[v6]:port" → host and port (53 by default); false when malformed.
bool parseServer(const std::string& server, std::string& host, uint16_t& port);

// One exchange with `server`; nullopt with `error` when nothing (valid) came back in time.
awaitable<std::optional<Message>> exchange(asio::io_context& io, const std::string& server, const std::string& message,
                                           std::chrono::milliseconds timeout, std::string& error);

// The TXT strings of `name` as `server` answers them (empty when it has none).
awaitable<std::optional<std::vector<std::string>>> txt(asio::io_context& io, const std::string& server,
                                                       const std::string& name, std::chrono::milliseconds timeout,
                                                       std::string& error);

// The zone `name` belongs to, as `server` (authoritative or recursive) says: the owner of the
// SOA record in the answer or authority section of an SOA query, walking up the labels.
awaitable<std::optional<std::string>> zoneOf(asio::io_context& io, const std::string& server, const std::string& name,
                                             std::chrono::milliseconds timeout, std::string& error);

// The nameservers of /etc/resolv.conf ("host:53"); 127.0.0.1:53 when it lists none.
std::vector<std::string> systemResolvers();

}  // namespace causeway::clients::dns
