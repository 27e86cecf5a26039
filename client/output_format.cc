#include "client/output_format.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"

namespace attnr::client {
namespace {

std::string ViewName(int view) {
  std::string name = attnr::v1::ScoringView_Name(view);
  const std::string prefix = "SCORING_VIEW_";
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

// "lexical 3.2100, dense 0.7712": every fused view's raw score.
std::string ViewScores(const attnr::v1::ScoreBreakdown& b) {
  std::vector<std::string> parts;
  for (const attnr::v1::ViewScore& v : b.view_scores()) {
    parts.push_back(absl::StrFormat(
        "%s %.4f", absl::AsciiStrToLower(ViewName(v.view())), v.score()));
  }
  return absl::StrJoin(parts, ", ");
}

std::string Range(uint32_t begin, uint32_t end) {
  return absl::StrCat("[", begin, ",", end, ")");
}

}  // namespace

absl::StatusOr<std::string> ToJsonLine(const google::protobuf::Message& message,
                                       const nlohmann::ordered_json& qid) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  options.add_whitespace = false;
  std::string json;
  auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot print JSON: ", status.ToString()));
  }
  if (qid.is_null()) return json;
  nlohmann::ordered_json out;
  out["qid"] = qid;
  // Keep the parsed value alive while iterating over it.
  const nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(json);
  for (const auto& [key, value] : parsed.items()) out[key] = value;
  return out.dump();
}

std::string Snippet(const std::string& text, size_t max_chars) {
  std::string out;
  size_t chars = 0;
  bool space = false;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      space = !out.empty();
      ++i;
      continue;
    }
    if (chars + (space ? 1 : 0) >= max_chars) {
      out += "\u2026";
      return out;
    }
    if (space) {
      out.push_back(' ');
      ++chars;
      space = false;
    }
    out.append(text, i, len);
    ++chars;
    i += len;
  }
  return out;
}

std::string FormatRetrieveTable(const std::string& query,
                                const attnr::v1::RetrieveResponse& response) {
  std::string out = absl::StrCat("query: ", query, "\n");
  if (response.passages().empty()) {
    absl::StrAppend(&out, "  (no passage matched)\n");
  } else {
    absl::StrAppend(
        &out, absl::StrFormat("%4s %9s  %-16s %-18s %-18s %s\n", "rank",
                              "score", "document", "chars", "bytes", "text"));
  }
  for (const attnr::v1::Passage& p : response.passages()) {
    std::string doc = p.document_id().empty()
                          ? absl::StrCat("#", p.document_index())
                          : p.document_id();
    if (doc.size() > 16) doc = "\u2026" + doc.substr(doc.size() - 15);
    absl::StrAppend(
        &out, absl::StrFormat(
                  "%4d %9.4f  %-16s %-18s %-18s %s\n", p.rank(), p.score(), doc,
                  Range(p.range().start_char(), p.range().end_char()),
                  Range(p.range().start_byte(), p.range().end_byte()),
                  p.text().empty() ? "" : Snippet(p.text(), 80)));
    if (p.has_breakdown()) {
      const attnr::v1::ScoreBreakdown& b = p.breakdown();
      absl::StrAppend(&out, "     matched: ",
                      b.matched_terms().empty()
                          ? "-"
                          : absl::StrJoin(b.matched_terms(), ", "),
                      "  (", ViewScores(b), ")\n");
    }
  }
  const attnr::v1::Usage& u = response.usage();
  absl::StrAppend(
      &out,
      absl::StrFormat("%d document tokens, %d sentences, %d passages; "
                      "%.1f ms (text %.1f, encode %.1f%s, score %.1f); "
                      "model %s\n",
                      u.document_tokens(), u.sentences(), u.passages(),
                      u.timings().total_ms(), u.timings().text_ms(),
                      u.timings().encode_ms(), u.cache_hit() ? " cached" : "",
                      u.timings().score_ms(), response.model()));
  if (u.unjudged_passages() > 0) {
    absl::StrAppend(&out, u.unjudged_passages(),
                    " passages not judged by the neural views within this "
                    "request's budget (warm the documents with `attnr "
                    "prepare` or --prepare to judge them all)\n");
  }
  if (u.oversized_passages() > 0) {
    absl::StrAppend(&out, u.oversized_passages(),
                    " of them longer than a neural view's window in its own "
                    "tokens (text of symbols): never judged by that view\n");
  }
  return out;
}

std::string FormatSentenceAttention(
    const attnr::v1::RetrieveResponse& response,
    const google::protobuf::RepeatedPtrField<attnr::v1::Document>& documents,
    int max_sentences) {
  std::string out;
  for (const attnr::v1::DocumentExplanation& e : response.explanations()) {
    const int index = static_cast<int>(e.document_index());
    const std::string* text =
        index < documents.size() ? &documents.Get(index).text() : nullptr;
    const std::string name =
        text == nullptr || documents.Get(index).id().empty()
            ? absl::StrCat("#", index)
            : documents.Get(index).id();
    std::vector<const attnr::v1::SentenceExplanation*> read;
    for (const attnr::v1::SentenceExplanation& s : e.sentences()) {
      if (s.has_attention()) read.push_back(&s);
    }
    absl::StrAppend(&out, "attention in ", name, ": ", read.size(), " of ",
                    e.sentences_size(), " sentences read by the LLM");
    if (read.empty()) {
      if (!e.note().empty()) absl::StrAppend(&out, " (", e.note(), ")");
      absl::StrAppend(&out, "\n");
      continue;
    }
    // Highest share first; equal shares in document order.
    std::stable_sort(read.begin(), read.end(),
                     [](const auto* a, const auto* b) {
                       return a->attention() > b->attention();
                     });
    if (static_cast<int>(read.size()) > max_sentences) {
      read.resize(max_sentences);
    }
    absl::StrAppend(
        &out, "; the most attended:\n",
        absl::StrFormat("  %7s  %-18s %s\n", "share", "chars", "sentence"));
    for (const attnr::v1::SentenceExplanation* s : read) {
      const attnr::v1::TextRange& r = s->range();
      std::string sentence;
      if (text != nullptr && r.start_byte() <= r.end_byte() &&
          r.end_byte() <= text->size()) {
        sentence = Snippet(
            text->substr(r.start_byte(), r.end_byte() - r.start_byte()), 80);
      }
      absl::StrAppend(
          &out, absl::StrFormat("  %7.4f  %-18s %s\n", s->attention(),
                                Range(r.start_char(), r.end_char()), sentence));
    }
    if (!e.note().empty()) absl::StrAppend(&out, "  (", e.note(), ")\n");
  }
  return out;
}

std::string FormatScoreTable(const attnr::v1::ScoreResponse& response) {
  std::string out = absl::StrFormat("%5s %9s  %s\n", "index", "score", "range");
  for (const attnr::v1::PassageScore& s : response.scores()) {
    const auto& r = s.range();
    const std::string range =
        r.end_byte() == 0 && r.start_byte() == 0
            ? "(text)"
            : absl::StrCat("chars ", Range(r.start_char(), r.end_char()),
                           " bytes ", Range(r.start_byte(), r.end_byte()));
    absl::StrAppend(
        &out, absl::StrFormat("%5d %9.4f  %s\n", s.index(), s.score(), range));
  }
  absl::StrAppend(&out, "model ", response.model(), "\n");
  return out;
}

std::string FormatModelInfo(const attnr::v1::ModelInfo& info) {
  std::vector<std::string> views, defaults;
  for (int v : info.views()) views.push_back(ViewName(v));
  for (int v : info.default_views()) defaults.push_back(ViewName(v));
  std::string models;
  for (const attnr::v1::LoadedModel& m : info.models()) {
    absl::StrAppend(&models, "model(",
                    absl::AsciiStrToLower(ViewName(m.view())), "): ", m.name(),
                    " sha256 ", m.sha256(), "\n");
  }
  const attnr::v1::Limits& l = info.limits();
  return absl::StrCat(
      "model:       ", info.name(), "/", info.version(), "\n",
      "description: ", info.description(), "\n",
      "views:       ", absl::StrJoin(views, ", "),
      " (default: ", absl::StrJoin(defaults, ", "), ")\n", "weights:     ",
      info.weights_sha256().empty() ? "(none)" : info.weights_sha256(), "\n",
      models, "budget:      ", info.neural_budget_tokens(),
      " new network tokens per view and request (0: none)\n",
      "limits:      ", l.max_documents(), " documents, ",
      l.max_document_tokens(), " tokens/document, ", l.max_request_tokens(),
      " tokens/request, ", l.max_query_tokens(), " tokens/query, ",
      l.max_message_bytes(), " bytes/message\n", "top_k:       default ",
      l.default_top_k(), ", max ", l.max_top_k(), "\n", "passages:    default ",
      l.default_passage_tokens(), " tokens, max ", l.max_passage_tokens(),
      "; overlap max ", l.max_overlap_sentences(), "; score max ",
      l.max_score_passages(), " passages\n");
}

}  // namespace attnr::client
