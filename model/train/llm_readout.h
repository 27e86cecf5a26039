#ifndef ATTNR_MODEL_TRAIN_LLM_READOUT_H_
#define ATTNR_MODEL_TRAIN_LLM_READOUT_H_

// Training the LLM attention view's read-out with the backbone frozen
// (attnr-train --llm_readout_input). Two stages, both resumable:
//   1. features: the reader (model/views/llm/attention_reader.h) reads each
//      question's candidate passages (model/train/build_readout_input.py)
//      and the question; the attention mass per passage, query group,
//      layer and head is appended to a JSONL file, one question per line
//      (a rerun skips the questions already there);
//   2. fit: a listwise softmax over each training question's passages
//      (-log of the probability of its relevant ones) on standardized
//      log-masses plus log length, L2-regularized; the held-out split's
//      MRR@10 among the same candidates is reported for every layer alone,
//      for read-outs of the first L layers, and against BM25's order.
#include <string>

#include "absl/status/status.h"
#include "model/views/llm/attention_reader.h"

namespace attnr::train {

absl::Status ComputeReadoutFeatures(const views::AttentionReader& reader,
                                    const std::string& input_jsonl,
                                    const std::string& features_jsonl);

struct ReadoutFitOptions {
  // Read-outs of the first L layers are fitted and measured for each L
  // here; the one written uses `layers` (0: the best on the held-out split).
  std::vector<int> depths = {4, 8, 12, 16, 20, 24, 30};
  int layers = 0;
  // L2 strengths tried for each depth (the written read-out: the best pair
  // on the held-out split).
  std::vector<double> l2s = {1e-3, 1e-2, 3e-2, 1e-1};
  int steps = 400;
  double lr = 0.05;
};

// Fits on the "train" questions, measures on the "heldout" ones, writes
// the read-out (model/views/llm/attention_readout_file.h) and a Markdown
// report.
absl::Status FitReadout(const views::AttentionReader& reader,
                        const std::string& features_jsonl,
                        const ReadoutFitOptions& options,
                        const std::string& out_path,
                        const std::string& report_path);

}  // namespace attnr::train

#endif  // ATTNR_MODEL_TRAIN_LLM_READOUT_H_
