// What every provider that reads a remote source (a KV store, an HTTP endpoint) does with what
// it read, in one place: a configuration is emitted only when it differs from the last one
// (the fingerprint of its tree); a source that cannot be read is logged once per outage and
// reported through the provider's status (API warnings, dashboard) until it answers again,
// while the last good configuration keeps serving.
//
// Threading: the control thread's, as the provider's watch.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/steady_timer.hpp>

#include "io/asio.h"
#include "provider/provider.h"

namespace causeway::provider {

class SourceWatch {
 public:
  SourceWatch(std::string provider, ConfigSink sink, std::function<void(const std::string&)> status)
      : provider_(std::move(provider)), sink_(std::move(sink)), status_(std::move(status)) {}

  // The source cannot be read now: said once per outage.
  void failed(const std::string& error);
  // The source answered (clears an outage, unless `answering` is false: a part of it still
  // cannot be read) and gave `built`: emitted when it changed. The element errors of a new
  // configuration are logged.
  void read(LoadResult built, bool answering = true);
  // The source answers again, before anything is read (a watch re-established).
  void answering();
  bool failing() const { return failing_; }
  // The provider is going away: nothing more is reported.
  void detach() { status_ = nullptr; }

 private:
  std::string provider_;
  ConfigSink sink_;
  std::function<void(const std::string&)> status_;
  uint64_t lastFingerprint_ = 0;
  bool emitted_ = false;
  bool failing_ = false;
};

// What the state of every remote provider holds, shared with its loop (which may outlive the
// provider by one wake-up): the SourceWatch, the loop's timer, and whether the provider is gone.
struct RemoteSource {
  std::unique_ptr<SourceWatch> watch;
  std::unique_ptr<asio::steady_timer> timer;
  std::string settingsError;  // the options are unusable: load() reports it, watch() does nothing
  bool stopped = false;

  // watch(): the SourceWatch and the timer, on the control loop.
  void start(asio::io_context& control, const std::string& provider, ConfigSink sink,
             std::function<void(const std::string&)> status) {
    watch = std::make_unique<SourceWatch>(provider, std::move(sink), std::move(status));
    timer = std::make_unique<asio::steady_timer>(control);
  }
  // The provider is going away: nothing more is reported, and the loop ends when it wakes.
  void stop() {
    stopped = true;
    if (watch) watch->detach();
    if (timer) timer->cancel();
  }
};

// The pause before trying a source again: 0.5 s, doubling to 30 s, back to 0.5 s once it answers.
class Backoff {
 public:
  std::chrono::milliseconds next() {
    auto now = pause_;
    pause_ = std::min<std::chrono::milliseconds>(pause_ * 2, std::chrono::seconds(30));
    return now;
  }
  void reset() { pause_ = std::chrono::milliseconds(500); }

 private:
  std::chrono::milliseconds pause_{500};
};

// Runs `task` to completion on an event loop of its own (a provider's load(): start-up and
// `causeway check`, before the control loop runs).
void runAlone(std::function<awaitable<void>(asio::io_context&)> task);

// The warning of a load() that could not reach its source: the configuration is not wrong,
// the store is away; Traefik starts and retries, and so does causeway.
config::ConfigError unreachable(const std::string& provider, const std::string& error,
                                const std::string& retried);

}  // namespace causeway::provider
