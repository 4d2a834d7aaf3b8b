#include "core/learn_kernels.h"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "Eigen/Core"
#include "core/learn_kernels_isa.h"
#include "core/x86_intrinsics.h"

namespace dwae::learn_kernels {

// ------------------------------------------------------------ references ---

int ReferenceNonZeroIndices(const float* x, int n, int* out) {
  int count = 0;
  for (int j = 0; j < n; ++j) {  // no branch: most inputs are zero
    out[count] = j;
    count += x[j] != 0.0f ? 1 : 0;
  }
  return count;
}

void ReferenceAccumulateColumns(const float* w, int rows, int ld,
                                const int* idx, int n, const float* x,
                                float* z) {
  for (int k = 0; k < n; ++k) {
    const float* col = w + size_t(idx[k]) * ld;
    const float xj = x[idx[k]];
    for (int i = 0; i < rows; ++i) z[i] = std::fma(xj, col[i], z[i]);
  }
}

void ReferenceDenseForward(const float* w, int rows, int ld, int cols,
                           const float* x, const float* bias, float* z) {
  for (int i = 0; i < rows; ++i) {
    float acc = 0.0f;
    for (int j = 0; j < cols; ++j) {
      acc = std::fma(w[size_t(j) * ld + i], x[j], acc);
    }
    z[i] = bias[i] + acc;
  }
}

void ReferenceTransposedProduct(const float* w, int rows, int ld, int cols,
                                const float* d, float* out) {
  const int padded = (rows + 15) / 16 * 16;
  for (int j = 0; j < cols; ++j) {
    const float* col = w + size_t(j) * ld;
    float p[16] = {};
    for (int i = 0; i < padded; ++i) {
      const float wi = i < rows ? col[i] : 0.0f;
      const float di = i < rows ? d[i] : 0.0f;
      p[i % 16] = std::fma(wi, di, p[i % 16]);
    }
    float q[8];
    for (int l = 0; l < 8; ++l) q[l] = p[l] + p[l + 8];
    out[j] = ((q[0] + q[1]) + (q[2] + q[3])) + ((q[4] + q[5]) + (q[6] + q[7]));
  }
}

void ReferenceTransposedProductSigmoid(const float* w, int rows, int ld,
                                       int cols, const float* d, const float* y,
                                       float* out) {
  ReferenceTransposedProduct(w, rows, ld, cols, d, out);
  for (int j = 0; j < cols; ++j) out[j] *= y[j] * (1.0f - y[j]);
}

void ReferenceSigmoid(float* z, int n) {
  Eigen::Map<Eigen::VectorXf> v(z, n);
  v = (1.0f + (-v.array()).exp()).inverse().matrix();
}

// ------------------------------------------------------ instruction sets ---

#if DWAE_HAVE_X86
Isa BestIsa() {
  static const Isa best = [] {
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
      return Isa::kReference;
    }
    if (__builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl")) {
      return Isa::kAvx512;
    }
    return Isa::kAvx2;
  }();
  return best;
}

#else  // !DWAE_HAVE_X86
Isa BestIsa() { return Isa::kReference; }
#endif

namespace {
std::atomic<int> active_isa{-1};  // -1: BestIsa(), not yet looked up
}  // namespace

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kReference:
      return "Reference";
    case Isa::kAvx2:
      return "Avx2";
    case Isa::kAvx512:
      return "Avx512";
  }
  return "Unknown";
}

Isa ActiveIsa() {
  int isa = active_isa.load(std::memory_order_relaxed);
  if (isa < 0) {
    isa = int(BestIsa());
    active_isa.store(isa, std::memory_order_relaxed);
  }
  return Isa(isa);
}

void SetIsaForTesting(Isa isa) {
  active_isa.store(int(std::min(isa, BestIsa())), std::memory_order_relaxed);
}

// ------------------------------------------------------------- dispatch ---

int NonZeroIndices(const float* x, int n, int* out) {
#if DWAE_HAVE_X86
  switch (ActiveIsa()) {
    case Isa::kAvx512:
      return internal::NonZeroAvx512(x, n, out);
    case Isa::kAvx2:
      return internal::NonZeroAvx2(x, n, out);
    case Isa::kReference:
      break;
  }
#endif
  return ReferenceNonZeroIndices(x, n, out);
}

void AccumulateColumns(const float* w, int rows, int ld, const int* idx, int n,
                       const float* x, float* z) {
#if DWAE_HAVE_X86
  switch (ActiveIsa()) {
    case Isa::kAvx512:
      return internal::ColumnsAvx512(w, rows, ld, idx, n, x, nullptr, z);
    case Isa::kAvx2:
      return internal::ColumnsAvx2(w, rows, ld, idx, n, x, nullptr, z);
    case Isa::kReference:
      break;
  }
#endif
  ReferenceAccumulateColumns(w, rows, ld, idx, n, x, z);
}

void DenseForward(const float* w, int rows, int ld, int cols, const float* x,
                  const float* bias, float* z) {
#if DWAE_HAVE_X86
  switch (ActiveIsa()) {
    case Isa::kAvx512:
      return internal::ColumnsAvx512(w, rows, ld, nullptr, cols, x, bias, z);
    case Isa::kAvx2:
      return internal::ColumnsAvx2(w, rows, ld, nullptr, cols, x, bias, z);
    case Isa::kReference:
      break;
  }
#endif
  ReferenceDenseForward(w, rows, ld, cols, x, bias, z);
}

void TransposedProduct(const float* w, int rows, int ld, int cols,
                       const float* d, float* out) {
#if DWAE_HAVE_X86
  switch (ActiveIsa()) {
    case Isa::kAvx512:
      return internal::TransposedAvx512(w, rows, ld, cols, d, nullptr, out);
    case Isa::kAvx2:
      return internal::TransposedAvx2(w, rows, ld, cols, d, nullptr, out);
    case Isa::kReference:
      break;
  }
#endif
  ReferenceTransposedProduct(w, rows, ld, cols, d, out);
}

void TransposedProductSigmoid(const float* w, int rows, int ld, int cols,
                              const float* d, const float* y, float* out) {
#if DWAE_HAVE_X86
  switch (ActiveIsa()) {
    case Isa::kAvx512:
      return internal::TransposedAvx512(w, rows, ld, cols, d, y, out);
    case Isa::kAvx2:
      return internal::TransposedAvx2(w, rows, ld, cols, d, y, out);
    case Isa::kReference:
      break;
  }
#endif
  ReferenceTransposedProductSigmoid(w, rows, ld, cols, d, y, out);
}

void Sigmoid(float* z, int n) {
#if DWAE_HAVE_X86 && defined(EIGEN_VECTORIZE_AVX2) && \
    defined(EIGEN_VECTORIZE_FMA) && !defined(EIGEN_VECTORIZE_AVX512)
  // Eigen's packets start at z when it is aligned to a packet.
  if (ActiveIsa() == Isa::kAvx512 && reinterpret_cast<uintptr_t>(z) % 32 == 0) {
    const int packets = n - n % 8;
    internal::SigmoidPacketsAvx512(z, packets);
    // Eigen's scalar path for the rest.
    for (int i = packets; i < n; ++i) z[i] = 1.0f / (1.0f + std::exp(-z[i]));
    return;
  }
#endif
  ReferenceSigmoid(z, n);
}

}  // namespace dwae::learn_kernels
