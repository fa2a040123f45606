#include "exchange/exchange.h"

namespace causeway::exchange {

ConnectionInfo detachedConnection(const ConnectionInfo& connection) {
  ConnectionInfo copy = connection;
  copy.entryPoint = nullptr;
  copy.tlsOptions = nullptr;
  copy.tlsStore = nullptr;
  copy.peerCertificate = nullptr;
  copy.peerChain = nullptr;
  return copy;
}

Request copyRequest(const Request& request, Arena& arena) {
  Request copy;
  copy.method = arena.copy(request.method);
  copy.path = arena.copy(request.path);
  copy.routingPath = arena.copy(request.routingPath);
  copy.rawPath = arena.copy(request.rawPath);
  copy.query = arena.copy(request.query);
  copy.hasQuery = request.hasQuery;
  copy.authority = arena.copy(request.authority);
  copy.host = arena.copy(request.host);
  copy.scheme = arena.copy(request.scheme);
  copy.versionMajor = request.versionMajor;
  copy.versionMinor = request.versionMinor;
  for (const auto& field : request.headers)
    copy.headers.add(arena.copy(field.name), arena.copy(field.value));
  copy.upgrade = request.upgrade;
  copy.websocket = request.websocket;
  copy.nominatedKeptCount = request.nominatedKeptCount;
  for (size_t i = 0; i < request.nominatedKeptCount; ++i)
    copy.nominatedKept[i] = arena.copy(request.nominatedKept[i]);
  return copy;
}

}  // namespace causeway::exchange
