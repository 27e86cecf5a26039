#include "model/train/training_corpus.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "model/network/term_keys.h"
#include "model/text/analyzed_document.h"
#include "model/text/tokenizer.h"

namespace attnr::train {

absl::StatusOr<TrainingCorpus> LoadTrainingCorpus(
    const std::string& path, const network::Vocabulary& vocabulary,
    bool with_terms) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const auto json = nlohmann::json::parse(buffer.str(), nullptr, false);
  if (json.is_discarded() || !json.contains("documents") ||
      !json.contains("examples")) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a corpus"));
  }
  TrainingCorpus corpus;
  absl::flat_hash_map<std::string, uint32_t> by_id;
  // Sentence char spans per document, for mapping gold ranges.
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> char_spans;
  for (const auto& d : json["documents"]) {
    const std::string text = d["text"];
    text::AnalyzeOptions options;
    options.max_sentence_tokens = 64;
    auto doc = text::AnalyzeDocument(text, options);
    if (!doc.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": document ", d["id"].get<std::string>(), ": ",
                       doc.status().message()));
    }
    TrainingDocument td;
    td.ids = vocabulary.Ids(doc->tokens, 0,
                            static_cast<uint32_t>(doc->tokens.size()));
    if (with_terms) {
      td.terms = network::TermKeys(doc->tokens, 0,
                                   static_cast<uint32_t>(doc->tokens.size()));
    }
    std::vector<std::pair<uint32_t, uint32_t>> spans;
    for (const text::Sentence& s : doc->sentences) {
      if (s.token_count() == 0) continue;
      td.sentences.emplace_back(s.token_begin, s.token_end);
      spans.emplace_back(s.span.begin_char, s.span.end_char);
    }
    by_id[d["id"].get<std::string>()] =
        static_cast<uint32_t>(corpus.documents.size());
    corpus.documents.push_back(std::move(td));
    char_spans.push_back(std::move(spans));
  }
  for (const auto& e : json["examples"]) {
    auto it = by_id.find(e["doc"].get<std::string>());
    if (it == by_id.end()) continue;
    TrainingExample ex;
    ex.document = it->second;
    const std::string query = e["query"];
    const auto tokens = text::Tokenize(query);
    ex.query_ids =
        vocabulary.Ids(tokens, 0, static_cast<uint32_t>(tokens.size()));
    if (with_terms) {
      ex.query_terms =
          network::TermKeys(tokens, 0, static_cast<uint32_t>(tokens.size()));
    }
    if (ex.query_ids.empty()) continue;
    const auto& spans = char_spans[ex.document];
    for (uint32_t s = 0; s < spans.size(); ++s) {
      for (const auto& g : e["gold"]) {
        const uint32_t gs = g[0], ge = g[1];
        const uint32_t lo = std::max(spans[s].first, gs);
        const uint32_t hi = std::min(spans[s].second, ge);
        const uint32_t overlap = hi > lo ? hi - lo : 0;
        const uint32_t length = spans[s].second - spans[s].first;
        if (overlap > 0 && (2 * overlap >= length || overlap == ge - gs)) {
          ex.gold_sentences.push_back(s);
          break;
        }
      }
    }
    if (!ex.gold_sentences.empty()) corpus.examples.push_back(std::move(ex));
  }
  return corpus;
}

}  // namespace attnr::train
