# Every library comes from a Debian 12 package (see scripts/install-deps).
find_package(Boost 1.81 REQUIRED COMPONENTS json url)
find_package(OpenSSL 3 REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(tomlplusplus REQUIRED)
find_package(ZLIB REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
pkg_check_modules(LIBYAML REQUIRED IMPORTED_TARGET yaml-0.1)
pkg_check_modules(NGHTTP2 REQUIRED IMPORTED_TARGET libnghttp2)
# HTTP/3: QUIC on GnuTLS, the only crypto backend Debian 12 packages for ngtcp2 (docs/http3.md).
pkg_check_modules(QUIC REQUIRED IMPORTED_TARGET libngtcp2 libngtcp2_crypto_gnutls libnghttp3 gnutls)
pkg_check_modules(BROTLI REQUIRED IMPORTED_TARGET libbrotlienc libbrotlidec)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
# hnswlib (libhnswlib-dev) is header-only: the semantic cache's similarity graph.
find_path(HNSWLIB_INCLUDE_DIR hnswlib/hnswlib.h REQUIRED)
if(CAUSEWAY_MIMALLOC)
  find_package(mimalloc REQUIRED)
endif()



# Asio is header-only; BOOST_ASIO_SEPARATE_COMPILATION moves its implementation into one
# translation unit (src/server/asio_impl.cpp) so other files compile faster.
add_library(causeway_asio INTERFACE)
add_library(causeway::asio ALIAS causeway_asio)
target_link_libraries(causeway_asio INTERFACE Boost::headers Threads::Threads)
target_compile_options(causeway_asio INTERFACE -pthread)
target_compile_definitions(causeway_asio INTERFACE
  BOOST_ASIO_NO_DEPRECATED BOOST_ASIO_DISABLE_BOOST_COROUTINE BOOST_ASIO_SEPARATE_COMPILATION
  # Coroutine frames and handlers are recycled per thread, from a cache of this many blocks
  # that each allocation scans twice. Asio's default of 2 measured best (docs/benchmarks.md,
  # instructions per request, 2026-12-08): 16 cost 1 % more per keep-alive request and 5-7 %
  # more per HTTP/2 stream and per new connection, where many frames are alive at once and the
  # cache is mostly empty.
  BOOST_ASIO_RECYCLING_ALLOCATOR_CACHE_SIZE=2)
if(CAUSEWAY_IO_URING)
  find_library(LIBURING uring REQUIRED)
  target_compile_definitions(causeway_asio INTERFACE BOOST_ASIO_HAS_IO_URING BOOST_ASIO_DISABLE_EPOLL)
  target_link_libraries(causeway_asio INTERFACE ${LIBURING})
endif()
