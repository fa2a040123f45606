// The causeway command line: `causeway [run] [flags]`, `causeway check`, `causeway version`,
// `causeway healthcheck`, `causeway whoami`. Each command returns the process exit code.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace causeway::app {

struct CommandLine {
  std::vector<std::string> args;     // after the command name
  std::vector<std::string> environ;  // "NAME=value"
  std::string workingDir;
};

int runCommand(const CommandLine& cl);
int checkCommand(const CommandLine& cl);
int versionCommand(const CommandLine& cl);
int healthcheckCommand(const CommandLine& cl);
int whoamiCommand(const CommandLine& cl);
// Help for `command` (empty: the whole program), on stdout; returns 0.
int helpCommand(std::string_view command);

}  // namespace causeway::app
