#include "exchange/tcp_handler.h"

namespace causeway::exchange {

TcpMiddlewareRegistry& TcpMiddlewareRegistry::instance() {
  static TcpMiddlewareRegistry registry;
  return registry;
}

}  // namespace causeway::exchange
