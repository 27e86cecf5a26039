#include "model/scoring/document_terms.h"

#include <algorithm>

#include "model/scoring/term_analyzer.h"

namespace attnr::scoring {

DocumentTerms::DocumentTerms(const std::vector<text::Token>& tokens) {
  TermAnalyzer analyzer;
  // A long document repeats its vocabulary: stem each distinct norm once.
  absl::flat_hash_map<absl::string_view, uint32_t> by_norm;
  terms_before_.reserve(tokens.size() + 1);
  terms_before_.push_back(0);
  for (uint32_t i = 0; i < tokens.size(); ++i) {
    const std::string& norm = tokens[i].norm;
    auto it = by_norm.find(norm);
    uint32_t id;
    if (it != by_norm.end()) {
      id = it->second;
    } else {
      const std::string term = analyzer.Term(norm);
      id = kNoTerm;
      if (!term.empty()) {
        auto [t, inserted] =
            ids_.emplace(term, static_cast<uint32_t>(positions_.size()));
        if (inserted) positions_.emplace_back();
        id = t->second;
      }
      by_norm.emplace(norm, id);
    }
    if (id != kNoTerm) positions_[id].push_back(i);
    terms_before_.push_back(terms_before_.back() + (id != kNoTerm ? 1 : 0));
  }
}

uint32_t DocumentTerms::IdOf(absl::string_view term) const {
  auto it = ids_.find(term);
  return it == ids_.end() ? kNoTerm : it->second;
}

uint32_t DocumentTerms::Count(uint32_t id, uint32_t begin, uint32_t end) const {
  if (id == kNoTerm) return 0;
  const std::vector<uint32_t>& p = positions_[id];
  return static_cast<uint32_t>(std::lower_bound(p.begin(), p.end(), end) -
                               std::lower_bound(p.begin(), p.end(), begin));
}

size_t DocumentTerms::bytes() const {
  size_t n = sizeof(*this) + terms_before_.capacity() * sizeof(uint32_t);
  for (const auto& [term, id] : ids_) {
    n += term.capacity() + sizeof(term) + sizeof(id) + 16;
  }
  for (const auto& p : positions_) {
    n += sizeof(p) + p.capacity() * sizeof(uint32_t);
  }
  return n;
}

}  // namespace attnr::scoring
