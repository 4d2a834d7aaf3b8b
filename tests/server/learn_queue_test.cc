// LearnQueue: chunks keep the items' order and count against the capacity,
// pushes refill the caller's vector from recycled chunks, and the learner's
// linger ends early on a full batch, a nudge or a close.
#include "server/learn_queue.h"

#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace dwae::server {
namespace {

LearnChunk Items(int first, int n) {
  LearnChunk items(n);
  for (int i = 0; i < n; ++i) items[i].record.difficulty = first + i;
  return items;
}

std::vector<int> Order(const std::vector<LearnChunk>& chunks) {
  std::vector<int> order;
  for (const LearnChunk& c : chunks) {
    for (const LearnItem& item : c) order.push_back(item.record.difficulty);
  }
  return order;
}

TEST(LearnQueueTest, ChunksKeepOrderAndCountItems) {
  LearnQueue queue(10);
  LearnChunk a = Items(0, 3), b = Items(3, 4);
  EXPECT_EQ(queue.PushAll(&a), 3u);
  EXPECT_EQ(queue.PushAll(&b), 4u);
  EXPECT_EQ(queue.size(), 7u);
  EXPECT_EQ(queue.appended_total(), 7u);
  // A full push of 4 does not fit: PushAvailable takes what does.
  LearnChunk c = Items(7, 4);
  EXPECT_EQ(queue.PushAvailable(&c), 3u);
  EXPECT_EQ(queue.size(), 10u);
  EXPECT_FALSE(queue.WaitForRoom(1, absl::ZeroDuration()));

  std::vector<LearnChunk> out;
  // Whole chunks until at least `max` items: 3 + 4.
  ASSERT_TRUE(queue.PopChunks(&out, 5, absl::ZeroDuration()));
  EXPECT_EQ(Order(out), (std::vector<int>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(queue.size(), 3u);
  ASSERT_TRUE(queue.PopChunks(&out, 100, absl::ZeroDuration()));
  EXPECT_EQ(Order(out), (std::vector<int>{7, 8, 9}));
  EXPECT_EQ(queue.size(), 0u);
}

TEST(LearnQueueTest, PushRefillsFromRecycledChunks) {
  LearnQueue queue(100);
  LearnChunk items = Items(0, 5);
  items[0].encoded.assign(64, 1.0f);
  const float* buffer = items[0].encoded.data();
  ASSERT_EQ(queue.PushAll(&items), 5u);
  EXPECT_TRUE(items.empty());  // no spare yet
  std::vector<LearnChunk> out;
  ASSERT_TRUE(queue.PopChunks(&out, 10, absl::ZeroDuration()));
  queue.Recycle(&out);
  EXPECT_TRUE(out.empty());
  LearnChunk next = Items(5, 2);
  ASSERT_EQ(queue.PushAll(&next), 2u);
  // The recycled chunk, with its items' buffers, comes back to the pusher.
  ASSERT_EQ(next.size(), 5u);
  EXPECT_EQ(next[0].encoded.data(), buffer);
}

TEST(LearnQueueTest, BlockedPushAllCompletesInPieces) {
  LearnQueue queue(4);
  LearnChunk items = Items(0, 10);
  std::thread pusher([&] { EXPECT_EQ(queue.PushAll(&items), 10u); });
  std::vector<int> order;
  std::vector<LearnChunk> out;
  while (order.size() < 10) {
    ASSERT_TRUE(queue.PopChunks(&out, 100, absl::Seconds(10)));
    for (int v : Order(out)) order.push_back(v);
  }
  pusher.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(LearnQueueTest, LingerEndsOnNudgeAndOnFullBatch) {
  LearnQueue queue(100);
  LearnChunk one = Items(0, 1);
  queue.PushAll(&one);
  std::vector<LearnChunk> out;
  // Nothing else comes: the linger runs out and the item is taken.
  ASSERT_TRUE(
      queue.PopChunks(&out, 10, absl::Seconds(10), absl::Milliseconds(1)));
  EXPECT_EQ(Order(out), std::vector<int>{0});

  // A nudge ends a long linger at once.
  LearnChunk two = Items(1, 1);
  queue.PushAll(&two);
  std::thread nudger([&] {
    absl::SleepFor(absl::Milliseconds(20));
    queue.Nudge();
  });
  const absl::Time start = absl::Now();
  ASSERT_TRUE(queue.PopChunks(&out, 10, absl::Seconds(10), absl::Seconds(60)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
  EXPECT_EQ(Order(out), std::vector<int>{1});
  nudger.join();

  // So does a full batch.
  LearnChunk three = Items(2, 1);
  queue.PushAll(&three);
  std::thread pusher([&] {
    absl::SleepFor(absl::Milliseconds(20));
    LearnChunk more = Items(3, 9);
    queue.PushAll(&more);
  });
  ASSERT_TRUE(queue.PopChunks(&out, 10, absl::Seconds(10), absl::Seconds(60)));
  EXPECT_EQ(Order(out).size(), 10u);
  pusher.join();

  queue.Close();
  EXPECT_FALSE(queue.PopChunks(&out, 10, absl::Seconds(1)));
}

}  // namespace
}  // namespace dwae::server
