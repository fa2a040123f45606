#include "provider/file_provider.h"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "config/parse.h"
#include "core/log.h"
#include "core/memory_budget.h"
#include "core/strings.h"

namespace causeway::provider {
namespace fs = std::filesystem;

namespace {

bool isConfigFile(const fs::path& path) {
  std::string ext = toLower(path.extension().string());
  return ext == ".yml" || ext == ".yaml" || ext == ".toml";
}

size_t countRouters(const config::Node& root) {
  size_t n = 0;
  for (const char* protocol : {"http", "tcp", "udp"})
    if (const config::Node* section = root.find(protocol))
      if (const config::Node* routers = section->isMap() ? section->find("routers") : nullptr)
        n += routers->isMap() ? routers->size() : 0;
  return n;
}

bool isHidden(const fs::path& path) {
  std::string name = path.filename().string();
  return !name.empty() && name[0] == '.';
}

// Sections whose children are named elements, merged across files (first file wins).
constexpr std::string_view kElementSections[][2] = {
    {"http", "routers"},  {"http", "services"}, {"http", "middlewares"},
    {"http", "serversTransports"}, {"tcp", "routers"}, {"tcp", "services"},
    {"tcp", "middlewares"}, {"tcp", "serversTransports"}, {"udp", "routers"},
    {"udp", "services"},  {"tls", "options"},   {"tls", "stores"}};

void mergeInto(config::Node& merged, const config::Node& file, const std::string& path,
               std::vector<config::ConfigError>& errors) {
  if (!file.isMap()) return;
  for (const auto& top : file.entries()) {
    if (!top.value.isMap()) {
      if (iequals(top.key, "tls") || iequals(top.key, "http") || iequals(top.key, "tcp") ||
          iequals(top.key, "udp")) {
        if (!merged.find(top.key)) merged.set(top.key, top.value, top.keyLocation);
        continue;
      }
      merged.set(top.key, top.value, top.keyLocation);
      continue;
    }
    config::Node* section = merged.find(top.key);
    if (!section) section = &merged.set(top.key, config::Node::map(top.value.location()), top.keyLocation);
    if (!section->isMap()) continue;
    for (const auto& second : top.value.entries()) {
      bool elements = false;
      for (auto [a, b] : kElementSections)
        if (iequals(a, top.key) && iequals(b, second.key)) elements = true;
      if (iequals(top.key, "tls") && iequals(second.key, "certificates")) {
        // Certificates are a list: concatenate.
        config::Node* list = section->find(second.key);
        if (!list) list = &section->set(second.key, config::Node::list(second.value.location()), second.keyLocation);
        if (list->isList() && second.value.isList())
          for (const auto& item : second.value.items()) list->append(item);
        continue;
      }
      config::Node* target = section->find(second.key);
      if (!elements || !second.value.isMap()) {
        if (!target) section->set(second.key, second.value, second.keyLocation);
        continue;
      }
      if (!target) target = &section->set(second.key, config::Node::map(second.value.location()), second.keyLocation);
      for (const auto& element : second.value.entries()) {
        if (const config::Node* existing = target->find(element.key)) {
          config::ConfigError warning;
          warning.location = element.keyLocation;
          warning.element = std::string(top.key) + "." + second.key + "." + element.key;
          warning.message = "defined again in " + path + "; the first definition (" +
                            existing->location().toString() + ") is kept";
          warning.warning = true;
          errors.push_back(std::move(warning));
          continue;
        }
        target->set(element.key, element.value, element.keyLocation);
      }
    }
  }
}

}  // namespace

FileProvider::FileProvider(FileProviderOptions options) : options_(std::move(options)) {}

FileProvider::~FileProvider() {
  inotify_.reset();
}

std::vector<std::string> FileProvider::listFiles(std::vector<config::ConfigError>& errors) const {
  std::vector<std::string> files;
  if (!options_.filename.empty()) {
    files.push_back(options_.filename);
    return files;
  }
  std::error_code ec;
  fs::recursive_directory_iterator it(options_.directory, fs::directory_options::follow_directory_symlink, ec);
  if (ec) {
    config::ConfigError error;
    error.location.source = config::sourceName(options_.directory);
    error.element = "providers.file.directory";
    error.message = "cannot read directory: " + ec.message();
    errors.push_back(std::move(error));
    return files;
  }
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const fs::path& path = it->path();
    if (isHidden(path)) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec) && isConfigFile(path)) files.push_back(path.string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

const config::ParseResult& FileProvider::parse(const std::string& path,
                                               std::vector<config::ConfigError>& errors) {
  // Reuse the parsed tree only while the file is the same: same inode, size, mtime and
  // ctime (ctime changes on every write, even when a copy restores the old mtime).
  struct stat st{};
  bool known = ::stat(path.c_str(), &st) == 0;
  int64_t mtimeNs = known ? int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec : 0;
  int64_t ctimeNs = known ? int64_t(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec : 0;
  uint64_t size = known ? uint64_t(st.st_size) : 0;
  uint64_t inode = known ? uint64_t(st.st_ino) : 0;
  auto it = cache_.find(path);
  if (!known || it == cache_.end() || it->second.mtimeNs != mtimeNs || it->second.ctimeNs != ctimeNs ||
      it->second.size != size || it->second.inode != inode) {
    CachedFile entry;
    entry.mtimeNs = mtimeNs;
    entry.ctimeNs = ctimeNs;
    entry.inode = inode;
    entry.size = size;
    entry.parsed = read(path);
    it = cache_.insert_or_assign(path, std::move(entry)).first;
  }
  return it->second.parsed;
}

config::ParseResult FileProvider::read(const std::string& path) const {
  // One file's tree is freed once the pipeline has decoded it; a directory's, when its file
  // changes (parse()): either way, not kept beside what lives on.
  ShortLivedAllocations shortLived;
  std::string generated;
  config::TemplateOptions templated{&generated};
  config::ParseResult parsed = config::parseConfigFile(path, &templated);
  if (options_.debugLogGeneratedTemplate && !generated.empty())
    log::debug("generated template", {{"providerName", name_}, {"file", path}, {"content", generated}});
  return parsed;
}

LoadResult FileProvider::load() {
  LoadResult result;
  result.config.provider = name_;
  if (options_.filename.empty() == options_.directory.empty()) {
    config::ConfigError error;
    error.element = "providers.file";
    error.message = options_.filename.empty() ? "one of filename or directory is required"
                                              : "filename and directory are mutually exclusive";
    result.errors.push_back(std::move(error));
    return result;
  }
  std::vector<std::string> files = listFiles(result.errors);
  if (config::hasErrors(result.errors)) return result;
  // Forget files that disappeared.
  for (auto it = cache_.begin(); it != cache_.end();) {
    if (std::find(files.begin(), files.end(), it->first) == files.end()) it = cache_.erase(it);
    else ++it;
  }
  config::Node merged = config::Node::map();
  bool ok = true;
  // Only a directory's files are kept parsed, for when another one changes (a tree costs about
  // 1.5 KiB per router). One file is read again at each change anyway: its tree is used as read.
  const bool single = !options_.filename.empty();
  for (const auto& file : files) {
    config::ParseResult own;
    const config::ParseResult& parsed = single ? (own = read(file)) : parse(file, result.errors);
    for (const auto& error : parsed.errors) {
      result.errors.push_back(error);
      if (!error.warning) ok = false;
    }
    if (config::hasErrors(parsed.errors)) continue;
    if (single && own.root.isMap()) merged = std::move(own.root);
    else mergeInto(merged, parsed.root, file, result.errors);
  }
  result.ok = ok;
  result.config.root = std::move(merged);
  // The first good load is the baseline for guardRouterLoss (whoever sends it on).
  if (ok && !lastRouters_) lastRouters_ = countRouters(result.config.root);
  return result;
}

void FileProvider::watch(asio::io_context& control, ConfigSink sink) {
  control_ = &control;
  sink_ = std::move(sink);
  debounce_ = std::make_unique<asio::steady_timer>(control);
  if (!options_.watch) return;
  inotifyFd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotifyFd_ < 0) {
    log::error("cannot watch configuration files (inotify)", {{"providerName", name_}});
    return;
  }
  inotify_ = std::make_unique<asio::posix::stream_descriptor>(control, inotifyFd_);
  addWatches();
  readEvents();
}

void FileProvider::addWatches() {
  // Watch directories, not files: editors and config tools replace files by rename.
  std::vector<std::string> directories;
  if (!options_.filename.empty()) {
    fs::path parent = fs::path(options_.filename).parent_path();
    directories.push_back(parent.empty() ? "." : parent.string());
  } else {
    directories.push_back(options_.directory);
    std::error_code ec;
    for (fs::recursive_directory_iterator it(options_.directory, ec), end; !ec && it != end; it.increment(ec))
      if (it->is_directory(ec) && !isHidden(it->path())) directories.push_back(it->path().string());
  }
  for (const auto& dir : directories) {
    bool known = false;
    for (const auto& [wd, path] : watches_) known = known || path == dir;
    if (known) continue;
    int wd = inotify_add_watch(inotifyFd_, dir.c_str(),
                               IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                                   IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF);
    if (wd >= 0) watches_[wd] = dir;
  }
}

void FileProvider::readEvents() {
  inotify_->async_read_some(asio::buffer(eventBuffer_), [this](error_code ec, size_t n) {
    if (ec) {
      if (ec != asio::error::operation_aborted) log::error("inotify read failed", {{"error", ec.message()}});
      return;
    }
    bool relevant = false;
    std::string watchedName =
        options_.filename.empty() ? std::string() : fs::path(options_.filename).filename().string();
    for (size_t at = 0; at + sizeof(inotify_event) <= n;) {
      auto* event = reinterpret_cast<const inotify_event*>(eventBuffer_.data() + at);
      std::string file = event->len ? std::string(event->name) : std::string();
      at += sizeof(inotify_event) + event->len;
      if (!file.empty() && (watchedName.empty() || file == watchedName)) {
        // A file modified and not yet closed is being written: wait for IN_CLOSE_WRITE. (In
        // single-file mode only that file: a log held open beside it does not hold reloads.)
        std::string key = std::to_string(event->wd) + "/" + file;
        if (event->mask & IN_MODIFY) writing_.insert(key);
        if (event->mask & (IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)) writing_.erase(key);
      }
      if (!watchedName.empty()) {
        // Single-file mode watches the parent directory: only that file matters.
        if (file == watchedName) {
          relevant = true;
          if (!(event->mask & IN_MOVED_TO)) renamedIntoPlace_ = false;
        }
        continue;
      }
      renamedIntoPlace_ = false;  // a directory's change is many events: wait until it is quiet
      // Any change in a watched directory counts, hidden names included: Kubernetes
      // ConfigMap volumes swap a hidden "..data" symlink. Unchanged content is dropped
      // later by fingerprint.
      relevant = true;
    }
    if (relevant) scheduleReload();
    readEvents();
  });
}

void FileProvider::scheduleReload() {
  // A file renamed into place is one event: only a burst of renames is worth waiting for.
  constexpr std::chrono::milliseconds kRenameDebounce{5};
  debounce_->expires_after(renamedIntoPlace_ ? std::min(kRenameDebounce, options_.debounce) : options_.debounce);
  debounce_->async_wait([this](error_code ec) {
    if (ec) return;
    if (!options_.directory.empty()) addWatches();
    // Apply only a quiet change: nothing open for writing, sizes and mtimes as at the last
    // check (a file written in several parts is never published half-way).
    const Clock::time_point now = Clock::now();
    if (waitingSince_ == Clock::time_point{}) waitingSince_ = now;
    std::string current = signature();
    // A file renamed into place was written whole before (editors, configuration tools and
    // `kubectl cp` do it this way); anything else must stay the same over a quiet period.
    bool quiet = writing_.empty() && (renamedIntoPlace_ || current == pendingSignature_);
    if (!quiet && now - waitingSince_ < options_.maxWriteWait) {
      pendingSignature_ = std::move(current);
      debounce_->expires_after(options_.quietPeriod);
      debounce_->async_wait([this](error_code ec) {
        if (!ec) scheduleReload();
      });
      return;
    }
    if (!quiet) log::warn("configuration files still changing; applying them as they are now", {{"providerName", name_}});
    waitingSince_ = {};
    pendingSignature_.clear();
    writing_.clear();
    renamedIntoPlace_ = true;
    emitIfChanged();
  });
}

std::string FileProvider::signature() const {
  std::vector<config::ConfigError> ignored;
  std::string out;
  for (const auto& file : listFiles(ignored)) {
    struct stat st{};
    if (::stat(file.c_str(), &st) != 0) continue;
    out += file;
    out += ':' + std::to_string(st.st_size) + ':' + std::to_string(st.st_mtim.tv_sec) + '.' +
           std::to_string(st.st_mtim.tv_nsec) + ':' + std::to_string(st.st_ino) + '\n';
  }
  return out;
}

void FileProvider::reload() {
  if (control_) asio::post(*control_, [this] { emitIfChanged(true); });
}

void FileProvider::emitIfChanged(bool forced) {
  LoadResult result = load();
  for (const auto& error : result.errors) {
    if (error.warning) log::warn(error.toString(), {{"providerName", name_}});
    else log::error(error.toString(), {{"providerName", name_}});
  }
  if (!result.ok) {
    log::error("configuration not applied: keeping the last good configuration",
               {{"providerName", name_}});
    return;
  }
  uint64_t fingerprint = config::fingerprint(result.config.root);
  if (emitted_ && fingerprint == lastFingerprint_) {
    log::debug("configuration unchanged", {{"providerName", name_}});
    return;
  }
  const size_t routers = countRouters(result.config.root);
  // Suspicious: everything gone, or more than half of at least four routers.
  if (options_.guardRouterLoss && !forced && lastRouters_ > 0 &&
      (routers == 0 || (lastRouters_ >= 4 && routers * 2 < lastRouters_))) {
    log::error("configuration change held back: it would drop " + std::to_string(lastRouters_ - routers) + " of " +
                   std::to_string(lastRouters_) +
                   " routers (an empty or truncated file?); keeping the last good configuration. Send SIGHUP to "
                   "apply it anyway, or set providers.file.guardRouterLoss=false",
               {{"providerName", name_}, {"routers", std::to_string(routers)}});
    return;
  }
  emitted_ = true;
  lastFingerprint_ = fingerprint;
  lastRouters_ = routers;
  if (sink_) sink_(std::move(result.config));
}

}  // namespace causeway::provider
