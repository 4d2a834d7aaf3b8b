// Float kernels of the learning path: the dense-layer products of the forward
// and backward passes (network.cc); dw-shadow's step is in shadow_kernels.h.
//
// Every kernel fixes the order of its floating-point operations, so that its
// result is one exact function of its inputs, whatever the instruction set:
//   - a forward output is one fused multiply-add (fma) chain per element, in
//     increasing column order: AccumulateColumns from z (the same bits as
//     the Eigen column loop it replaced), DenseForward from 0 with the bias
//     added last (Eigen's blocked product rounded differently);
//   - a backward output out[j] = sum_i w[i][j] d[i] is the sum of 16 lane
//     chains p0..p15 (lane l takes the rows i = l mod 16, rows padded with
//     zeros to a multiple of 16), folded to q_l = p_l + p_(l+8) and added
//     pairwise: ((q0+q1)+(q2+q3))+((q4+q5)+(q6+q7)).
// The Reference* functions are the scalar oracles (std::fma); the fast paths
// (AVX2+FMA and AVX-512, chosen at run time from what the CPU has;
// learn_kernels_avx2.cc, learn_kernels_avx512.cc) return bit for bit the
// same values, which tests check on random shapes for every instruction set
// the CPU runs. Matrices are column-major with `rows` rows, column j at
// w + j * ld (ld >= rows; a layer's weights have ld = rows rounded up to 16,
// so that a 64-byte aligned matrix has every column on a cache line and no
// vector load splits one); rows rows .. ld - 1 are never read.
//
// Thread-safety: pure functions of their arguments.
#ifndef DWAE_CORE_LEARN_KERNELS_H_
#define DWAE_CORE_LEARN_KERNELS_H_

#include <cstdint>

namespace dwae::learn_kernels {

// Writes the indices j of the non-zero x[j] (NaN counts as non-zero), in
// increasing order, to `out` (room for n) and returns how many there are.
int NonZeroIndices(const float* x, int n, int* out);
int ReferenceNonZeroIndices(const float* x, int n, int* out);

// z[i] = fma(x[j], w[j * ld + i], z[i]) for each j of idx[0..n), in order.
void AccumulateColumns(const float* w, int rows, int ld, const int* idx, int n,
                       const float* x, float* z);
void ReferenceAccumulateColumns(const float* w, int rows, int ld,
                                const int* idx, int n, const float* x,
                                float* z);

// z[i] = bias[i] + (fma chain from 0 over j = 0 .. cols-1 of w[j*ld+i]*x[j]).
void DenseForward(const float* w, int rows, int ld, int cols, const float* x,
                  const float* bias, float* z);
void ReferenceDenseForward(const float* w, int rows, int ld, int cols,
                           const float* x, const float* bias, float* z);

// out[j] = sum over i < rows of w[j * ld + i] * d[i] (the transposed product
// of back-propagation), in the 16-lane order above.
void TransposedProduct(const float* w, int rows, int ld, int cols,
                       const float* d, float* out);
void ReferenceTransposedProduct(const float* w, int rows, int ld, int cols,
                                const float* d, float* out);
// TransposedProduct, then out[j] *= y[j] * (1 - y[j]) (back through a sigmoid
// layer whose output is y), in the kernel's last step: the same bits as the
// product followed by that elementwise pass.
void TransposedProductSigmoid(const float* w, int rows, int ld, int cols,
                              const float* d, const float* y, float* out);
void ReferenceTransposedProductSigmoid(const float* w, int rows, int ld,
                                       int cols, const float* d, const float* y,
                                       float* out);

// The logistic sigmoid of z[0..n), in place: bit for bit what Eigen 3.4
// built for AVX2 and FMA (the project's -march) returns for
// (1 + (-z).exp()).inverse() on a 32-byte aligned vector, which is the
// reference: Eigen's Cephes expf packet algorithm on the elements in whole
// 8-float packets, std::exp on the n % 8 left. The AVX-512 path runs the
// same packet algorithm 16 floats at a time; it is used only when Eigen was
// built that way and z is 32-byte aligned (else the reference runs). The
// bits must not change: a last-bit change of an activation moves every
// later device write of dw-shadow (the daemon's documented accuracy is one
// such trajectory).
void Sigmoid(float* z, int n);
void ReferenceSigmoid(float* z, int n);

// The instruction sets with a fast path, in increasing order.
enum class Isa { kReference = 0, kAvx2 = 1, kAvx512 = 2 };
// "Reference", "Avx2", "Avx512" (e.g. for test names and logs).
const char* IsaName(Isa isa);
// The best this CPU runs: kAvx2 needs AVX2 and FMA, kAvx512 also AVX512F,
// BW and VL.
Isa BestIsa();
// The one the dispatching functions use: BestIsa() unless a test chose a
// lower one (SetIsaForTesting, clamped to BestIsa(); not for concurrent use
// with running kernels).
Isa ActiveIsa();
void SetIsaForTesting(Isa isa);

}  // namespace dwae::learn_kernels

#endif  // DWAE_CORE_LEARN_KERNELS_H_
