// NameIndex: the position of a name in a small fixed vocabulary (the
// encoder's protocols, services, flags and connection states, the Zeek
// parser's column names), looked up on every encoded record.
//
// A name of at most kMaxNameBytes bytes is a 16-byte Key: its bytes, zeros,
// and its size in the last byte (so "SF" and "SF\0" differ). The table is a
// perfect hash of the vocabulary's keys, its multiplier searched at compile
// time: a lookup is one multiply, one slot and one compare of two 64-bit
// words, with no loop and no branch on the name's bytes (the encoder's
// AVX-512 path builds the key with one masked load, encoder_avx512.cc).
// Longer and empty values are simply not in the vocabulary.
//
// Thread-safety: immutable after construction (constexpr).
#ifndef DWAE_CORE_NAME_INDEX_H_
#define DWAE_CORE_NAME_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"

namespace dwae {

namespace name_index_internal {

// A power of two with room for `n` names at a load of at most 1/6, where a
// random multiplier is collision-free with probability exp(-n^2 / 2 slots)
// (1 in 120 tries for the 70 services, 1 in 2 for 13 flags).
constexpr size_t SlotsFor(size_t n) {
  size_t slots = 16;
  while (slots < 6 * n) slots *= 2;
  return slots;
}

}  // namespace name_index_internal

template <size_t kSlots>
class NameIndex {
 public:
  static constexpr size_t kMaxNameBytes = 14;

  // Bytes 0..7 of the key in `lo`, 8..15 in `hi` (little-endian): the name,
  // zeros, its size in byte 15.
  struct Key {
    uint64_t lo = 0;
    uint64_t hi = 0;
  };

  // `names[i]` gets index i; at most 127 distinct names, each of at most
  // kMaxNameBytes characters (a longer or empty one could never be found and
  // is left out). constexpr, so that a vocabulary's index is a compile-time
  // constant (no initialization guard on the lookup path); a duplicate name
  // is then a compile error (at run time, an abort).
  template <size_t N>
  constexpr explicit NameIndex(const char* const (&names)[N]) {
    static_assert(N < 128 && N * 6 <= kSlots);
    uint64_t state = 0;
    for (int attempt = 0;; ++attempt) {
      if (attempt == kMaxAttempts) Fail("no collision-free multiplier");
      multiplier_ = NextOdd(state);
      if (TryInsert(names, N)) return;
    }
  }

  // The key of a name of 1 to kMaxNameBytes bytes.
  static constexpr Key MakeKey(const char* s, size_t size) {
    Key key;
    for (size_t i = 0; i < size; ++i) {
      const uint64_t byte = uint8_t(s[i]);
      if (i < 8) {
        key.lo |= byte << (8 * i);
      } else {
        key.hi |= byte << (8 * (i - 8));
      }
    }
    key.hi |= uint64_t(size) << 56;
    return key;
  }

  // The index of `name`, or `missing` when it is not in the vocabulary.
  int Find(absl::string_view name, int missing) const {
    if (name.size() - 1 >= kMaxNameBytes) return missing;  // empty or too long
    return FindKey(MakeKey(name.data(), name.size()), missing);
  }

  // Find() of the name whose key is `key` (MakeKey's, or the same bytes
  // built otherwise).
  int FindKey(Key key, int missing) const {
    const Slot& slot = slots_[SlotOf(key)];
    // One test of both words (no branch between them, a select after).
    const bool same = ((slot.key.lo ^ key.lo) | (slot.key.hi ^ key.hi)) == 0;
    return same ? slot.index : missing;
  }

 private:
  static_assert((kSlots & (kSlots - 1)) == 0 && kSlots >= 16);
  static constexpr int kSlotBits = __builtin_ctzll(kSlots);
  static constexpr int kMaxAttempts = 1 << 14;

  // An empty slot's key (size 0) is no name's key.
  struct Slot {
    Key key;
    int index = -1;
  };

  constexpr size_t SlotOf(Key key) const {
    const uint64_t mixed = key.lo ^ ((key.hi << 5) | (key.hi >> 59));
    return size_t((mixed * multiplier_) >> (64 - kSlotBits));
  }

  // The next odd multiplier of a splitmix64 sequence.
  static constexpr uint64_t NextOdd(uint64_t& state) {
    state += 0x9E3779B97F4A7C15u;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return (z ^ (z >> 31)) | 1;
  }

  // Not constexpr: reaching it in a constant evaluation is a compile error
  // that names the reason.
  [[noreturn]] static void Fail(const char*) { std::abort(); }

  // Fills the table with multiplier_; false on a collision.
  constexpr bool TryInsert(const char* const* names, size_t n) {
    for (Slot& slot : slots_) slot = Slot();
    for (size_t i = 0; i < n; ++i) {
      size_t size = 0;
      while (names[i][size] != '\0') ++size;
      // A longer name could never be found (lookups of longer strings
      // answer unknown): refused at compile time instead of dropped.
      if (size > kMaxNameBytes) Fail("name longer than kMaxNameBytes");
      if (size == 0) continue;
      const Key key = MakeKey(names[i], size);
      Slot& slot = slots_[SlotOf(key)];
      if (slot.index >= 0) {
        if (slot.key.lo == key.lo && slot.key.hi == key.hi) {
          Fail("duplicate name");
        }
        return false;
      }
      slot.key = key;
      slot.index = int(i);
    }
    return true;
  }

  uint64_t multiplier_ = 0;
  Slot slots_[kSlots] = {};
};

template <size_t N>
NameIndex(const char* const (&)[N])
    -> NameIndex<name_index_internal::SlotsFor(N)>;

}  // namespace dwae

#endif  // DWAE_CORE_NAME_INDEX_H_
