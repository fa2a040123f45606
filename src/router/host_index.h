// Which hosts a compiled rule can match, for the route table's host maps.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "router/rule_program.h"

namespace causeway::router::detail {

// The finite set of hosts (exact lower-case names and "*.parent" one-label wildcards) that
// every match of `program` requires, without duplicates; std::nullopt when the program can
// match a host outside any finite set. The set may be larger than what actually matches
// (e.g. for `Host(a) && Host(b)` it is {a}): it is a filter, the full rule still decides.
std::optional<std::vector<std::string>> computeHostIndex(const Program& program);

// `values` without repeats, first occurrences kept in order.
std::vector<std::string> removeDuplicates(std::vector<std::string> values);

} // namespace causeway::router::detail
