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
// Loads the static configuration; errors are printed to stderr (nullopt). Warnings go to
// `warnings` when given (to be logged once logging is set up), else to stderr.
std::optional<config::StaticConfig> loadStatic(const CommandLine& cl, std::string* configFile = nullptr,
                                               std::vector<config::ConfigError>* warnings = nullptr);
// Logs configuration warnings (those about unimplemented options carry notSupportedYet=true).
void logWarnings(const std::vector<config::ConfigError>& warnings);

// Applies the `log` section. Returns false (and prints why) on failure.
bool setupLogging(const config::StaticConfig& config);

// The providers enabled in the static configuration. Providers causeway does not
// implement yet are reported as warnings.
std::vector<std::unique_ptr<provider::Provider>> makeProviders(const config::StaticConfig& config,
                                                               std::vector<config::ConfigError>& errors);

}  // namespace causeway::app
