#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <string_view>

#include "app/commands.h"

extern char** environ;

namespace {

void usage() {
  std::cout << "causeway: a Traefik-compatible reverse proxy and API, AI and MCP gateway\n\n"
               "Usage:\n"
               "  causeway [--configFile=FILE] [--<static.option>=VALUE ...]   serve\n"
               "  causeway check [--configFile=FILE] [...]                      validate configuration\n"
               "  causeway healthcheck [--configFile=FILE] [...]                call the ping endpoint\n"
               "  causeway version                                              print the version\n"
               "  causeway whoami --port N [--name NAME] [--host ADDR]          test upstream\n\n"
               "Static configuration comes from a file (causeway.yml / traefik.yml ...), environment\n"
               "variables (CAUSEWAY_* or TRAEFIK_*) and flags with Traefik's key names.\n";
}

}  // namespace

int main(int argc, char** argv) {
  causeway::app::CommandLine cl;
  for (char** e = environ; e && *e; ++e) cl.environ.emplace_back(*e);
  std::error_code ec;
  cl.workingDir = std::filesystem::current_path(ec).string();

  std::string_view command = argc > 1 ? std::string_view(argv[1]) : std::string_view();
  int first = 2;
  if (command.empty() || command.starts_with("-")) {
    if (command == "-h" || command == "--help") {
      usage();
      return 0;
    }
    command = "run";
    first = 1;
  }
  for (int i = first; i < argc; ++i) cl.args.emplace_back(argv[i]);

  if (command == "run") return causeway::app::runCommand(cl);
  if (command == "check") return causeway::app::checkCommand(cl);
  if (command == "version") return causeway::app::versionCommand(cl);
  if (command == "healthcheck") return causeway::app::healthcheckCommand(cl);
  if (command == "whoami") return causeway::app::whoamiCommand(cl);
  if (command == "help") {
    usage();
    return 0;
  }
  std::cerr << "causeway: unknown command \"" << command << "\"\n\n";
  usage();
  return 2;
}
