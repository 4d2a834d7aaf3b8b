// PrefetchForWrite: starts fetching an object's cache lines for writing.
//
// For buffers reused from batch to batch that come back cold (last written
// by another core, or evicted by a large batch): issuing the fetches a
// little before the writes lets their misses overlap instead of stalling one
// after the other. A hint only: it changes no result.
//
// Thread-safety: a pure function.
#ifndef DWAE_SERVER_PREFETCH_H_
#define DWAE_SERVER_PREFETCH_H_

#include <cstddef>

namespace dwae::server {

inline void PrefetchForWrite(const void* object, size_t bytes) {
  constexpr size_t kCacheLine = 64;
  const char* p = static_cast<const char*>(object);
  for (size_t at = 0; at < bytes; at += kCacheLine)
    __builtin_prefetch(p + at, 1);
}

}  // namespace dwae::server

#endif  // DWAE_SERVER_PREFETCH_H_
