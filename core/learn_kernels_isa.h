// Internal to the learning kernels (learn_kernels.h): the per-instruction-set
// paths that learn_kernels.cc dispatches to. Each returns exactly what the
// matching Reference* function returns. Only on x86 (DWAE_HAVE_X86); call
// the AVX2 ones only when BestIsa() >= kAvx2 and the AVX-512 ones only when
// it is kAvx512. Not for use outside core/learn_kernels*.
//
// Thread-safety: pure functions.
#ifndef DWAE_CORE_LEARN_KERNELS_ISA_H_
#define DWAE_CORE_LEARN_KERNELS_ISA_H_

#include <cstdint>

#include "core/learn_kernels.h"

namespace dwae::learn_kernels::internal {

int NonZeroAvx2(const float* x, int n, int* out);
// AccumulateColumns when bias is null, else DenseForward (idx null: all n
// columns in order).
void ColumnsAvx2(const float* w, int rows, int ld, const int* idx, int n,
                 const float* x, const float* bias, float* z);
// TransposedProduct; with y, TransposedProductSigmoid.
void TransposedAvx2(const float* w, int rows, int ld, int cols, const float* d,
                    const float* y, float* out);

int NonZeroAvx512(const float* x, int n, int* out);
void TransposedAvx512(const float* w, int rows, int ld, int cols,
                      const float* d, const float* y, float* out);
void ColumnsAvx512(const float* w, int rows, int ld, const int* idx, int n,
                   const float* x, const float* bias, float* z);
// Eigen's packet sigmoid (Sigmoid) on z[0..n), n a multiple of 8.
void SigmoidPacketsAvx512(float* z, int n);

}  // namespace dwae::learn_kernels::internal

#endif  // DWAE_CORE_LEARN_KERNELS_ISA_H_
