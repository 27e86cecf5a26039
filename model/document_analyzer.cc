#include "model/document_analyzer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "model/request_field.h"
#include "model/runtime/digest.h"
#include "model/runtime/limit_error.h"
#include "model/runtime/status_macros.h"
#include "model/text/utf8.h"

namespace attnr {
namespace {

text::AnalyzeOptions AnalyzeOptionsFor(uint32_t passage_tokens,
                                       const TextLimits& limits) {
  text::AnalyzeOptions analyze;
  analyze.max_sentence_tokens = passage_tokens;
  analyze.max_sentence_chars = text::MaxPassageChars(passage_tokens);
  analyze.max_tokens = limits.max_document_tokens;
  analyze.max_sentences = limits.max_document_sentences;
  return analyze;
}

constexpr absl::string_view kRequestTokens = "max_request_tokens";

}  // namespace

absl::Status DocumentAnalyzer::CheckRequestTokens(uint64_t tokens) const {
  if (limits_.max_request_tokens > 0 && tokens > limits_.max_request_tokens) {
    return AtField(
        runtime::LimitError(
            kRequestTokens,
            absl::StrCat(tokens, " tokens in all, over the limit of ",
                         limits_.max_request_tokens,
                         " per request (max_request_tokens)")),
        RequestField::kDocuments);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const DocumentAnalysis>>
DocumentAnalyzer::Analyze(absl::string_view text, const std::string& digest,
                          const text::AnalyzeOptions& options,
                          uint64_t max_tokens, const StopSignal& stop) const {
  // The analysis depends on the text and on the options (sentence cap,
  // limits), so both make the key.
  const std::string key = absl::StrCat(
      digest, ":", options.max_sentence_tokens, ":", options.max_sentence_chars,
      ":", options.max_tokens, ":", options.max_sentences);
  text::AnalyzeOptions capped = options;
  if (max_tokens > 0 &&
      (options.max_tokens == 0 || max_tokens < options.max_tokens)) {
    capped.max_tokens = static_cast<uint32_t>(max_tokens);
    capped.max_tokens_name = kRequestTokens.data();
  }
  return analyses_.GetOrCreate(
      key,
      [&]() -> absl::StatusOr<std::shared_ptr<const DocumentAnalysis>> {
        ASSIGN_OR_RETURN(text::AnalyzedDocument doc,
                         text::AnalyzeDocument(text, capped, stop));
        return std::make_shared<const DocumentAnalysis>(std::move(doc), text);
      },
      stop);
}

absl::StatusOr<DocumentAnalyzer::Documents> DocumentAnalyzer::AnalyzeDocuments(
    const std::vector<DocumentRef>& documents, const RetrieveParams& params,
    views::ViewRequest* request, RetrievalUsage* usage) const {
  const text::AnalyzeOptions analyze =
      AnalyzeOptionsFor(params.max_passage_tokens, limits_);
  text::PassageOptions passage_options;
  passage_options.max_tokens = params.max_passage_tokens;
  passage_options.max_chars = analyze.max_sentence_chars;
  passage_options.overlap_sentences = params.overlap_sentences;
  Documents out;
  out.analyses.reserve(documents.size());
  for (size_t d = 0; d < documents.size(); ++d) {
    std::string digest = runtime::Sha256Hex(documents[d].text);
    // What is left of the request's token budget caps this document's
    // count too, so a request over budget stops at the budget.
    const uint64_t budget = limits_.max_request_tokens;
    const uint64_t left =
        budget == 0 ? 0  // No request limit.
                    : std::max<uint64_t>(budget - usage->document_tokens, 1);
    auto doc = Analyze(documents[d].text, digest, analyze, left, params.stop);
    if (!doc.ok()) {
      if (runtime::ExceededLimit(doc.status()) == std::string(kRequestTokens)) {
        return AtField(
            runtime::LimitError(
                kRequestTokens,
                absl::StrCat("more than ", limits_.max_request_tokens,
                             " tokens in all, over the limit per request "
                             "(max_request_tokens)")),
            RequestField::kDocuments);
      }
      return AtField(doc.status(), RequestField::kDocument,
                     static_cast<int>(d));
    }
    const DocumentAnalysis& analysis = **doc;
    usage->document_tokens += analysis.text.tokens.size();
    RETURN_IF_ERROR(CheckRequestTokens(usage->document_tokens));
    usage->sentences += static_cast<uint32_t>(analysis.text.sentences.size());
    out.passages.push_back(text::BuildPassages(analysis.text, passage_options));
    usage->passages += static_cast<uint32_t>(out.passages.back().size());
    request->sequences.push_back(
        {std::move(digest), documents[d].text, &analysis.text.tokens,
         &analysis.terms, &analysis.text.sentences, &analysis.entities});
    for (const text::PassageBounds& bounds : out.passages.back()) {
      request->units.push_back({static_cast<uint32_t>(d), bounds.token_begin,
                                bounds.token_end, bounds.span.begin_byte,
                                bounds.span.end_byte});
    }
    out.analyses.push_back(*std::move(doc));
    RETURN_IF_ERROR(params.stop.Check("text"));
  }
  request->scored = request->units.size();
  request->stop = params.stop;
  request->explain = params.explain;
  request->explain_sentences = params.explain_sentences;
  return out;
}

absl::StatusOr<DocumentAnalyzer::Context> DocumentAnalyzer::AnalyzeContext(
    const DocumentRef& context, uint32_t passage_tokens, const StopSignal& stop,
    views::ViewRequest* request, RetrievalUsage* usage) const {
  const text::AnalyzeOptions analyze =
      AnalyzeOptionsFor(passage_tokens, limits_);
  std::string digest = runtime::Sha256Hex(context.text);
  auto doc =
      Analyze(context.text, digest, analyze, limits_.max_request_tokens, stop);
  if (!doc.ok()) return AtField(doc.status(), RequestField::kContextText);
  Context out;
  out.analysis = *std::move(doc);
  text::PassageOptions passage_options;
  passage_options.max_tokens = passage_tokens;
  passage_options.max_chars = analyze.max_sentence_chars;
  const DocumentAnalysis& analysis = *out.analysis;
  out.passages = text::BuildPassages(analysis.text, passage_options);
  usage->document_tokens += analysis.text.tokens.size();
  usage->sentences += static_cast<uint32_t>(analysis.text.sentences.size());
  request->sequences.push_back({std::move(digest), context.text,
                                &analysis.text.tokens, &analysis.terms,
                                &analysis.text.sentences, &analysis.entities});
  return out;
}

absl::Status DocumentAnalyzer::AddPassageText(
    absl::string_view text, int index, bool with_entities,
    std::unique_ptr<DocumentAnalysis>* owned, views::ViewRequest* request,
    RetrievalUsage* usage) const {
  if (absl::Status s = text::ValidateUtf8(text); !s.ok()) {
    return AtField(s, RequestField::kPassageText, index);
  }
  // Counted (stopping at the budget) before any token is stored.
  if (const uint64_t limit = limits_.max_request_tokens;
      limit > 0 &&
      usage->document_tokens + text::CountTokens(text, limit + 1) > limit) {
    return AtField(runtime::LimitError(
                       kRequestTokens,
                       absl::StrCat("brings the request over its limit of ",
                                    limit, " tokens (max_request_tokens)")),
                   RequestField::kPassageText, index);
  }
  text::AnalyzedDocument analyzed;
  if (with_entities) {
    auto full = text::AnalyzeDocument(text, {});
    if (!full.ok()) {
      return AtField(full.status(), RequestField::kPassageText, index);
    }
    analyzed = *std::move(full);
  } else {
    analyzed.tokens = text::Tokenize(text);
  }
  *owned = std::make_unique<DocumentAnalysis>(std::move(analyzed), text);
  const auto& tokens = (*owned)->text.tokens;
  usage->document_tokens += tokens.size();
  request->units.push_back({static_cast<uint32_t>(request->sequences.size()), 0,
                            static_cast<uint32_t>(tokens.size()), 0,
                            static_cast<uint32_t>(text.size())});
  request->sequences.push_back({runtime::Sha256Hex(text), text, &tokens,
                                &(*owned)->terms, &(*owned)->text.sentences,
                                &(*owned)->entities});
  return absl::OkStatus();
}

}  // namespace attnr
