#include "observe/metrics.h"

#include <openssl/bn.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <dirent.h>
#include <fstream>
#include <set>
#include <sstream>

#include "exchange/response_caches.h"
#include "observe/label_families.h"
#include "observe/series_table.h"
#include "observe/text_format.h"
#include "runtime/snapshot.h"

namespace causeway::observe {
namespace {

// Counters of a request series (entryPoint, router, service).
constexpr size_t kRequests = 0, kRequestBytes = 1, kResponseBytes = 2, kDurationSum = 3, kBuckets = 4;

using LabelPairs = std::vector<std::pair<std::string_view, std::string_view>>;

std::string formatLabels(LabelPairs pairs) {
  std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [name, value] : pairs) {
    if (!out.empty()) out.push_back(',');
    out.append(name);
    out.append("=\"");
    appendLabelValue(out, value);
    out.push_back('"');
  }
  return out;
}

uint64_t codeMethodProtocol(const RequestSample& s) {
  return uint64_t(std::clamp(s.code, 0, 999)) | uint64_t(s.method & 15) << 10 | uint64_t(s.protocol) << 14;
}

uint64_t tlsVersionId(std::string_view version) {
  if (version == "TLS 1.0") return 1;
  if (version == "TLS 1.1") return 2;
  if (version == "TLS 1.2") return 3;
  if (version == "TLS 1.3") return 4;
  return 0;
}

// Help texts as Traefik registers them.
struct Family {
  const char* name;
  const char* type;
  const char* help;
};

constexpr const char* kEpReqsHelp =
    "How many HTTP requests processed on an entrypoint, partitioned by status code, protocol, and method.";
constexpr const char* kEpTlsHelp =
    "How many HTTP requests with TLS processed on an entrypoint, partitioned by TLS Version and TLS cipher Used.";
constexpr const char* kEpDurationHelp =
    "How long it took to process the request on an entrypoint, partitioned by status code, protocol, and method.";
constexpr const char* kEpReqBytesHelp =
    "The total size of requests in bytes handled by an entrypoint, partitioned by status code, protocol, and method.";
constexpr const char* kEpRespBytesHelp =
    "The total size of responses in bytes handled by an entrypoint, partitioned by status code, protocol, and method.";
constexpr const char* kRouterReqsHelp =
    "How many HTTP requests are processed on a router, partitioned by service, status code, protocol, and method.";
constexpr const char* kRouterTlsHelp =
    "How many HTTP requests with TLS are processed on a router, partitioned by service, TLS Version, and TLS cipher "
    "Used.";
constexpr const char* kRouterDurationHelp =
    "How long it took to process the request on a router, partitioned by service, status code, protocol, and method.";
constexpr const char* kRouterReqBytesHelp =
    "The total size of requests in bytes handled by a router, partitioned by service, status code, protocol, and "
    "method.";
constexpr const char* kRouterRespBytesHelp =
    "The total size of responses in bytes handled by a router, partitioned by service, status code, protocol, and "
    "method.";
constexpr const char* kServiceReqsHelp =
    "How many HTTP requests processed on a service, partitioned by status code, protocol, and method.";
constexpr const char* kServiceTlsHelp =
    "How many HTTP requests with TLS processed on a service, partitioned by TLS version and TLS cipher.";
constexpr const char* kServiceDurationHelp =
    "How long it took to process the request on a service, partitioned by status code, protocol, and method.";
constexpr const char* kServiceRetriesHelp = "How many request retries happened on a service.";
constexpr const char* kServiceUpHelp = "service server is up, described by gauge value of 0 or 1.";
constexpr const char* kServiceReqBytesHelp =
    "The total size of requests in bytes received by a service, partitioned by status code, protocol, and method.";
constexpr const char* kServiceRespBytesHelp =
    "The total size of responses in bytes returned by a service, partitioned by status code, protocol, and method.";

void header(std::string& out, const char* name, const char* type, const char* help) {
  out.append("# HELP ");
  out.append(name);
  out.push_back(' ');
  appendHelpText(out, help);
  out.append("\n# TYPE ");
  out.append(name);
  out.push_back(' ');
  out.append(type);
  out.push_back('\n');
}

void sample(std::string& out, std::string_view name, std::string_view suffix, std::string_view labels,
            std::string_view extraLabel, double value) {
  out.append(name);
  out.append(suffix);
  if (!labels.empty() || !extraLabel.empty()) {
    out.push_back('{');
    out.append(labels);
    if (!labels.empty() && !extraLabel.empty()) out.push_back(',');
    out.append(extraLabel);
    out.push_back('}');
  }
  out.push_back(' ');
  appendGoFloat(out, value);
  out.push_back('\n');
}

// The httpCache middlewares' stores (exchange/response_caches.h), read at each scrape.
void renderResponseCaches(std::string& out) {
  auto caches = exchange::ResponseCaches::instance().all();
  if (caches.empty()) return;
  std::map<std::string, double> requests, bytes, entries, stored, evicted, served, limit;
  for (const auto& [name, cache] : caches) {
    exchange::ResponseCache::Stats s = cache->stats();
    std::string labels;
    appendLabel(labels, "middleware", name);
    const std::pair<const char*, uint64_t> outcomes[] = {{"hit", s.hits},         {"stale", s.stale},
                                                         {"revalidated", s.revalidated}, {"miss", s.misses},
                                                         {"collapsed", s.collapsed}, {"bypass", s.bypass}};
    for (const auto& [result, count] : outcomes) {
      std::string withResult = labels;
      appendLabel(withResult, "result", result);
      requests[withResult] = double(count);
    }
    bytes[labels] = double(s.bytes);
    limit[labels] = double(s.limit);
    entries[labels] = double(s.entries);
    stored[labels] = double(s.stored);
    evicted[labels] = double(s.evicted);
    served[labels] = double(s.servedBytes);
  }
  renderCounter(out, "causeway_http_cache_requests_total",
                "Requests seen by an httpCache middleware, by result (hit, stale, revalidated, miss, collapsed, bypass).",
                requests);
  renderGauge(out, "causeway_http_cache_entries", "Responses held by an httpCache store.", entries);
  renderGauge(out, "causeway_http_cache_bytes", "Bytes held by an httpCache store.", bytes);
  renderGauge(out, "causeway_http_cache_limit_bytes", "The byte limit of an httpCache store (store.memory.limit).",
              limit);
  renderCounter(out, "causeway_http_cache_stored_total", "Responses stored by an httpCache middleware.", stored);
  renderCounter(out, "causeway_http_cache_evicted_total",
                "Responses evicted from an httpCache store to stay within its limit.", evicted);
  renderCounter(out, "causeway_http_cache_served_bytes_total", "Body bytes served from an httpCache store.", served);
}

using Merged = std::map<std::string, std::vector<uint64_t>>;

// Certificate labels as Traefik sets them: cn, serial (decimal), sans (sorted DNS names).
struct CertificateLabels {
  std::string cn, serial, sans;
};

CertificateLabels certificateLabels(X509* cert) {
  CertificateLabels out;
  if (!cert) return out;
  if (X509_NAME* subject = X509_get_subject_name(cert)) {
    int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (at >= 0) {
      ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
      unsigned char* utf8 = nullptr;
      int length = ASN1_STRING_to_UTF8(&utf8, data);
      if (length >= 0) out.cn.assign(reinterpret_cast<char*>(utf8), size_t(length));
      OPENSSL_free(utf8);
    }
  }
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr)) {
    if (char* text = BN_bn2dec(bn)) {
      out.serial = text;
      OPENSSL_free(text);
    }
    BN_free(bn);
  }
  std::vector<std::string> names;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans, i);
    if (name->type != GEN_DNS) continue;
    const ASN1_STRING* s = name->d.dNSName;
    names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), size_t(ASN1_STRING_length(s)));
  }
  if (sans) GENERAL_NAMES_free(sans);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    if (!out.sans.empty()) out.sans.push_back(',');
    out.sans += n;
  }
  return out;
}

void renderProcess(std::string& out) {
  // As Prometheus' process collector: CPU, memory, file descriptors, start time.
  std::ifstream statFile("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(statFile)), std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return;
  std::istringstream fields(stat.substr(close + 2));
  std::vector<std::string> f;
  for (std::string item; fields >> item;) f.push_back(item);
  // Fields after the command, from field 3 (state) on: utime is field 14, stime 15,
  // starttime 22, vsize 23, rss 24 (1-based, man proc).
  auto field = [&](size_t number) -> double {
    size_t at = number - 3;
    return at < f.size() ? std::strtod(f[at].c_str(), nullptr) : 0;
  };
  const double ticks = double(sysconf(_SC_CLK_TCK));
  const double page = double(sysconf(_SC_PAGESIZE));
  double bootTime = 0;
  std::ifstream procStat("/proc/stat");
  for (std::string line; std::getline(procStat, line);)
    if (line.rfind("btime ", 0) == 0) bootTime = std::strtod(line.c_str() + 6, nullptr);
  size_t fds = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (dirent* entry = readdir(dir))
      if (entry->d_name[0] != '.') ++fds;
    closedir(dir);
    if (fds > 0) --fds;  // the directory stream itself
  }
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  header(out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
  sample(out, "process_cpu_seconds_total", "", "", "", (field(14) + field(15)) / ticks);
  header(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
  sample(out, "process_max_fds", "", "", "", limit.rlim_cur == RLIM_INFINITY ? -1.0 : double(limit.rlim_cur));
  header(out, "process_open_fds", "gauge", "Number of open file descriptors.");
  sample(out, "process_open_fds", "", "", "", double(fds));
  header(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  sample(out, "process_resident_memory_bytes", "", "", "", field(24) * page);
  header(out, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
  sample(out, "process_start_time_seconds", "", "", "", bootTime + field(22) / ticks);
  header(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
  sample(out, "process_virtual_memory_bytes", "", "", "", field(23));
}

}  // namespace

struct Metrics::WorkerTables {
  WorkerTables(size_t requestSlots, size_t maxSeries, bool byHeaders)
      : entryPoint(requestSlots, maxSeries),
        router(requestSlots, maxSeries),
        service(requestSlots, maxSeries),
        entryPointByHeaders(1, byHeaders ? maxSeries : 1),
        routerByHeaders(1, byHeaders ? maxSeries : 1),
        serviceByHeaders(1, byHeaders ? maxSeries : 1),
        entryPointTls(1, maxSeries),
        routerTls(1, maxSeries),
        serviceTls(1, maxSeries),
        retries(1, maxSeries) {}

  NameInterner names{1u << 22};         // routers and services
  NameInterner ciphers{255};
  NameInterner headerValues{1u << 22};  // header-label value tuples
  SeriesTable entryPoint, router, service;
  SeriesTable entryPointByHeaders, routerByHeaders, serviceByHeaders;
  SeriesTable entryPointTls, routerTls, serviceTls;
  SeriesTable retries;
  std::string scratch;
  alignas(64) char end = 0;  // keeps the next worker's data off this cache line
};

Metrics::Metrics(MetricsOptions options, std::vector<std::string> entryPointNames, unsigned workers)
    : options_(std::move(options)), entryPoints_(std::move(entryPointNames)), genAi_(workers), layer4_(workers) {
  std::sort(options_.headerLabels.begin(), options_.headerLabels.end());
  for (double bound : options_.buckets)
    bucketNanos_.push_back(std::isinf(bound) ? INT64_MAX : int64_t(std::llround(bound * 1e9)));
  size_t slots = kBuckets + options_.buckets.size() + 1;
  for (unsigned i = 0; i < std::max(workers, 1u); ++i)
    workers_.push_back(
        std::make_unique<WorkerTables>(slots, options_.maxSeriesPerTable, !options_.headerLabels.empty()));
  (void)cipherLabel("");  // builds OpenSSL's cipher name table now, not on a worker
}

Metrics::~Metrics() = default;

void Metrics::configReloaded(double unixSeconds) {
  reloads_.fetch_add(1, std::memory_order_relaxed);
  lastReload_.store(unixSeconds, std::memory_order_relaxed);
}

void Metrics::record(unsigned worker, const RequestSample& s) {
  WorkerTables& w = *workers_[worker < workers_.size() ? worker : 0];
  const uint64_t cmp = codeMethodProtocol(s);
  auto bucketOf = [&](uint64_t nanos) {
    size_t bucket = 0;
    while (bucket < bucketNanos_.size() && int64_t(nanos) > bucketNanos_[bucket]) ++bucket;
    return bucket;
  };
  const bool byHeaders = !options_.headerLabels.empty();
  const bool routed = !s.router.empty();
  const bool proxied = routed && !s.upstreamService.empty();
  uint32_t routerId = 0, serviceId = 0, upstreamId = 0;
  if (routed && (options_.routers || options_.services)) {
    routerId = w.names.id(s.router);
    serviceId = w.names.id(s.service);
    upstreamId = proxied ? w.names.id(s.upstreamService) : 0;
    if (routerId == NameInterner::kFull || serviceId == NameInterner::kFull || upstreamId == NameInterner::kFull)
      return;
  }
  std::string code;  // formatted only when a series is created
  auto codeText = [&]() -> std::string_view {
    if (code.empty()) code = std::to_string(std::clamp(s.code, 0, 999));
    return code;
  };
  auto observe = [&](std::atomic<uint64_t>* v, uint64_t nanos) {
    SeriesTable::add(v[kRequestBytes], s.requestBytes);
    SeriesTable::add(v[kResponseBytes], s.responseBytes);
    SeriesTable::add(v[kDurationSum], nanos);
    SeriesTable::add(v[kBuckets + bucketOf(nanos)], 1);
    if (!byHeaders) SeriesTable::add(v[kRequests], 1);
  };
  // The *_requests_total counter with header labels: one series per (request series, values).
  auto countByHeaders = [&](SeriesTable& table, uint32_t seriesIndex, const LabelPairs& base,
                            std::string_view router, std::string_view service) {
    w.scratch.clear();
    for (const auto& [label, headerName] : options_.headerLabels) {
      if (s.headers) w.scratch.append(s.headers->get(headerName));
      w.scratch.push_back('\0');
    }
    uint32_t tuple = w.headerValues.id(w.scratch);
    if (tuple == NameInterner::kFull) return;
    uint64_t key = uint64_t(seriesIndex) << 32 | tuple;
    std::atomic<uint64_t>* v = table.find(key);
    if (!v) {
      LabelPairs pairs = base;
      std::vector<std::string> values;
      values.reserve(options_.headerLabels.size());
      if (s.headers)
        for (const auto& [label, headerName] : options_.headerLabels) values.emplace_back(s.headers->get(headerName));
      else
        values.resize(options_.headerLabels.size());
      for (size_t i = 0; i < options_.headerLabels.size(); ++i)
        pairs.emplace_back(options_.headerLabels[i].first, values[i]);
      v = table.create(key, formatLabels(std::move(pairs)), router, service);
      if (!v) return;
    }
    SeriesTable::add(v[0], 1);
  };
  auto countRequest = [&](SeriesTable& main, SeriesTable& headers, uint64_t key, auto&& labels,
                          std::string_view router, std::string_view service, uint64_t nanos) {
    uint32_t index = main.indexOf(key);
    std::atomic<uint64_t>* v = index != ~uint32_t(0) ? main.valuesOf(index)
                                                     : main.create(key, formatLabels(labels()), router, service, &index);
    if (!v) return;
    observe(v, nanos);
    if (byHeaders) countByHeaders(headers, index, labels(), router, service);
  };
  auto countTls = [&](SeriesTable& table, uint64_t baseKey, auto&& labels, std::string_view router,
                      std::string_view service) {
    uint32_t cipher = w.ciphers.id(s.tlsCipher);
    if (cipher == NameInterner::kFull) cipher = 255;
    uint64_t key = baseKey << 11 | uint64_t(cipher) << 3 | tlsVersionId(s.tlsVersion);
    std::atomic<uint64_t>* v = table.find(key);
    if (!v) {
      std::string cipherName = cipher == 255 ? std::string("unknown") : cipherLabel(s.tlsCipher);
      LabelPairs pairs = labels();
      pairs.emplace_back("tls_version", tlsVersionLabel(s.tlsVersion));
      pairs.emplace_back("tls_cipher", cipherName);
      v = table.create(key, formatLabels(std::move(pairs)), router, service);
      if (!v) return;
    }
    SeriesTable::add(v[0], 1);
  };
  const std::string_view method = methodName(s.method);
  const std::string_view protocol = protocolName(s.protocol);

  if (options_.entryPoints) {
    std::string_view ep = s.entryPoint < entryPoints_.size() ? std::string_view(entryPoints_[s.entryPoint]) : "";
    auto labels = [&] {
      return LabelPairs{{"code", codeText()}, {"method", method}, {"protocol", protocol}, {"entrypoint", ep}};
    };
    countRequest(w.entryPoint, w.entryPointByHeaders, uint64_t(s.entryPoint) << 17 | cmp, labels, {}, {},
                 s.durationNanos);
    if (s.tls)
      countTls(w.entryPointTls, s.entryPoint, [&] { return LabelPairs{{"entrypoint", ep}}; }, {}, {});
  }
  if (!routed) return;
  if (options_.routers) {
    auto labels = [&] {
      return LabelPairs{{"code", codeText()}, {"method", method}, {"protocol", protocol},
                        {"router", s.router}, {"service", s.service}};
    };
    countRequest(w.router, w.routerByHeaders, uint64_t(routerId) << 40 | uint64_t(serviceId) << 17 | cmp, labels,
                 s.router, s.service, s.durationNanos);
    if (s.tls)
      countTls(w.routerTls, uint64_t(routerId) << 23 | serviceId,
               [&] { return LabelPairs{{"router", s.router}, {"service", s.service}}; }, s.router, s.service);
  }
  if (options_.services && proxied) {
    const std::string_view service = s.upstreamService;
    auto labels = [&] {
      return LabelPairs{{"code", codeText()}, {"method", method}, {"protocol", protocol}, {"service", service}};
    };
    countRequest(w.service, w.serviceByHeaders, uint64_t(upstreamId) << 17 | cmp, labels, {}, service,
                 s.upstreamNanos);
    if (s.tls) countTls(w.serviceTls, upstreamId, [&] { return LabelPairs{{"service", service}}; }, {}, service);
    if (s.retries > 0) {
      std::atomic<uint64_t>* v = w.retries.find(upstreamId);
      if (!v) v = w.retries.create(upstreamId, formatLabels({{"service", service}}), {}, service);
      if (v) SeriesTable::add(v[0], s.retries);
    }
  }
}

std::string Metrics::render(const ScrapeInputs& in) const {
  const runtime::RuntimeState* runtime = in.snapshot ? &in.snapshot->runtime : nullptr;
  auto exists = [&](const SeriesTable::Series& series) {
    if (!runtime) return true;
    if (!series.router.empty() && !runtime->routers.count(series.router)) return false;
    if (!series.service.empty() && !runtime->services.count(series.service)) return false;
    return true;
  };
  auto merge = [&](SeriesTable WorkerTables::*table) {
    Merged merged;
    for (const auto& worker : workers_) {
      const SeriesTable& t = (*worker).*table;
      t.forEach([&](const SeriesTable::Series& series) {
        if (!exists(series)) return;
        auto& sums = merged[series.labels];
        sums.resize(t.slots(), 0);
        for (size_t i = 0; i < t.slots(); ++i) sums[i] += series.values[i].load(std::memory_order_relaxed);
      });
    }
    return merged;
  };
  const bool byHeaders = !options_.headerLabels.empty();

  std::string out;
  out.reserve(16384);
  if (in.processMetrics) renderProcess(out);

  header(out, "traefik_config_last_reload_success", "gauge", "Last config reload success");
  sample(out, "traefik_config_last_reload_success", "", "", "", lastReload_.load(std::memory_order_relaxed));
  header(out, "traefik_config_reloads_total", "counter", "Config reloads");
  sample(out, "traefik_config_reloads_total", "", "", "", double(reloads_.load(std::memory_order_relaxed)));

  // The families of one group: duration histogram, request bytes, TLS, requests, response bytes
  // (in name order, as the Go client sorts them).
  auto renderGroup = [&](const std::string& prefix, SeriesTable WorkerTables::*main,
                         SeriesTable WorkerTables::*headers, SeriesTable WorkerTables::*tls,
                         const char* durationHelp, const char* reqBytesHelp, const char* tlsHelp,
                         const char* reqsHelp, const char* respBytesHelp, const std::function<void()>& between) {
    Merged requests = merge(main);
    std::string name = prefix + "request_duration_seconds";
    if (!requests.empty()) {
      header(out, name.c_str(), "histogram", durationHelp);
      for (const auto& [labels, v] : requests) {
        uint64_t cumulative = 0;
        std::string le;
        for (size_t b = 0; b <= options_.buckets.size(); ++b) {
          cumulative += v[kBuckets + b];
          le = "le=\"";
          if (b < options_.buckets.size()) appendGoFloat(le, options_.buckets[b]);
          else le += "+Inf";
          le += '"';
          sample(out, name, "_bucket", labels, le, double(cumulative));
        }
        sample(out, name, "_sum", labels, "", double(v[kDurationSum]) / 1e9);
        sample(out, name, "_count", labels, "", double(cumulative));
      }
    }
    name = prefix + "requests_bytes_total";
    if (!requests.empty()) {
      header(out, name.c_str(), "counter", reqBytesHelp);
      for (const auto& [labels, v] : requests) sample(out, name, "", labels, "", double(v[kRequestBytes]));
    }
    Merged tlsRequests = merge(tls);
    name = prefix + "requests_tls_total";
    if (!tlsRequests.empty()) {
      header(out, name.c_str(), "counter", tlsHelp);
      for (const auto& [labels, v] : tlsRequests) sample(out, name, "", labels, "", double(v[0]));
    }
    name = prefix + "requests_total";
    if (byHeaders) {
      Merged counted = merge(headers);
      if (!counted.empty()) {
        header(out, name.c_str(), "counter", reqsHelp);
        for (const auto& [labels, v] : counted) sample(out, name, "", labels, "", double(v[0]));
      }
    } else if (!requests.empty()) {
      header(out, name.c_str(), "counter", reqsHelp);
      for (const auto& [labels, v] : requests) sample(out, name, "", labels, "", double(v[kRequests]));
    }
    name = prefix + "responses_bytes_total";
    if (!requests.empty()) {
      header(out, name.c_str(), "counter", respBytesHelp);
      for (const auto& [labels, v] : requests) sample(out, name, "", labels, "", double(v[kResponseBytes]));
    }
    if (between) between();
  };

  if (options_.entryPoints)
    renderGroup("traefik_entrypoint_", &WorkerTables::entryPoint, &WorkerTables::entryPointByHeaders,
                &WorkerTables::entryPointTls, kEpDurationHelp, kEpReqBytesHelp, kEpTlsHelp, kEpReqsHelp,
                kEpRespBytesHelp, nullptr);

  if (!in.openConnections.empty())
    header(out, "traefik_open_connections", "gauge", "How many open connections exist, by entryPoint and protocol");
  for (const auto& [key, count] : in.openConnections)
    sample(out, "traefik_open_connections", "", formatLabels({{"entrypoint", key.first}, {"protocol", key.second}}), "",
           double(count));

  if (options_.routers)
    renderGroup("traefik_router_", &WorkerTables::router, &WorkerTables::routerByHeaders, &WorkerTables::routerTls,
                kRouterDurationHelp, kRouterReqBytesHelp, kRouterTlsHelp, kRouterReqsHelp, kRouterRespBytesHelp,
                nullptr);

  if (options_.services) {
    auto retriesAndUp = [&] {
      Merged retries = merge(&WorkerTables::retries);
      if (!retries.empty()) {
        header(out, "traefik_service_retries_total", "counter", kServiceRetriesHelp);
        for (const auto& [labels, v] : retries)
          sample(out, "traefik_service_retries_total", "", labels, "", double(v[0]));
      }
      std::vector<std::pair<std::string, double>> up;
      if (runtime && in.serverStatus) {
        for (const auto& [service, state] : runtime->services) {
          for (const auto& [url, status] : in.serverStatus(service))
            up.emplace_back(formatLabels({{"service", service}, {"url", url}}), status == "UP" ? 1.0 : 0.0);
        }
      }
      if (!up.empty()) {
        std::sort(up.begin(), up.end());
        header(out, "traefik_service_server_up", "gauge", kServiceUpHelp);
        for (const auto& [labels, value] : up) sample(out, "traefik_service_server_up", "", labels, "", value);
      }
    };
    renderGroup("traefik_service_", &WorkerTables::service, &WorkerTables::serviceByHeaders,
                &WorkerTables::serviceTls, kServiceDurationHelp, kServiceReqBytesHelp, kServiceTlsHelp,
                kServiceReqsHelp, kServiceRespBytesHelp, retriesAndUp);
  }

  // Certificates of the default store, without the generated default certificate.
  if (in.snapshot && in.snapshot->tls) {
    std::map<std::string, double> certificates;
    for (const auto& certificate : in.snapshot->tls->certificates()) {
      if (!certificate || !certificate->cert) continue;
      CertificateLabels l = certificateLabels(certificate->cert);
      if (l.cn == "TRAEFIK DEFAULT CERT") continue;
      certificates[formatLabels({{"cn", l.cn}, {"serial", l.serial}, {"sans", l.sans}})] =
          double(certificate->notAfter);
    }
    if (!certificates.empty()) {
      header(out, "traefik_tls_certs_not_after", "gauge", "Certificate expiration timestamp");
      for (const auto& [labels, value] : certificates) sample(out, "traefik_tls_certs_not_after", "", labels, "", value);
    }
  }
  genAi_.render(out);
  layer4_.render(out);
  renderResponseCaches(out);
  return out;
}

}  // namespace causeway::observe
