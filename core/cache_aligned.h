// CacheAlignedAllocator: a std::allocator whose blocks start on a 64-byte
// cache line, and CacheAlignedBytes and CacheAlignedFloats, vectors that use
// it.
//
// Why: the AVX-512 encoder writes a record's bytes for the integer pass
// with 64-byte stores and the pass reads them back with 64-byte loads right
// away. malloc aligns to 16 bytes only, and from there each of those may
// split a cache line; measured on BM_ScoreOne (docs/performance.md, issue
// 13's ninth round) bytes 16 or 48 past a line cost 7-16 ns of about 141.
//
// Thread-safety: stateless; any thread.
#ifndef DWAE_CORE_CACHE_ALIGNED_H_
#define DWAE_CORE_CACHE_ALIGNED_H_

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace dwae {

inline constexpr std::size_t kCacheLineBytes = 64;

template <typename T>
struct CacheAlignedAllocator {
  using value_type = T;

  CacheAlignedAllocator() = default;
  template <typename U>
  CacheAlignedAllocator(const CacheAlignedAllocator<U>&) {}  // NOLINT

  T* allocate(std::size_t n) {
    return static_cast<T*>(
        ::operator new (n * sizeof(T), std::align_val_t{kCacheLineBytes}));
  }
  void deallocate(T* p, std::size_t) {
    ::operator delete (p, std::align_val_t{kCacheLineBytes});
  }
};

template <typename T, typename U>
bool operator==(const CacheAlignedAllocator<T>&,
                const CacheAlignedAllocator<U>&) {
  return true;
}
template <typename T, typename U>
bool operator!=(const CacheAlignedAllocator<T>&,
                const CacheAlignedAllocator<U>&) {
  return false;
}

// Vectors whose first element starts a cache line (once allocated).
using CacheAlignedBytes = std::vector<uint8_t, CacheAlignedAllocator<uint8_t>>;
using CacheAlignedFloats = std::vector<float, CacheAlignedAllocator<float>>;

}  // namespace dwae

#endif  // DWAE_CORE_CACHE_ALIGNED_H_
