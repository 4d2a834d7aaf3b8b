// CacheAlignedAllocator (cache_aligned.h) and the buffers that use it: the
// encoder's bytes for the integer pass start on a cache line wherever they
// are made (ScoringModel::MakeScratch, InferenceNetwork::MakeWorkspace).
#include "core/cache_aligned.h"

#include <cstdint>
#include <memory>
#include <utility>

#include "core/detector.h"
#include "core/inference_network.h"
#include "core/network.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

bool StartsCacheLine(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % kCacheLineBytes == 0;
}

TEST(CacheAlignedTest, EveryAllocationStartsACacheLine) {
  for (size_t n = 1; n <= 300; ++n) {
    CacheAlignedBytes bytes(n);
    CacheAlignedFloats floats(n);
    EXPECT_TRUE(StartsCacheLine(bytes.data())) << n << " bytes";
    EXPECT_TRUE(StartsCacheLine(floats.data())) << n << " floats";
  }
}

TEST(CacheAlignedTest, GrowthAndCopiesStayAligned) {
  CacheAlignedBytes bytes;
  for (int i = 0; i < 1000; ++i) {
    bytes.push_back(uint8_t(i));
    ASSERT_TRUE(StartsCacheLine(bytes.data())) << "size " << bytes.size();
  }
  const CacheAlignedBytes copy = bytes;
  EXPECT_TRUE(StartsCacheLine(copy.data()));
  EXPECT_EQ(copy, bytes);
  const CacheAlignedBytes moved = std::move(bytes);
  EXPECT_TRUE(StartsCacheLine(moved.data()));
  EXPECT_EQ(moved, copy);
}

TEST(CacheAlignedTest, ScoringScratchBytesStartACacheLine) {
  absl::StatusOr<std::unique_ptr<Detector>> d =
      Detector::Create(DetectorConfig());
  ASSERT_TRUE(d.ok()) << d.status();
  for (int i = 0; i < 8; ++i) {
    const ScoringScratch scratch = (*d)->Publish()->MakeScratch();
    ASSERT_FALSE(scratch.quantized.empty());
    EXPECT_TRUE(StartsCacheLine(scratch.quantized.data())) << i;
  }
}

TEST(CacheAlignedTest, InferenceWorkspaceBytesStartACacheLine) {
  NetworkShape shape;
  shape.input_dim = 125;
  shape.hidden = {32};
  const Network network(shape);
  const InferenceNetwork net(network);
  for (int i = 0; i < 8; ++i) {
    const Workspace ws = net.MakeWorkspace();
    ASSERT_FALSE(ws.quantized.empty());
    EXPECT_TRUE(StartsCacheLine(ws.quantized.data())) << i;
  }
}

}  // namespace
}  // namespace dwae
