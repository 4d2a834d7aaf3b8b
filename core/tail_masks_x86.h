// Tail masks of the learning and shadow kernels' last, partial vectors,
// shared by their AVX2 and AVX-512 files (learn_kernels_avx*.cc,
// shadow_kernels_avx*.cc). Function-level targets, as in those files.
// Include from .cc files only (it includes core/x86_intrinsics.h, whose
// pragmas apply to the rest of the including file).
//
// Thread-safety: pure functions.
#ifndef DWAE_CORE_TAIL_MASKS_X86_H_
#define DWAE_CORE_TAIL_MASKS_X86_H_

#include "core/x86_intrinsics.h"

#if DWAE_HAVE_X86
namespace dwae::learn_kernels::internal {

// Lanes [0, n) of 8 set, n in [0, 8].
__attribute__((target("avx2,fma"))) inline __m256i TailMask(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Lanes [0, n) of 16 set, n in [0, 16].
__attribute__((target("avx512f,avx512bw,avx512vl,fma"))) inline __mmask16
TailMask16(int n) {
  return __mmask16((1u << n) - 1);
}

}  // namespace dwae::learn_kernels::internal
#endif  // DWAE_HAVE_X86

#endif  // DWAE_CORE_TAIL_MASKS_X86_H_
