#ifndef ATTNR_MODEL_DOCUMENT_ANALYSIS_H_
#define ATTNR_MODEL_DOCUMENT_ANALYSIS_H_

#include <cstddef>
#include <utility>

#include "absl/strings/string_view.h"
#include "model/entities/entity_graph.h"
#include "model/scoring/document_terms.h"
#include "model/text/analyzed_document.h"

namespace attnr {

// Everything derived from a document's text alone, computed once per cached
// document and shared by every view: the text pipeline's result (tokens,
// sentences, exact offsets), the index terms and the entity graph.
struct DocumentAnalysis {
  // `source` is the text `analyzed` was made from (not kept).
  DocumentAnalysis(text::AnalyzedDocument analyzed, absl::string_view source)
      : text(std::move(analyzed)),
        terms(text.tokens),
        entities(entities::EntityGraph::Build(source, text)) {}

  text::AnalyzedDocument text;
  scoring::DocumentTerms terms;
  entities::EntityGraph entities;

  size_t bytes() const {
    return text.bytes() + terms.bytes() + entities.bytes();
  }
};

}  // namespace attnr

#endif  // ATTNR_MODEL_DOCUMENT_ANALYSIS_H_
