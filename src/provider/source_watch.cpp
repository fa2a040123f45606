#include "provider/source_watch.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "core/log.h"

namespace causeway::provider {

void SourceWatch::failed(const std::string& error) {
  if (failing_) return;
  failing_ = true;
  log::error(provider_ + " provider: cannot read the configuration; the last good one keeps serving",
             {{"providerName", provider_}, {"error", error}});
  if (status_) status_("cannot read the configuration (the last good one keeps serving): " + error);
}

void SourceWatch::answering() {
  if (!failing_) return;
  failing_ = false;
  log::info(provider_ + " provider: the store answers again", {{"providerName", provider_}});
  if (status_) status_("");
}

void SourceWatch::read(LoadResult built, bool answers) {
  if (answers) answering();
  uint64_t fingerprint = config::fingerprint(built.config.tree());
  for (const auto& notice : built.config.notices)
    fingerprint = fingerprint * 1099511628211ULL ^ std::hash<std::string>{}(notice.toString());
  if (emitted_ && fingerprint == lastFingerprint_) return;
  for (const auto& e : built.errors) log::error(e.toString(), {{"providerName", provider_}});
  emitted_ = true;
  lastFingerprint_ = fingerprint;
  built.config.fingerprint = fingerprint;  // the pipeline need not compute it again
  sink_(std::move(built.config));
}

void runAlone(std::function<awaitable<void>(asio::io_context&)> task) {
  asio::io_context io;
  asio::co_spawn(io, task(io), asio::detached);
  io.run();
}

config::ConfigError unreachable(const std::string& provider, const std::string& error,
                                const std::string& retried) {
  config::ConfigError warning;
  warning.element = "providers." + provider;
  warning.message = "cannot read the configuration: " + error + " (" + retried + ")";
  warning.warning = true;
  return warning;
}

}  // namespace causeway::provider
