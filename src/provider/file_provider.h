// providers.file: dynamic configuration from one file (`filename`) or every YAML/TOML
// file under a directory (`directory`, recursively, hidden files skipped), merged. With
// `watch` (default true) changes are picked up through inotify, debounced; SIGHUP re-reads
// too. A file that does not parse keeps the last good configuration of the provider
// running and the error (file:line) is logged. When two files define the same element,
// the first file (by path order) wins and a warning names both, as Traefik does. A change
// is applied only when the files are quiet (not open for writing, size and mtime steady for
// quietPeriod; a file renamed into place is complete at once), and a change that empties the
// configuration or drops most routers is held back with a loud error until SIGHUP
// (guardRouterLoss).
#pragma once

#include <map>
#include <set>
#include <memory>
#include <string>

#include "config/parse.h"
#include "core/clock.h"
#include "provider/provider.h"

namespace causeway::provider {

struct FileProviderOptions {
  std::string filename;
  std::string directory;
  bool watch = true;
  bool debugLogGeneratedTemplate = false;  // log each file's rendered text (debug level)
  std::chrono::milliseconds debounce{50};
  // A change is applied only once the files have kept the same size and modification time
  // for this long, and none is open for writing (docs/security.md, H03).
  std::chrono::milliseconds quietPeriod{200};
  std::chrono::milliseconds maxWriteWait{10000};  // a file held open for writing longer: applied anyway
  // Keep the last good configuration when a change empties it or drops most of its routers
  // (a truncated or half-written file); SIGHUP applies it anyway. causeway extension.
  bool guardRouterLoss = true;
};

class FileProvider final : public Provider {
 public:
  explicit FileProvider(FileProviderOptions options);
  ~FileProvider() override;
  const std::string& name() const override { return name_; }
  LoadResult load() override;
  void watch(asio::io_context& control, ConfigSink sink) override;
  void reload() override;

 private:
  struct CachedFile {
    int64_t mtimeNs = 0;
    int64_t ctimeNs = 0;
    uint64_t inode = 0;
    uint64_t size = 0;
    config::ParseResult parsed;
  };
  void addWatches();
  void readEvents();
  void scheduleReload();
  void emitIfChanged(bool forced = false);
  // Sizes and modification times of the files now (the quiet-period check).
  std::string signature() const;
  std::vector<std::string> listFiles(std::vector<config::ConfigError>& errors) const;
  const config::ParseResult& parse(const std::string& path, std::vector<config::ConfigError>& errors);
  config::ParseResult read(const std::string& path) const;  // parsed, templates rendered

  std::string name_ = "file";
  FileProviderOptions options_;
  std::map<std::string, CachedFile> cache_;
  ConfigSink sink_;
  asio::io_context* control_ = nullptr;
  int inotifyFd_ = -1;
  std::unique_ptr<asio::posix::stream_descriptor> inotify_;
  std::unique_ptr<asio::steady_timer> debounce_;
  std::map<int, std::string> watches_;  // watch descriptor → directory
  std::array<char, 16384> eventBuffer_{};
  uint64_t lastFingerprint_ = 0;
  bool emitted_ = false;
  size_t lastRouters_ = 0;               // routers in the last configuration sent
  std::set<std::string> writing_;        // files modified and not closed yet (inotify)
  std::string pendingSignature_;         // at the previous quiet-period check
  // Every event of the current change renamed the watched file into place: it is complete as
  // it is (no quiet period).
  bool renamedIntoPlace_ = true;
  Clock::time_point waitingSince_{};     // the first check of the current change
};

}  // namespace causeway::provider
