// CRC32C: the Castagnoli CRC (reflected polynomial 0x82F63B78), as used by
// iSCSI (RFC 3720), ext4 and leveldb, for detecting torn or corrupted
// checkpoint files.
//
//   uint32_t crc = Crc32c(header, header_len);
//   crc = Crc32cExtend(crc, body, body_len);  // == Crc32c(header + body)
//
// With SSE4.2 available at compile time (__SSE4_2__, implied by the build's
// -march=x86-64-v3) the CRC32 instruction computes it; otherwise a portable
// slicing-by-8 table implementation does. Both give identical results; the
// portable one is the reference oracle for the hardware one.
//
// Thread-safety: pure functions of their arguments; safe from any thread.
#ifndef DWAE_CORE_CRC32C_H_
#define DWAE_CORE_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace dwae {

// Returns the CRC32C of data[0, n) extended onto `crc`, the CRC32C of some
// earlier bytes A, i.e. the CRC32C of A followed by data[0, n).
// Crc32cExtend(0, data, n) == Crc32c(data, n). `data` may be null if n == 0.
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);

// Returns the CRC32C of data[0, n). Crc32c("123456789", 9) == 0xE3069283.
inline uint32_t Crc32c(const void* data, size_t n) {
  return Crc32cExtend(0, data, n);
}

namespace crc32c_internal {

// The portable slicing-by-8 implementation, always available.
uint32_t ExtendPortable(uint32_t crc, const void* data, size_t n);

// True if Crc32cExtend uses the SSE4.2 CRC32 instruction.
bool HardwareAccelerated();

}  // namespace crc32c_internal
}  // namespace dwae

#endif  // DWAE_CORE_CRC32C_H_
