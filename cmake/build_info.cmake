# Writes generated/app/build_info.h with the git commit (and whether the tree was modified), run
# at every build; the file is rewritten only when its content changes, so an unchanged commit
# recompiles nothing. Without git (a source tarball) the commit is "unknown".
execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY ${SOURCE_DIR}
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE failed)
if(failed OR commit STREQUAL "")
  set(commit "unknown")
else()
  execute_process(COMMAND git status --porcelain --untracked-files=no WORKING_DIRECTORY ${SOURCE_DIR}
                  OUTPUT_VARIABLE changes OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(NOT changes STREQUAL "")
    set(commit "${commit}-modified")
  endif()
endif()
set(content "#pragma once\nnamespace causeway::app {\ninline constexpr const char* kCommit = \"${commit}\";\n}  // namespace causeway::app\n")
if(EXISTS ${OUTPUT})
  file(READ ${OUTPUT} old)
endif()
if(NOT old STREQUAL content)
  file(WRITE ${OUTPUT} "${content}")
endif()
