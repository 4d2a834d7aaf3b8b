// Metrics::ObserveVerdicts (one call per scored batch) must leave the
// registry exactly as the per-record calls it replaces would: two Metrics
// without a listener, fed the same verdicts both ways, expose the same
// text (the score sum aside, added in another order).
#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"
#include "server/metrics.h"

namespace dwae::server {
namespace {

std::unique_ptr<Metrics> NewMetrics() {
  MetricsOptions options;
  options.listen = "";
  options.rpc_methods = {"Score"};
  auto created = Metrics::Create(options);
  EXPECT_TRUE(created.ok()) << created.status();
  return created.ok() ? *std::move(created) : nullptr;
}

// The dwae_* samples, one per line, without dwae_score_sum.
std::string Exposition(Metrics& metrics) {
  std::ostringstream text;
  prometheus::TextSerializer().Serialize(text, metrics.registry().Collect());
  std::string out;
  for (absl::string_view line : absl::StrSplit(text.str(), '\n')) {
    if (!absl::StartsWith(line, "dwae_") ||
        absl::StartsWith(line, "dwae_score_sum")) {
      continue;
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

TEST(MetricsVerdictsTest, BatchEqualsPerRecordObservations) {
  std::unique_ptr<Metrics> one = NewMetrics(), batched = NewMetrics();
  ASSERT_NE(one, nullptr);
  ASSERT_NE(batched, nullptr);
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> log_score(-7, 2);
  Metrics::VerdictCounts counts;
  // More labelled records than the recent window, in batches of varying
  // size, with scores on and around the bucket bounds.
  for (int batch = 0; batch < 60; ++batch) {
    batched->ResetVerdictCounts(&counts);
    const int size = 1 + int(rng() % 400);
    for (int i = 0; i < size; ++i) {
      if (rng() % 17 == 0) {
        one->records(Verdict::kInvalid).Increment();
        ++counts.records[int(Verdict::kInvalid)];
        continue;
      }
      const double score = rng() % 5 == 0 ? 1e-5 * double(1 + rng() % 3)
                                          : std::pow(10.0, log_score(rng));
      const bool anomalous = score > 0.01;
      const Verdict v = anomalous ? Verdict::kAnomaly : Verdict::kNormal;
      one->records(v).Increment();
      one->score().Observe(score);
      ++counts.records[int(v)];
      batched->AddScore(&counts, score);
      if (rng() % 3 != 0) {
        const bool attack = rng() % 2 == 0;
        one->ObserveLabelled(anomalous, attack);
        counts.labelled.emplace_back(anomalous, attack);
      }
    }
    batched->ObserveVerdicts(counts);
  }
  EXPECT_EQ(Exposition(*one), Exposition(*batched));
  const ConfusionCounts a = one->RecentConfusion(),
                        b = batched->RecentConfusion();
  EXPECT_EQ(a.tp, b.tp);
  EXPECT_EQ(a.fp, b.fp);
  EXPECT_EQ(a.tn, b.tn);
  EXPECT_EQ(a.fn, b.fn);
}

}  // namespace
}  // namespace dwae::server
