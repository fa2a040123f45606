#include "downstream/stream_tunnel.h"

#include "core/bytes.h"
#include "core/strings.h"
#include "exchange/local_reply.h"

namespace causeway::downstream {

int prepareExtendedConnect(exchange::Request& r, std::string_view protocol, Arena& arena) {
  if (!iequals(protocol, "websocket")) return 501;
  r.method = "GET";
  r.upgrade = true;
  r.websocket = true;  // X-Forwarded-Proto ws/wss, and the protocol in metrics and logs
  r.headers.set("Upgrade", "websocket");
  if (!r.headers.has("Sec-WebSocket-Key")) r.headers.add("Sec-WebSocket-Key", arena.copy(base64Encode(randomBytes(16))));
  return 0;
}

StreamTunnel openStreamTunnel(exchange::Exchange& ex, exchange::BodySource* in, Arena& arena,
                              const asio::any_io_executor& executor) {
  if (ex.response.status == 101 && ex.response.tunnel) {
    exchange::UpgradeTunnel* tunnel = std::exchange(ex.response.tunnel, nullptr);
    ex.response.status = 200;
    for (std::string_view name : {"Upgrade", "Connection", "Sec-WebSocket-Accept"}) ex.response.headers.remove(name);
    auto* pipe = arena.make<TunnelPipe>(executor);
    auto* duplex = arena.make<StreamTunnelDuplex>(in, *pipe);
    ex.response.body = pipe;
    ex.background.spawn(executor, [](exchange::UpgradeTunnel* t, StreamTunnelDuplex* d, TunnelPipe* p) -> awaitable<void> {
      co_await t->run(*d, {});
      p->end();  // whatever way the tunnel ended, the response ends
    }(tunnel, duplex, pipe));
    return {tunnel, pipe};
  }
  if (ex.response.status >= 200 && ex.response.status < 300) {
    ex.record.errorDetail = "the upstream did not switch protocols";
    exchange::statusTextReply(ex, 502);
  }
  return {};
}

}  // namespace causeway::downstream
