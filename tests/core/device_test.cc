#include "core/device.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "core/rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

using ::testing::HasSubstr;

DeviceParams Params(int num_levels = 5, double p_fail = 0.10,
                    double p_over = 0.05) {
  DeviceParams p;
  p.num_levels = num_levels;
  p.p_fail = p_fail;
  p.p_over = p_over;
  return p;
}

// ------------------------------------------------------ ReferencePulse ---

TEST(ReferencePulseTest, FailKeepsNotch) {
  const DeviceParams p = Params();
  for (int dir : {+1, -1}) {
    const PulseResult r = ReferencePulse(2, dir, 0.05, p);
    EXPECT_EQ(r.notch, 2);
    EXPECT_EQ(r.outcome, PulseOutcome::kFailed);
  }
  // u == 0 is the smallest draw: always a failure when p_fail > 0.
  EXPECT_EQ(ReferencePulse(1, +1, 0.0, p).outcome, PulseOutcome::kFailed);
}

TEST(ReferencePulseTest, MoveMovesOneNotch) {
  const DeviceParams p = Params();
  PulseResult r = ReferencePulse(2, +1, 0.5, p);
  EXPECT_EQ(r.notch, 3);
  EXPECT_EQ(r.outcome, PulseOutcome::kMoved);
  r = ReferencePulse(2, -1, 0.999, p);
  EXPECT_EQ(r.notch, 1);
  EXPECT_EQ(r.outcome, PulseOutcome::kMoved);
}

TEST(ReferencePulseTest, BoundariesOfUAreHalfOpen) {
  const DeviceParams p = Params(5, 0.25, 0.25);
  // u == p_fail is no longer a failure; u == p_fail + p_over is a move.
  EXPECT_EQ(ReferencePulse(2, +1, 0.25, p).outcome, PulseOutcome::kOvershot);
  EXPECT_EQ(ReferencePulse(2, +1, 0.5, p).outcome, PulseOutcome::kMoved);
  EXPECT_EQ(ReferencePulse(2, +1, std::nextafter(0.25, 0.0), p).outcome,
            PulseOutcome::kFailed);
  EXPECT_EQ(ReferencePulse(2, +1, std::nextafter(0.5, 0.0), p).outcome,
            PulseOutcome::kOvershot);
}

TEST(ReferencePulseTest, OvershootMovesTwo) {
  const DeviceParams p = Params();
  PulseResult r = ReferencePulse(2, +1, 0.12, p);
  EXPECT_EQ(r.notch, 4);
  EXPECT_EQ(r.outcome, PulseOutcome::kOvershot);
  r = ReferencePulse(2, -1, 0.12, p);
  EXPECT_EQ(r.notch, 0);
  EXPECT_EQ(r.outcome, PulseOutcome::kOvershot);
}

TEST(ReferencePulseTest, OvershootNextToEndIsClampedToOneMove) {
  const DeviceParams p = Params();
  PulseResult r = ReferencePulse(3, +1, 0.12, p);
  EXPECT_EQ(r.notch, 4);
  EXPECT_EQ(r.outcome, PulseOutcome::kMoved);
  r = ReferencePulse(1, -1, 0.12, p);
  EXPECT_EQ(r.notch, 0);
  EXPECT_EQ(r.outcome, PulseOutcome::kMoved);
}

TEST(ReferencePulseTest, PulseAtEndIsBlockedWhateverU) {
  const DeviceParams p = Params();
  for (double u : {0.0, 0.05, 0.12, 0.5, 0.99}) {
    PulseResult r = ReferencePulse(4, +1, u, p);
    EXPECT_EQ(r.notch, 4) << u;
    EXPECT_EQ(r.outcome, PulseOutcome::kBlocked) << u;
    r = ReferencePulse(0, -1, u, p);
    EXPECT_EQ(r.notch, 0) << u;
    EXPECT_EQ(r.outcome, PulseOutcome::kBlocked) << u;
  }
  // Pulses away from an end are not blocked.
  EXPECT_EQ(ReferencePulse(4, -1, 0.5, p).notch, 3);
  EXPECT_EQ(ReferencePulse(0, +1, 0.5, p).notch, 1);
}

// -------------------------------------------------------- SynapseArray ---

class ApplyPulseAgreesTest : public ::testing::TestWithParam<int> {};

TEST_P(ApplyPulseAgreesTest, MatchesReferencePulseOnGrid) {
  const DeviceParams p = Params(GetParam(), 0.2, 0.15);
  for (int notch = 0; notch < p.num_levels; ++notch) {
    for (int dir : {+1, -1}) {
      for (int k = 0; k < 100; ++k) {
        const double u = k / 100.0;
        SynapseArray array(3, 0.5f, p, 7);
        array.SetNotch(1, notch);
        const int change = array.ApplyPulse(1, dir, u);
        const PulseResult ref = ReferencePulse(notch, dir, u, p);
        ASSERT_EQ(array.notch(1), ref.notch)
            << "notch " << notch << " dir " << dir << " u " << u;
        ASSERT_EQ(change, ref.notch - notch);
        ASSERT_FLOAT_EQ(array.value(1), (ref.notch - p.center()) * 0.5);
        // The neighbours are untouched.
        ASSERT_EQ(array.notch(0), (p.num_levels - 1) / 2);
        ASSERT_EQ(array.notch(2), (p.num_levels - 1) / 2);
        const DeviceCounters& c = array.counters();
        ASSERT_EQ(c.pulses, 1u);
        ASSERT_EQ(c.failures, ref.outcome == PulseOutcome::kFailed ? 1u : 0u);
        ASSERT_EQ(c.overshoots,
                  ref.outcome == PulseOutcome::kOvershot ? 1u : 0u);
        ASSERT_EQ(c.blocked, ref.outcome == PulseOutcome::kBlocked ? 1u : 0u);
        ASSERT_EQ(c.level_changes, ref.notch != notch ? 1u : 0u);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Levels, ApplyPulseAgreesTest, ::testing::Values(5, 7));

TEST(SynapseArrayTest, StartsAtCenterNotch) {
  SynapseArray five(4, 0.25f, Params(5), 1);
  SynapseArray six(4, 0.25f, Params(6), 1);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(five.notch(i), 2);
    EXPECT_FLOAT_EQ(five.value(i), 0.0f);
    EXPECT_EQ(six.notch(i), 2);  // rounded down from 2.5
    EXPECT_FLOAT_EQ(six.value(i), -0.5f * 0.25f);
  }
  EXPECT_EQ(five.size(), 4);
  EXPECT_FLOAT_EQ(five.alpha(), 0.25f);
}

TEST(SynapseArrayTest, CountersAccumulate) {
  DeviceParams p = Params();
  p.energy_per_pulse_joules = 3e-15;
  SynapseArray array(2, 1.0f, p, 1);
  // Device 0 from notch 2.
  array.ApplyPulse(0, +1, 0.5);   // moved -> 3
  array.ApplyPulse(0, +1, 0.05);  // failed, stays 3
  array.ApplyPulse(0, +1, 0.12);  // overshoot clamped -> 4, counted as move
  array.ApplyPulse(0, +1, 0.5);   // blocked
  array.ApplyPulse(0, -1, 0.12);  // overshoot -> 2
  array.ApplyPulse(1, -1, 0.12);  // overshoot -> 0
  array.ApplyPulse(1, -1, 0.99);  // blocked
  const DeviceCounters& c = array.counters();
  EXPECT_EQ(c.pulses, 7u);
  EXPECT_EQ(c.level_changes, 4u);
  EXPECT_EQ(c.failures, 1u);
  EXPECT_EQ(c.overshoots, 2u);
  EXPECT_EQ(c.blocked, 2u);
  EXPECT_DOUBLE_EQ(c.energy_joules(p), 7 * 3e-15);
  EXPECT_EQ(array.notch(0), 2);
  EXPECT_EQ(array.notch(1), 0);

  // SetNotch moves walls without pulses or counters.
  array.SetNotch(0, 4);
  EXPECT_EQ(array.counters().pulses, 7u);
  EXPECT_EQ(array.counters().level_changes, 4u);
  EXPECT_FLOAT_EQ(array.value(0), 2.0f);

  DeviceCounters sum = c;
  sum += c;
  EXPECT_EQ(sum.pulses, 14u);
  EXPECT_EQ(sum.level_changes, 8u);
  EXPECT_EQ(sum.failures, 2u);
  EXPECT_EQ(sum.overshoots, 4u);
  EXPECT_EQ(sum.blocked, 4u);
}

TEST(SynapseArrayTest, PulseWithRngIsReproducible) {
  const DeviceParams p = Params();
  SynapseArray a(10, 1.0f, p, 3), b(10, 1.0f, p, 3);
  Rng ra(42), rb(42);
  for (int k = 0; k < 1000; ++k) {
    const int i = k % 10, dir = (k / 10) % 2 == 0 ? 1 : -1;
    ASSERT_EQ(a.Pulse(i, dir, ra), b.Pulse(i, dir, rb));
  }
  EXPECT_EQ(a.notches(), b.notches());
  EXPECT_EQ(a.counters().failures, b.counters().failures);
}

// Pulses the center notch of a 5-level device 10^6 times (resetting after
// each pulse) and checks the outcome frequencies against the parameters.
void CheckOutcomeFrequencies(double p_fail, double p_over, int direction,
                             uint64_t seed) {
  const DeviceParams p = Params(5, p_fail, p_over);
  const int n = 1000000;
  SynapseArray array(1, 1.0f, p, 1);
  Rng rng(seed);
  int64_t count[3] = {0, 0, 0};  // stay, one notch, two notches
  for (int k = 0; k < n; ++k) {
    array.SetNotch(0, 2);
    const int change = array.Pulse(0, direction, rng);
    ASSERT_TRUE(change == 0 || change == direction || change == 2 * direction)
        << change;
    ++count[std::abs(change)];
  }
  const double expected[3] = {p.p_fail, p.p_move(), p.p_over};
  for (int o = 0; o < 3; ++o) {
    const double mean = n * expected[o];
    const double sigma = std::sqrt(n * expected[o] * (1 - expected[o]));
    EXPECT_NEAR(double(count[o]), mean, 4 * sigma)
        << "outcome " << o << " direction " << direction;
  }
  const DeviceCounters& c = array.counters();
  EXPECT_EQ(c.pulses, uint64_t(n));
  EXPECT_EQ(int64_t(c.failures), count[0]);
  EXPECT_EQ(int64_t(c.overshoots), count[2]);
  EXPECT_EQ(int64_t(c.level_changes), count[1] + count[2]);
  EXPECT_EQ(c.blocked, 0u);
}

TEST(SynapseArrayStatisticsTest, DefaultProbabilitiesPositive) {
  CheckOutcomeFrequencies(0.10, 0.05, +1, 12345);
}
TEST(SynapseArrayStatisticsTest, DefaultProbabilitiesNegative) {
  CheckOutcomeFrequencies(0.10, 0.05, -1, 54321);
}
TEST(SynapseArrayStatisticsTest, CustomProbabilitiesPositive) {
  CheckOutcomeFrequencies(0.3, 0.2, +1, 777);
}
TEST(SynapseArrayStatisticsTest, CustomProbabilitiesNegative) {
  CheckOutcomeFrequencies(0.3, 0.2, -1, 778);
}

// ------------------------------------------------------ device spread ---

TEST(DeviceSpreadTest, ZeroSigmaGivesNominalLevels) {
  for (int levels : {5, 6, 7}) {
    const DeviceParams p = Params(levels);
    const float alpha = 0.3f;
    SynapseArray array(50, alpha, p, 99);
    for (int i = 0; i < array.size(); ++i) {
      for (int notch = 0; notch < levels; ++notch) {
        EXPECT_EQ(array.LevelValue(i, notch),
                  static_cast<float>((notch - p.center()) * alpha))
            << levels << " " << i << " " << notch;
      }
    }
  }
}

TEST(DeviceSpreadTest, SpreadIsPerDeviceAndReproducible) {
  DeviceParams p = Params();
  p.level_sigma = 0.1;
  const float alpha = 0.5f;
  const int n = 200;
  SynapseArray a(n, alpha, p, 1234), same(n, alpha, p, 1234),
      other(n, alpha, p, 4321);
  int differs_from_nominal = 0, differs_from_other = 0;
  for (int notch = 0; notch < 5; ++notch) {
    const float nominal = static_cast<float>((notch - p.center()) * alpha);
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(a.LevelValue(i, notch), same.LevelValue(i, notch));
      if (a.LevelValue(i, notch) != nominal) ++differs_from_nominal;
      if (a.LevelValue(i, notch) != other.LevelValue(i, notch)) {
        ++differs_from_other;
      }
      // Level values differ between devices of the same array.
      if (i > 0) {
        EXPECT_NE(a.LevelValue(i, notch), a.LevelValue(0, notch));
      }
    }
  }
  EXPECT_EQ(differs_from_nominal, 5 * n);
  EXPECT_EQ(differs_from_other, 5 * n);

  // The read-out follows the spread: value() is LevelValue at the notch.
  a.SetNotch(3, 4);
  EXPECT_EQ(a.value(3), a.LevelValue(3, 4));
  EXPECT_EQ(a.value(0), a.LevelValue(0, 2));
  a.ApplyPulse(5, -1, 0.5);
  EXPECT_EQ(a.value(5), a.LevelValue(5, 1));
}

TEST(DeviceSpreadTest, SpreadHasRequestedStandardDeviation) {
  DeviceParams p = Params();
  p.level_sigma = 0.2;
  const float alpha = 0.5f;
  const int n = 20000;
  SynapseArray array(n, alpha, p, 2024);
  for (int notch = 0; notch < 5; ++notch) {
    const double nominal = (notch - p.center()) * alpha;
    double sum = 0, sum_sq = 0;
    for (int i = 0; i < n; ++i) {
      const double d = array.LevelValue(i, notch) - nominal;
      sum += d;
      sum_sq += d * d;
    }
    const double mean = sum / n;
    const double std = std::sqrt((sum_sq - n * mean * mean) / (n - 1));
    const double target = p.level_sigma * alpha;
    EXPECT_NEAR(std, target, 0.1 * target) << "notch " << notch;
    // The mean spread is zero: 4 standard errors.
    EXPECT_NEAR(mean, 0.0, 4 * target / std::sqrt(double(n)))
        << "notch " << notch;
  }
}

// ---------------------------------------------------------- Validate ---

TEST(DeviceParamsTest, DefaultsAreValid) {
  const DeviceParams p;
  EXPECT_TRUE(p.Validate().ok()) << p.Validate();
  EXPECT_DOUBLE_EQ(p.p_move(), 0.85);
  EXPECT_DOUBLE_EQ(p.center(), 2.0);
}

TEST(DeviceParamsTest, ValidateNamesTheField) {
  struct Case {
    DeviceParams params;
    const char* field;
  };
  std::vector<Case> cases;
  auto add = [&](auto mutate, const char* field) {
    DeviceParams p;
    mutate(p);
    cases.push_back({p, field});
  };
  add([](DeviceParams& p) { p.num_levels = 1; }, "num_levels");
  add([](DeviceParams& p) { p.num_levels = 128; }, "num_levels");
  add([](DeviceParams& p) { p.p_fail = -0.1; }, "p_fail");
  add([](DeviceParams& p) { p.p_fail = 1.5; }, "p_fail");
  add([](DeviceParams& p) { p.p_fail = std::nan(""); }, "p_fail");
  add([](DeviceParams& p) { p.p_over = -0.01; }, "p_over");
  add([](DeviceParams& p) { p.p_over = 2; }, "p_over");
  add(
      [](DeviceParams& p) {
        p.p_fail = 0.6;
        p.p_over = 0.5;
      },
      "p_over");
  add([](DeviceParams& p) { p.level_sigma = -1; }, "level_sigma");
  add([](DeviceParams& p) { p.level_sigma = INFINITY; }, "level_sigma");
  add([](DeviceParams& p) { p.energy_per_pulse_joules = -1e-15; },
      "energy_per_pulse_joules");
  add([](DeviceParams& p) { p.energy_per_pulse_joules = INFINITY; },
      "energy_per_pulse_joules");
  for (const Case& c : cases) {
    const absl::Status s = c.params.Validate();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(s.message(), HasSubstr(c.field));
  }

  // Edge values that are valid.
  DeviceParams edge;
  edge.num_levels = 2;
  edge.p_fail = 1.0;
  edge.p_over = 0.0;
  EXPECT_TRUE(edge.Validate().ok()) << edge.Validate();
  edge.num_levels = 127;
  edge.p_fail = 0.0;
  edge.p_over = 1.0;
  EXPECT_TRUE(edge.Validate().ok()) << edge.Validate();
}

}  // namespace
}  // namespace dwae
