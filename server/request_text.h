#ifndef ATTNR_SERVER_REQUEST_TEXT_H_
#define ATTNR_SERVER_REQUEST_TEXT_H_

#include <google/protobuf/io/zero_copy_stream.h>

#include "absl/status/status.h"
#include "proto/attnr/v1/retriever.pb.h"

namespace attnr::server {

// Why a request that failed to parse as its `string`-typed message did:
// INVALID_ARGUMENT naming the first text field that is not UTF-8 and the
// byte offset of the bad sequence ("query: invalid UTF-8 at byte offset 9",
// "documents[0]: ...", "passages[2].text: ..."), found by parsing the same
// bytes (`in`) into the request's wire-compatible mirror with `bytes` text
// fields (server/proto/attnr/server/raw_text.proto). OK when every text
// field is UTF-8 or the bytes are no message at all: the caller then
// reports a malformed message.
absl::Status FindInvalidText(const attnr::v1::RetrieveRequest*,
                             google::protobuf::io::ZeroCopyInputStream* in);
absl::Status FindInvalidText(const attnr::v1::PrepareRequest*,
                             google::protobuf::io::ZeroCopyInputStream* in);
absl::Status FindInvalidText(const attnr::v1::ScoreRequest*,
                             google::protobuf::io::ZeroCopyInputStream* in);
// A request with no text field.
inline absl::Status FindInvalidText(
    const attnr::v1::GetModelInfoRequest*,
    google::protobuf::io::ZeroCopyInputStream*) {
  return absl::OkStatus();
}

}  // namespace attnr::server

#endif  // ATTNR_SERVER_REQUEST_TEXT_H_
