// The client cache in front of findClient: entries expire after their time-to-live, forget()
// drops them at once, a read that raced with a change is not cached, and the size stays bounded.

#include "store/client_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace devauth::testing {
namespace {

using std::chrono::milliseconds;
using SteadyClock = ClientCache::SteadyClock;

Client clientNamed(const std::string& id, const std::string& name = "TV") {
  Client client;
  client.id = id;
  client.name = name;
  return client;
}

class ClientCacheTest : public ::testing::Test {
 protected:
  SteadyClock::time_point now_{SteadyClock::duration(1'000'000)};
  ClientCache cache_{milliseconds(1000), 3, [this] { return now_; }};
};

TEST_F(ClientCacheTest, FindsARememberedClientUntilItsTtlEnds) {
  EXPECT_FALSE(cache_.find("tv").has_value());
  cache_.remember(clientNamed("tv", "Living room"), cache_.generation());

  now_ += milliseconds(999);
  const auto found = cache_.find("tv");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->name, "Living room");

  now_ += milliseconds(1);
  EXPECT_FALSE(cache_.find("tv").has_value());
  EXPECT_EQ(cache_.size(), 0u);
}

TEST_F(ClientCacheTest, ForgetDropsTheEntryAtOnce) {
  cache_.remember(clientNamed("tv"), cache_.generation());
  cache_.forget("tv");
  EXPECT_FALSE(cache_.find("tv").has_value());
}

// A lookup that read the database before a removal finished must not put the removed client
// back into the cache.
TEST_F(ClientCacheTest, ReadThatRacedWithAChangeIsNotCached) {
  const std::uint64_t before = cache_.generation();
  cache_.forget("tv");
  cache_.remember(clientNamed("tv"), before);
  EXPECT_FALSE(cache_.find("tv").has_value());

  cache_.remember(clientNamed("tv"), cache_.generation());
  EXPECT_TRUE(cache_.find("tv").has_value());
}

TEST_F(ClientCacheTest, SizeStaysWithinCapacity) {
  for (int i = 0; i < 10; ++i) {
    cache_.remember(clientNamed("client-" + std::to_string(i)), cache_.generation());
    EXPECT_LE(cache_.size(), 3u);
  }
  // The latest entry is always kept.
  EXPECT_TRUE(cache_.find("client-9").has_value());
}

TEST_F(ClientCacheTest, ExpiredEntriesMakeRoomFirst) {
  cache_.remember(clientNamed("old-1"), cache_.generation());
  cache_.remember(clientNamed("old-2"), cache_.generation());
  now_ += milliseconds(600);
  cache_.remember(clientNamed("live"), cache_.generation());
  now_ += milliseconds(500);
  cache_.remember(clientNamed("new"), cache_.generation());
  EXPECT_EQ(cache_.size(), 2u);
  EXPECT_TRUE(cache_.find("live").has_value());
  EXPECT_TRUE(cache_.find("new").has_value());
}

TEST(ClientCacheOffTest, ZeroTtlCachesNothing) {
  ClientCache cache(milliseconds(0));
  cache.remember(clientNamed("tv"), cache.generation());
  EXPECT_FALSE(cache.find("tv").has_value());
  EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace devauth::testing
