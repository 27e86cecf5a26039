#include "model/network/attention_model.h"

#include <malloc.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "model/network/encoder.h"
#include "model/network/term_keys.h"
#include "model/network/torch_thread.h"
#include "model/network/weights_file.h"

namespace attnr::network {
namespace {

class TorchEncodedDocument final : public EncodedDocument {
 public:
  // `encoded` holds the per-layer keys and, for a token_match model, the
  // term keys: all the read-out uses.
  TorchEncodedDocument(EncoderOutput encoded, size_t tokens)
      : encoded_(std::move(encoded)), tokens_(tokens) {
    for (const torch::Tensor& k : encoded_.keys) {
      bytes_ += k.storage().nbytes();  // Rows padded to whole cache lines.
    }
    if (encoded_.terms.defined()) {
      bytes_ += encoded_.terms.numel() * encoded_.terms.element_size();
    }
  }
  size_t bytes() const override { return bytes_; }
  size_t tokens() const override { return tokens_; }
  const EncoderOutput& encoded() const { return encoded_; }

 private:
  EncoderOutput encoded_;
  size_t tokens_;
  size_t bytes_ = 0;
};

// Documents at least this long give their encode temporaries back.
constexpr size_t kTrimAfterTokens = 16384;

torch::Tensor IdsTensor(const Vocabulary& vocabulary,
                        const std::vector<text::Token>& tokens) {
  std::vector<int64_t> ids =
      vocabulary.Ids(tokens, 0, static_cast<uint32_t>(tokens.size()));
  return torch::tensor(ids, torch::TensorOptions().dtype(torch::kLong));
}

torch::Tensor TermsTensor(const std::vector<text::Token>& tokens) {
  return torch::tensor(
      TermKeys(tokens, 0, static_cast<uint32_t>(tokens.size())),
      torch::TensorOptions().dtype(torch::kLong));
}

}  // namespace

struct AttentionModel::State {
  LoadedModel model;
};

AttentionModel::AttentionModel(std::unique_ptr<State> state)
    : state_(std::move(state)) {}
AttentionModel::~AttentionModel() = default;

absl::StatusOr<std::unique_ptr<AttentionModel>> AttentionModel::Load(
    const std::string& path, int threads) {
  absl::StatusOr<std::unique_ptr<AttentionModel>> out;
  // On the torch thread: the intra-op thread count is a setting of the
  // calling thread's OpenMP team.
  TorchThread::Get().Run([&] { out = LoadHere(path, threads); });
  return out;
}

absl::StatusOr<std::unique_ptr<AttentionModel>> AttentionModel::LoadHere(
    const std::string& path, int threads) {
  // glibc would hand LibTorch's large temporaries back to the kernel after
  // every op and fault them in again (MODEL_CARD.md, "Engineering
  // measurements", has this and the figures below).
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  // Kept memory is only reused within its arena, and glibc gives threads
  // arenas of their own (up to 8 per core): the encoder's worker threads
  // each kept their own high-water mark. Two arenas lower the peak RSS and
  // leave encode time as it was.
  mallopt(M_ARENA_MAX, 2);
  torch::set_num_threads(threads);  // LibTorch starts with one.
  // Once: every later call runs on this same thread and its OpenMP team,
  // whose floating-point modes persist.
  FlushDenormals();
  auto loaded = LoadWeights(path);
  if (!loaded.ok()) return loaded.status();
  auto state = std::make_unique<State>();
  state->model = *std::move(loaded);
  return std::unique_ptr<AttentionModel>(new AttentionModel(std::move(state)));
}

absl::StatusOr<std::shared_ptr<const EncodedDocument>> AttentionModel::Encode(
    const std::vector<text::Token>& tokens, const StopSignal& stop) const {
  absl::StatusOr<std::shared_ptr<const EncodedDocument>> out;
  TorchThread::Get().Run([&] { out = EncodeHere(tokens, stop); });
  return out;
}

absl::StatusOr<std::shared_ptr<const EncodedDocument>>
AttentionModel::EncodeHere(const std::vector<text::Token>& tokens,
                           const StopSignal& stop) const {
  if (tokens.empty()) {
    return std::make_shared<TorchEncodedDocument>(EncoderOutput(), 0);
  }
  try {
    torch::NoGradGuard no_grad;
    if (absl::Status s = stop.Check("encode"); !s.ok()) return s;
    EncoderOutput out = state_->model.encoder->Forward(
        IdsTensor(state_->model.vocabulary, tokens), /*keep_keys=*/true,
        /*keep_queries=*/false, &stop);
    // Stopped: the temporaries stay for the next encode (a trim here
    // would delay the worker's release).
    if (out.stopped) return stop.Check("encode");
    out.hidden = torch::Tensor();  // The read-out uses keys (and terms) only.
    out.ids = torch::Tensor();
    // Term keys only for a model that reads them (each costs a stemmer call
    // now and 8 bytes of cache for as long as the document stays).
    if (state_->model.header.encoder.token_match)
      out.terms = TermsTensor(tokens);
    auto encoded =
        std::make_shared<TorchEncodedDocument>(std::move(out), tokens.size());
    // The pass's temporaries (hundreds of MB for a long document) stay in
    // the heap for the next pass, which is what keeps ops fast; after a long
    // document they are handed back, or each new long document would add its
    // fragments to the peak.
    if (tokens.size() >= kTrimAfterTokens) malloc_trim(0);
    return encoded;
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("encoder failed: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<std::vector<std::vector<float>>> AttentionModel::Relevance(
    const std::vector<text::Token>& query,
    const std::vector<const EncodedDocument*>& documents) const {
  std::vector<std::vector<float>> out(documents.size());
  for (size_t d = 0; d < documents.size(); ++d) {
    out[d].assign(documents[d]->tokens(), 0.0f);
  }
  absl::Status status = VisitQueryTokenRelevance(
      query, documents, [&](const QueryTokenMass& group) {
        for (size_t d = 0; d < documents.size(); ++d) {
          if (group.mass[d] == nullptr) continue;
          const size_t n = out[d].size();
          for (size_t j = 0; j < group.queries; ++j) {
            const float* row = group.mass[d] + j * n;
            for (size_t t = 0; t < n; ++t) out[d][t] += row[t];
          }
        }
      });
  if (!status.ok()) return status;
  return out;
}

// The read-out's state between groups: it lives on the caller's stack, but
// only the TorchThread touches its tensors.
struct AttentionModel::ReadOut {
  EncoderOutput query;
  torch::Tensor weights;
  std::vector<const EncoderOutput*> keys;
  std::vector<size_t> which;        // Document index of each entry of `keys`.
  std::vector<torch::Tensor> rows;  // The current group's.
};

absl::Status AttentionModel::VisitQueryTokenRelevance(
    const std::vector<text::Token>& query,
    const std::vector<const EncodedDocument*>& documents,
    const std::function<void(const QueryTokenMass&)>& visit,
    const StopSignal& stop) const {
  ReadOut state;
  for (size_t d = 0; d < documents.size(); ++d) {
    const auto* doc = static_cast<const TorchEncodedDocument*>(documents[d]);
    if (doc->tokens() == 0) continue;  // Nothing to attend to.
    state.keys.push_back(&doc->encoded());
    state.which.push_back(d);
  }
  if (state.keys.empty() || query.empty()) return absl::OkStatus();
  absl::Status status;
  TorchThread& torch_thread = TorchThread::Get();
  torch_thread.Run([&] { status = StartReadOut(query, &state); });
  QueryTokenMass group;
  group.mass.assign(documents.size(), nullptr);
  // Each group's rows are made on the TorchThread and visited here, on the
  // caller's thread: the model's thread runs model work only.
  for (size_t first = 0; status.ok() && first < query.size();
       first += kQueryGroup) {
    if (status = stop.Check("read-out"); !status.ok()) break;
    const size_t count = std::min(kQueryGroup, query.size() - first);
    torch_thread.Run([&] { status = ReadOutGroup(first, count, &state); });
    if (!status.ok()) break;
    group.first_query = first;
    group.queries = count;
    group.term_weights = state.weights.data_ptr<float>() + first;
    for (size_t i = 0; i < state.which.size(); ++i) {
      // ReadOutGroup makes them contiguous; they live until the next group.
      group.mass[state.which[i]] = state.rows[i].data_ptr<float>();
    }
    visit(group);
  }
  torch_thread.Run([&] { state = ReadOut(); });
  return status;
}

absl::Status AttentionModel::StartReadOut(const std::vector<text::Token>& query,
                                          ReadOut* state) const {
  try {
    torch::NoGradGuard no_grad;
    Encoder& encoder = state_->model.encoder;
    state->query = encoder->Forward(IdsTensor(state_->model.vocabulary, query),
                                    /*keep_keys=*/false,
                                    /*keep_queries=*/true);
    if (state_->model.header.encoder.token_match) {
      state->query.terms = TermsTensor(query);
    }
    state->weights = encoder->TermWeights(state->query).contiguous();
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("attention read-out failed: ",
                                            e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

absl::Status AttentionModel::ReadOutGroup(size_t first, size_t count,
                                          ReadOut* state) const {
  try {
    torch::NoGradGuard no_grad;
    state->rows = state_->model.encoder->QueryTokenRelevance(
        state->query, state->keys, static_cast<int64_t>(first),
        static_cast<int64_t>(count));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("attention read-out failed: ",
                                            e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

const std::string& AttentionModel::name() const {
  return state_->model.header.name;
}
const std::string& AttentionModel::version() const {
  return state_->model.header.version;
}
const std::string& AttentionModel::sha256() const {
  return state_->model.sha256;
}
const std::string& AttentionModel::notes() const {
  return state_->model.header.notes;
}

}  // namespace attnr::network
