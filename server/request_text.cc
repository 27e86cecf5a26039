#include "server/request_text.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "attnr/server/raw_text.pb.h"
#include "model/runtime/status_macros.h"
#include "model/text/utf8.h"

namespace attnr::server {
namespace {

absl::Status CheckUtf8(const std::string& value, absl::string_view field) {
  if (absl::Status s = text::ValidateUtf8(value); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", s.message()));
  }
  return absl::OkStatus();
}

// A document's id and text; the text under the name the retriever gives
// its errors ("documents[0]: ...").
absl::Status CheckDocument(const raw::Document& d, absl::string_view field,
                           absl::string_view text_field) {
  RETURN_IF_ERROR(CheckUtf8(d.id(), absl::StrCat(field, ".id")));
  return CheckUtf8(d.text(), text_field);
}

absl::Status CheckDocuments(
    const google::protobuf::RepeatedPtrField<raw::Document>& documents) {
  for (int i = 0; i < documents.size(); ++i) {
    const std::string field = absl::StrCat("documents[", i, "]");
    RETURN_IF_ERROR(CheckDocument(documents[i], field, field));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status FindInvalidText(const attnr::v1::RetrieveRequest*,
                             google::protobuf::io::ZeroCopyInputStream* in) {
  raw::RetrieveRequest request;
  if (!request.ParseFromZeroCopyStream(in)) return absl::OkStatus();
  RETURN_IF_ERROR(CheckUtf8(request.query(), "query"));
  return CheckDocuments(request.documents());
}

absl::Status FindInvalidText(const attnr::v1::PrepareRequest*,
                             google::protobuf::io::ZeroCopyInputStream* in) {
  raw::PrepareRequest request;
  if (!request.ParseFromZeroCopyStream(in)) return absl::OkStatus();
  return CheckDocuments(request.documents());
}

absl::Status FindInvalidText(const attnr::v1::ScoreRequest*,
                             google::protobuf::io::ZeroCopyInputStream* in) {
  raw::ScoreRequest request;
  if (!request.ParseFromZeroCopyStream(in)) return absl::OkStatus();
  RETURN_IF_ERROR(CheckUtf8(request.query(), "query"));
  for (int i = 0; i < request.passages_size(); ++i) {
    RETURN_IF_ERROR(CheckUtf8(request.passages(i).text(),
                              absl::StrCat("passages[", i, "].text")));
  }
  if (request.has_context()) {
    RETURN_IF_ERROR(
        CheckDocument(request.context(), "context", "context.text"));
  }
  return absl::OkStatus();
}

}  // namespace attnr::server
