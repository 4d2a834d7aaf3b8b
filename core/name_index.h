// NameIndex: the position of a name in a small fixed vocabulary (the
// encoder's services, flags and connection states), looked up on every
// encoded record.
//
// An open-addressing table of 256 slots keyed by a hash of the length and
// three characters, checked by comparing the name: a lookup costs a few
// dozen instructions, against a general hash map's hash of every byte and a
// memcmp call. Names are at most kMaxNameBytes long; longer values are
// simply not in the vocabulary.
//
// Thread-safety: immutable after construction.
#ifndef DWAE_CORE_NAME_INDEX_H_
#define DWAE_CORE_NAME_INDEX_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace dwae {

class NameIndex {
 public:
  static constexpr size_t kMaxNameBytes = 15;

  // `names[i]` gets index i; at most 128 names, each of at most
  // kMaxNameBytes characters (a longer one could never be found).
  // constexpr, so that a vocabulary's index can be a compile-time constant
  // (no initialization guard on the lookup path).
  template <int N>
  constexpr explicit NameIndex(const char* const (&names)[N]) {
    static_assert(N <= kSlots / 2, "the table must stay at most half full");
    for (int i = 0; i < N; ++i) Insert(names[i], i);
  }

  // The index of `name`, or `missing` when it is not in the vocabulary.
  int Find(absl::string_view name, int missing) const {
    const size_t size = name.size();
    if (size - 1 >= kMaxNameBytes) return missing;  // empty or too long
    for (uint32_t h = Hash(name.data(), size);; h = (h + 1) % kSlots) {
      const Slot& slot = slots_[h];
      if (slot.index < 0) return missing;
      if (slot.size == size && Equal(slot.name, name.data(), size)) {
        return slot.index;
      }
    }
  }

 private:
  static constexpr uint32_t kSlots = 256;

  struct Slot {
    char name[kMaxNameBytes + 1] = {};
    uint8_t size = 0;
    int16_t index = -1;
  };

  // Length and the first, middle and last characters tell the NSL-KDD and
  // Zeek vocabularies' names apart well enough for short probe chains.
  static constexpr uint32_t Hash(const char* s, size_t size) {
    const auto c = [&](size_t i) { return uint32_t(uint8_t(s[i])); };
    uint32_t h = uint32_t(size) * 0x9E3779B1u;
    h ^= c(0) * 0x85EBCA77u;
    h ^= c(size / 2) * 0xC2B2AE3Du;
    h ^= c(size - 1) * 0x27D4EB2Fu;
    return (h ^ (h >> 15) ^ (h >> 24)) % kSlots;
  }

  static bool Equal(const char* a, const char* b, size_t size) {
    for (size_t i = 0; i < size; ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }

  constexpr void Insert(const char* name, int index) {
    size_t size = 0;
    while (name[size] != '\0') ++size;
    if (size == 0 || size > kMaxNameBytes) return;
    uint32_t h = Hash(name, size);
    while (slots_[h].index >= 0) h = (h + 1) % kSlots;
    for (size_t i = 0; i < size; ++i) slots_[h].name[i] = name[i];
    slots_[h].size = static_cast<uint8_t>(size);
    slots_[h].index = static_cast<int16_t>(index);
  }

  Slot slots_[kSlots] = {};
};

}  // namespace dwae

#endif  // DWAE_CORE_NAME_INDEX_H_
