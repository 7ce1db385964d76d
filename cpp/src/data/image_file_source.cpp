// ImageFileSource: reading and decoding files for the chain; check_image_files for on_error="skip".
#include "greymatter/data/image_file_source.h"

#include <thread>

#include "greymatter/data/decode.h"
#include "greymatter/data/image_header.h"
#include "greymatter/errors.h"

namespace greymatter::data {
namespace {

// Each worker thread reuses one file buffer; a rare huge file does not pin its memory forever.
std::vector<uint8_t>& file_buffer() {
  thread_local std::vector<uint8_t> bytes;
  if (bytes.capacity() > (size_t(64) << 20)) std::vector<uint8_t>().swap(bytes);
  return bytes;
}

}  // namespace

ImageFileSource::ImageFileSource(std::vector<std::string> paths, std::vector<int64_t> labels,
                                 const std::vector<TransformSpec>& transform,
                                 ImageFileOptions options)
    : ImageSource(std::move(labels), transform, 3,
                  options.on_error),  // files read as PIL's convert("RGB")
      paths_(std::move(paths)),
      options_(options) {
  if (!have_image_decoder())
    throw ConfigError(
        "this greymatter build has no image decoder (it was built with "
        "GREYMATTER_WITH_OPENCV=OFF); "
        "rebuild with OpenCV installed to read image files");
  if (!(options_.reduce_margin >= 1.0))
    throw ConfigError("reduce_margin must be >= 1, got " + std::to_string(options_.reduce_margin));
  if (paths_.size() != size_t(size()))
    throw ConfigError(std::to_string(paths_.size()) + " paths but " + std::to_string(size()) +
                      " labels");
  finish_construction();
}

Image ImageFileSource::read(int64_t index, Size2* full) const {
  const std::string& path = paths_[size_t(index)];
  auto& bytes = file_buffer();
  read_file(path, bytes);
  const ImageHeader h = inspect_image(bytes.data(), bytes.size(), path);
  *full = {h.height, h.width};
  int reduction = 1;
  if (options_.reduced_decode && h.format == ImageFormat::kJpeg && full->height > 0 &&
      full->width > 0) {
    const Size2 target = pipeline_->first_resize_target(*full);
    if (target.height > 0)
      reduction = jpeg_reduction_for(full->height, full->width, target.height, target.width,
                                     options_.reduce_margin);
  }
  Image im = decode_image(bytes.data(), bytes.size(), h, path, reduction);
  if (reduction == 1 || full->height <= 0) *full = {im.height, im.width};
  return im;
}

Size2 ImageFileSource::peek_size(int64_t index) const {
  const std::string& path = paths_[size_t(index)];
  auto& bytes = file_buffer();
  read_file(path, bytes);
  const ImageHeader h = inspect_image(bytes.data(), bytes.size(), path);  // states the size
  return {h.height, h.width};
}

std::vector<std::pair<int64_t, std::string>> check_image_files(
    const std::vector<std::string>& paths, int threads) {
  std::vector<std::string> reasons(paths.size());
  auto work = [&](size_t first, size_t step) {
    std::vector<uint8_t> bytes;
    for (size_t i = first; i < paths.size(); i += step) {
      try {
        read_file(paths[i], bytes);
        inspect_image(bytes.data(), bytes.size(), paths[i]);
      } catch (const DataError& e) {
        reasons[i] = e.what();
      }
    }
  };
  const size_t n = size_t(std::max(1, threads));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < n; ++t) pool.emplace_back(work, t, n);
  work(0, n);
  for (auto& t : pool) t.join();
  std::vector<std::pair<int64_t, std::string>> bad;
  for (size_t i = 0; i < paths.size(); ++i)
    if (!reasons[i].empty()) bad.emplace_back(int64_t(i), reasons[i]);
  return bad;
}

}  // namespace greymatter::data
