// Rng: a small, fast, seedable pseudo-random generator (xoshiro256**,
// Blackman and Vigna 2018) with SplitMix64 seeding.
//
// Every stochastic choice in core (initial weights, device outcomes, shuffles)
// draws from an Rng seeded from the run's seed, so that a seed reproduces a
// run bit for bit on the same build. Not cryptographic.
//
// Thread-safety: an Rng is a value; use one per thread.
#ifndef DWAE_CORE_RNG_H_
#define DWAE_CORE_RNG_H_

#include <array>
#include <cmath>
#include <cstdint>

namespace dwae {

// One SplitMix64 step: advances *state and returns a well-mixed 64-bit value.
inline uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A stateless hash of (a, b) to 64 bits, for values that must be a fixed
// function of an identity (e.g. one device's fabrication spread).
inline uint64_t HashPair(uint64_t a, uint64_t b) {
  uint64_t state = a ^ (b * 0xd1b54a32d192ed03ULL);
  SplitMix64(&state);
  return SplitMix64(&state);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) { Seed(seed); }

  void Seed(uint64_t seed) {
    uint64_t sm = seed;
    for (uint64_t& word : s_) word = SplitMix64(&sm);
  }

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 bits.
  double Uniform() { return (Next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, 1) with 24 bits; the cheap one for hot loops.
  float UniformFloat() { return (Next() >> 40) * 0x1.0p-24f; }
  // Uniform in (0, 1], safe for log().
  double UniformOpen() { return ((Next() >> 11) + 1) * 0x1.0p-53; }
  // Uniform integer in [0, n), n > 0 (Lemire's multiply-shift; the bias is
  // below 2^-32 for the sizes used here).
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >>
                                 64);
  }
  // Standard normal (Box-Muller; one value per call, simple over fast).
  double Normal() {
    const double u1 = UniformOpen();
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  // The full generator state, for checkpoints.
  std::array<uint64_t, 4> state() const { return {s_[0], s_[1], s_[2], s_[3]}; }
  void set_state(const std::array<uint64_t, 4>& state) {
    for (int i = 0; i < 4; ++i) s_[i] = state[i];
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace dwae

#endif  // DWAE_CORE_RNG_H_
