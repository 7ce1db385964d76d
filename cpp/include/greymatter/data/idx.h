// Reader for the IDX format of MNIST / Fashion-MNIST (plain or gzip-compressed).
// Not a dataset: it returns the raw array; data/idx_source.h turns image + label files into one.
#pragma once

#include <torch/types.h>

#include <string>

namespace greymatter::data {

// Reads an IDX file of unsigned bytes (type code 0x08) into a uint8 tensor with the file's dims,
// e.g. (60000, 28, 28) for images or (60000,) for labels. Files ending in ".gz" are decompressed.
// Throws DataError naming the file for a missing file, a wrong magic number, an unsupported
// element type or a truncated body.
torch::Tensor read_idx(const std::string& path);

// Parses an in-memory IDX image; `name` is only used in error messages.
torch::Tensor parse_idx(const std::string& bytes, const std::string& name);

}  // namespace greymatter::data
