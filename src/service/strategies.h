// The pure arithmetic of the service layer, free of sockets and threads so that unit tests
// can pin it down: smooth weighted round robin, earliest-deadline-first (leasttime's
// tie-break), rendezvous hashing (hrw), the hashes Traefik uses for names, and HTTP status
// ranges ("500-504").
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace causeway::service {

// Smooth weighted round robin (nginx): every pick adds each eligible weight to that entry's
// `current`, takes the largest (first on ties) and subtracts the eligible total from it.
// Over any run of picks each eligible entry gets its weight's share, spread evenly.
// Entries with weight <= 0 or not eligible are skipped and keep their `current`. Returns
// weights.size() when nothing is eligible.
template <class Eligible>
size_t smoothWrrPick(std::span<int64_t> current, std::span<const int> weights,
                     Eligible&& eligible) {
  size_t best = weights.size();
  int64_t total = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] <= 0 || !eligible(i)) continue;
    current[i] += weights[i];
    total += weights[i];
    if (best == weights.size() || current[i] > current[best]) best = i;
  }
  if (best != weights.size()) current[best] -= total;
  return best;
}

// Earliest deadline first over weighted entries (Traefik's leasttime tie-break): each entry
// has a deadline; a pick takes the candidate with the earliest one (first on ties) and moves
// its deadline 1/weight further.
class EdfSchedule {
 public:
  EdfSchedule() = default;
  // Deadlines start staggered: entry i at sum(1/weight[0..i]), as Traefik adds servers.
  explicit EdfSchedule(std::span<const int> weights);
  bool empty() const { return deadlines_.empty(); }
  // Picks among `candidates` (indexes); returns the chosen index.
  size_t pick(std::span<const size_t> candidates, std::span<const int> weights);

 private:
  std::vector<double> deadlines_;
  double current_ = 0;
};

// FNV-1 and FNV-1a, 64 bits (Go's hash/fnv New64 and New64a).
uint64_t fnv1Hash64(std::string_view data);
uint64_t fnv1aHash64(std::string_view data);

// Rendezvous hashing score of `name` for `key` (Traefik's hrw): fnv1a(key + name) scaled to
// [0, 1), turned into 1 / -ln(score), times the weight. The highest score wins.
double hrwScore(std::string_view key, std::string_view name, double weight);

// Index of the highest hrwScore among entries with weight > 0 for which eligible(i) holds
// (first on ties), or names.size().
template <class Names, class Eligible>
size_t hrwPick(std::string_view key, const Names& names,
               std::span<const int> weights, Eligible&& eligible) {
  size_t best = names.size();
  double bestScore = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    if (weights[i] <= 0 || !eligible(i)) continue;
    double score = hrwScore(key, names[i], double(weights[i]));
    if (score > bestScore) {
      best = i;
      bestScore = score;
    }
  }
  return best;
}

// Lower-case hexadecimal digests.
std::string sha1Hex(std::string_view data);
std::string sha256Hex(std::string_view data);
// Go's strconv.FormatUint(v, 16): lower-case hex without leading zeros.
std::string hexNumber(uint64_t value);

}  // namespace causeway::service
