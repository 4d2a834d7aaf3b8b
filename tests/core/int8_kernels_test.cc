// The integer kernels against their scalar oracle, exactly, on random shapes
// (odd widths, partial row blocks, sparse and dense inputs, the largest
// allowed levels).
#include "core/int8_kernels.h"

#include <cstdint>
#include <cstdio>
#include <vector>

#include "core/rng.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

struct Case {
  int rows, cols, max_level;
  double input_density;
};

// A c.rows x c.cols matrix of levels drawn uniformly from +-c.max_level.
std::vector<int8_t> RandomLevels(const Case& c, Rng* rng) {
  std::vector<int8_t> k(size_t(c.rows) * c.cols);
  for (int8_t& level : k) {
    level =
        static_cast<int8_t>(int(rng->Below(2 * c.max_level + 1)) - c.max_level);
  }
  return k;
}

void ExpectKernelsMatchReference(const Case& c, uint64_t seed) {
  Rng rng(seed);
  const std::vector<int8_t> k = RandomLevels(c, &rng);
  const PackedLevels packed(k.data(), c.rows, c.cols);
  std::vector<uint8_t> x(packed.padded_inputs(), 0);
  for (int i = 0; i < c.cols; ++i) {
    if (rng.Uniform() < c.input_density) {
      // Mostly the extremes, where an overflow would show.
      x[i] = rng.Uniform() < 0.5 ? 255 : static_cast<uint8_t>(rng.Below(256));
    }
  }
  std::vector<int32_t> want(c.rows);
  MatVecReference(k.data(), c.rows, c.cols, x.data(), want.data());
  const size_t out_size = size_t(packed.row_blocks()) * kInt8RowBlock;
  std::vector<int32_t> scratch(packed.scratch_size());
  for (int kernel = 0; kernel < 5; ++kernel) {
    if (kernel == 1 && !CpuHasAvx2()) continue;
    if (kernel >= 3 && !CpuHasAvx512()) continue;
    std::vector<int32_t> got(out_size, -1);
    if (kernel == 0)
      MatVecPortable(packed, x.data(), scratch.data(), got.data());
    if (kernel == 1) MatVecAvx2(packed, x.data(), scratch.data(), got.data());
    if (kernel == 2) MatVec(packed, x.data(), scratch.data(), got.data());
    if (kernel == 3) {
      MatVecAvx512(packed, x.data(), scratch.data(), got.data());
    }
    if (kernel == 4) MatVecDenseAvx512(packed, x.data(), got.data());
    for (int r = 0; r < c.rows; ++r) {
      ASSERT_EQ(got[r], want[r])
          << "kernel " << kernel << " row " << r << " of " << c.rows << "x"
          << c.cols << " levels +-" << c.max_level;
    }
  }
}

// The quad-layout kernels (portable, VNNI sparse, VNNI dense on `batch`
// records at once) against the oracle, record by record.
void ExpectQuadKernelsMatchReference(const Case& c, int batch, uint64_t seed) {
  Rng rng(seed);
  const std::vector<int8_t> k = RandomLevels(c, &rng);
  const PackedLevels packed(k.data(), c.rows, c.cols);
  const QuadLevels quads(k.data(), c.rows, c.cols);
  ASSERT_LE(4 * quads.quads(), packed.padded_inputs());
  std::vector<std::vector<uint8_t>> x(batch);
  std::vector<std::vector<int32_t>> want(batch);
  std::vector<const uint8_t*> inputs;
  for (int i = 0; i < batch; ++i) {
    x[i].assign(packed.padded_inputs(), 0);
    for (int j = 0; j < c.cols; ++j) {
      if (rng.Uniform() < c.input_density) {
        x[i][j] =
            rng.Uniform() < 0.5 ? 255 : static_cast<uint8_t>(rng.Below(256));
      }
    }
    want[i].resize(c.rows);
    MatVecReference(k.data(), c.rows, c.cols, x[i].data(), want[i].data());
    inputs.push_back(x[i].data());
  }
  const size_t out_size = size_t(quads.row_blocks()) * kInt8RowBlock;
  std::vector<int32_t> scratch(packed.scratch_size());
  for (int kernel = 0; kernel < 3; ++kernel) {
    if (kernel >= 1 && !CpuHasVnni()) continue;
    std::vector<std::vector<int32_t>> got(batch,
                                          std::vector<int32_t>(out_size, -1));
    std::vector<int32_t*> outputs;
    for (auto& g : got) outputs.push_back(g.data());
    if (kernel == 0) {
      MatVecQuadPortable(quads, batch, inputs.data(), outputs.data());
    }
    if (kernel == 1) {
      for (int i = 0; i < batch; ++i) {
        MatVecSparseVnni(quads, inputs[i], scratch.data(), outputs[i]);
      }
    }
    if (kernel == 2) {
      MatVecDenseVnni(quads, batch, inputs.data(), outputs.data());
    }
    for (int i = 0; i < batch; ++i) {
      for (int r = 0; r < c.rows; ++r) {
        ASSERT_EQ(got[i][r], want[i][r])
            << "quad kernel " << kernel << " record " << i << " of " << batch
            << " row " << r << " of " << c.rows << "x" << c.cols << " levels +-"
            << c.max_level;
      }
    }
  }
}

TEST(Int8KernelsTest, QuadKernelsMatchReferenceOnRandomShapesAndBatches) {
  if (!CpuHasVnni()) std::printf("no AVX512-VNNI: portable quad loop only\n");
  Rng shapes(11);
  for (int trial = 0; trial < 60; ++trial) {
    const Case c{1 + int(shapes.Below(150)), 1 + int(shapes.Below(300)),
                 1 + int(shapes.Below(kMaxInt8Level)),
                 trial % 3 == 0 ? 0.1 : 1.0};
    ExpectQuadKernelsMatchReference(c, 1 + int(shapes.Below(11)), 200 + trial);
  }
  for (const Case& c : {Case{32, 125, 2, 0.2}, Case{125, 32, 2, 1.0},
                        Case{17, 1000, kMaxInt8Level, 1.0}, Case{1, 1, 1, 1.0},
                        Case{16, 33, 5, 0.0}, Case{160, 70, 63, 1.0}}) {
    for (int batch : {1, 2, 3, 4, 5, 8, 13}) {
      ExpectQuadKernelsMatchReference(c, batch, 1);
    }
  }
}

// QuadLevels' padding: every byte of the quads in [quads(), padded_quads()],
// the sentinel quad padded_quads() included, and of the columns past cols()
// and rows past rows() is a zero level. The register pass
// (inference_two_layer.cc) reads the output layer's weights in groups of 4
// quads up to padded_quads() and multiplies the padding by zero hidden
// bytes, and its hidden layer's walk over the nonzero quads ends on the
// sentinel with any input bytes, so a nonzero sentinel would change scores;
// read here with plain loads, an allocation without the sentinel is also an
// out-of-bounds read that the sanitizer build reports.
TEST(Int8KernelsTest, QuadLevelsPaddingIsZeroLevels) {
  Rng rng(12);
  for (int trial = 0; trial < 40; ++trial) {
    const Case c{1 + int(rng.Below(70)), 1 + int(rng.Below(140)), kMaxInt8Level,
                 1.0};
    const std::vector<int8_t> k = RandomLevels(c, &rng);
    const QuadLevels quads(k.data(), c.rows, c.cols);
    ASSERT_EQ(quads.padded_quads() % 4, 0);
    ASSERT_GE(quads.padded_quads(), quads.quads());
    for (int q = 0; q <= quads.padded_quads(); ++q) {
      for (int b = 0; b < quads.row_blocks(); ++b) {
        const int8_t* block = quads.block(q, b);
        for (int i = 0; i < 4 * kInt8RowBlock; ++i) {
          const int row = b * kInt8RowBlock + i / 4, col = 4 * q + i % 4;
          const int8_t want = row < c.rows && col < c.cols
                                  ? k[size_t(row) * c.cols + col]
                                  : int8_t{0};
          ASSERT_EQ(block[i], want) << c.rows << "x" << c.cols << " quad " << q
                                    << " block " << b << " byte " << i;
        }
      }
    }
  }
}

TEST(Int8KernelsTest, MatchReferenceOnRandomShapes) {
  Rng shapes(7);
  for (int trial = 0; trial < 60; ++trial) {
    const Case c{1 + int(shapes.Below(150)), 1 + int(shapes.Below(300)),
                 1 + int(shapes.Below(kMaxInt8Level)),
                 trial % 3 == 0 ? 0.1 : 1.0};
    ExpectKernelsMatchReference(c, 100 + trial);
  }
}

TEST(Int8KernelsTest, MatchReferenceOnModelShapesAndExtremes) {
  for (const Case& c :
       {Case{32, 125, 2, 0.2}, Case{125, 32, 2, 1.0},
        Case{17, 1000, kMaxInt8Level, 1.0}, Case{64, 4096, 2, 1.0},
        Case{1, 1, 1, 1.0}, Case{16, 33, 5, 0.0}, Case{160, 70, 63, 1.0},
        Case{129, 64, 9, 0.5}}) {
    ExpectKernelsMatchReference(c, 1);
  }
}

}  // namespace
}  // namespace dwae
