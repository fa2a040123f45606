#include "gateway/ai/secret.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace causeway::gateway::ai {

std::optional<std::string> resolveSecret(std::string_view reference, std::string& error) {
  if (reference.starts_with("env:")) {
    std::string name(reference.substr(4));
    const char* value = name.empty() ? nullptr : std::getenv(name.c_str());
    if (!value || !*value) {
      error = "environment variable " + name + " is not set";
      return std::nullopt;
    }
    return std::string(value);
  }
  if (reference.starts_with("file:")) {
    std::string path(reference.substr(5));
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      error = "cannot read " + path;
      return std::nullopt;
    }
    std::ostringstream content;
    content << in.rdbuf();
    std::string value = content.str();
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r' || value.back() == ' '))
      value.pop_back();
    if (value.empty()) {
      error = path + " is empty";
      return std::nullopt;
    }
    return value;
  }
  if (reference.starts_with("urn:k8s:secret:")) {
    error = "Kubernetes secret references (urn:k8s:secret:…) need the Kubernetes provider, which is not supported yet; use env:NAME or file:PATH";
    return std::nullopt;
  }
  error = "expected a reference to the key, env:NAME or file:PATH (a literal key would be shown by the API)";
  return std::nullopt;
}

}  // namespace causeway::gateway::ai
