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

// The constants of Sigmoid (learn_kernels.h), shared by every path: the
// clamp of t = -z (k = round(t log2 e) stays in [-126, 126]), log2(e), ln 2
// split in two (Cody-Waite; the high part has 9 bits, so n * kLn2Hi is exact),
// and Cephes' expf polynomial for e^r on |r| <= ln(2) / 2 (highest degree
// first).
inline constexpr float kSigmoidTMin = -87.0f;  // 1 + e^-87 rounds to 1
inline constexpr float kSigmoidTMax = 87.0f;   // 1 / (1 + e^87) is normal
inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693359375f;
inline constexpr float kLn2Lo = -2.12194440e-4f;
inline constexpr float kExpPoly[6] = {1.9875691500e-4f, 1.3981999507e-3f,
                                      8.3334519073e-3f, 4.1665795894e-2f,
                                      1.6666665459e-1f, 5.0000001201e-1f};

int NonZeroAvx2(const float* x, int n, int* out);
// AccumulateColumns when bias is null, else DenseForward (idx null: all n
// columns in order).
void ColumnsAvx2(const float* w, int rows, const int* idx, int n,
                 const float* x, const float* bias, float* z);
void TransposedAvx2(const float* w, int rows, int cols, const float* d,
                    float* out);
bool ShadowStepAvx2(const ShadowParams& p, const float* delta,
                    const int8_t* notch, int rows, float* shadow);
void ShadowStepColumnsAvx2(const ShadowParams& p, const int* cols,
                           const float* steps, int n, const float* delta,
                           const int8_t* notch, int rows, float* shadow,
                           uint8_t* due);
void SigmoidAvx2(float* z, int n);

int NonZeroAvx512(const float* x, int n, int* out);
void TransposedAvx512(const float* w, int rows, int cols, const float* d,
                      float* out);
void ColumnsAvx512(const float* w, int rows, const int* idx, int n,
                   const float* x, const float* bias, float* z);
bool ShadowStepAvx512(const ShadowParams& p, const float* delta,
                      const int8_t* notch, int rows, float* shadow);
void ShadowStepColumnsAvx512(const ShadowParams& p, const int* cols,
                             const float* steps, int n, const float* delta,
                             const int8_t* notch, int rows, float* shadow,
                             uint8_t* due);
void SigmoidAvx512(float* z, int n);

}  // namespace dwae::learn_kernels::internal

#endif  // DWAE_CORE_LEARN_KERNELS_ISA_H_
