// FeatureEncoder::EncodeQuantized and the integer pass from its bytes
// (InferenceNetwork::ForwardEncoded): on both encoder paths (the AVX-512
// kdd encoder and the portable loops, forced), the floats are the portable
// Encode()'s, the bytes are QuantizeInput's onto [0, 1] (zeros after), on the
// NSL-KDD test file, on random kdd records (NaN, infinities, negative and huge
// values, unknown categories) and on Zeek records (the portable loop); the
// scores and workspaces from the bytes are Forward()'s bit for bit, single and
// batched.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/casts.h"
#include "absl/strings/str_cat.h"
#include "core/dataset.h"
#include "core/encoder.h"
#include "core/encoder_kernels.h"
#include "core/inference_network.h"
#include "core/model.h"
#include "core/record.h"
#include "core/rng.h"
#include "gtest/gtest.h"
#include "tests/testing/kdd_rows.h"

namespace dwae {
namespace {

using testutil::LoadKddRows;

double Value(Rng& rng) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  switch (rng.Below(8)) {
    case 0:
    case 1:
      return double(rng.Below(1024));
    case 2:
      return double(rng.Below(uint64_t{1} << 40));
    case 3:
      return rng.Uniform() * 3000;
    case 4:
      return std::numeric_limits<double>::quiet_NaN();
    case 5:
      return rng.Below(2) ? kInf : -kInf;
    case 6:
      return rng.Below(2) ? -0.0 : -rng.Uniform();
    default:
      return rng.Uniform();
  }
}

// Random kdd records: random numerics, categories from the vocabulary or
// not.
std::vector<Record> RandomKdd(int n, uint64_t seed) {
  const char* protocols[] = {"tcp", "udp", "icmp", "sctp"};
  const char* flags[] = {"SF", "S0", "REJ", "SH", "XX"};
  Rng rng(seed);
  std::vector<Record> rows(n);
  for (Record& r : rows) {
    for (double& x : r.numeric) x = Value(rng);
    r.protocol_type = protocols[rng.Below(4)];
    r.service = rng.Below(10) == 0 ? "no_such_service"
                                   : KddServiceNameAt(int(rng.Below(70)));
    r.flag = flags[rng.Below(5)];
  }
  return rows;
}

// Both paths (the kdd vector encoder where the CPU has AVX-512, and the
// portable loops, forced) against the portable Encode's floats (which
// encoder_oracle_test checks against the per-column formula) and
// QuantizeInput's bytes of them, for every row.
void ExpectEncodings(const FeatureEncoder& encoder,
                     const std::vector<Record>& rows) {
  const int dim = encoder.input_dim();
  const int bytes = encoder.quantized_size();
  ASSERT_EQ(bytes % 64, 0);
  ASSERT_GE(bytes, dim);
  std::vector<float> want(dim), plain(dim), got(dim), got_scalar(dim);
  std::vector<uint8_t> want_q(bytes), got_q(bytes, 0xAB),
      got_scalar_q(bytes, 0xCD);
  for (size_t i = 0; i < rows.size(); ++i) {
    {
      const encoder_internal::ScopedForceScalarEncoder scalar;
      encoder.Encode(rows[i], want.data());
      encoder.EncodeQuantized(rows[i], got_scalar.data(), got_scalar_q.data());
    }
    encoder.Encode(rows[i], plain.data());
    encoder.EncodeQuantized(rows[i], got.data(), got_q.data());
    const QuantizedRange range =
        QuantizeInput(want.data(), dim, bytes, want_q.data());
    ASSERT_EQ(range.lo, 0.0f) << "row " << i;
    for (int c = 0; c < dim; ++c) {
      ASSERT_EQ(absl::bit_cast<uint32_t>(plain[c]),
                absl::bit_cast<uint32_t>(want[c]))
          << "row " << i << " dim " << c;
      ASSERT_EQ(absl::bit_cast<uint32_t>(got[c]),
                absl::bit_cast<uint32_t>(want[c]))
          << "row " << i << " dim " << c;
      ASSERT_EQ(absl::bit_cast<uint32_t>(got_scalar[c]),
                absl::bit_cast<uint32_t>(want[c]))
          << "row " << i << " dim " << c;
    }
    for (int c = 0; c < bytes; ++c) {
      ASSERT_EQ(got_q[c], want_q[c]) << "row " << i << " byte " << c;
      ASSERT_EQ(got_scalar_q[c], want_q[c]) << "row " << i << " byte " << c;
    }
  }
}

TEST(EncoderQuantizedTest, KddFloatsAndBytes) {
  FeatureEncoder encoder;
  encoder.Fit(NormalRows(LoadKddRows("KDDTrain+_20Percent.txt")));
  ExpectEncodings(encoder, LoadKddRows("KDDTest+.txt"));
  ExpectEncodings(encoder, RandomKdd(3000, 7));
  // An unfitted encoder (every fitted range empty).
  ExpectEncodings(FeatureEncoder(), RandomKdd(200, 8));
}

// The one-hot block: ones exactly at the record's three categories (the
// vector encoder builds it in registers).
TEST(EncoderQuantizedTest, KddOneHotsAtTheirDimensions) {
  FeatureEncoder encoder;
  std::vector<float> x(kInputDim);
  std::vector<float> scalar(kInputDim);
  for (const Record& r : RandomKdd(500, 9)) {
    encoder.Encode(r, x.data());
    {
      const encoder_internal::ScopedForceScalarEncoder force;
      ASSERT_FALSE(encoder_internal::UseEncoderAvx512());
      encoder.Encode(r, scalar.data());
    }
    ASSERT_EQ(x, scalar);
    auto name = [](const char* feature, const std::string& value,
                   bool unknown) {
      return absl::StrCat(feature, "=", unknown ? "<unknown>" : value);
    };
    const std::string want[] = {
        name("protocol_type", r.protocol_type,
             FeatureEncoder::IsUnknownProtocol(r.protocol_type)),
        name("service", r.service, FeatureEncoder::IsUnknownService(r.service)),
        name("flag", r.flag, FeatureEncoder::IsUnknownFlag(r.flag))};
    int ones = 0;
    for (int d = kNumNumeric; d < kInputDim; ++d) {
      const std::string& dim_name = FeatureEncoder::DimensionName(d);
      const bool hot =
          dim_name == want[0] || dim_name == want[1] || dim_name == want[2];
      ASSERT_EQ(x[d], hot ? 1.0f : 0.0f) << dim_name;
      ones += hot ? 1 : 0;
    }
    EXPECT_EQ(ones, 3);
  }
}

TEST(EncoderQuantizedTest, ZeekFloatsAndBytes) {
  absl::StatusOr<std::vector<Record>> rows = LoadFeatureRows(
      DWAE_SOURCE_DIR "/data/zeek/ctu-normal-42-day2.conn.log.labeled",
      InputFormat::kAuto);
  ASSERT_TRUE(rows.ok()) << rows.status();
  std::vector<Record> records(
      rows->begin(), rows->begin() + std::min<size_t>(rows->size(), 3000));
  ASSERT_FALSE(records.empty());
  ASSERT_EQ(records[0].schema, FeatureSchema::kZeek);
  FeatureEncoder encoder(FeatureSchema::kZeek);
  encoder.Fit(records);
  ExpectEncodings(encoder, records);
}

TEST(EncoderQuantizedTest, ForwardFromTheBytesIsForwardBitForBit) {
  const std::vector<Record> train =
      NormalRows(LoadKddRows("KDDTrain+_20Percent.txt"));
  FeatureEncoder encoder;
  encoder.Fit(train);
  ModelConfig config;
  config.shape.input_dim = kInputDim;
  config.shape.hidden = {32};
  config.rule.kind = RuleKind::kDwStochastic;
  config.seed = 1;
  std::unique_ptr<Autoencoder> model = *Autoencoder::Create(config);
  Workspace learn = model->MakeWorkspace();
  std::vector<float> x(kInputDim);
  for (size_t i = 0; i < train.size(); i += 3) {
    encoder.Encode(train[i], x.data());
    model->Learn(x.data(), &learn);
  }
  const InferenceNetwork net(model->network());
  ASSERT_TRUE(net.integer());
  if (!net.two_layer()) {
    // ForwardEncoded is Forward there: nothing to compare.
    GTEST_SKIP() << "no two-layer register pass on this CPU (no VNNI)";
  }
  ASSERT_LE(net.encoded_bytes(), encoder.quantized_size());
  const std::vector<Record> test = LoadKddRows("KDDTest+.txt");
  constexpr int kBatch = 16;
  std::vector<float> xs(kBatch * kInputDim);
  std::vector<uint8_t> qs(kBatch * size_t(encoder.quantized_size()));
  std::vector<Workspace> plain(kBatch, net.MakeWorkspace());
  std::vector<Workspace> encoded(kBatch, net.MakeWorkspace());
  std::vector<Workspace> batched(kBatch, net.MakeWorkspace());
  for (size_t first = 0; first + kBatch <= test.size() && first < 4000;
       first += kBatch) {
    const float* xp[kBatch];
    const uint8_t* qp[kBatch];
    Workspace* wp[kBatch];
    for (int i = 0; i < kBatch; ++i) {
      xp[i] = &xs[size_t(i) * kInputDim];
      qp[i] = &qs[size_t(i) * encoder.quantized_size()];
      wp[i] = &batched[i];
      encoder.EncodeQuantized(test[first + i], &xs[size_t(i) * kInputDim],
                              &qs[size_t(i) * encoder.quantized_size()]);
    }
    float scores[kBatch];
    net.ForwardEncodedBatch(kBatch, xp, qp, wp, scores);
    for (int i = 0; i < kBatch; ++i) {
      const float want = net.Forward(xp[i], &plain[i]);
      const float got = net.ForwardEncoded(xp[i], qp[i], &encoded[i]);
      ASSERT_EQ(absl::bit_cast<uint32_t>(got), absl::bit_cast<uint32_t>(want))
          << "record " << first + i;
      ASSERT_EQ(absl::bit_cast<uint32_t>(scores[i]),
                absl::bit_cast<uint32_t>(want))
          << "record " << first + i;
      for (size_t l = 0; l < plain[i].activations.size(); ++l) {
        ASSERT_EQ(encoded[i].activations[l], plain[i].activations[l])
            << "record " << first + i << " layer " << l;
        ASSERT_EQ(batched[i].activations[l], plain[i].activations[l])
            << "record " << first + i << " layer " << l;
      }
    }
  }
}

}  // namespace
}  // namespace dwae
