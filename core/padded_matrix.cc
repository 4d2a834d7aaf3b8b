#include "core/padded_matrix.h"

#include <algorithm>
#include <cassert>

namespace dwae {
namespace {

float* AllocateZeros(int ld, int cols) {
  const size_t n = size_t(ld) * size_t(cols);
  // At least one float, so that data() is never null.
  float* p = static_cast<float*>(::operator new[](
      sizeof(float) * std::max<size_t>(n, 1), std::align_val_t(64)));
  std::fill_n(p, n, 0.0f);
  return p;
}

}  // namespace

PaddedMatrix::PaddedMatrix(int rows, int cols)
    : PaddedMatrix(rows, cols, DefaultLd(rows)) {}

PaddedMatrix::PaddedMatrix(int rows, int cols, int ld)
    : rows_(rows), cols_(cols), ld_(ld), data_(AllocateZeros(ld, cols)) {
  assert(rows >= 0 && cols >= 0 && ld >= rows);
}

PaddedMatrix::PaddedMatrix(const PaddedMatrix& other)
    : rows_(other.rows_),
      cols_(other.cols_),
      ld_(other.ld_),
      data_(AllocateZeros(ld_, cols_)) {
  if (other.data() != nullptr) {  // null only when moved from (0 x 0)
    std::copy_n(other.data(), size_t(ld_) * cols_, data());
  }
}

PaddedMatrix& PaddedMatrix::operator=(const PaddedMatrix& other) {
  if (this != &other) *this = PaddedMatrix(other);
  return *this;
}

void PaddedMatrix::Assign(const float* packed) {
  for (int j = 0; j < cols_; ++j) {
    std::copy_n(packed + size_t(j) * rows_, rows_, column(j));
  }
}

void PaddedMatrix::CopyTo(float* packed) const {
  for (int j = 0; j < cols_; ++j) {
    std::copy_n(column(j), rows_, packed + size_t(j) * rows_);
  }
}

void PaddedMatrix::Assign(const PaddedMatrix& other) {
  assert(other.rows() == rows_ && other.cols() == cols_);
  for (int j = 0; j < cols_; ++j) {
    std::copy_n(other.column(j), rows_, column(j));
  }
}

bool operator==(const PaddedMatrix& a, const PaddedMatrix& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  for (int j = 0; j < a.cols(); ++j) {
    if (!std::equal(a.column(j), a.column(j) + a.rows(), b.column(j))) {
      return false;
    }
  }
  return true;
}

}  // namespace dwae
