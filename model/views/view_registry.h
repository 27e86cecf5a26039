#ifndef ATTNR_MODEL_VIEWS_VIEW_REGISTRY_H_
#define ATTNR_MODEL_VIEWS_VIEW_REGISTRY_H_

#include <optional>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace attnr {

// The scoring views the service knows. A view is added here and in the
// table of view_registry.cc (its names and its number in the public API's
// attnr.v1.ScoringView enum), and implemented as a views::ScoringView; no
// other list of views exists.
enum class ViewKind { kLexical, kDense, kEntity, kLlm };

struct ViewInfo {
  ViewKind kind;
  // Upper-case name ("LEXICAL"): logs, errors, model info.
  const char* name;
  // What the CLI, the bench and config comments call it ("lexical").
  const char* cli_name;
  // Its attnr.v1.ScoringView number (the proto enum is not linked into
  // model/, so the edge converts through this number).
  int proto_number;
  // What the view judges, for ModelInfo and --help.
  const char* summary;
  // Runs a neural model (takes ModelGate turns): the server admits calls
  // that use it apart from cheap ones (server/frontend.h).
  bool neural;
};

// Every view, in the order reports list them.
absl::Span<const ViewInfo> AllViews();

const ViewInfo& InfoOf(ViewKind kind);
const char* ViewName(ViewKind kind);

std::optional<ViewKind> ViewFromCliName(absl::string_view cli_name);
std::optional<ViewKind> ViewFromProtoNumber(int number);

}  // namespace attnr

#endif  // ATTNR_MODEL_VIEWS_VIEW_REGISTRY_H_
