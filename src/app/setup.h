// Start-up steps shared by the commands: the static configuration with its errors printed,
// logging, and the providers it enables.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "app/commands.h"
#include "config/static_config.h"
#include "provider/provider.h"

namespace causeway::app {

// Loads the static configuration; prints every error and warning to stderr. nullopt when
// it has errors.
std::optional<config::StaticConfig> loadStatic(const CommandLine& cl, std::string* configFile = nullptr);

// Applies the `log` section. Returns false (and prints why) on failure.
bool setupLogging(const config::StaticConfig& config);

// The providers enabled in the static configuration. Providers causeway does not
// implement yet are reported as warnings.
std::vector<std::unique_ptr<provider::Provider>> makeProviders(const config::StaticConfig& config,
                                                               std::vector<config::ConfigError>& errors);

}  // namespace causeway::app
