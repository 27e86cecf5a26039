#include "model/views/llm/llm_attention_view.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "model/runtime/digest.h"
#include "model/runtime/status_macros.h"
#include "model/views/budgeted_batches.h"

namespace attnr::views {
namespace {

// What Derive found for Score: a score per scored unit (0: not read).
class LlmInputs : public ScoringView::Derived {
 public:
  std::vector<double> scores;
  std::vector<double> raw;  // The read-out's value, for reasons.
  // With explain_sentences: the units read and, per unit, the attention
  // the question paid each of its tokens.
  std::vector<uint32_t> read_units;
  std::vector<std::vector<float>> token_attention;
};

}  // namespace

absl::StatusOr<std::unique_ptr<LlmAttentionView>> LlmAttentionView::Load(
    const std::string& gguf_path, const std::string& gguf_sha256,
    const std::string& readout_path, const std::string& readout_sha256,
    LlmViewParams params, int threads, size_t cache_bytes, ModelGate* gate) {
  if (readout_path.empty()) {
    return absl::FailedPreconditionError(
        "an LLM view needs its trained read-out (llm_readout)");
  }
  absl::StatusOr<views::AttentionReadout> readout =
      views::ReadAttentionReadout(readout_path);
  if (!readout.ok()) return readout.status();
  RETURN_IF_ERROR(runtime::CheckPinnedSha256(
      absl::StrCat("LLM read-out ", readout_path, "'s payload"),
      readout->PayloadSha256(), readout_sha256, "views.llm.readout_sha256"));
  const int deepest =
      *std::max_element(readout->layers.begin(), readout->layers.end());
  // A folder (a pinned model's) holds one GGUF file.
  std::string file = gguf_path;
  std::error_code error;
  if (std::filesystem::is_directory(gguf_path, error)) {
    std::vector<std::string> found;
    for (const auto& entry :
         std::filesystem::directory_iterator(gguf_path, error)) {
      if (entry.path().extension() == ".gguf")
        found.push_back(entry.path().string());
    }
    if (found.size() != 1) {
      return absl::NotFoundError(
          absl::StrCat("LLM model folder ", gguf_path, " holds ", found.size(),
                       " .gguf files (one expected; run `make models`?)"));
    }
    file = found[0];
  }
  absl::StatusOr<std::unique_ptr<llama::LlamaDecoder>> decoder =
      llama::LlamaDecoder::Load(file, threads, deepest, params.device);
  if (!decoder.ok()) return decoder.status();
  RETURN_IF_ERROR(runtime::CheckPinnedSha256(absl::StrCat("LLM ", gguf_path),
                                             (*decoder)->sha256(), gguf_sha256,
                                             "views.llm.model_sha256"));
  if ((*decoder)->sha256() != readout->model_sha256) {
    return absl::FailedPreconditionError(
        absl::StrCat("LLM read-out ", readout_path,
                     " was trained on the model with "
                     "SHA-256 ",
                     readout->model_sha256, ", not on ", gguf_path, " (",
                     (*decoder)->sha256(), ")"));
  }
  if ((*decoder)->loaded_layers() < deepest ||
      readout->heads != (*decoder)->config().heads) {
    return absl::FailedPreconditionError(
        absl::StrCat("LLM read-out ", readout_path, " reads layer ", deepest,
                     " and ", readout->heads, " heads; ", gguf_path, " has ",
                     (*decoder)->config().layers, " layers of ",
                     (*decoder)->config().heads, " heads"));
  }
  std::unique_ptr<LlmAttentionView> view(new LlmAttentionView());
  absl::StatusOr<std::unique_ptr<views::AttentionReader>> reader =
      views::AttentionReader::Create(decoder->get(), readout->layers,
                                     readout->prompt);
  if (!reader.ok()) return reader.status();
  view->decoder_ = *std::move(decoder);
  view->reader_ = *std::move(reader);
  view->readout_ = *std::move(readout);
  view->params_ = std::move(params);
  view->cache_ = std::make_unique<DocumentCache<ReadPassage>>(cache_bytes);
  view->gate_ = gate;
  return view;
}

size_t LlmAttentionView::QueryModelTokens(absl::string_view query) const {
  return decoder_->tokenizer().Tokenize(query).size();
}

// Each passage is one row: the decoder reads it after the shared
// instruction, and its keys and values are cached.
class LlmAttentionView::Work : public BatchedModel {
 public:
  explicit Work(const LlmAttentionView& view) : view_(view) {}

  std::string Key(const ViewRequest& request, uint32_t u) const override {
    return UnitCacheKey(view_.decoder_->sha256(), request, u);
  }
  bool FromCache(uint32_t unit, const std::string& key) override {
    std::shared_ptr<const ReadPassage> passage = view_.cache_->Get(key);
    if (passage == nullptr) return false;
    read_[unit] = std::move(passage);
    return true;
  }
  std::optional<std::vector<std::vector<int32_t>>> Rows(
      const ViewRequest& request, uint32_t u) override {
    const Unit& unit = request.units[u];
    const absl::string_view text = request.sequences[unit.sequence].text.substr(
        unit.begin_byte, unit.end_byte - unit.begin_byte);
    // Text of more than 16 bytes a window token (real text has 4-5 bytes a
    // token) is over the window without being tokenized: the tokenizer's
    // cost grows with it.
    const size_t window = view_.params_.window_tokens;
    if (text.size() > 16 * window) return std::nullopt;
    std::vector<int32_t> ids = view_.reader_->PassageIds(text);
    if (ids.size() > window) return std::nullopt;
    if (ids.empty()) return std::vector<std::vector<int32_t>>{};
    return std::vector<std::vector<int32_t>>{std::move(ids)};
  }
  absl::Status RunBatch(const std::vector<PlannedUnit>& planned,
                        const std::vector<BatchRow>& rows,
                        const StopSignal& stop) override {
    std::vector<std::vector<int32_t>> batch;
    for (const BatchRow& row : rows) {
      batch.push_back(planned[row.planned].rows[row.row]);
    }
    ASSIGN_OR_RETURN(auto kvs, view_.reader_->ReadPassages(batch));
    for (size_t b = 0; b < rows.size(); ++b) {
      kv_[rows[b].planned] = std::move(kvs[b]);
    }
    return absl::OkStatus();
  }
  void Finish(size_t planned, const PlannedUnit& unit) override {
    auto value = std::make_shared<ReadPassage>();
    value->kv = std::move(kv_[planned]);
    view_.cache_->Put(unit.key, value);
    read_[unit.unit] = std::move(value);
  }

  // The passages read (cached or now), by unit.
  const absl::flat_hash_map<uint32_t, std::shared_ptr<const ReadPassage>>&
  read() const {
    return read_;
  }

 private:
  const LlmAttentionView& view_;
  absl::flat_hash_map<uint32_t, std::shared_ptr<const ReadPassage>> read_;
  absl::flat_hash_map<size_t, std::shared_ptr<const llama::KvCache>> kv_;
};

absl::StatusOr<std::unique_ptr<const ScoringView::Derived>>
LlmAttentionView::Derive(const ViewRequest& request, uint64_t budget_tokens,
                         ViewUsage* usage) const {
  const absl::Time start = absl::Now();
  auto out = std::make_unique<LlmInputs>();
  out->scores.assign(request.scored, 0.0);
  out->raw.assign(request.scored, 0.0);
  const bool warm_up = request.query_text.empty();
  BatchLimits limits;
  // A question reranks its candidates; a warm-up reads every passage. The
  // call's budget (shrunk to its deadline) is capped by the view's own.
  limits.consider = warm_up ? 0 : params_.candidates;
  limits.budget_tokens =
      budget_tokens == 0 || warm_up
          ? 0
          : (params_.budget_tokens == 0
                 ? budget_tokens
                 : std::min(budget_tokens, params_.budget_tokens));
  // The first passage is read within the window whatever the budget.
  limits.first_allowance = params_.window_tokens;
  limits.batch_rows = params_.batch_passages;
  limits.batch_tokens = params_.batch_tokens;
  Work work(*this);
  RETURN_IF_ERROR(
      RunBudgetedBatches(request, limits, &work, gate_, "llm read", usage));

  // The passages read, in priority order.
  std::vector<uint32_t> units;
  std::vector<const llama::KvCache*> kvs;
  for (uint32_t u : PriorityOrder(request)) {
    auto it = work.read().find(u);
    if (it == work.read().end()) continue;
    units.push_back(u);
    kvs.push_back(it->second->kv.get());
  }
  if (!warm_up && !kvs.empty()) {
    ASSIGN_OR_RETURN(auto turn, gate_->Take(request.stop, "llm question",
                                            ModelGate::Work::kQuery));
    int64_t query_tokens = 0;
    ASSIGN_OR_RETURN(
        const std::vector<std::vector<float>> masses,
        reader_->Attend(
            kvs, request.query_text, &query_tokens,
            request.explain_sentences ? &out->token_attention : nullptr));
    if (request.explain_sentences) out->read_units = units;
    usage->encoded_tokens += query_tokens;
    for (size_t i = 0; i < units.size(); ++i) {
      const double s = readout_.Score(masses[i], kvs[i]->tokens());
      out->raw[units[i]] = s;
      // In (0, 1): a read passage always has some evidence for fusion.
      out->scores[units[i]] = std::max(1.0 / (1.0 + std::exp(-s)), 1e-9);
    }
  }
  usage->derive_ms += absl::ToDoubleMilliseconds(absl::Now() - start);
  return out;
}

absl::StatusOr<ViewScores> LlmAttentionView::Score(const ViewRequest& request,
                                                   const Derived* derived,
                                                   ViewUsage* usage) const {
  const auto* in = static_cast<const LlmInputs*>(derived);
  ViewScores out;
  out.scores = in->scores;
  out.judged.resize(request.scored);
  for (size_t u = 0; u < request.scored; ++u) out.judged[u] = in->scores[u] > 0;
  if (request.explain) {
    out.reasons.resize(request.scored);
    for (size_t u = 0; u < request.scored; ++u) {
      out.reasons[u].push_back(
          in->scores[u] > 0
              ? absl::StrFormat("%s read it: attention read-out %.2f",
                                decoder_->name(), in->raw[u])
              : absl::StrCat("not read by ", decoder_->name(),
                             " (outside its candidates or budget)"));
    }
  }
  if (request.explain_sentences) {
    out.sentence_attention = SentenceAttention(request, *in);
  }
  return out;
}

std::vector<std::vector<double>> LlmAttentionView::SentenceAttention(
    const ViewRequest& request, const Derived& derived) const {
  const auto& in = static_cast<const LlmInputs&>(derived);
  std::vector<std::vector<double>> out(request.sequences.size());
  for (size_t s = 0; s < request.sequences.size(); ++s) {
    const auto* sentences = request.sequences[s].sentences;
    out[s].assign(sentences == nullptr ? 0 : sentences->size(), NAN);
  }
  for (size_t r = 0; r < in.read_units.size(); ++r) {
    const Unit& unit = request.units[in.read_units[r]];
    const Sequence& seq = request.sequences[unit.sequence];
    if (seq.sentences == nullptr) continue;
    const std::vector<float>& attention = in.token_attention[r];
    // The passage's tokens as the decoder read them, back to document
    // bytes, then to the sentence holding each: a sentence's attention is
    // its tokens' sum (the largest over the passages that hold it).
    const std::vector<tokenizers::BpeToken> tokens =
        decoder_->tokenizer().Tokenize(
            seq.text.substr(unit.begin_byte, unit.end_byte - unit.begin_byte));
    absl::flat_hash_map<size_t, double> sums;
    const std::vector<text::Sentence>& sentences = *seq.sentences;
    for (size_t t = 0; t < tokens.size() && t < attention.size(); ++t) {
      const uint32_t at = unit.begin_byte + tokens[t].span.begin_byte;
      auto it =
          std::upper_bound(sentences.begin(), sentences.end(), at,
                           [](uint32_t byte, const text::Sentence& sentence) {
                             return byte < sentence.span.begin_byte;
                           });
      if (it == sentences.begin()) continue;
      --it;
      if (at >= it->span.end_byte) continue;  // Between sentences.
      sums[static_cast<size_t>(it - sentences.begin())] += attention[t];
    }
    for (const auto& [sentence, sum] : sums) {
      double& cell = out[unit.sequence][sentence];
      cell = std::isnan(cell) ? sum : std::max(cell, sum);
    }
  }
  return out;
}

}  // namespace attnr::views
