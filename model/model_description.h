#ifndef ATTNR_MODEL_MODEL_DESCRIPTION_H_
#define ATTNR_MODEL_MODEL_DESCRIPTION_H_

#include <string>
#include <vector>

#include "model/retrieval_types.h"
#include "model/views/view_runner.h"

namespace attnr {

// What GetModelInfo says of the loaded model: `name` and `version` (the
// server's config), the views `runner` loads with their models and
// digests, the trained weights' digest, the fusion and the views a request
// naming none uses (`default_views`; empty: all).
ModelDescription DescribeModel(const std::string& name,
                               const std::string& version,
                               const views::ViewRunner& runner,
                               const std::vector<ViewKind>& default_views);

}  // namespace attnr

#endif  // ATTNR_MODEL_MODEL_DESCRIPTION_H_
