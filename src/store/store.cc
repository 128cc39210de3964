#include "store/store.h"

namespace devauth {

// The default counts and inserts in separate statements, so a store without a transaction for
// both, and without a queue, still keeps the contract: a row over a limit is never inserted.
void Store::insertCountedThen(const Authorization& authorization, const InsertLimits& limits,
                              CountedInsertDone done) {
  const CountedInsertDone callback = std::move(done);
  CountedInsert outcome;
  bool over_limit = false;
  for (const RequestCounter& counter : limits.counters) {
    auto count = incrementCounter(counter.key, counter.window, limits.now);
    if (!count) {
      callback(unexpected(count.error()));
      return;
    }
    over_limit = over_limit || *count > counter.max_count;
    outcome.counts.push_back(*count);
  }
  if (!over_limit) {
    auto inserted = insertAuthorization(authorization);
    if (!inserted) {
      callback(unexpected(inserted.error()));
      return;
    }
    outcome.inserted = true;
  }
  callback(std::move(outcome));
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
