#ifndef ATTNR_MODEL_TOKENIZERS_BPE_TOKENIZER_H_
#define ATTNR_MODEL_TOKENIZERS_BPE_TOKENIZER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/formats/gguf_file.h"
#include "model/text/text_span.h"

namespace attnr::tokenizers {

// One BPE token with the exact range of the input it stands for. Bytes are
// exact; a character that byte-level BPE splits between tokens belongs, in
// code points, to every token that holds one of its bytes.
struct BpeToken {
  int32_t id = 0;
  text::TextSpan span;
};

// Byte-level BPE as llama.cpp runs a GGUF file's "gpt2" tokenizer
// (tokenizer.ggml.tokens / merges / pre), the tokenizer of GPT-2, Llama 3,
// Qwen 2 and SmolLM:
//   - pre-tokenise with the model's pattern ("smollm": every digit alone,
//     then GPT-2's; "gpt2"/"default": GPT-2's; "llama-bpe"/"llama3":
//     Llama 3's; "qwen2": Llama 3's with single digits);
//   - map each pre-token's UTF-8 bytes to GPT-2's printable byte alphabet;
//   - merge adjacent symbols, lowest merge rank first.
// Text is never parsed for special tokens (a document that contains
// "<|im_start|>" gets the characters, as llama.cpp's tokenize with
// special=false); control tokens are added by id by the caller. Verified
// against llama.cpp (llama-cpp-python) on tests/vectors/bpe_*.json.
// Thread-safe (immutable after loading).
class BpeTokenizer {
 public:
  // Errors: INVALID_ARGUMENT naming an unsupported tokenizer model or
  // pre-tokeniser, or a vocabulary without the 256 byte symbols; NOT_FOUND
  // naming a missing key.
  static absl::StatusOr<BpeTokenizer> FromGguf(const formats::GgufFile& file);

  // `text` must be valid UTF-8. No special tokens are added.
  std::vector<BpeToken> Tokenize(absl::string_view text) const;

  // The id of a token as the vocabulary spells it (e.g. "<|im_start|>"),
  // or -1.
  int32_t IdOf(absl::string_view token) const;
  // The raw bytes a token stands for (control tokens: their name).
  std::string Bytes(int32_t id) const;
  size_t vocab_size() const { return tokens_.size(); }
  int32_t bos_id() const { return bos_id_; }
  int32_t eos_id() const { return eos_id_; }
  const std::string& pre() const { return pre_; }

 private:
  enum class Pattern { kGpt2, kLlama3 };
  BpeTokenizer() = default;
  // Appends the tokens of one pre-token, bytes [begin, end) of the text.
  void Encode(absl::string_view text, uint32_t begin, uint32_t end,
              std::vector<BpeToken>* out) const;

  Pattern pattern_ = Pattern::kGpt2;
  bool single_digits_ = false;  // Every \p{N} a pre-token of its own.
  bool digit_triples_ = false;  // Llama 3: \p{N}{1,3}.
  std::string pre_;
  std::vector<std::string> tokens_;
  std::vector<int32_t> token_types_;
  absl::flat_hash_map<std::string, int32_t> ids_;
  int32_t byte_id_[256] = {};
  // (left id << 32 | right id) -> (rank << 32 | merged id).
  absl::flat_hash_map<uint64_t, uint64_t> merges_;
  int32_t bos_id_ = -1;
  int32_t eos_id_ = -1;
};

}  // namespace attnr::tokenizers

#endif  // ATTNR_MODEL_TOKENIZERS_BPE_TOKENIZER_H_
