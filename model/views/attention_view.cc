#include "model/views/attention_view.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace attnr::views {
namespace {

struct EncodedSequences : ScoringView::Prepared {
  std::vector<std::shared_ptr<const network::EncodedDocument>> encoded;
};

}  // namespace

AttentionView::AttentionView(std::unique_ptr<network::AttentionModel> model,
                             scoring::AttentionViewParams params,
                             size_t cache_bytes, ModelGate* gate)
    : model_(std::move(model)),
      params_(params),
      cache_(cache_bytes),
      gate_(gate) {}

std::string AttentionView::model_name() const {
  return absl::StrCat(model_->name(), "/", model_->version());
}

absl::StatusOr<std::unique_ptr<const ScoringView::Prepared>>
AttentionView::Prepare(const ViewRequest& request, uint64_t budget_tokens,
                       ViewUsage* usage) const {
  const absl::Time start = absl::Now();
  auto out = std::make_unique<EncodedSequences>();
  usage->cache_hit = !request.sequences.empty();
  for (const Sequence& seq : request.sequences) {
    const std::string key = absl::StrCat(model_->sha256(), ":", seq.digest);
    CacheOutcome outcome;
    // Calls asking for the same sequence at once share one encode.
    auto doc = cache_.GetOrCreate(
        key,
        [&]()
            -> absl::StatusOr<std::shared_ptr<const network::EncodedDocument>> {
          auto turn = gate_->Take(request.stop, "encode");
          if (!turn.ok()) return turn.status();
          return model_->Encode(*seq.tokens, request.stop);
        },
        request.stop, &outcome);
    if (!doc.ok()) return doc.status();
    usage->cache_hit &= outcome == CacheOutcome::kHit;
    if (outcome == CacheOutcome::kCreated) {
      usage->encoded_tokens += seq.tokens->size();
    }
    out->encoded.push_back(*std::move(doc));
  }
  usage->prepare_ms += absl::ToDoubleMilliseconds(absl::Now() - start);
  return out;
}

absl::StatusOr<ViewScores> AttentionView::Score(const ViewRequest& request,
                                                const Prepared* prepared,
                                                ViewUsage* usage) const {
  const auto& encoded = static_cast<const EncodedSequences*>(prepared)->encoded;
  std::vector<const network::EncodedDocument*> pointers;
  size_t total_tokens = 0;
  for (size_t i = 0; i < encoded.size(); ++i) {
    pointers.push_back(encoded[i].get());
    total_tokens += request.sequences[i].tokens->size();
  }
  std::vector<scoring::TokenSlice> slices;
  slices.reserve(request.units.size());
  for (const Unit& u : request.units) {
    slices.push_back(
        {request.sequences[u.sequence].tokens, u.token_begin, u.token_end});
  }
  scoring::AttentionViewScorer scorer(
      slices, request.scored, total_tokens, params_,
      request.explain ? request.query : nullptr);
  {
    auto turn = gate_->Take(request.stop, "read-out");
    if (!turn.ok()) return turn.status();
    absl::Status read = model_->VisitQueryTokenRelevance(
        *request.query, pointers,
        [&](const network::QueryTokenMass& group) {
          for (size_t i = 0; i < request.sequences.size(); ++i) {
            if (group.mass[i] == nullptr) continue;
            scorer.AddRows(request.sequences[i].tokens, group.first_query,
                           group.mass[i], group.queries, group.term_weights);
          }
        },
        request.stop);
    if (!read.ok()) return read;
  }
  ViewScores out;
  out.scores = scorer.Scores();
  if (request.explain) {
    out.reasons.resize(request.scored);
    for (size_t u = 0; u < request.scored; ++u) {
      out.reasons[u] = scorer.AttendedTerms(u);
    }
  }
  return out;
}

}  // namespace attnr::views
