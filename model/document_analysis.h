#ifndef ATTNR_MODEL_DOCUMENT_ANALYSIS_H_
#define ATTNR_MODEL_DOCUMENT_ANALYSIS_H_

#include <cstddef>
#include <utility>

#include "model/scoring/document_terms.h"
#include "model/text/analyzed_document.h"

namespace attnr {

// Everything derived from a document's text alone, computed once per cached
// document and shared by every view: the text pipeline's result (tokens,
// sentences, exact offsets) and the index terms.
struct DocumentAnalysis {
  explicit DocumentAnalysis(text::AnalyzedDocument analyzed)
      : text(std::move(analyzed)), terms(text.tokens) {}

  text::AnalyzedDocument text;
  scoring::DocumentTerms terms;

  size_t bytes() const { return text.bytes() + terms.bytes(); }
};

}  // namespace attnr

#endif  // ATTNR_MODEL_DOCUMENT_ANALYSIS_H_
