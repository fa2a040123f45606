#include "service/weighted.h"

#include "exchange/local_reply.h"
#include "service/strategies.h"

namespace causeway::service {

WeightedService::WeightedService(std::vector<ServiceChild> children,
                                 std::optional<StickyCookieOptions> sticky, bool healthCheck,
                                 unsigned workers)
    : children_(std::move(children)), healthCheck_(healthCheck), cursors_(std::max(workers, 1u)) {
  for (const auto& child : children_)
    weights_.push_back(child.weight);
  for (auto& cursor : cursors_)
    cursor.current.assign(children_.size(), 0);
  if (sticky) {
    sticky_.emplace(std::move(*sticky));
    setCookies_.resize(children_.size());
    for (size_t i = 0; i < children_.size(); ++i)
      if (weights_[i] > 0) setCookies_[i] = sticky_->add(children_[i].name, i);
  }
}

bool WeightedService::available(size_t index) const {
  if (weights_[index] <= 0) return false;
  return !healthCheck_ || !children_[index].health || children_[index].health->up();
}

bool WeightedService::up() const {
  if (children_.empty()) return true;
  for (size_t i = 0; i < children_.size(); ++i)
    if (available(i)) return true;
  return false;
}

awaitable<void> WeightedService::handle(exchange::Exchange& ex) const {
  const size_t none = children_.size();
  size_t index = none;
  bool writeCookie = false;
  if (sticky_) {
    if (auto match = sticky_->find(ex.request.headers); match && available(match->index)) {
      index = match->index;
      writeCookie = match->rewrite;
    }
  }
  if (index == none) {
    index = smoothWrrPick(cursors_[ex.worker.index()].current, weights_,
                          [this](size_t i) { return available(i); });
    if (index == none) {
      exchange::errorReply(ex, 503, "no available server");
      co_return;
    }
    writeCookie = sticky_.has_value();
  }
  co_await children_[index].handler->handle(ex);
  if (writeCookie && !setCookies_[index].empty()) addSetCookie(ex.response, setCookies_[index]);
}

HighestRandomWeightService::HighestRandomWeightService(std::vector<ServiceChild> children,
                                                       bool healthCheck)
    : children_(std::move(children)), healthCheck_(healthCheck) {
  for (const auto& child : children_) {
    names_.push_back(child.name);
    weights_.push_back(child.weight);
  }
}

bool HighestRandomWeightService::available(size_t index) const {
  return !healthCheck_ || !children_[index].health || children_[index].health->up();
}

bool HighestRandomWeightService::up() const {
  if (children_.empty()) return true;
  for (size_t i = 0; i < children_.size(); ++i)
    if (weights_[i] > 0 && available(i)) return true;
  return false;
}

awaitable<void> HighestRandomWeightService::handle(exchange::Exchange& ex) const {
  size_t index = hrwPick(ex.connection.peerIpText, names_, weights_,
                         [this](size_t i) { return available(i); });
  if (index == children_.size()) {
    exchange::errorReply(ex, 503, "no available server");
    co_return;
  }
  co_await children_[index].handler->handle(ex);
}

}  // namespace causeway::service
