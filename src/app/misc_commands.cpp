#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iostream>

#include "app/commands.h"
#include "app/setup.h"
#include "core/strings.h"
#include "app/build_info.h"
#include "core/version.h"
#include "whoami/whoami.h"

namespace causeway::app {

int versionCommand(const CommandLine&) {
  std::cout << "Version:      " << kVersion << "\n"
            << "Commit:       " << kCommit << "\n"
            << "Codename:     " << kCodename << "\n"
            << "Compatible:   Traefik Proxy v3 configuration\n"
            << "Built:        " << __DATE__ << "\n"
            << "OS/Arch:      linux/"
#if defined(__x86_64__)
            << "amd64"
#elif defined(__aarch64__)
            << "arm64"
#else
            << "unknown"
#endif
            << "\n";
  return 0;
}

// Traefik's `healthcheck`: GET /ping on the ping entryPoint; exit 0 when it answers 200.
int healthcheckCommand(const CommandLine& cl) {
  auto config = loadStatic(cl);
  if (!config) return 1;
  if (!config->ping) {
    std::cerr << "Error calling healthcheck: please enable `ping` to use health check\n";
    return 1;
  }
  auto ep = config->entryPoints.find(config->ping->entryPoint);
  if (ep == config->entryPoints.end()) {
    std::cerr << "Error calling healthcheck: ping: missing " << config->ping->entryPoint << " entry point\n";
    return 1;
  }
  std::string address = ep->second.address;
  if (auto slash = address.rfind('/'); slash != std::string::npos) address = address.substr(0, slash);
  size_t colon = address.rfind(':');
  std::string host = colon == std::string::npos ? "" : address.substr(0, colon);
  std::string port = colon == std::string::npos ? address : address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "127.0.0.1";
  std::string url = "http://" + address + "/ping";

  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &result) != 0 || !result) {
    std::cerr << "Error calling healthcheck: cannot resolve " << host << "\n";
    return 1;
  }
  int fd = ::socket(result->ai_family, SOCK_STREAM, 0);
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  bool connected = fd >= 0 && ::connect(fd, result->ai_addr, result->ai_addrlen) == 0;
  freeaddrinfo(result);
  if (!connected) {
    std::cerr << "Error calling healthcheck: Get \"" << url << "\": connection refused\n";
    if (fd >= 0) ::close(fd);
    return 1;
  }
  std::string request = "GET /ping HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string response;
  char buf[1024];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) response.append(buf, size_t(n));
  ::close(fd);
  int status = 0;
  if (response.size() > 12) status = std::atoi(response.substr(9, 3).c_str());
  if (status != 200) {
    std::cerr << "Bad healthcheck status: " << status << "\n";
    return 1;
  }
  std::cout << "OK: " << url << "\n";
  return 0;
}

int whoamiCommand(const CommandLine& cl) {
  whoami::Options options;
  for (size_t i = 0; i < cl.args.size(); ++i) {
    std::string arg = cl.args[i];
    std::string value;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (i + 1 < cl.args.size()) {
      value = cl.args[++i];
    }
    if (arg == "--port") options.port = uint16_t(parseDecimal(value).value_or(0));
    else if (arg == "--name") options.name = value;
    else if (arg == "--host") options.host = value;
    else if (arg == "--threads") options.threads = unsigned(parseDecimal(value).value_or(1));
    else {
      std::cerr << "whoami: unknown option " << arg << "\n"
                << "usage: causeway whoami --port N [--name NAME] [--host ADDR] [--threads N]\n";
      return 2;
    }
  }
  if (options.port == 0) {
    std::cerr << "whoami: --port is required\n";
    return 2;
  }
  return whoami::run(options);
}

}  // namespace causeway::app
