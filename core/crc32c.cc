#include "core/crc32c.h"

#include <cstring>

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

namespace dwae {
namespace crc32c_internal {
namespace {

constexpr uint32_t kPolynomial = 0x82F63B78;  // reflected Castagnoli

// table[0] is the classic byte-at-a-time table; table[k][b] is the CRC of
// byte b followed by k zero bytes, so eight bytes fold in with eight lookups.
struct Tables {
  uint32_t table[8][256];

  constexpr Tables() : table() {
    for (uint32_t b = 0; b < 256; ++b) {
      uint32_t crc = b;
      for (int bit = 0; bit < 8; ++bit) {
        crc = (crc >> 1) ^ ((crc & 1) ? kPolynomial : 0);
      }
      table[0][b] = crc;
    }
    for (int k = 1; k < 8; ++k) {
      for (uint32_t b = 0; b < 256; ++b) {
        const uint32_t prev = table[k - 1][b];
        table[k][b] = (prev >> 8) ^ table[0][prev & 0xff];
      }
    }
  }
};

constexpr Tables kTables;

// Little-endian 32-bit load from any alignment; compiles to a single load
// on little-endian targets.
inline uint32_t LoadLe32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}

}  // namespace

uint32_t ExtendPortable(uint32_t crc, const void* data, size_t n) {
  const auto& t = kTables.table;
  const uint8_t* p = static_cast<const uint8_t*>(data);
  uint32_t l = ~crc;
  for (; n >= 8; n -= 8, p += 8) {
    const uint32_t lo = l ^ LoadLe32(p);
    const uint32_t hi = LoadLe32(p + 4);
    l = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^
        t[4][lo >> 24] ^ t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^
        t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
  }
  for (; n > 0; --n, ++p) l = (l >> 8) ^ t[0][(l ^ *p) & 0xff];
  return ~l;
}

#if defined(__SSE4_2__)

namespace {

uint32_t ExtendHardware(uint32_t crc, const void* data, size_t n) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  uint64_t l = ~crc;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t word;
    std::memcpy(&word, p, sizeof(word));  // x86 is little-endian
    l = _mm_crc32_u64(l, word);
  }
  uint32_t l32 = static_cast<uint32_t>(l);
  for (; n > 0; --n, ++p) l32 = _mm_crc32_u8(l32, *p);
  return ~l32;
}

}  // namespace

bool HardwareAccelerated() { return true; }

}  // namespace crc32c_internal

uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n) {
  return crc32c_internal::ExtendHardware(crc, data, n);
}

#else  // !__SSE4_2__

bool HardwareAccelerated() { return false; }

}  // namespace crc32c_internal

uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n) {
  return crc32c_internal::ExtendPortable(crc, data, n);
}

#endif  // __SSE4_2__

}  // namespace dwae
