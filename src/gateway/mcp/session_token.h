// The MCP gateway's session ids: the id a server gave a session, sealed together with the URL
// of that server, so that any causeway replica holding the same secret sends the session's
// requests back to the server that has it, with no shared state between replicas (an L4
// balancer may spread a client's connections over them). AES-256-GCM: the client can neither
// read the server's URL nor forge or alter an id. The token is "cw1." and base64url, visible
// ASCII as MCP requires of session ids.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace causeway::gateway::mcp {

struct SessionTarget {
  std::string serverUrl;
  std::string upstreamId;  // the session id the server gave
};

class SessionSealer {
 public:
  // `secret`: shared by the replicas; empty picks a random key (sessions then survive only
  // on this process).
  explicit SessionSealer(std::string_view secret);
  std::string seal(std::string_view serverUrl, std::string_view upstreamId) const;
  // nullopt when `token` is not one of ours (malformed, forged, altered, or sealed with
  // another secret).
  std::optional<SessionTarget> open(std::string_view token) const;
  // Any text sealed the same way (a federated session's servers and ids).
  std::string sealText(std::string_view plain) const;
  std::optional<std::string> openText(std::string_view token) const;

 private:
  std::array<unsigned char, 32> key_{};
};

}  // namespace causeway::gateway::mcp
