// The HTTP route table of one entryPoint: compiled rules with priorities, looked up per
// request. Ordering follows Traefik (pkg/muxer/http/mux.go): higher priority first; equal
// priorities by tieBreak ascending, then insertion order. The first entry whose rule matches
// wins. Lookup cost does not grow with the number of Host() routers (see RouteIndex).
//
// Lifecycle and threading: add() every entry and call build() once, on one thread (the
// snapshot builder); afterwards the table is read-only and match() may run on every worker
// at once. add() after build() requires another build() before match() finds anything.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "router/route_index.h"
#include "router/rule.h"

namespace causeway::router {

template <class T> class RouteTable {
public:
  // priority: as configured, or the caller's default (rule length); negative values allowed.
  // tieBreak: the router's qualified name. A null rule is ignored.
  void add(CompiledRulePtr rule, int64_t priority, std::string tieBreak, T value) {
    if (!rule) return;
    entries_.push_back(Entry{std::move(rule), priority, std::move(tieBreak), std::move(value)});
    built_ = false;
  }

  // Sorts the entries into match order and builds the host maps.
  void build() {
    entries_.shrink_to_fit();  // kept for the snapshot's life: no room left for more
    std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
      if (a.priority != b.priority) return a.priority > b.priority;
      return a.tieBreak < b.tieBreak;
    });
    std::vector<const CompiledRule*> rules;
    rules.reserve(entries_.size());
    for (const Entry& entry : entries_)
      rules.push_back(entry.rule.get());
    index_.build(std::move(rules));
    usesModel_ = negatesModel_ = false;
    for (const Entry& entry : entries_) {
      usesModel_ = usesModel_ || entry.rule->usesModel();
      negatesModel_ = negatesModel_ || entry.rule->negatesModel();
    }
    built_ = true;
  }

  // Some rule of the table holds a Model() matcher (MatchInput::model must be filled in).
  bool usesModel() const { return usesModel_; }

  // Whether the body's model can change the outcome of match() for this request, looked up with
  // `input.modelUnread` set: the entry that would win if every Model() matched holds a Model()
  // matcher (or some rule negates one, when only reading tells). Otherwise that entry, or no
  // entry, is the answer whatever the model is, and the body need not be read before routing.
  bool modelDecides(const MatchInput& input) const {
    if (!built_ || !usesModel_) return false;
    if (negatesModel_) return true;
    size_t position = index_.findFirst(input);
    return position != detail::RouteIndex::npos && entries_[position].rule->usesModel();
  }

  // The value of the highest-priority entry whose rule matches, or nullptr (none matches, or
  // build() has not run since the last add()). The pointer lives as long as the table.
  const T* match(const MatchInput& input) const {
    if (!built_) return nullptr;
    size_t position = index_.findFirst(input);
    return position == detail::RouteIndex::npos ? nullptr : &entries_[position].value;
  }

  size_t size() const { return entries_.size(); }

  // Entries in match order (after build()), for diagnostics and the API.
  template <class Visit> void forEach(Visit&& visit) const {
    for (const Entry& entry : entries_)
      visit(*entry.rule, entry.priority, entry.tieBreak, entry.value);
  }

private:
  struct Entry {
    CompiledRulePtr rule;
    int64_t priority = 0;
    std::string tieBreak;
    T value;
  };

  std::vector<Entry> entries_;
  detail::RouteIndex index_;
  bool built_ = false;
  bool usesModel_ = false;
  bool negatesModel_ = false;
};

} // namespace causeway::router
