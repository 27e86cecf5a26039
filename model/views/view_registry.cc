#include "model/views/view_registry.h"

#include <cstdlib>

namespace attnr {
namespace {

constexpr ViewInfo kViews[] = {
    {ViewKind::kLexical, "LEXICAL", "lexical", 1,
     "in-document BM25 over stemmed terms", false},
    {ViewKind::kDense, "DENSE", "dense", 4,
     "cosine between pretrained sentence embeddings of query and passage",
     true},
    {ViewKind::kEntity, "ENTITY", "entity", 3,
     "entity overlap with the query and the entity-graph scope", false},
    {ViewKind::kLlm, "LLM", "llm", 5,
     "attention of a pretrained decoder LLM's question over the passages it "
     "read, through a trained read-out",
     true},
};

}  // namespace

absl::Span<const ViewInfo> AllViews() { return kViews; }

const ViewInfo& InfoOf(ViewKind kind) {
  for (const ViewInfo& v : kViews) {
    if (v.kind == kind) return v;
  }
  std::abort();  // Every enumerator has a row (view_registry_test checks).
}

const char* ViewName(ViewKind kind) { return InfoOf(kind).name; }

std::optional<ViewKind> ViewFromCliName(absl::string_view cli_name) {
  for (const ViewInfo& v : kViews) {
    if (cli_name == v.cli_name) return v.kind;
  }
  return std::nullopt;
}

std::optional<ViewKind> ViewFromProtoNumber(int number) {
  for (const ViewInfo& v : kViews) {
    if (v.proto_number == number) return v.kind;
  }
  return std::nullopt;
}

}  // namespace attnr
