// Pieces shared by basicAuth and digestAuth: the users list (usersFile lines, then the
// inline users, as Traefik reads them), Go's Request.BasicAuth parsing, the 401 reply of
// go-http-auth, and a small thread pool for password checks too slow for an event loop
// (bcrypt).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "io/asio.h"

namespace causeway::exchange {
struct Exchange;
}

namespace causeway::middleware {

// Lines of `usersFile` (trimmed; blank lines and lines starting with '#' skipped) followed by
// `users`. False with `error` set when the file cannot be read.
bool loadUserLines(const std::string& usersFile, const std::vector<std::string>& users,
                   std::vector<std::string>& lines, std::string& error);

// Go's Request.BasicAuth on the first Authorization value: "Basic " (any case) then
// base64("user:password"). False when absent or malformed.
bool parseBasicAuth(std::string_view authorization, std::string& user, std::string& password);

// go-http-auth's 401: Content-Type text/plain, the given WWW-Authenticate value, body
// "401 Unauthorized\n".
void unauthorizedReply(exchange::Exchange& ex, std::string_view wwwAuthenticate);

// Runs `check` on a shared pool of two threads and resumes on the caller's executor.
awaitable<bool> offload(std::function<bool()> check);

}  // namespace causeway::middleware
