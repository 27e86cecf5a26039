#ifndef ATTNR_MODEL_ENTITIES_ENTITY_EXTRACTOR_H_
#define ATTNR_MODEL_ENTITIES_ENTITY_EXTRACTOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "model/text/tokenizer.h"

namespace attnr::entities {

enum class EntityKind : uint8_t {
  kName,        // "Mundlin Garvikan", "Mr. Darcy", "Git"
  kAcronym,     // "GNU", "HTTP2"
  kIdentifier,  // snake_case, camelCase, --flags, paths, dotted names
  kNumber,      // "2026", "3.14"
};

// One mention of an entity in a text: its normalised key and the tokens it
// covers (exact offsets come from the tokens).
struct Mention {
  // Names and acronyms: lower-cased words joined by one space, honorifics
  // and a possessive 's dropped ("Mr. Darcy's" -> "darcy"). Identifiers:
  // the text as written ("--dry-run", "/etc/apt/sources.list").
  std::string key;
  EntityKind kind = EntityKind::kName;
  uint32_t token_begin = 0;  // [begin, end) into the tokens given.
  uint32_t token_end = 0;
  // A one-word name that opens a sentence: capitalised perhaps only
  // because it comes first ("Packages are..."), so a document keeps it only
  // where the same word is capitalised elsewhere too.
  bool sentence_initial = false;
};

// The mentions in `text`, in order. `tokens` are text::Tokenize's tokens of
// `text` and `sentence_starts` the (sorted) indices of the tokens that open
// a sentence. Rules, in the order they claim tokens: identifiers (a token
// with an inner '_' or a lower-to-upper case change; tokens joined without
// spaces by '/', '.', or '::'; a word after "--"), acronyms (two or more
// capitals, no lower-case letter), names (runs of capitalised words joined
// by single spaces or hyphens, through "of"/"de"/"van"/"von" and after
// honorifics and initials; stopwords opening a sentence are not names) and
// numbers (tokens of digits). Month and weekday names are not entities.
std::vector<Mention> ExtractMentions(
    absl::string_view text, absl::Span<const text::Token> tokens,
    absl::Span<const uint32_t> sentence_starts);

}  // namespace attnr::entities

#endif  // ATTNR_MODEL_ENTITIES_ENTITY_EXTRACTOR_H_
