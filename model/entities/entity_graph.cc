#include "model/entities/entity_graph.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_split.h"

namespace attnr::entities {
namespace {

const std::vector<uint32_t>& Empty() {
  static const auto* empty = new std::vector<uint32_t>();
  return *empty;
}

}  // namespace

EntityGraph EntityGraph::Build(absl::string_view text,
                               const text::AnalyzedDocument& doc) {
  EntityGraph g;
  if (doc.sentences.empty()) return g;
  std::vector<uint32_t> starts;
  starts.reserve(doc.sentences.size());
  for (const text::Sentence& s : doc.sentences) starts.push_back(s.token_begin);
  const std::vector<Mention> mentions =
      ExtractMentions(text, doc.tokens, starts);

  // One-word names seen only opening sentences are dropped.
  absl::flat_hash_set<std::string> inside;
  for (const Mention& m : mentions) {
    if (m.kind == EntityKind::kName && !m.sentence_initial)
      inside.insert(m.key);
  }
  auto sentence_of = [&](uint32_t token) {
    auto it = std::upper_bound(starts.begin(), starts.end(), token);
    return it == starts.begin()
               ? 0u
               : static_cast<uint32_t>(it - starts.begin()) - 1;
  };
  g.entities_of_.resize(doc.sentences.size());
  for (const Mention& m : mentions) {
    if (m.sentence_initial && !inside.contains(m.key)) continue;
    auto [it, added] =
        g.id_of_.try_emplace(m.key, static_cast<uint32_t>(g.keys_.size()));
    if (added) {
      g.keys_.push_back(m.key);
      const text::TextSpan& a = doc.tokens[m.token_begin].span;
      const text::TextSpan& b = doc.tokens[m.token_end - 1].span;
      g.displays_.emplace_back(
          text.substr(a.begin_byte, b.end_byte - a.begin_byte));
      g.kinds_.push_back(m.kind);
      g.sentences_of_.emplace_back();
    }
    const uint32_t id = it->second;
    const uint32_t sentence = sentence_of(m.token_begin);
    auto& sentences = g.sentences_of_[id];
    if (sentences.empty() || sentences.back() != sentence) {
      sentences.push_back(sentence);
    }
    auto& entities = g.entities_of_[sentence];
    if (std::find(entities.begin(), entities.end(), id) == entities.end()) {
      entities.push_back(id);
    }
  }

  // Aliases: a one-word name that opens or closes exactly one longer name.
  absl::flat_hash_map<std::string, std::vector<uint32_t>> longer;
  for (uint32_t id = 0; id < g.keys_.size(); ++id) {
    if (g.kinds_[id] != EntityKind::kName) continue;
    std::vector<absl::string_view> words = absl::StrSplit(g.keys_[id], ' ');
    if (words.size() < 2) continue;
    longer[std::string(words.front())].push_back(id);
    if (words.back() != words.front()) {
      longer[std::string(words.back())].push_back(id);
    }
  }
  for (uint32_t id = 0; id < g.keys_.size(); ++id) {
    if (g.kinds_[id] != EntityKind::kName) continue;
    auto it = longer.find(g.keys_[id]);
    if (it == longer.end() || it->second.size() != 1) continue;
    // The one-word entity's sentences join the longer one's; its key then
    // names the longer entity.
    const uint32_t target = it->second.front();
    for (uint32_t sentence : g.sentences_of_[id]) {
      auto& into = g.sentences_of_[target];
      into.insert(std::upper_bound(into.begin(), into.end(), sentence),
                  sentence);
      into.erase(std::unique(into.begin(), into.end()), into.end());
      auto& entities = g.entities_of_[sentence];
      std::replace(entities.begin(), entities.end(), id, target);
      std::sort(entities.begin(), entities.end());
      entities.erase(std::unique(entities.begin(), entities.end()),
                     entities.end());
    }
    g.sentences_of_[id].clear();
    g.id_of_[g.keys_[id]] = target;
  }
  return g;
}

const std::vector<uint32_t>& EntityGraph::entities_of(uint32_t sentence) const {
  return sentence < entities_of_.size() ? entities_of_[sentence] : Empty();
}

std::optional<uint32_t> EntityGraph::Find(absl::string_view key) const {
  auto it = id_of_.find(key);
  if (it == id_of_.end()) return std::nullopt;
  return it->second;
}

size_t EntityGraph::bytes() const {
  size_t n = sizeof(*this);
  for (size_t i = 0; i < keys_.size(); ++i) {
    n += 2 * keys_[i].capacity() + displays_[i].capacity() +
         sentences_of_[i].capacity() * 4 + 48;
  }
  for (const auto& e : entities_of_) n += sizeof(e) + e.capacity() * 4;
  return n;
}

std::vector<uint32_t> QueryEntities(absl::string_view query,
                                    absl::Span<const text::Token> tokens,
                                    const EntityGraph& graph) {
  const uint32_t start = 0;
  std::vector<uint32_t> out;
  for (const Mention& m :
       ExtractMentions(query, tokens, absl::MakeConstSpan(&start, 1))) {
    if (m.kind == EntityKind::kNumber) continue;
    std::optional<uint32_t> id = graph.Find(m.key);
    if (id.has_value() && std::find(out.begin(), out.end(), *id) == out.end()) {
      out.push_back(*id);
    }
  }
  return out;
}

}  // namespace attnr::entities
