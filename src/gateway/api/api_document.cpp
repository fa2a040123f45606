#include "gateway/api/api_document.h"

namespace causeway::gateway::api {

const std::string* serviceUrlOf(const config::ApiCatalog& catalog, const std::string& published, const std::string& api) {
  if (auto it = catalog.serviceUrls.find(published); it != catalog.serviceUrls.end()) return &it->second;
  if (auto it = catalog.serviceUrls.find(api); it != catalog.serviceUrls.end()) return &it->second;
  return nullptr;
}

bool resolveDocumentPath(config::Node& spec, const std::string* serviceUrl, exchange::MiddlewareBuildContext& context) {
  const config::Node* path = spec.find("path");
  if (!path) return true;
  config::Location where = path->location();
  std::string p = path->text();
  if (!path->isScalar() || !p.starts_with('/')) {
    context.error(config::ConfigError{where, "apiManagement.apis", "openApiSpec.path: expected a path starting with /",
                                      false, false});
    return false;
  }
  if (spec.find("url") || spec.find("file")) {
    context.error(config::ConfigError{where, "apiManagement.apis",
                                      "openApiSpec: give one of path, url and file", false, false});
    return false;
  }
  if (!serviceUrl) {
    context.error(config::ConfigError{where, "apiManagement.apis",
                                      "openApiSpec.path: no router publishes this API through a loadBalancer "
                                      "service whose server could serve the document; give its url instead",
                                      false, false});
    return false;
  }
  std::string base = *serviceUrl;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (base.starts_with("h2c://")) base = "http://" + base.substr(6);
  spec.erase("path");
  config::Node url = config::Node::scalar(base + p, where);
  spec.set("url", std::move(url));
  return true;
}

}  // namespace causeway::gateway::api
