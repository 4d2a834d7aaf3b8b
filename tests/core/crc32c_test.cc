#include "core/crc32c.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/rng.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

uint32_t Crc(const std::string& s) { return Crc32c(s.data(), s.size()); }

// ------------------------------------------- RFC 3720 B.4 known answers ---

TEST(Crc32cTest, CheckString) {
  EXPECT_EQ(Crc("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c_internal::ExtendPortable(0, "123456789", 9), 0xE3069283u);
}

TEST(Crc32cTest, Rfc3720Vectors) {
  std::vector<uint8_t> buf(32);

  std::memset(buf.data(), 0x00, buf.size());
  EXPECT_EQ(Crc32c(buf.data(), buf.size()), 0x8A9136AAu);
  EXPECT_EQ(crc32c_internal::ExtendPortable(0, buf.data(), buf.size()),
            0x8A9136AAu);

  std::memset(buf.data(), 0xFF, buf.size());
  EXPECT_EQ(Crc32c(buf.data(), buf.size()), 0x62A8AB43u);
  EXPECT_EQ(crc32c_internal::ExtendPortable(0, buf.data(), buf.size()),
            0x62A8AB43u);

  for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(Crc32c(buf.data(), buf.size()), 0x46DD794Eu);
  EXPECT_EQ(crc32c_internal::ExtendPortable(0, buf.data(), buf.size()),
            0x46DD794Eu);

  for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(31 - i);
  EXPECT_EQ(Crc32c(buf.data(), buf.size()), 0x113FDB5Cu);
  EXPECT_EQ(crc32c_internal::ExtendPortable(0, buf.data(), buf.size()),
            0x113FDB5Cu);
}

TEST(Crc32cTest, EmptyIsZero) {
  EXPECT_EQ(Crc32c(nullptr, 0), 0u);
  EXPECT_EQ(Crc32cExtend(0x12345678u, nullptr, 0), 0x12345678u);
  EXPECT_EQ(crc32c_internal::ExtendPortable(0x12345678u, nullptr, 0),
            0x12345678u);
}

TEST(Crc32cTest, DetectsSingleBitFlips) {
  std::string s(100, 'a');
  const uint32_t clean = Crc(s);
  for (size_t byte = 0; byte < s.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      s[byte] ^= static_cast<char>(1 << bit);
      EXPECT_NE(Crc(s), clean) << byte << ":" << bit;
      s[byte] ^= static_cast<char>(1 << bit);
    }
  }
}

TEST(Crc32cTest, ExtendEqualsWholeAtEverySplit) {
  Rng rng(7);
  std::string s(300, '\0');
  for (char& c : s) c = static_cast<char>(rng.Next());
  const uint32_t whole = Crc(s);
  for (size_t split = 0; split <= s.size(); ++split) {
    const uint32_t head = Crc32c(s.data(), split);
    EXPECT_EQ(Crc32cExtend(head, s.data() + split, s.size() - split), whole)
        << split;
    const uint32_t head_p = crc32c_internal::ExtendPortable(0, s.data(), split);
    EXPECT_EQ(crc32c_internal::ExtendPortable(head_p, s.data() + split,
                                              s.size() - split),
              whole)
        << split;
  }
}

// The dispatched implementation (hardware where compiled in) agrees with
// the portable reference on random buffers of every length 0..300 at every
// alignment 0..15 and for random starting CRCs.
TEST(Crc32cTest, MatchesPortableReference) {
  Rng rng(20240611);
  std::vector<uint8_t> storage(300 + 16 + 8);
  for (uint8_t& b : storage) b = static_cast<uint8_t>(rng.Next());
  for (size_t offset = 0; offset < 16; ++offset) {
    for (size_t n = 0; n <= 300; ++n) {
      const uint8_t* p = storage.data() + offset;
      ASSERT_EQ(Crc32c(p, n), crc32c_internal::ExtendPortable(0, p, n))
          << "offset " << offset << " length " << n;
      const uint32_t seed = static_cast<uint32_t>(rng.Next());
      ASSERT_EQ(Crc32cExtend(seed, p, n),
                crc32c_internal::ExtendPortable(seed, p, n))
          << "offset " << offset << " length " << n;
    }
  }
  // And on a few larger buffers.
  std::vector<uint8_t> big(1 << 20);
  for (uint8_t& b : big) b = static_cast<uint8_t>(rng.Next());
  for (size_t n : {4095u, 65536u, 1000003u}) {
    EXPECT_EQ(Crc32c(big.data() + 1, n),
              crc32c_internal::ExtendPortable(0, big.data() + 1, n))
        << n;
  }
}

TEST(Crc32cTest, ReportsImplementation) {
#if defined(__SSE4_2__)
  EXPECT_TRUE(crc32c_internal::HardwareAccelerated());
#else
  EXPECT_FALSE(crc32c_internal::HardwareAccelerated());
#endif
}

}  // namespace
}  // namespace dwae
