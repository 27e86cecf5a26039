#ifndef ATTNR_MODEL_TOKENIZERS_WORDPIECE_TOKENIZER_H_
#define ATTNR_MODEL_TOKENIZERS_WORDPIECE_TOKENIZER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/text/text_span.h"

namespace attnr::tokenizers {

// One WordPiece token with the exact range of the input it stands for (code
// points and UTF-8 bytes), whatever normalisation made it.
struct WordPiece {
  int32_t id = 0;
  text::TextSpan span;
};

// BERT's tokenizer as Hugging Face `tokenizers` runs it (BertNormalizer,
// BertPreTokenizer, WordPiece), read from a model's tokenizer.json:
//   - normalise: drop NUL, U+FFFD and control/format/unassigned characters,
//     map whitespace to a space, put spaces around CJK ideographs, strip
//     accents (NFD, then drop nonspacing marks) and lower-case, as the file
//     configures;
//   - split at whitespace, every punctuation character a word of its own;
//   - each word into the longest vocabulary pieces from its start ("##" for
//     pieces inside a word); a word that cannot be covered, or longer than
//     max_input_chars_per_word, is one [UNK].
// Added tokens (the file's "added_tokens": [CLS], [SEP], [UNK], [MASK],
// [PAD]) written literally in the text are matched first, on the raw text,
// and become those tokens, as in the reference. Every piece maps back to the
// input characters it came from (a removed accent belongs to its letter's
// piece). Verified against the reference on
// tests/vectors/wordpiece_*.json. Thread-safe (immutable after Load).
class WordPieceTokenizer {
 public:
  // Errors: NOT_FOUND, INVALID_ARGUMENT (not JSON, or not a BERT WordPiece
  // tokenizer, naming what differs).
  static absl::StatusOr<WordPieceTokenizer> Load(const std::string& path);

  // `text` must be valid UTF-8. No special tokens are added.
  std::vector<WordPiece> Tokenize(absl::string_view text) const;

  // The id of a token (e.g. "[CLS]"), or -1.
  int32_t IdOf(absl::string_view token) const;
  const std::string& TokenOf(int32_t id) const { return tokens_[id]; }
  size_t vocab_size() const { return tokens_.size(); }

 private:
  WordPieceTokenizer() = default;
  // Tokenizes input code points [first, last) (no added tokens inside).
  void TokenizeRun(const std::vector<char32_t>& input,
                   const std::vector<uint32_t>& byte_at, uint32_t first,
                   uint32_t last, std::vector<WordPiece>* out) const;

  bool clean_text_ = true;
  bool handle_chinese_chars_ = true;
  bool strip_accents_ = true;
  bool lowercase_ = true;
  size_t max_input_chars_per_word_ = 100;
  std::string continuing_prefix_ = "##";
  int32_t unk_id_ = 0;
  absl::flat_hash_map<std::string, int32_t> ids_;
  // Added tokens matched on the raw text, as code points, longest first.
  std::vector<std::pair<std::u32string, int32_t>> added_;
  std::vector<std::string> tokens_;
};

}  // namespace attnr::tokenizers

#endif  // ATTNR_MODEL_TOKENIZERS_WORDPIECE_TOKENIZER_H_
