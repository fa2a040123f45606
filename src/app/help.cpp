// `causeway --help` and each command's `--help`, as Traefik prints them: what the command does,
// then every static option with its default (read from the configuration's own descriptions).
#include <iostream>

#include "app/commands.h"
#include "config/static_keys.h"

namespace causeway::app {
namespace {

void printOptions() {
  std::cout << "\nStatic configuration options (a file, else flags, else CAUSEWAY_* / TRAEFIK_* variables;\n"
               "Traefik's names; --configLayering=true combines the sources):\n\n"
               "  --configFile FILE      the static configuration file (default: causeway.yml or traefik.yml\n"
               "                         in the working directory, $XDG_CONFIG_HOME, ~/.config, /etc/causeway,\n"
               "                         /etc/traefik)\n"
               "  --configLayering       read the file, then the environment, then the flags, each over the\n"
               "                         previous one (causeway extension; Traefik reads one source only)\n";
  for (const config::StaticKey& key : config::listStaticKeys()) {
    std::string line = "  " + key.flag;
    std::string note;
    if (!key.defaultValue.empty()) note = "(Default: " + key.defaultValue + ")";
    if (key.notYet) note += std::string(note.empty() ? "" : " ") + "(not supported yet)";
    if (!note.empty()) {
      if (line.size() < 72) line.append(72 - line.size(), ' ');
      else line += "  ";
      line += note;
    }
    std::cout << line << "\n";
  }
}

}  // namespace

int helpCommand(std::string_view command) {
  if (command == "check") {
    std::cout << "causeway check: validates the static and dynamic configuration without starting.\n\n"
                 "Usage: causeway check [--acceptUnsupported] [--kvDump=FILE] [--dockerInspect=FILE] [static options]\n\n"
                 "Prints every error and warning with its file, line and element. Exit status:\n"
                 "  0  the configuration loads and uses nothing causeway ignores\n"
                 "  1  at least one error\n"
                 "  3  no error, but the configuration uses options causeway does not implement yet\n"
                 "     (each named by a warning); --acceptUnsupported makes this 0\n"
                 "--kvDump=FILE reads the configured KV provider's keys from a dump (a JSON object of\n"
                 "keys, etcdctl get --prefix -w json, or consul kv export) instead of the store;\n"
                 "--dockerInspect=FILE reads the containers from `docker inspect` output instead of\n"
                 "the engine.\n";
    printOptions();
    return 0;
  }
  if (command == "healthcheck") {
    std::cout << "causeway healthcheck: calls the ping endpoint of a running causeway (exit 0 when it\n"
                 "answers 200), reading the same static configuration to find it.\n\n"
                 "Usage: causeway healthcheck [static options]\n";
    printOptions();
    return 0;
  }
  if (command == "version") {
    std::cout << "causeway version: prints the version, the commit it was built from and the platform.\n";
    return 0;
  }
  if (command == "whoami") {
    std::cout << "causeway whoami: a small upstream that answers with what it received (tests, demos).\n\n"
                 "Usage: causeway whoami --port N [--name NAME] [--host ADDR] [--threads N]\n";
    return 0;
  }
  std::cout << "causeway: a Traefik-compatible reverse proxy and API, AI and MCP gateway\n\n"
               "Usage:\n"
               "  causeway [static options]             serve (the same as `causeway run`)\n"
               "  causeway check [static options]       validate the configuration without starting\n"
               "  causeway healthcheck [static options] call the ping endpoint\n"
               "  causeway version                      print the version and commit\n"
               "  causeway whoami --port N              a test upstream\n"
               "  causeway COMMAND --help               help for one command\n";
  printOptions();
  return 0;
}

}  // namespace causeway::app
