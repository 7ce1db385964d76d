#include "greymatter/models/model.h"

#include "greymatter/errors.h"

namespace greymatter::models {

void check_input(const torch::Tensor& x, const std::vector<int64_t>& shape, const std::string& model,
                 const std::string& expected) {
  bool ok = x.dim() == static_cast<int64_t>(shape.size());
  for (size_t d = 0; ok && d < shape.size(); ++d) ok = shape[d] < 0 || x.size(static_cast<int64_t>(d)) == shape[d];
  if (!ok)
    throw ConfigError(model + " expects input of shape " + expected + ", got " + c10::str(x.sizes()));
}

}  // namespace greymatter::models
