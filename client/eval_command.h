// `dwae eval`: trains each learning rule on the normal rows of a training
// file, scores a test file and prints the metrics (evaluate.h) as a table or
// one JSON object. Any record format (record_reader.h); both files must end
// up in the same feature schema. Links core directly; no daemon involved.
#ifndef DWAE_CLIENT_EVAL_COMMAND_H_
#define DWAE_CLIENT_EVAL_COMMAND_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/evaluate.h"
#include "core/record.h"
#include "core/record_reader.h"

namespace dwae {

struct EvalCommandOptions {
  std::string train_path;
  std::string test_path;
  // kAuto: each file's format is detected from its first line. Zeek files
  // become rows through one ZeekFeatureExtractor per file (the file is one
  // sensor); their "Benign" rows are the normal ones.
  InputFormat format = InputFormat::kAuto;
  std::vector<RuleKind> rules;  // in output order
  std::vector<uint64_t> seeds;
  // Learning rate per rule, < 0 for the rule's default; indexed by RuleKind.
  float learning_rates[3] = {-1, -1, -1};
  // The scorer per rule, indexed by RuleKind; eval.ensemble is ignored.
  EnsembleOptions ensembles[3] = {DefaultEnsemble(RuleKind::kFloat),
                                  DefaultEnsemble(RuleKind::kDwShadow),
                                  DefaultEnsemble(RuleKind::kDwStochastic)};
  EvalOptions eval;
  // False: eval.adaptive_*_quantile are replaced by the defaults of the
  // files' feature schema (DefaultAdaptiveQuantiles).
  bool adaptive_quantiles_set = false;
  bool json = false;
  std::string scores_out;  // empty: none
  std::string trace_out;   // empty: none
};

// Runs the evaluation and prints to stdout. Progress goes to stderr.
absl::Status RunEvalCommand(const EvalCommandOptions& options);

}  // namespace dwae

#endif  // DWAE_CLIENT_EVAL_COMMAND_H_
