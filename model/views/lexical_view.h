#ifndef ATTNR_MODEL_VIEWS_LEXICAL_VIEW_H_
#define ATTNR_MODEL_VIEWS_LEXICAL_VIEW_H_

#include "model/views/scoring_view.h"

namespace attnr::views {

struct Bm25Params {
  double k1 = 1.2;
  double b = 0.75;
};

// The lexical view: Okapi BM25 between the query and each unit, with the
// request's units themselves as the collection (so IDF is "in-document": a
// term frequent in this document says little about where the answer is),
// and the Lucene IDF log(1 + (N - df + 0.5) / (df + 0.5)). Terms come from
// the sequences' DocumentTerms (Snowball stems, stopwords dropped), so the
// request only looks up the query's terms. Reasons: the query words (as the
// query wrote them, lower-cased, each once) whose term occurs in the unit.
class LexicalView : public ScoringView {
 public:
  explicit LexicalView(Bm25Params params = {}) : params_(params) {}

  ViewKind kind() const override { return ViewKind::kLexical; }
  bool neural() const override { return false; }
  absl::StatusOr<std::unique_ptr<const Derived>> Derive(
      const ViewRequest& request, uint64_t budget_tokens,
      ViewUsage* usage) const override {
    return nullptr;  // The terms are part of every document's analysis.
  }
  absl::StatusOr<ViewScores> Score(const ViewRequest& request,
                                   const Derived* derived,
                                   ViewUsage* usage) const override;

 private:
  Bm25Params params_;
};

}  // namespace attnr::views

#endif  // ATTNR_MODEL_VIEWS_LEXICAL_VIEW_H_
