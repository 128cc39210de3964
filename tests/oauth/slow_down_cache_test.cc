// The memory of device codes whose early polls are slow_down (oauth/slow_down_cache.h).

#include "oauth/slow_down_cache.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace devauth::oauth {
namespace {

const TimePoint kStart = fromUnixMillis(1'800'000'000'000);

SecretHash hashOf(int n) { return hashSecret("device-code-" + std::to_string(n)); }

class SlowDownCacheTest : public ::testing::Test {
 protected:
  SlowDownCacheTest() {
    cache_.enable();
    cache_.reset(&policy_);
  }

  // Remembers code `n` of pub1 as too early until kStart + `seconds_left`.
  void rememberCode(int n, int seconds_left) {
    cache_.remember(hashOf(n), "authz-" + std::to_string(n), "pub1", kStart + seconds(seconds_left),
                    &policy_, cache_.generation(), kStart);
  }

  const PollPolicy policy_;
  SlowDownCache cache_{4};
};

TEST_F(SlowDownCacheTest, EarlyPollUntilTheRememberedTime) {
  rememberCode(1, 5);

  EXPECT_TRUE(cache_.isTooEarly(hashOf(1), "pub1", kStart));
  EXPECT_TRUE(cache_.isTooEarly(hashOf(1), "pub1", kStart + milliseconds(4999)));
  EXPECT_FALSE(cache_.isTooEarly(hashOf(1), "pub1", kStart + seconds(5)));
  // The passed entry was dropped.
  EXPECT_EQ(cache_.size(), 0u);
  EXPECT_FALSE(cache_.isTooEarly(hashOf(1), "pub1", kStart));
}

TEST_F(SlowDownCacheTest, OnlyTheCodesClientIsAnswered) {
  rememberCode(1, 5);

  EXPECT_FALSE(cache_.isTooEarly(hashOf(1), "pub2", kStart));
  EXPECT_FALSE(cache_.isTooEarly(hashOf(2), "pub1", kStart));
  EXPECT_TRUE(cache_.isTooEarly(hashOf(1), "pub1", kStart));
}

TEST_F(SlowDownCacheTest, OffUntilEnabled) {
  SlowDownCache cache;
  cache.reset(&policy_);
  cache.remember(hashOf(1), "authz-1", "pub1", kStart + seconds(5), &policy_, cache.generation(),
                 kStart);
  EXPECT_EQ(cache.size(), 0u);

  cache.enable();
  cache.remember(hashOf(1), "authz-1", "pub1", kStart + seconds(5), &policy_, cache.generation(),
                 kStart);
  EXPECT_TRUE(cache.isTooEarly(hashOf(1), "pub1", kStart));
}

TEST_F(SlowDownCacheTest, PassedTimeIsNotRemembered) {
  cache_.remember(hashOf(1), "authz-1", "pub1", kStart, &policy_, cache_.generation(), kStart);

  EXPECT_EQ(cache_.size(), 0u);
}

TEST_F(SlowDownCacheTest, ForgetDropsTheDecidedCode) {
  rememberCode(1, 5);
  rememberCode(2, 5);

  cache_.forget("authz-1");

  EXPECT_FALSE(cache_.isTooEarly(hashOf(1), "pub1", kStart));
  EXPECT_TRUE(cache_.isTooEarly(hashOf(2), "pub1", kStart));
}

TEST_F(SlowDownCacheTest, ForgetWithoutIdDropsEveryCode) {
  rememberCode(1, 5);
  rememberCode(2, 5);

  cache_.forget("");

  EXPECT_EQ(cache_.size(), 0u);
}

// A poll read the code as pending, then a decision was made before the poll remembered it.
TEST_F(SlowDownCacheTest, DecisionDuringThePollIsNotMissed) {
  const std::uint64_t generation = cache_.generation();
  cache_.forget("authz-1");

  cache_.remember(hashOf(1), "authz-1", "pub1", kStart + seconds(5), &policy_, generation, kStart);

  EXPECT_FALSE(cache_.isTooEarly(hashOf(1), "pub1", kStart));
}

TEST_F(SlowDownCacheTest, ForgetCodeDropsOnlyThatCode) {
  rememberCode(1, 5);
  rememberCode(2, 5);

  cache_.forgetCode(hashOf(1));

  EXPECT_FALSE(cache_.isTooEarly(hashOf(1), "pub1", kStart));
  EXPECT_TRUE(cache_.isTooEarly(hashOf(2), "pub1", kStart));
  // The decision index no longer names the dropped code.
  cache_.forget("authz-1");
  EXPECT_TRUE(cache_.isTooEarly(hashOf(2), "pub1", kStart));
}

TEST_F(SlowDownCacheTest, ResetDropsEveryCode) {
  rememberCode(1, 5);

  const PollPolicy next;
  cache_.reset(&next);

  EXPECT_EQ(cache_.size(), 0u);
  EXPECT_FALSE(cache_.isTooEarly(hashOf(1), "pub1", kStart));
}

// A request that loaded the policy before a reload tries to remember its code after the reset.
TEST_F(SlowDownCacheTest, OlderPolicyIsNotRemembered) {
  const PollPolicy next;
  cache_.reset(&next);

  cache_.remember(hashOf(1), "authz-1", "pub1", kStart + seconds(5), &policy_, cache_.generation(),
                  kStart);

  EXPECT_EQ(cache_.size(), 0u);
}

TEST_F(SlowDownCacheTest, RememberingAgainMovesTheTime) {
  rememberCode(1, 5);
  rememberCode(1, 9);

  EXPECT_EQ(cache_.size(), 1u);
  EXPECT_TRUE(cache_.isTooEarly(hashOf(1), "pub1", kStart + seconds(8)));
}

TEST_F(SlowDownCacheTest, FullCacheDropsPassedEntriesOrRemembersNothing) {
  for (int n = 0; n < 4; ++n) {
    rememberCode(n, n < 2 ? 1 : 10);
  }
  rememberCode(4, 10);
  EXPECT_EQ(cache_.size(), 4u);
  EXPECT_FALSE(cache_.isTooEarly(hashOf(4), "pub1", kStart));

  // Two seconds on, the first two entries have passed and make room.
  const TimePoint later = kStart + seconds(2);
  cache_.remember(hashOf(4), "authz-4", "pub1", later + seconds(5), &policy_, cache_.generation(),
                  later);
  cache_.remember(hashOf(5), "authz-5", "pub1", later + seconds(5), &policy_, cache_.generation(),
                  later);
  EXPECT_EQ(cache_.size(), 4u);
  EXPECT_TRUE(cache_.isTooEarly(hashOf(4), "pub1", later));
  EXPECT_TRUE(cache_.isTooEarly(hashOf(5), "pub1", later));
  EXPECT_FALSE(cache_.isTooEarly(hashOf(0), "pub1", later));
}

// Runs under the thread sanitizer (make sanitize): lookups, remember() and forget() calls from
// several threads at once.
TEST_F(SlowDownCacheTest, ConcurrentUseKeepsTheIndexConsistent) {
  const PollPolicy policy;
  SlowDownCache cache(64);
  cache.enable();
  cache.reset(&policy);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, &policy, t] {
      for (int i = 0; i < 2000; ++i) {
        const int n = (i * 7 + t) % 100;
        const std::string id = "authz-" + std::to_string(n);
        if (t == 3 && i % 5 == 0) {
          cache.forget(id);
        } else {
          cache.remember(hashOf(n), id, "pub1", kStart + seconds(5), &policy, cache.generation(),
                         kStart);
          cache.isTooEarly(hashOf(n), "pub1", kStart);
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_LE(cache.size(), 64u);
  for (int n = 0; n < 100; ++n) {
    cache.forget("authz-" + std::to_string(n));
  }
  EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace devauth::oauth
