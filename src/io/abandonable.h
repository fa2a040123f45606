// What an exchange waits on that is given up when the client goes away: the upstream
// connection waiting for a response head (Go's ReverseProxy cancels through the request's
// context). The forwarder sets Exchange::waiting only while it waits; the downstream codec
// calls Exchange::clientGone().
#pragma once

namespace causeway::io {

class Abandonable {
 public:
  virtual void abandon() = 0;

 protected:
  ~Abandonable() = default;
};

}  // namespace causeway::io
