// The single translation unit that compiles Boost.Asio's implementation
// (BOOST_ASIO_SEPARATE_COMPILATION is defined for every Asio user).
#include <boost/asio/impl/src.hpp>
