// attnr-train: trains the LLM attention view's read-out with the decoder
// frozen and writes the read-out file the server loads beside it.
//
//   attnr-train --llm MODEL.gguf --llm_readout_input input.jsonl
//               --llm_features features.jsonl --out readout.json
//               [--llm_readout_layers L] [--threads T]
//
// input.jsonl: questions with candidate passages, split into "train" and
// "heldout" (model/train/build_readout_input.py). The attention features
// are appended to --llm_features, so an interrupted run resumes where it
// stopped; the fit then takes seconds (model/train/llm_readout.h). Besides
// the read-out, OUT.report.md gets the held-out split's measurements.
#include <malloc.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "model/llama/llama_decoder.h"
#include "model/train/llm_readout.h"
#include "model/views/llm/attention_reader.h"

ABSL_FLAG(std::string, llm, "",
          "GGUF decoder whose attention read-out to train.");
ABSL_FLAG(std::string, llm_readout_input, "",
          "Questions with candidate passages "
          "(model/train/build_readout_input.py).");
ABSL_FLAG(std::string, llm_features, "",
          "Attention features file (appended to; a rerun resumes).");
ABSL_FLAG(std::string, out, "", "Read-out file to write.");
ABSL_FLAG(int32_t, llm_readout_layers, 0,
          "Layers the written read-out reads (0: the best on the held-out "
          "split).");
ABSL_FLAG(int32_t, threads, 2, "Intra-op threads.");

namespace {

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "attnr-train: " << message << "\n";
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // Keep large LibTorch temporaries mapped (glibc would return and re-fault
  // them on every op).
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  const std::string input = absl::GetFlag(FLAGS_llm_readout_input);
  const std::string out = absl::GetFlag(FLAGS_out);
  const std::string features = absl::GetFlag(FLAGS_llm_features);
  if (absl::GetFlag(FLAGS_llm).empty() || input.empty() || out.empty() ||
      features.empty()) {
    Die("--llm, --llm_readout_input, --llm_features and --out are required");
  }
  auto decoder = attnr::llama::LlamaDecoder::Load(absl::GetFlag(FLAGS_llm),
                                                  absl::GetFlag(FLAGS_threads));
  if (!decoder.ok()) Die(std::string(decoder.status().message()));
  std::vector<int> layers;
  for (int l = 1; l <= (*decoder)->loaded_layers(); ++l) layers.push_back(l);
  auto reader = attnr::views::AttentionReader::Create(decoder->get(), layers);
  if (!reader.ok()) Die(std::string(reader.status().message()));
  absl::Status s =
      attnr::train::ComputeReadoutFeatures(**reader, input, features);
  if (!s.ok()) Die(std::string(s.message()));
  attnr::train::ReadoutFitOptions options;
  options.layers = absl::GetFlag(FLAGS_llm_readout_layers);
  s = attnr::train::FitReadout(**reader, features, options, out,
                               out + ".report.md");
  if (!s.ok()) Die(std::string(s.message()));
  return 0;
}
