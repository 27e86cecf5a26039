#ifndef ATTNR_MODEL_VIEWS_LLM_ATTENTION_READER_H_
#define ATTNR_MODEL_VIEWS_LLM_ATTENTION_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/llama/llama_decoder.h"

namespace attnr::views {

// How the decoder is asked to read: a shared prefix (an instruction; its
// first token takes the attention "sink" so no passage's first token does),
// each passage after it on its own, then the question.
struct ReaderPrompt {
  // Control tokens are written as <|name|> and taken by id.
  std::string prefix =
      "<|im_start|>system\nRead the passages of a document, then answer the "
      "question.<|im_end|>\n<|im_start|>user\n";
  std::string before_query = "\n\nQuestion: ";
  std::string after_query = "<|im_end|>\n<|im_start|>assistant\nAnswer:";
};

// The query-token groups whose attention the read-out uses: the question's
// own tokens (mean), and the last prompt token (where the answer starts).
constexpr int kQueryGroups = 2;

// The AttentionRetriever read-out's raw material: an LLM reads passages
// (each cached separately, so any set of them can be attended to together
// and a repeated question costs only its own tokens), then the question;
// the attention its tokens pay to each passage, per layer and head, is
// the passage's evidence. Thread-compatible; the decoder's calls must be
// serialized by the caller (views::ModelGate).
class AttentionReader {
 public:
  // `layers`: the 1-based layers whose attention is read (all must be
  // loaded). Errors: INVALID_ARGUMENT for a layer not loaded or a prompt
  // whose control tokens the vocabulary lacks.
  static absl::StatusOr<std::unique_ptr<AttentionReader>> Create(
      const llama::LlamaDecoder* decoder, std::vector<int> layers,
      ReaderPrompt prompt = {});

  // The passage's token ids as the decoder reads them.
  std::vector<int32_t> PassageIds(absl::string_view text) const;
  // Reads a passage after the prefix: its keys and values.
  absl::StatusOr<std::shared_ptr<const llama::KvCache>> ReadPassage(
      const std::vector<int32_t>& ids) const;

  // Reads several passages side by side (one batched pass); the same
  // caches ReadPassage would make.
  absl::StatusOr<std::vector<std::shared_ptr<const llama::KvCache>>>
  ReadPassages(const std::vector<std::vector<int32_t>>& ids) const;

  // The question read after `passages` (in the order given; each read by
  // ReadPassage). Returns, per passage, the attention mass its tokens get
  // (summed over its tokens), for each query group, layer and head:
  // features[p][(group * layers + layer) * heads + head]. `query_tokens`
  // (if given) gets the number of tokens the question ran. `token_attention`
  // (if given) gets, per passage and token, the attention the question's own
  // tokens pay it, averaged over the read layers and every head (explain).
  absl::StatusOr<std::vector<std::vector<float>>> Attend(
      const std::vector<const llama::KvCache*>& passages,
      absl::string_view query, int64_t* query_tokens = nullptr,
      std::vector<std::vector<float>>* token_attention = nullptr) const;

  const std::vector<int>& layers() const { return layers_; }
  int64_t heads() const { return decoder_->config().heads; }
  size_t features() const {
    return kQueryGroups * layers_.size() * static_cast<size_t>(heads());
  }
  const llama::LlamaDecoder& decoder() const { return *decoder_; }
  const ReaderPrompt& prompt() const { return prompt_; }

 private:
  AttentionReader() = default;
  // Text with <|name|> control tokens taken by id.
  absl::StatusOr<std::vector<int32_t>> PromptIds(absl::string_view text) const;

  const llama::LlamaDecoder* decoder_ = nullptr;
  std::vector<int> layers_;
  ReaderPrompt prompt_;
  std::vector<int32_t> prefix_ids_, before_ids_, after_ids_;
  std::shared_ptr<const llama::KvCache> prefix_;
};

}  // namespace attnr::views

#endif  // ATTNR_MODEL_VIEWS_LLM_ATTENTION_READER_H_
