// Tests of DetectorConfig: defaults, resolution from dwae.v1.DaemonConfig,
// validation messages, the proto round trip and the text parser.
#include "core/config.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/encoder.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ConfigTest, Defaults) {
  const DetectorConfig c;
  EXPECT_EQ(c.model.rule.kind, RuleKind::kDwShadow);
  EXPECT_EQ(c.model.shape.input_dim, kInputDim);
  EXPECT_THAT(c.model.shape.hidden, ElementsAre(32));
  EXPECT_EQ(c.model.shape.hidden_activation, Activation::kSigmoid);
  EXPECT_EQ(c.model.seed, 1u);
  EXPECT_EQ(c.learning.warmup_records, 10000u);
  EXPECT_EQ(c.learning.warmup_epochs, 10);
  EXPECT_DOUBLE_EQ(c.learning.warmup_holdout_fraction, 0.2);
  EXPECT_EQ(c.learning.queue_capacity, 8192u);
  EXPECT_FALSE(c.learning.drop_when_full);
  EXPECT_EQ(c.threshold.mode, ThresholdMode::kAdaptive);
  EXPECT_DOUBLE_EQ(c.threshold.quantile, 0.95);
  EXPECT_DOUBLE_EQ(c.threshold.adaptive_lower_quantile, 0.80);
  EXPECT_DOUBLE_EQ(c.threshold.adaptive_upper_quantile, 0.99);
  EXPECT_DOUBLE_EQ(c.threshold.half_life_records, 20000);
  EXPECT_EQ(c.serving.max_batch_records, 4096u);
  EXPECT_EQ(c.serving.default_top_k, 3u);
  EXPECT_EQ(c.serving.verdict_window, 20000u);
  EXPECT_DOUBLE_EQ(c.model.rule.device.p_fail, 0.10);
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
}

TEST(ConfigTest, EmptyProtoGivesDefaults) {
  absl::StatusOr<DetectorConfig> c =
      DetectorConfigFromProto(v1::DaemonConfig());
  ASSERT_TRUE(c.ok()) << c.status();
  const DetectorConfig d;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      DetectorConfigToProto(*c), DetectorConfigToProto(d)));
}

TEST(ConfigTest, FromProtoAppliesEverySetField) {
  v1::DaemonConfig p;
  v1::ModelSettings* m = p.mutable_model();
  m->add_hidden(16);
  m->add_hidden(8);
  m->set_activation("tanh");
  m->set_rule("float");
  m->set_learning_rate(0.003);
  m->set_weight_alpha_gain(2.5);
  m->set_bias_alpha(0.5);
  m->set_shadow_margin(0.3);
  m->set_seed(77);
  v1::DeviceSettings* d = p.mutable_device();
  d->set_num_levels(9);
  d->set_p_fail(0.2);
  d->set_p_over(0.1);
  d->set_level_sigma(0.05);
  d->set_energy_per_pulse_joules(3e-15);
  v1::LearningSettings* l = p.mutable_learning();
  l->set_warmup_records(500);
  l->set_warmup_epochs(3);
  l->set_warmup_holdout_fraction(0.25);
  l->set_queue_capacity(1024);
  l->set_drop_when_full(true);
  l->set_publish_interval_seconds(0.5);
  v1::ThresholdSettings* t = p.mutable_threshold();
  t->set_mode(v1::THRESHOLD_MODE_QUANTILE);
  t->set_quantile(0.9);
  t->set_adaptive_lower_quantile(0.7);
  t->set_adaptive_upper_quantile(0.98);
  t->set_half_life_records(5000);
  v1::ServingSettings* s = p.mutable_serving();
  s->set_max_batch_records(128);
  s->set_default_top_k(5);
  s->set_verdict_window(1000);

  absl::StatusOr<DetectorConfig> c = DetectorConfigFromProto(p);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->model.shape.hidden, ElementsAre(16, 8));
  EXPECT_EQ(c->model.shape.hidden_activation, Activation::kTanh);
  EXPECT_EQ(c->model.rule.kind, RuleKind::kFloat);
  EXPECT_FLOAT_EQ(c->model.rule.learning_rate, 0.003f);
  EXPECT_FLOAT_EQ(c->model.rule.weight_alpha_gain, 2.5f);
  EXPECT_FLOAT_EQ(c->model.rule.bias_alpha, 0.5f);
  EXPECT_FLOAT_EQ(c->model.rule.shadow_margin, 0.3f);
  EXPECT_EQ(c->model.seed, 77u);
  EXPECT_EQ(c->model.rule.device.num_levels, 9);
  EXPECT_DOUBLE_EQ(c->model.rule.device.p_fail, 0.2);
  EXPECT_DOUBLE_EQ(c->model.rule.device.p_over, 0.1);
  EXPECT_DOUBLE_EQ(c->model.rule.device.level_sigma, 0.05);
  EXPECT_DOUBLE_EQ(c->model.rule.device.energy_per_pulse_joules, 3e-15);
  EXPECT_EQ(c->learning.warmup_records, 500u);
  EXPECT_EQ(c->learning.warmup_epochs, 3);
  EXPECT_DOUBLE_EQ(c->learning.warmup_holdout_fraction, 0.25);
  EXPECT_EQ(c->learning.queue_capacity, 1024u);
  EXPECT_TRUE(c->learning.drop_when_full);
  EXPECT_DOUBLE_EQ(c->learning.publish_interval_seconds, 0.5);
  EXPECT_EQ(c->threshold.mode, ThresholdMode::kQuantile);
  EXPECT_DOUBLE_EQ(c->threshold.quantile, 0.9);
  EXPECT_DOUBLE_EQ(c->threshold.adaptive_lower_quantile, 0.7);
  EXPECT_DOUBLE_EQ(c->threshold.adaptive_upper_quantile, 0.98);
  EXPECT_DOUBLE_EQ(c->threshold.half_life_records, 5000);
  EXPECT_EQ(c->serving.max_batch_records, 128u);
  EXPECT_EQ(c->serving.default_top_k, 5u);
  EXPECT_EQ(c->serving.verdict_window, 1000u);
}

TEST(ConfigTest, UnsetFieldsKeepDefaults) {
  v1::DaemonConfig p;
  p.mutable_model()->set_rule("dw-stochastic");
  p.mutable_learning()->set_warmup_records(300);
  absl::StatusOr<DetectorConfig> c = DetectorConfigFromProto(p);
  ASSERT_TRUE(c.ok()) << c.status();
  const DetectorConfig d;
  EXPECT_EQ(c->model.rule.kind, RuleKind::kDwStochastic);
  EXPECT_EQ(c->learning.warmup_records, 300u);
  // Everything else as the defaults.
  EXPECT_EQ(c->model.shape.hidden, d.model.shape.hidden);
  EXPECT_EQ(c->model.seed, d.model.seed);
  EXPECT_FLOAT_EQ(c->model.rule.learning_rate, d.model.rule.learning_rate);
  EXPECT_EQ(c->learning.warmup_epochs, d.learning.warmup_epochs);
  EXPECT_EQ(c->learning.queue_capacity, d.learning.queue_capacity);
  EXPECT_EQ(c->threshold.mode, d.threshold.mode);
  EXPECT_DOUBLE_EQ(c->threshold.quantile, d.threshold.quantile);
  EXPECT_DOUBLE_EQ(c->model.rule.device.p_fail, d.model.rule.device.p_fail);
  EXPECT_EQ(c->serving.default_top_k, d.serving.default_top_k);
}

TEST(ConfigTest, ExplicitZeroValuesAreHonoured) {
  v1::DaemonConfig p;
  p.mutable_device()->set_p_fail(0);
  p.mutable_device()->set_p_over(0);
  p.mutable_model()->set_seed(0);
  p.mutable_model()->set_shadow_margin(0);
  p.mutable_learning()->set_warmup_epochs(0);
  p.mutable_learning()->set_drop_when_full(false);
  p.mutable_threshold()->set_quantile(0);
  p.mutable_threshold()->set_adaptive_lower_quantile(0);
  p.mutable_serving()->set_default_top_k(0);
  absl::StatusOr<DetectorConfig> c = DetectorConfigFromProto(p);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->model.rule.device.p_fail, 0.0);
  EXPECT_EQ(c->model.rule.device.p_over, 0.0);
  EXPECT_EQ(c->model.seed, 0u);
  EXPECT_EQ(c->model.rule.shadow_margin, 0.0f);
  EXPECT_EQ(c->learning.warmup_epochs, 0);
  EXPECT_EQ(c->threshold.quantile, 0.0);
  EXPECT_EQ(c->threshold.adaptive_lower_quantile, 0.0);
  EXPECT_EQ(c->serving.default_top_k, 0u);
}

struct InvalidCase {
  const char* name;
  void (*mutate)(v1::DaemonConfig*);
  const char* field;
};

TEST(ConfigTest, InvalidValuesNameTheField) {
  const std::vector<InvalidCase> cases = {
      {"warmup too small",
       [](v1::DaemonConfig* p) {
         p->mutable_learning()->set_warmup_records(5);
       },
       "learning.warmup_records"},
      {"warmup too large",
       [](v1::DaemonConfig* p) {
         p->mutable_learning()->set_warmup_records(2000000);
       },
       "learning.warmup_records"},
      {"warmup epochs",
       [](v1::DaemonConfig* p) {
         p->mutable_learning()->set_warmup_epochs(5000);
       },
       "learning.warmup_epochs"},
      {"holdout",
       [](v1::DaemonConfig* p) {
         p->mutable_learning()->set_warmup_holdout_fraction(1.0);
       },
       "learning.warmup_holdout_fraction"},
      {"queue",
       [](v1::DaemonConfig* p) {
         p->mutable_learning()->set_queue_capacity(0);
       },
       "learning.queue_capacity"},
      {"publish interval",
       [](v1::DaemonConfig* p) {
         p->mutable_learning()->set_publish_interval_seconds(0);
       },
       "learning.publish_interval_seconds"},
      {"rule", [](v1::DaemonConfig* p) { p->mutable_model()->set_rule("sgd"); },
       "model.rule"},
      {"activation",
       [](v1::DaemonConfig* p) {
         p->mutable_model()->set_activation("softmax");
       },
       "model.activation"},
      {"quantile",
       [](v1::DaemonConfig* p) { p->mutable_threshold()->set_quantile(1.5); },
       "threshold.quantile"},
      {"negative quantile",
       [](v1::DaemonConfig* p) { p->mutable_threshold()->set_quantile(-0.1); },
       "threshold.quantile"},
      {"adaptive bounds",
       [](v1::DaemonConfig* p) {
         p->mutable_threshold()->set_adaptive_lower_quantile(0.99);
         p->mutable_threshold()->set_adaptive_upper_quantile(0.5);
       },
       "threshold.adaptive_lower_quantile"},
      {"half life",
       [](v1::DaemonConfig* p) {
         p->mutable_threshold()->set_half_life_records(1);
       },
       "threshold.half_life_records"},
      {"mode",
       [](v1::DaemonConfig* p) {
         p->mutable_threshold()->set_mode(v1::THRESHOLD_MODE_UNSPECIFIED);
       },
       "threshold.mode"},
      {"p_fail",
       [](v1::DaemonConfig* p) { p->mutable_device()->set_p_fail(1.5); },
       "device.p_fail"},
      {"p_fail negative",
       [](v1::DaemonConfig* p) { p->mutable_device()->set_p_fail(-0.01); },
       "device.p_fail"},
      {"num_levels",
       [](v1::DaemonConfig* p) { p->mutable_device()->set_num_levels(1); },
       "device.num_levels"},
      {"max batch",
       [](v1::DaemonConfig* p) {
         p->mutable_serving()->set_max_batch_records(0);
       },
       "serving.max_batch_records"},
      {"top k",
       [](v1::DaemonConfig* p) { p->mutable_serving()->set_default_top_k(33); },
       "serving.default_top_k"},
      {"verdict window",
       [](v1::DaemonConfig* p) { p->mutable_serving()->set_verdict_window(0); },
       "serving.verdict_window"},
  };
  for (const InvalidCase& c : cases) {
    SCOPED_TRACE(c.name);
    v1::DaemonConfig p;
    c.mutate(&p);
    absl::StatusOr<DetectorConfig> r = DetectorConfigFromProto(p);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(r.status().message()), StartsWith(c.field))
        << r.status();
  }
}

TEST(ConfigTest, ToProtoSetsEveryField) {
  const v1::DaemonConfig p = DetectorConfigToProto(DetectorConfig());
  EXPECT_EQ(p.model().hidden_size(), 1);
  EXPECT_TRUE(p.model().has_activation());
  EXPECT_TRUE(p.model().has_rule());
  EXPECT_EQ(p.model().rule(), "dw-shadow");
  EXPECT_TRUE(p.model().has_learning_rate());
  EXPECT_GT(p.model().learning_rate(), 0);  // the rule's effective default
  EXPECT_TRUE(p.model().has_seed());
  EXPECT_TRUE(p.device().has_p_fail());
  EXPECT_TRUE(p.learning().has_warmup_records());
  EXPECT_TRUE(p.learning().has_warmup_holdout_fraction());
  EXPECT_TRUE(p.threshold().has_mode());
  EXPECT_EQ(p.threshold().mode(), v1::THRESHOLD_MODE_ADAPTIVE);
  EXPECT_TRUE(p.threshold().has_half_life_records());
  EXPECT_TRUE(p.serving().has_verdict_window());
}

void ExpectRoundTrip(const DetectorConfig& config) {
  const v1::DaemonConfig first = DetectorConfigToProto(config);
  absl::StatusOr<DetectorConfig> back = DetectorConfigFromProto(first);
  ASSERT_TRUE(back.ok()) << back.status();
  const v1::DaemonConfig second = DetectorConfigToProto(*back);
  std::string diff;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differencer.Compare(first, second)) << diff;
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(first, second));
}

TEST(ConfigTest, EnsembleDefaultsByRuleAndParses) {
  v1::DaemonConfig p;
  absl::StatusOr<DetectorConfig> c = DetectorConfigFromProto(p);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->ensemble.ToString(), "k1-l1");  // dw-shadow
  EXPECT_EQ(DetectorConfigToProto(*c).model().ensemble(), "k1-l1");
  p.mutable_model()->set_rule("float");
  c = DetectorConfigFromProto(p);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->ensemble.ToString(), "k1");
  p.mutable_model()->set_rule("dw-stochastic");
  c = DetectorConfigFromProto(p);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->ensemble.ToString(), "k5-g32");
  p.mutable_model()->set_ensemble("k1");
  c = DetectorConfigFromProto(p);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->ensemble.ToString(), "k1");
  p.mutable_model()->set_ensemble("k3-std");
  c = DetectorConfigFromProto(p);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->ensemble.members, 3);
  EXPECT_TRUE(c->ensemble.standardize);
  ExpectRoundTrip(*c);
  for (const char* bad : {"k0", "five", "k5-x", "k5-g1"}) {
    p.mutable_model()->set_ensemble(bad);
    c = DetectorConfigFromProto(p);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_THAT(std::string(c.status().message()),
                StartsWith("model.ensemble: "))
        << bad;
  }
}

TEST(ConfigTest, RoundTripIsIdentity) {
  ExpectRoundTrip(DetectorConfig());

  DetectorConfig c;
  c.model.shape.hidden = {20, 10, 20};
  c.model.shape.hidden_activation = Activation::kRelu;
  c.model.rule.kind = RuleKind::kFloat;
  c.model.rule.learning_rate = 0.0125f;
  c.model.rule.weight_alpha_gain = 3.0f;
  c.model.rule.bias_alpha = 0.75f;
  c.model.rule.shadow_margin = 0.0f;
  c.model.seed = 123456789;
  c.model.rule.device.num_levels = 7;
  c.model.rule.device.p_fail = 0.0;
  c.model.rule.device.p_over = 0.0;
  c.model.rule.device.level_sigma = 0.1;
  c.learning.warmup_records = 20;
  c.learning.warmup_epochs = 0;
  c.learning.warmup_holdout_fraction = 0.5;
  c.learning.queue_capacity = 1;
  c.learning.drop_when_full = true;
  c.learning.publish_interval_seconds = 60;
  c.threshold.mode = ThresholdMode::kQuantile;
  c.threshold.quantile = 0.0;
  c.threshold.adaptive_lower_quantile = 0.0;
  c.threshold.adaptive_upper_quantile = 1.0;
  c.threshold.half_life_records = 10;
  c.serving.max_batch_records = 1;
  c.serving.default_top_k = 0;
  c.serving.verdict_window = 1;
  ASSERT_TRUE(c.Validate().ok()) << c.Validate();
  ExpectRoundTrip(c);

  for (RuleKind kind :
       {RuleKind::kFloat, RuleKind::kDwShadow, RuleKind::kDwStochastic}) {
    DetectorConfig r;
    r.model.rule.kind = kind;
    SCOPED_TRACE(RuleName(kind));
    ExpectRoundTrip(r);
  }
}

TEST(ConfigTest, ParsesRealisticText) {
  constexpr char kText[] = R"pb(
    # A small detector for tests.
    model { rule: "dw-stochastic" hidden: 16 }
    learning { warmup_records: 500 }
    threshold { mode: THRESHOLD_MODE_QUANTILE quantile: 0.9 }
  )pb";
  absl::StatusOr<v1::DaemonConfig> p = ParseDaemonConfigText(kText);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->model().rule(), "dw-stochastic");
  EXPECT_THAT(p->model().hidden(), ElementsAre(16));
  EXPECT_FALSE(p->model().has_seed());
  EXPECT_EQ(p->learning().warmup_records(), 500u);
  EXPECT_EQ(p->threshold().mode(), v1::THRESHOLD_MODE_QUANTILE);
  EXPECT_DOUBLE_EQ(p->threshold().quantile(), 0.9);

  absl::StatusOr<DetectorConfig> c = DetectorConfigFromProto(*p);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->model.rule.kind, RuleKind::kDwStochastic);
  EXPECT_THAT(c->model.shape.hidden, ElementsAre(16));
  EXPECT_EQ(c->learning.warmup_records, 500u);
  EXPECT_EQ(c->learning.warmup_epochs, 10);  // default kept
  EXPECT_EQ(c->threshold.mode, ThresholdMode::kQuantile);
  EXPECT_DOUBLE_EQ(c->threshold.quantile, 0.9);
}

TEST(ConfigTest, EmptyTextIsAllDefaults) {
  absl::StatusOr<v1::DaemonConfig> p = ParseDaemonConfigText("");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->ByteSizeLong(), 0u);
}

TEST(ConfigTest, SyntaxErrorReportsLineAndColumn) {
  // Line 2: a missing closing brace / a stray token.
  absl::StatusOr<v1::DaemonConfig> p =
      ParseDaemonConfigText("model { rule: \"float\" }\nlearning { = }\n");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("line 2 column"));
}

TEST(ConfigTest, UnknownFieldReportsLineAndColumn) {
  absl::StatusOr<v1::DaemonConfig> p = ParseDaemonConfigText(
      "model { rule: \"float\" }\n"
      "learning {\n"
      "  warmup_recordz: 5\n"
      "}\n");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("line 3 column "));
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("warmup_recordz"));
}

TEST(ConfigTest, WrongValueTypeIsAnError) {
  absl::StatusOr<v1::DaemonConfig> p =
      ParseDaemonConfigText("learning { warmup_records: \"many\" }");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("line 1 column"));
}

}  // namespace
}  // namespace dwae
