#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <string_view>

#include "app/commands.h"
#include "core/memory_budget.h"

#ifdef CAUSEWAY_WITH_MIMALLOC
#include <mimalloc.h>
#endif

extern char** environ;

int main(int argc, char** argv) {
#ifdef CAUSEWAY_WITH_MIMALLOC
  // Freed pages go back to the system soon after a spike rather than staying in the heaps.
  // Each thread's heap for short-lived data (core/memory_budget.h), made when first used.
  static thread_local mi_heap_t* shortLived = nullptr;
  causeway::setShortLivedHeap(
      []() -> void* {
        if (!shortLived) shortLived = mi_heap_new();
        return mi_heap_set_default(shortLived);
      },
      [](void* previous) { mi_heap_set_default(static_cast<mi_heap_t*>(previous)); });
  causeway::setMemoryTrimmer([] {
    mi_collect(true);
    if (shortLived) mi_heap_collect(shortLived, true);
  });
  // mimalloc's decommit delay (25 ms by default, or MIMALLOC_DECOMMIT_DELAY) at 0 while a
  // provider's tree, a build's own leftovers and a replaced snapshot are freed, and during the
  // trim (docs/benchmarks.md, "Reloads at scale").
  static const long decommitDelay = mi_option_get(mi_option_decommit_delay);
  causeway::setEagerRelease([](bool eager) { mi_option_set(mi_option_decommit_delay, eager ? 0 : decommitDelay); });
#endif
  causeway::app::CommandLine cl;
  for (char** e = environ; e && *e; ++e) cl.environ.emplace_back(*e);
  std::error_code ec;
  cl.workingDir = std::filesystem::current_path(ec).string();

  std::string_view command = argc > 1 ? std::string_view(argv[1]) : std::string_view();
  int first = 2;
  if (command.empty() || command.starts_with("-")) {
    command = "run";
    first = 1;
  }
  for (int i = first; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == "-h" || arg == "--help" || arg == "-help") return causeway::app::helpCommand(command == "run" ? "" : command);
  }
  for (int i = first; i < argc; ++i) cl.args.emplace_back(argv[i]);

  if (command == "run") return causeway::app::runCommand(cl);
  if (command == "check") return causeway::app::checkCommand(cl);
  if (command == "version") return causeway::app::versionCommand(cl);
  if (command == "healthcheck") return causeway::app::healthcheckCommand(cl);
  if (command == "whoami") return causeway::app::whoamiCommand(cl);
  if (command == "help") return causeway::app::helpCommand(argc > 2 ? std::string_view(argv[2]) : "");
  std::cerr << "causeway: unknown command \"" << command << "\"; see causeway --help\n";
  return 2;
}
