#include "store/store.h"

namespace devauth {

StoreResult<CountedInsert> countThenInsert(
    const InsertLimits& limits,
    const std::function<StoreResult<std::int64_t>(const RequestCounter&)>& increment,
    const std::function<StoreResult<void>()>& insert) {
  CountedInsert outcome;
  bool over_limit = false;
  for (const RequestCounter& counter : limits.counters) {
    auto count = increment(counter);
    if (!count) {
      return unexpected(count.error());
    }
    over_limit = over_limit || *count > counter.max_count;
    outcome.counts.push_back(*count);
  }
  if (over_limit) {
    return outcome;
  }
  auto inserted = insert();
  if (!inserted) {
    return unexpected(inserted.error());
  }
  outcome.inserted = true;
  return outcome;
}

// The default counts and inserts in separate statements, so a store without a transaction for
// both, and without a queue, still keeps the contract: a row over a limit is never inserted.
void Store::insertCountedThen(const Authorization& authorization, const InsertLimits& limits,
                              CountedInsertDone done) {
  const CountedInsertDone callback = std::move(done);
  callback(countThenInsert(
      limits,
      [this, &limits](const RequestCounter& counter) {
        return incrementCounter(counter.key, counter.window, limits.now);
      },
      [this, &authorization] { return insertAuthorization(authorization); }));
}

void Store::insertAuthorizationThen(const Authorization& authorization, InsertDone done) {
  insertCountedThen(authorization, InsertLimits{},
                    [done = std::move(done)](const StoreResult<CountedInsert>& outcome) {
                      if (!outcome) {
                        done(unexpected(outcome.error()));
                        return;
                      }
                      done({});
                    });
}

}  // namespace devauth
