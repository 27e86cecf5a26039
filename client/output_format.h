#ifndef ATTNR_CLIENT_OUTPUT_FORMAT_H_
#define ATTNR_CLIENT_OUTPUT_FORMAT_H_

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "proto/attnr/v1/retriever.pb.h"

namespace attnr::client {

// One JSON line for `message` in protobuf's JSON mapping, with proto field
// names preserved and default values printed (so consumers see every field),
// preceded by "qid" when `qid` is not null.
absl::StatusOr<std::string> ToJsonLine(const google::protobuf::Message& message,
                                       const nlohmann::ordered_json& qid);

// Human-readable ranked table: rank, score, document, ranges and a snippet.
std::string FormatRetrieveTable(const std::string& query,
                                const attnr::v1::RetrieveResponse& response);
// Per document of `response.explanations`: the `max_sentences` sentences
// the question attended to most (share, code point range, text sliced from
// `documents`, the request's), and the explanation's note.
std::string FormatSentenceAttention(
    const attnr::v1::RetrieveResponse& response,
    const google::protobuf::RepeatedPtrField<attnr::v1::Document>& documents,
    int max_sentences = 5);
std::string FormatScoreTable(const attnr::v1::ScoreResponse& response);
std::string FormatModelInfo(const attnr::v1::ModelInfo& info);

// The first `max_chars` code points of `text` on one line (whitespace runs
// collapsed), with an ellipsis when cut.
std::string Snippet(const std::string& text, size_t max_chars);

}  // namespace attnr::client

#endif  // ATTNR_CLIENT_OUTPUT_FORMAT_H_
