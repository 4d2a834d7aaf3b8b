// The core benchmarks' shared data and models (core_bench_data.h).
#include "bench/core_bench_data.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/dataset.h"
#include "core/rules.h"

#ifndef DWAE_SOURCE_DIR
#define DWAE_SOURCE_DIR "."
#endif

namespace dwae::bench {
namespace {

constexpr char kTrainFile[] = "KDDTrain+_20Percent.txt";
constexpr char kTestFile[] = "KDDTest+.txt";

// Path of data/nsl-kdd/`name`: relative to the working directory if it
// exists there, else under the source tree.
std::string DataPath(const std::string& name) {
  const std::string relative = absl::StrCat("data/nsl-kdd/", name);
  if (std::ifstream(relative).good()) return relative;
  const std::string in_source =
      absl::StrCat(DWAE_SOURCE_DIR, "/data/nsl-kdd/", name);
  if (std::ifstream(in_source).good()) return in_source;
  Die(absl::StrCat("cannot find ", name, ": tried ./", relative, " and ",
                   in_source, "; run from the repository root"));
}

std::vector<Record> Load(const std::string& name) {
  absl::StatusOr<std::vector<Record>> rows =
      LoadRecords(DataPath(name), RecordFormat::kNslKdd);
  if (!rows.ok()) Die(std::string(rows.status().message()));
  if (rows->empty()) Die(absl::StrCat(name, ": no records"));
  return *std::move(rows);
}

std::unique_ptr<Autoencoder> MakeModel(RuleKind kind) {
  ModelConfig config;
  config.shape.input_dim = kInputDim;
  config.shape.hidden = {32};
  config.shape.hidden_activation = Activation::kSigmoid;
  config.rule.kind = kind;
  config.seed = 1;
  absl::StatusOr<std::unique_ptr<Autoencoder>> model =
      Autoencoder::Create(config);
  if (!model.ok()) Die(std::string(model.status().message()));
  return *std::move(model);
}

}  // namespace

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "dwae_core_bench: %s\n", message.c_str());
  std::exit(1);
}

const Data& GetData() {
  static const Data* const data = [] {
    auto* d = new Data;
    d->normal_train = NormalRows(Load(kTrainFile));
    if (d->normal_train.empty()) Die("no normal rows in the training file");
    d->test_rows = Load(kTestFile);
    std::ifstream in(DataPath(kTestFile));
    for (std::string line; std::getline(in, line);) {
      if (!absl::StripAsciiWhitespace(line).empty()) {
        d->test_lines.push_back(std::move(line));
      }
    }
    d->encoder.Fit(d->normal_train);
    d->normal_encoded.resize(d->normal_train.size() * kInputDim);
    for (int i = 0; i < d->num_normal(); ++i) {
      d->encoder.Encode(
          d->normal_train[i],
          d->normal_encoded.data() + static_cast<size_t>(i) * kInputDim);
    }
    return d;
  }();
  return *data;
}

std::unique_ptr<Autoencoder> MakeWarmModel(RuleKind kind) {
  const Data& data = GetData();
  std::unique_ptr<Autoencoder> model = MakeModel(kind);
  Workspace ws = model->MakeWorkspace();
  for (int i = 0; i < data.num_normal(); ++i) {
    model->Learn(data.normal_row(i), &ws);
  }
  return model;
}

const Autoencoder& WarmDefaultModel() {
  static const Autoencoder* const model =
      MakeWarmModel(ModelConfig().rule.kind).release();
  return *model;
}

const InferenceNetwork& ScoringNetwork() {
  static const InferenceNetwork* const net = [] {
    auto* n = new InferenceNetwork(WarmDefaultModel().network(),
                                   GetData().encoder.num_numeric());
    if (!n->integer()) Die("the scoring model's weights are not levels");
    return n;
  }();
  return *net;
}

}  // namespace dwae::bench
