// ImageFileSource: an ImageSource over image files with labels (an ImageFolder scan, or any list).
// Per sample: read the file -> check its header and stream structure (truncated or non-image files
// fail here, naming the file) -> decode (a JPEG at 1/2 to 1/8 size when the chain starts with a
// Resize far below the file's size) -> the chain. Also the cheap whole-folder check used by
// on_error="skip". Not here: the chain (transforms.h) or the folder scan (image_folder.h).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "greymatter/data/image_source.h"

namespace greymatter::data {

struct ImageFileOptions {
  OnError on_error = OnError::kRaise;
  // JPEG DCT-scaled decoding when the chain starts with a Resize to well below the file's size.
  bool reduced_decode = true;
  // The reduced decode stays at least this many times the Resize target on both sides: 3 keeps the
  // result within a few levels of the full-size decode; 2 is ImageFolder(draft=True).
  double reduce_margin = 3.0;
};

class ImageFileSource : public ImageSource {
 public:
  // Throws ConfigError when the build has no image decoder or the chain is invalid, and DataError
  // naming the file when no sample size can be determined (fixed-size chains need no file).
  ImageFileSource(std::vector<std::string> paths, std::vector<int64_t> labels,
                  const std::vector<TransformSpec>& transform, ImageFileOptions options = {});

  const std::string& path(int64_t i) const { return paths_.at(size_t(i)); }

 protected:
  Image read(int64_t index, Size2* full) const override;
  Size2 peek_size(int64_t index) const override;
  std::string name(int64_t index) const override { return paths_[size_t(index)]; }

 private:
  std::vector<std::string> paths_;
  ImageFileOptions options_;
};

// Reads and checks (header and stream structure, no pixel decoding) each file, on `threads`
// threads. Returns (index, reason) for every file that would fail, in index order.
std::vector<std::pair<int64_t, std::string>> check_image_files(
    const std::vector<std::string>& paths, int threads);

}  // namespace greymatter::data
