# The web dashboard (web/): built with npm and Vite, then embedded in cw_admin as byte arrays
# (cmake/embed_dashboard.cmake writes generated/admin/dashboard_assets.cpp). npm runs only
# when web/ changes: `npm ci` when package-lock.json changes, `vite build` when a source does.
# npm is required: without it the build stops here rather than ship a binary with no dashboard.
find_program(CAUSEWAY_NPM npm)
if(NOT CAUSEWAY_NPM)
  message(FATAL_ERROR
    "npm was not found: the web dashboard (web/) is built with npm and embedded in the binary.\n"
    "Install Node.js and npm (Debian: apt-get install nodejs npm, or scripts/install-deps build), "
    "then configure again.")
endif()

set(WEB_DIR ${PROJECT_SOURCE_DIR}/web)
set(WEB_BUILD_DIR ${PROJECT_BINARY_DIR}/web)
set(WEB_DIST_DIR ${WEB_BUILD_DIR}/dist)
set(DASHBOARD_CPP ${PROJECT_BINARY_DIR}/generated/admin/dashboard_assets.cpp)

add_custom_command(
  OUTPUT ${WEB_BUILD_DIR}/npm-ci.stamp
  COMMAND ${CMAKE_COMMAND} -E make_directory ${WEB_BUILD_DIR}
  COMMAND ${CAUSEWAY_NPM} ci --no-audit --no-fund --loglevel=error
  COMMAND ${CMAKE_COMMAND} -E touch ${WEB_BUILD_DIR}/npm-ci.stamp
  DEPENDS ${WEB_DIR}/package.json ${WEB_DIR}/package-lock.json
  WORKING_DIRECTORY ${WEB_DIR}
  COMMENT "dashboard: npm ci (web/)"
  VERBATIM)

file(GLOB_RECURSE WEB_SOURCES CONFIGURE_DEPENDS
  ${WEB_DIR}/src/* ${WEB_DIR}/shared/* ${WEB_DIR}/public/* ${WEB_DIR}/index.html ${WEB_DIR}/vite.config.js)
add_custom_command(
  OUTPUT ${DASHBOARD_CPP}
  COMMAND ${CAUSEWAY_NPM} run --silent build -- --outDir ${WEB_DIST_DIR} --emptyOutDir --logLevel warn
  COMMAND ${CMAKE_COMMAND} -DDIST=${WEB_DIST_DIR} -DOUT=${DASHBOARD_CPP}
          -P ${PROJECT_SOURCE_DIR}/cmake/embed_dashboard.cmake
  DEPENDS ${WEB_BUILD_DIR}/npm-ci.stamp ${WEB_SOURCES} ${PROJECT_SOURCE_DIR}/cmake/embed_dashboard.cmake
  WORKING_DIRECTORY ${WEB_DIR}
  COMMENT "dashboard: vite build and embed (web/ → ${DASHBOARD_CPP})"
  VERBATIM)

target_sources(cw_admin PRIVATE ${DASHBOARD_CPP})

# The developer portal's page (web/portal/, web/vite.portal.config.js), embedded in cw_gateway
# the same way (src/gateway/api/portal_assets.h).
set(PORTAL_DIST_DIR ${WEB_BUILD_DIR}/portal-dist)
set(PORTAL_CPP ${PROJECT_BINARY_DIR}/generated/gateway/portal_assets.cpp)
file(GLOB_RECURSE PORTAL_SOURCES CONFIGURE_DEPENDS
  ${WEB_DIR}/portal/* ${WEB_DIR}/shared/* ${WEB_DIR}/vite.portal.config.js)
add_custom_command(
  OUTPUT ${PORTAL_CPP}
  COMMAND ${CAUSEWAY_NPM} run --silent build:portal -- --outDir ${PORTAL_DIST_DIR} --emptyOutDir --logLevel warn
  COMMAND ${CMAKE_COMMAND} -DDIST=${PORTAL_DIST_DIR} -DOUT=${PORTAL_CPP} -DKIND=portal
          -P ${PROJECT_SOURCE_DIR}/cmake/embed_dashboard.cmake
  DEPENDS ${WEB_BUILD_DIR}/npm-ci.stamp ${PORTAL_SOURCES} ${PROJECT_SOURCE_DIR}/cmake/embed_dashboard.cmake
  WORKING_DIRECTORY ${WEB_DIR}
  COMMENT "portal: vite build and embed (web/portal → ${PORTAL_CPP})"
  VERBATIM)
target_sources(cw_gateway PRIVATE ${PORTAL_CPP})
