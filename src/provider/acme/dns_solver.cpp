#include "provider/acme/dns_solver.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/rand.h>

#include <algorithm>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "clients/acme/acme_crypto.h"
#include "clients/dns/dns_client.h"
#include "core/bytes.h"
#include "core/log.h"

extern char** environ;

namespace causeway::provider {
namespace {

constexpr auto kProgramTimeout = std::chrono::seconds(60);
constexpr size_t kProgramOutput = 4096;  // kept for the error message

// Seconds (lego's unit for these variables) → milliseconds; `fallback` when unset or bad.
std::chrono::milliseconds seconds(const std::string& name, std::chrono::milliseconds fallback) {
  std::string text = environmentValue(name);
  char* end = nullptr;
  long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value <= 0) return fallback;
  return std::chrono::seconds(value);
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

std::string environmentValue(const std::string& name, const std::string& fallback) {
  if (const char* value = std::getenv(name.c_str()); value && *value) return value;
  if (const char* file = std::getenv((name + "_FILE").c_str()); file && *file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return trimmed(text.str());
  }
  return fallback;
}

std::string dnsChallengeValue(const std::string& keyAuthorization) {
  return base64UrlEncode(clients::acme::sha256(keyAuthorization));
}

std::unique_ptr<DnsSolver> DnsSolver::make(asio::io_context* io, const config::AcmeDnsChallenge& options,
                                           std::string& error) {
  static asio::io_context unused;  // for a solver made only to check the configuration
  if (!io) io = &unused;
  std::unique_ptr<DnsSolver> solver(new DnsSolver(io, options));
  solver->provider_ = options.provider;
  if (options.provider == "exec") {
    solver->program_ = environmentValue("EXEC_PATH");
    solver->raw_ = environmentValue("EXEC_MODE") == "RAW";
    solver->propagationTimeout_ = seconds("EXEC_PROPAGATION_TIMEOUT", solver->propagationTimeout_);
    solver->pollingInterval_ = seconds("EXEC_POLLING_INTERVAL", solver->pollingInterval_);
    if (solver->program_.empty()) {
      error = "the exec DNS provider needs EXEC_PATH (the program that sets the TXT record)";
      return nullptr;
    }
    return solver;
  }
  if (options.provider == "rfc2136") {
    solver->nameserver_ = environmentValue("RFC2136_NAMESERVER");
    solver->key_.name = environmentValue("RFC2136_TSIG_KEY");
    solver->key_.algorithm = environmentValue("RFC2136_TSIG_ALGORITHM", "hmac-sha1.");
    std::string secret = environmentValue("RFC2136_TSIG_SECRET");
    std::string ttl = environmentValue("RFC2136_TTL");
    if (!ttl.empty() && std::strtol(ttl.c_str(), nullptr, 10) > 0) solver->ttl_ = uint32_t(std::strtol(ttl.c_str(), nullptr, 10));
    solver->dnsTimeout_ = seconds("RFC2136_DNS_TIMEOUT", solver->dnsTimeout_);
    solver->propagationTimeout_ = seconds("RFC2136_PROPAGATION_TIMEOUT", solver->propagationTimeout_);
    solver->pollingInterval_ = seconds("RFC2136_POLLING_INTERVAL", solver->pollingInterval_);
    std::string host;
    uint16_t port = 0;
    if (solver->nameserver_.empty() || !clients::dns::parseServer(solver->nameserver_, host, port)) {
      error = "the rfc2136 DNS provider needs RFC2136_NAMESERVER (host[:port] of the primary nameserver)";
      return nullptr;
    }
    if (solver->key_.name.empty() != secret.empty()) {
      error = "the rfc2136 DNS provider needs both RFC2136_TSIG_KEY and RFC2136_TSIG_SECRET, or neither";
      return nullptr;
    }
    if (!secret.empty() && !base64Decode(secret, solver->key_.secret)) {
      error = "RFC2136_TSIG_SECRET is not base64";
      return nullptr;
    }
    if (!solver->key_.name.empty()) {
      std::string probe = clients::dns::txtUpdate(1, "example.test", "a.example.test", "x", 1, false, solver->key_, 0);
      if (probe.empty()) {
        error = "RFC2136_TSIG_ALGORITHM " + solver->key_.algorithm +
                " is not supported (hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512)";
        return nullptr;
      }
    }
    return solver;
  }
  error = "the DNS provider \"" + options.provider + "\" is not supported yet (exec and rfc2136 are)";
  return nullptr;
}

awaitable<bool> DnsSolver::present(const clients::acme::Challenge& challenge, std::string& error) {
  const std::string fqdn = "_acme-challenge." + challenge.domain;
  const std::string value = dnsChallengeValue(challenge.keyAuthorization);
  bool set = provider_ == "exec" ? co_await run("present", challenge, error) : co_await update(challenge, false, error);
  if (!set) co_return false;
  auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(options_.delay().value);
  if (delay.count() > 0) {
    asio::steady_timer timer(io_);
    timer.expires_after(delay);
    co_await timer.async_wait(nothrow);
  }
  if (!options_.checksPropagation()) co_return true;
  co_return co_await propagated(fqdn, value, error);
}

awaitable<void> DnsSolver::cleanUp(const clients::acme::Challenge& challenge) {
  std::string error;
  bool removed = provider_ == "exec" ? co_await run("cleanup", challenge, error) : co_await update(challenge, true, error);
  if (!removed)
    log::warn("ACME DNS-01: the challenge record was not removed", {{"domain", challenge.domain}, {"error", error}});
}

awaitable<bool> DnsSolver::run(const std::string& action, const clients::acme::Challenge& challenge,
                               std::string& error) {
  std::vector<std::string> arguments{program_, action};
  if (raw_) {
    arguments.insert(arguments.end(), {"--", challenge.domain, challenge.token, challenge.keyAuthorization});
  } else {
    arguments.push_back("_acme-challenge." + challenge.domain + ".");
    arguments.push_back(dnsChallengeValue(challenge.keyAuthorization));
  }
  std::vector<char*> argv;
  for (std::string& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);
  int output[2];
  if (::pipe2(output, O_CLOEXEC) != 0) {
    error = std::string("pipe: ") + std::strerror(errno);
    co_return false;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, output[1], 1);
  posix_spawn_file_actions_adddup2(&actions, output[1], 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  int spawned = ::posix_spawn(&pid, program_.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(output[1]);
  if (spawned != 0) {
    ::close(output[0]);
    error = "cannot run " + program_ + ": " + std::strerror(spawned);
    co_return false;
  }
  // Its output (for the error), until it closes it or the time is up.
  asio::posix::stream_descriptor pipe(io_, output[0]);
  asio::steady_timer timer(io_);
  timer.expires_after(kProgramTimeout);
  bool timedOut = false;
  auto done = std::make_shared<bool>(false);  // set before `pipe` and `timedOut` go away
  timer.async_wait([&pipe, &timedOut, pid, done](error_code ec) {
    if (ec || *done) return;
    timedOut = true;
    ::kill(pid, SIGKILL);
    pipe.close(ec);
  });
  std::string text;
  char buffer[1024];
  while (true) {
    auto [ec, n] = co_await pipe.async_read_some(asio::buffer(buffer), nothrow);
    if (ec) break;
    if (text.size() < kProgramOutput) text.append(buffer, std::min(n, kProgramOutput - text.size()));
  }
  // It closed its output: it is exiting (or was killed); reap it without blocking the thread.
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    asio::steady_timer wait(io_);
    wait.expires_after(std::chrono::milliseconds(20));
    co_await wait.async_wait(nothrow);
    if (!timedOut && timer.expiry() <= std::chrono::steady_clock::now()) {
      timedOut = true;
      ::kill(pid, SIGKILL);
    }
  }
  *done = true;
  timer.cancel();
  if (timedOut) {
    error = program_ + " " + action + " did not finish within " + std::to_string(kProgramTimeout.count()) + "s";
    co_return false;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    error = program_ + " " + action + " failed (" +
            (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                               : "signal " + std::to_string(WTERMSIG(status))) +
            ")" + (trimmed(text).empty() ? "" : ": " + trimmed(text));
    co_return false;
  }
  co_return true;
}

awaitable<bool> DnsSolver::update(const clients::acme::Challenge& challenge, bool remove, std::string& error) {
  const std::string fqdn = "_acme-challenge." + challenge.domain;
  std::string& zone = zones_[fqdn];
  if (zone.empty()) {
    std::optional<std::string> found = co_await clients::dns::zoneOf(io_, nameserver_, fqdn, dnsTimeout_, error);
    if (!found) co_return false;
    zone = *found;
  }
  uint16_t id = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&id), sizeof id);
  const std::string message = clients::dns::txtUpdate(id, zone, fqdn, dnsChallengeValue(challenge.keyAuthorization), ttl_,
                                                      remove, key_, int64_t(std::time(nullptr)));
  if (message.empty()) {
    error = "cannot build the RFC 2136 update for " + fqdn;
    co_return false;
  }
  std::optional<clients::dns::Message> answer = co_await clients::dns::exchange(io_, nameserver_, message, dnsTimeout_, error);
  if (!answer) co_return false;
  if (answer->rcode != 0) {
    error = "the RFC 2136 update of " + fqdn + " in zone " + zone + " was refused by " + nameserver_ + ": " +
            clients::dns::rcodeName(answer->rcode);
    co_return false;
  }
  co_return true;
}

awaitable<bool> DnsSolver::propagated(const std::string& fqdn, const std::string& value, std::string& error) {
  std::vector<std::string> resolvers = options_.resolvers.empty() ? clients::dns::systemResolvers() : options_.resolvers;
  auto deadline = std::chrono::steady_clock::now() + propagationTimeout_;
  std::string missing;
  while (true) {
    missing.clear();
    for (const std::string& resolver : resolvers) {
      std::string queryError;
      auto timeout = std::chrono::milliseconds(std::min<int64_t>(dnsTimeout_.count(), 5000));
      std::optional<std::vector<std::string>> texts = co_await clients::dns::txt(io_, resolver, fqdn, timeout, queryError);
      if (!texts || std::find(texts->begin(), texts->end(), value) == texts->end()) {
        missing = resolver + (queryError.empty() ? "" : " (" + queryError + ")");
        break;
      }
    }
    if (missing.empty()) co_return true;
    if (std::chrono::steady_clock::now() + pollingInterval_ > deadline) break;
    asio::steady_timer timer(io_);
    timer.expires_after(pollingInterval_);
    co_await timer.async_wait(nothrow);
  }
  error = "the TXT record " + fqdn + " did not appear at " + missing + " within " +
          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(propagationTimeout_).count()) +
          "s (propagation check; see dnsChallenge.resolvers and propagation.disableChecks)";
  co_return false;
}

}  // namespace causeway::provider
