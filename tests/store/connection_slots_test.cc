// The bookkeeping shared by the SQLite and PostgreSQL connection pools. At most max_connections
// are open, and idle connections are reused last in first out. abandon() and a returned
// connection that cannot be reused free a slot. A wait ends when a connection comes back or
// when the timeout runs out.

#include "store/connection_slots.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <thread>

namespace devauth::testing {
namespace {

using std::chrono::milliseconds;

// A stand-in connection that counts its live instances, so that a test can see when the slots
// close one.
struct FakeConnection {
  explicit FakeConnection(int id, int* live) : id(id), live(live) { ++*live; }
  ~FakeConnection() { --*live; }
  FakeConnection(const FakeConnection&) = delete;
  FakeConnection& operator=(const FakeConnection&) = delete;

  int id;
  int* live;
};

using Slots = ConnectionSlots<FakeConnection>;

// A timeout long enough that a take() that should succeed does not time out on a loaded machine.
constexpr milliseconds kNoWait{10'000};
// A short timeout, for the cases that must time out.
constexpr milliseconds kShortWait{20};

TEST(ConnectionSlotsTest, GrantsSlotsUpToMaximum) {
  Slots slots(2);
  const auto first = slots.take(kNoWait);
  const auto second = slots.take(kNoWait);
  EXPECT_TRUE(first.granted);
  EXPECT_EQ(first.idle, nullptr);
  EXPECT_TRUE(second.granted);
  EXPECT_EQ(second.idle, nullptr);

  const auto third = slots.take(kShortWait);
  EXPECT_FALSE(third.granted);
  EXPECT_EQ(third.idle, nullptr);
}

TEST(ConnectionSlotsTest, ReusesLastReturnedConnectionFirst) {
  int live = 0;
  Slots slots(2);
  ASSERT_TRUE(slots.take(kNoWait).granted);
  ASSERT_TRUE(slots.take(kNoWait).granted);
  slots.put(std::make_unique<FakeConnection>(1, &live), /*reusable=*/true);
  slots.put(std::make_unique<FakeConnection>(2, &live), /*reusable=*/true);

  auto checkout = slots.take(kNoWait);
  ASSERT_TRUE(checkout.granted);
  ASSERT_NE(checkout.idle, nullptr);
  EXPECT_EQ(checkout.idle->id, 2);
  checkout = slots.take(kNoWait);
  ASSERT_NE(checkout.idle, nullptr);
  EXPECT_EQ(checkout.idle->id, 1);
  // Both connections are checked out again, so no slot is left.
  EXPECT_FALSE(slots.take(kShortWait).granted);
}

TEST(ConnectionSlotsTest, UnusableConnectionClosesAndFreesSlot) {
  int live = 0;
  Slots slots(1);
  ASSERT_TRUE(slots.take(kNoWait).granted);
  auto broken = std::make_unique<FakeConnection>(1, &live);
  ASSERT_EQ(live, 1);

  slots.put(std::move(broken), /*reusable=*/false);
  EXPECT_EQ(live, 0);
  const auto next = slots.take(kNoWait);
  EXPECT_TRUE(next.granted);
  EXPECT_EQ(next.idle, nullptr);
}

TEST(ConnectionSlotsTest, AbandonFreesTheReservedSlot) {
  Slots slots(1);
  ASSERT_TRUE(slots.take(kNoWait).granted);
  ASSERT_FALSE(slots.take(kShortWait).granted);

  slots.abandon();
  EXPECT_TRUE(slots.take(kNoWait).granted);
}

// A caller that finds every connection checked out gets the one another thread returns.
TEST(ConnectionSlotsTest, ConcurrentWaiterGetsReturnedConnection) {
  int live = 0;
  Slots slots(1);
  ASSERT_TRUE(slots.take(kNoWait).granted);

  std::promise<void> waiting;
  auto waiter = std::async(std::launch::async, [&] {
    waiting.set_value();
    return slots.take(kNoWait);
  });
  waiting.get_future().wait();
  // Gives the waiter time to start waiting. If it has not started yet, take() finds the
  // connection idle, and the checks below still pass.
  std::this_thread::sleep_for(kShortWait);
  slots.put(std::make_unique<FakeConnection>(7, &live), /*reusable=*/true);

  const auto checkout = waiter.get();
  ASSERT_TRUE(checkout.granted);
  ASSERT_NE(checkout.idle, nullptr);
  EXPECT_EQ(checkout.idle->id, 7);
}

}  // namespace
}  // namespace devauth::testing
