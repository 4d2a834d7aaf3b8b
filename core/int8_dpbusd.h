// vpdpbusd with its accumulator kept in place, for the VNNI kernels
// (int8_kernels_vnni.cc, inference_two_layer.cc). Include only from .cc
// files, after core/x86_intrinsics.h, and call only from functions compiled
// for AVX512-VNNI.
//
// Why not _mm512_dpbusd_epi32: GCC 12 copies the accumulator into another
// register before each vpdpbusd and back after it (two zmm moves per
// multiply-add, on ports 0 and 5 like the multiply-adds themselves, and on
// the accumulator's dependency chain), and spills when the accumulators
// fill the registers. The asm below is the same instruction with the
// accumulator as an in-out operand and the weights as a memory operand.
//
// Thread-safety: a pure function.
#ifndef DWAE_CORE_INT8_DPBUSD_H_
#define DWAE_CORE_INT8_DPBUSD_H_

#include <cstdint>

#if DWAE_HAVE_X86

namespace dwae {

// acc[i] + the sum over j < 4 of byte j of x[i] (unsigned) times byte j of
// w[i] (signed), for the 16 int32 lanes i; w is 64 bytes, any alignment.
__attribute__((target("avx512f,avx512bw,avx512vnni"),
               always_inline)) inline __m512i
DpbusdFrom(__m512i acc, __m512i x, const int8_t* w) {
  asm("vpdpbusd %2, %1, %0"
      : "+v"(acc)
      : "v"(x), "m"(*reinterpret_cast<const __m512i_u*>(w)));
  return acc;
}

}  // namespace dwae

#endif  // DWAE_HAVE_X86

#endif  // DWAE_CORE_INT8_DPBUSD_H_
