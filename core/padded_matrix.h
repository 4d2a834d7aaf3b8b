// A float matrix whose columns start on 64-byte cache lines: column-major,
// column j at column(j), columns ld() floats apart (rows rounded up to 16 by
// default). A 64-byte vector load or store of a column then never splits a
// cache line (a split costs about twice an unsplit one). It holds a layer's
// weights (network.h) and dw-shadow's shadow weights (shadow_kernels.h);
// both are saved and loaded packed (rows() x cols(), no padding: Assign,
// CopyTo), so the layout is invisible to checkpoints.
//
// The padding floats start at 0. The learning kernels never read them; the
// AVX-512 shadow step reads and writes them with whole vectors (a zero
// delta keeps them +0 for any finite step). Copies are deep and keep ld().
//
// Thread-safety: none of its own; const methods may run concurrently, any
// other call needs exclusive access (as for an Eigen matrix).
#ifndef DWAE_CORE_PADDED_MATRIX_H_
#define DWAE_CORE_PADDED_MATRIX_H_

#include <cstddef>
#include <memory>
#include <new>
#include <utility>

namespace dwae {

class PaddedMatrix {
 public:
  // rows x cols zeros; ld = rows rounded up to 16.
  PaddedMatrix(int rows, int cols);
  // With the given leading dimension ld >= rows (ld = rows: the packed
  // layout, which tests compare the padded one with).
  PaddedMatrix(int rows, int cols, int ld);
  PaddedMatrix(const PaddedMatrix& other);
  PaddedMatrix& operator=(const PaddedMatrix& other);
  // The moved-from matrix is 0 x 0 (as a moved-from Eigen matrix is).
  PaddedMatrix(PaddedMatrix&& other) noexcept
      : rows_(std::exchange(other.rows_, 0)),
        cols_(std::exchange(other.cols_, 0)),
        ld_(std::exchange(other.ld_, 0)),
        data_(std::move(other.data_)) {}
  PaddedMatrix& operator=(PaddedMatrix&& other) noexcept {
    rows_ = std::exchange(other.rows_, 0);
    cols_ = std::exchange(other.cols_, 0);
    ld_ = std::exchange(other.ld_, 0);
    data_ = std::move(other.data_);
    return *this;
  }

  static int DefaultLd(int rows) { return (rows + 15) / 16 * 16; }

  int rows() const { return rows_; }
  int cols() const { return cols_; }
  int ld() const { return ld_; }
  // rows() * cols(): the number of elements (padding not counted).
  int size() const { return rows_ * cols_; }
  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  float* column(int j) { return data() + size_t(j) * ld_; }
  const float* column(int j) const { return data() + size_t(j) * ld_; }
  float& operator()(int i, int j) { return column(j)[i]; }
  float operator()(int i, int j) const { return column(j)[i]; }

  // From / to a packed column-major matrix of rows() x cols() floats.
  void Assign(const float* packed);
  void CopyTo(float* packed) const;
  // Element by element from a matrix of the same shape (any ld).
  void Assign(const PaddedMatrix& other);

 private:
  struct Free {
    void operator()(float* p) const {
      ::operator delete[](p, std::align_val_t(64));
    }
  };
  int rows_;
  int cols_;
  int ld_;
  std::unique_ptr<float[], Free> data_;
};

// Same shape and the same elements (==, so -0 equals 0 and NaN differs from
// everything; padding and ld are not compared).
bool operator==(const PaddedMatrix& a, const PaddedMatrix& b);
inline bool operator!=(const PaddedMatrix& a, const PaddedMatrix& b) {
  return !(a == b);
}

}  // namespace dwae

#endif  // DWAE_CORE_PADDED_MATRIX_H_
