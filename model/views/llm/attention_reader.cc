#include "model/views/llm/attention_reader.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace attnr::views {

absl::StatusOr<std::unique_ptr<AttentionReader>> AttentionReader::Create(
    const llama::LlamaDecoder* decoder, std::vector<int> layers,
    ReaderPrompt prompt) {
  std::unique_ptr<AttentionReader> r(new AttentionReader());
  r->decoder_ = decoder;
  r->prompt_ = std::move(prompt);
  std::sort(layers.begin(), layers.end());
  layers.erase(std::unique(layers.begin(), layers.end()), layers.end());
  if (layers.empty()) return absl::InvalidArgumentError("no read-out layers");
  for (int l : layers) {
    if (l < 1 || l > decoder->loaded_layers()) {
      return absl::InvalidArgumentError(
          absl::StrCat("read-out layer ", l, " is not loaded (1 to ",
                       decoder->loaded_layers(), ")"));
    }
  }
  r->layers_ = std::move(layers);
  for (auto [text, ids] :
       {std::pair{&r->prompt_.prefix, &r->prefix_ids_},
        std::pair{&r->prompt_.before_query, &r->before_ids_},
        std::pair{&r->prompt_.after_query, &r->after_ids_}}) {
    absl::StatusOr<std::vector<int32_t>> got = r->PromptIds(*text);
    if (!got.ok()) return got.status();
    *ids = *std::move(got);
  }
  if (r->prefix_ids_.empty() || r->after_ids_.empty()) {
    return absl::InvalidArgumentError(
        "the reader's prefix and the text after the query must not be empty");
  }
  llama::ForwardOptions keep;
  keep.keep = true;
  absl::StatusOr<std::shared_ptr<const llama::KvCache>> prefix =
      decoder->Forward(r->prefix_ids_, keep);
  if (!prefix.ok()) return prefix.status();
  r->prefix_ = *std::move(prefix);
  return r;
}

absl::StatusOr<std::vector<int32_t>> AttentionReader::PromptIds(
    absl::string_view text) const {
  std::vector<int32_t> out;
  const tokenizers::BpeTokenizer& tok = decoder_->tokenizer();
  while (!text.empty()) {
    const size_t open = text.find("<|");
    const size_t close =
        open == absl::string_view::npos ? open : text.find("|>", open);
    const absl::string_view plain =
        text.substr(0, close == absl::string_view::npos ? text.size() : open);
    for (const tokenizers::BpeToken& t : tok.Tokenize(plain)) {
      out.push_back(t.id);
    }
    if (close == absl::string_view::npos) break;
    const absl::string_view name = text.substr(open, close + 2 - open);
    const int32_t id = tok.IdOf(name);
    if (id < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("the vocabulary has no control token ", name));
    }
    out.push_back(id);
    text.remove_prefix(close + 2);
  }
  return out;
}

std::vector<int32_t> AttentionReader::PassageIds(absl::string_view text) const {
  std::vector<int32_t> ids;
  for (const tokenizers::BpeToken& t : decoder_->tokenizer().Tokenize(text)) {
    ids.push_back(t.id);
  }
  return ids;
}

absl::StatusOr<std::shared_ptr<const llama::KvCache>>
AttentionReader::ReadPassage(const std::vector<int32_t>& ids) const {
  if (ids.empty()) return absl::InvalidArgumentError("empty passage");
  llama::ForwardOptions options;
  options.past = {prefix_.get()};
  options.position = prefix_->end_position();
  options.keep = true;
  return decoder_->Forward(ids, options);
}

absl::StatusOr<std::vector<std::shared_ptr<const llama::KvCache>>>
AttentionReader::ReadPassages(
    const std::vector<std::vector<int32_t>>& ids) const {
  return decoder_->ForwardBatch(ids, prefix_->end_position(), {prefix_.get()});
}

absl::StatusOr<std::vector<std::vector<float>>> AttentionReader::Attend(
    const std::vector<const llama::KvCache*>& passages, absl::string_view query,
    int64_t* query_tokens,
    std::vector<std::vector<float>>* token_attention) const {
  std::vector<int32_t> ids = before_ids_;
  const size_t own_begin = ids.size();
  for (const tokenizers::BpeToken& t : decoder_->tokenizer().Tokenize(query)) {
    ids.push_back(t.id);
  }
  const size_t own_end = ids.size();
  ids.insert(ids.end(), after_ids_.begin(), after_ids_.end());
  if (query_tokens != nullptr) *query_tokens = static_cast<int64_t>(ids.size());

  std::vector<const llama::KvCache*> past = {prefix_.get()};
  int64_t longest = 0;
  for (const llama::KvCache* p : passages) {
    past.push_back(p);
    longest = std::max(longest, p->tokens());
  }
  llama::ForwardTrace trace;
  llama::ForwardOptions options;
  options.past = std::move(past);
  // After the longest passage: each was read from the same position.
  options.position = prefix_->end_position() + longest;
  options.attention_layers = layers_;
  options.trace = &trace;
  absl::StatusOr<std::shared_ptr<const llama::KvCache>> run =
      decoder_->Forward(ids, options);
  if (!run.ok()) return run.status();

  const int64_t heads = decoder_->config().heads;
  const int64_t q = static_cast<int64_t>(ids.size());
  const int64_t keys = trace.keys;
  const size_t layers = layers_.size();
  std::vector<std::vector<float>> out(passages.size(),
                                      std::vector<float>(features(), 0.0f));
  // Query tokens of each group: the question's own (all prompt tokens if
  // it has none), and the last.
  std::vector<std::pair<int64_t, int64_t>> groups = {
      own_end > own_begin ? std::pair<int64_t, int64_t>(own_begin, own_end)
                          : std::pair<int64_t, int64_t>(0, q),
      {q - 1, q}};
  if (token_attention != nullptr) {
    token_attention->assign(passages.size(), {});
    for (size_t p = 0; p < passages.size(); ++p) {
      (*token_attention)[p].assign(passages[p]->tokens(), 0.0f);
    }
  }
  for (size_t a = 0; a < layers; ++a) {
    const std::vector<float>& probs = trace.attention[a];
    if (token_attention != nullptr) {
      const auto [first, last] = groups[0];
      const double share = 1.0 / (static_cast<double>(layers) * heads *
                                  static_cast<double>(last - first));
      for (int64_t h = 0; h < heads; ++h) {
        for (int64_t i = first; i < last; ++i) {
          int64_t offset = prefix_->tokens();
          for (size_t p = 0; p < passages.size(); ++p) {
            const float* row = probs.data() + (h * q + i) * keys + offset;
            std::vector<float>& out_p = (*token_attention)[p];
            for (size_t j = 0; j < out_p.size(); ++j) {
              out_p[j] += static_cast<float>(row[j] * share);
            }
            offset += passages[p]->tokens();
          }
        }
      }
    }
    for (int64_t h = 0; h < heads; ++h) {
      for (int g = 0; g < kQueryGroups; ++g) {
        const auto [first, last] = groups[g];
        int64_t offset = prefix_->tokens();
        for (size_t p = 0; p < passages.size(); ++p) {
          const int64_t n = passages[p]->tokens();
          double mass = 0;
          for (int64_t i = first; i < last; ++i) {
            const float* row = probs.data() + (h * q + i) * keys + offset;
            for (int64_t j = 0; j < n; ++j) mass += row[j];
          }
          out[p][(g * layers + a) * heads + h] =
              static_cast<float>(mass / (last - first));
          offset += n;
        }
      }
    }
  }
  return out;
}

}  // namespace attnr::views
