#ifndef ATTNR_SERVER_OPENAPI_DOCUMENT_H_
#define ATTNR_SERVER_OPENAPI_DOCUMENT_H_

#include "absl/strings/string_view.h"

namespace attnr::server {

// The OpenAPI 3.1 document of the HTTP gateway (served at /openapi.json):
// every route, request and response body, and the error body. The Python
// package's tests validate it and check real answers against its schemas.
absl::string_view OpenApiDocument();

}  // namespace attnr::server

#endif  // ATTNR_SERVER_OPENAPI_DOCUMENT_H_
