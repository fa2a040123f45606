// One MCP endpoint in front of several MCP servers (the `mcp` middleware's `federation`,
// docs/mcp-gateway.md "Federation"). The gateway is the MCP server its clients see: it opens a
// session on every federated server when the client initializes, and seals their session ids
// into the one it gives the client (session_token.h), so that any replica with the same secret
// serves the session. Then:
//  - tools/list, prompts/list and resources/list (and resources/templates/list) ask every server
//    at once and merge the answers (in the servers' order, whichever answers first); tool and prompt names get the server's name and the separator as a
//    prefix ("github_create_issue"); a page's cursor holds every server's own cursor, so
//    pagination walks all of them; the merged list is filtered by the policies;
//  - tools/call and prompts/get go to the server the prefix names, with the name it knows, and
//    the answer (JSON or a stream) passes through as it comes;
//  - resources/read, subscribe and unsubscribe go to the servers in turn until one has the
//    resource; initialize, notifications, logging/setLevel and DELETE go to every server at
//    once; ping is answered here;
//  - GET opens every server's GET stream and merges them (merged_stream.h): the servers'
//    notifications (list_changed, logs) reach the client; their requests to the client
//    (sampling, elicitation) are not carried, since their answers could not be routed back.
// The federated servers must speak a 2025 revision (sessions), as must the clients.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "exchange/exchange.h"
#include "exchange/mcp_record.h"
#include "exchange/middleware_registry.h"
#include "gateway/mcp/policy.h"
#include "gateway/mcp/session_token.h"

namespace causeway::gateway::mcp {

class Federation {
 public:
  struct Server {
    std::string name;  // the prefix of its tools and prompts
    exchange::ServiceRefPtr service;
  };

  Federation(std::vector<Server> servers, std::string separator,
             std::shared_ptr<const SessionSealer> sealer, int64_t maxAnswerBytes,
             std::chrono::nanoseconds keepAlive)
      : servers_(std::move(servers)), separator_(std::move(separator)), sealer_(std::move(sealer)),
        maxAnswerBytes_(maxAnswerBytes), keepAlive_(keepAlive) {}

  // Serves one request of the federated endpoint. `message`: the POST's JSON-RPC message, already
  // checked (null for GET and DELETE).
  awaitable<void> handle(exchange::Exchange& ex, exchange::McpRecord& rec,
                         const boost::json::value* message, const PolicySet& policies) const;

  struct Member {
    size_t server = 0;    // index into servers_
    std::string url;      // the server of the service that holds the session
    std::string session;  // that server's session id
  };
  struct Session {
    std::string version;  // the protocol version the servers agreed with the client
    std::vector<Member> members;
  };
  struct Answer;

 private:
  struct Fanout;
  awaitable<Answer> ask(exchange::Exchange& ex, const Member& member, std::string_view method,
                        const std::string& body, const boost::json::value* id) const;
  // The same request (body i to member i) to several servers at once; the answers in the
  // members' order, once every server answered or failed.
  awaitable<std::vector<Answer>> askAll(exchange::Exchange& ex, const std::vector<Member>& members,
                                        std::string_view method,
                                        const std::vector<std::string>& bodies,
                                        const boost::json::value* id) const;
  awaitable<void> askInto(exchange::Exchange& ex, Member member, std::string_view method,
                          std::string body, const boost::json::value* id,
                          std::shared_ptr<Fanout> fanout, size_t slot) const;
  awaitable<void> listen(exchange::Exchange& ex, const Session& session) const;
  awaitable<void> initialize(exchange::Exchange& ex, exchange::McpRecord& rec,
                             const boost::json::value& message) const;
  awaitable<void> list(exchange::Exchange& ex, exchange::McpRecord& rec, const Session& session,
                       const boost::json::value& message, const PolicySet& policies) const;
  awaitable<void> call(exchange::Exchange& ex, exchange::McpRecord& rec, const Session& session,
                       const boost::json::value& message) const;
  awaitable<void> firstThatHas(exchange::Exchange& ex, exchange::McpRecord& rec,
                               const Session& session, const boost::json::value& message) const;
  awaitable<int> everyone(exchange::Exchange& ex, const Session& session, std::string_view method,
                          const std::string& body, const boost::json::value* id) const;
  std::string seal(const Session& session) const;
  std::optional<Session> open(std::string_view token) const;

  std::vector<Server> servers_;
  std::string separator_;
  std::shared_ptr<const SessionSealer> sealer_;
  int64_t maxAnswerBytes_;
  std::chrono::nanoseconds keepAlive_;  // comments on the merged GET stream (0: none)
};

}  // namespace causeway::gateway::mcp
