#ifndef ATTNR_SERVER_WEB_ASSETS_H_
#define ATTNR_SERVER_WEB_ASSETS_H_

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace attnr::server {

// A static file of the playground page (client/web/), served by the HTTP
// gateway at `path` ("/" is index.html).
struct WebAsset {
  absl::string_view path;
  absl::string_view content_type;
  absl::string_view body;
};

// Every asset, embedded in the binary at build time
// (cmake/embed_web_assets.cmake): the page works offline and needs no
// installed files.
absl::Span<const WebAsset> WebAssets();

}  // namespace attnr::server

#endif  // ATTNR_SERVER_WEB_ASSETS_H_
