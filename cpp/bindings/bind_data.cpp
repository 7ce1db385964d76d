// Data: IDX reading, image folders, transform chains, in-memory and file sources, and the
// prefetching loader. Iteration and decoding release the GIL, so worker threads and other Python
// threads run meanwhile. A transform chain arrives as a list of the steps' options structs
// (ResizeOptions, ...), which greymatter/transforms.py builds.
#include <pybind11/stl.h>

#include <cstring>

#include "bindings.h"
#include "greymatter/data/decode.h"
#include "greymatter/data/idx.h"
#include "greymatter/data/image_file_source.h"
#include "greymatter/data/image_folder.h"
#include "greymatter/data/image_source.h"
#include "greymatter/data/image_tensor_source.h"
#include "greymatter/data/loader.h"
#include "greymatter/data/pixel_limit.h"
#include "greymatter/data/sample_cache.h"
#include "greymatter/data/tensor_source.h"
#include "greymatter/data/transforms.h"
#include "greymatter/errors.h"

namespace greymatter::bindings {

using namespace greymatter::data;

namespace {

using Chain = std::vector<TransformSpec>;

py::list traces_to_python(const std::vector<StepTrace>& traces) {
  py::list out;
  for (const auto& t : traces) out.append(py::make_tuple(t.name, t.params));
  return out;
}

// (H, W, C) or (H, W) uint8 tensor -> Image.
Image image_from_tensor(const torch::Tensor& t) {
  if (t.scalar_type() != torch::kUInt8 || (t.dim() != 2 && t.dim() != 3))
    throw ConfigError("expected a uint8 image tensor (H, W, C) or (H, W), got " +
                      std::string(c10::toString(t.scalar_type())) + " with " +
                      std::to_string(t.dim()) + " dims");
  auto c = t.dim() == 2 ? t.unsqueeze(2).contiguous() : t.contiguous();
  if (c.size(2) != 1 && c.size(2) != 3)
    throw ConfigError("images must have 1 or 3 channels, got " + std::to_string(c.size(2)));
  Image im(c.size(0), c.size(1), c.size(2));
  std::memcpy(im.pixels.data(), c.data_ptr<uint8_t>(), im.pixels.size());
  return im;
}

// The transform steps' options (transform_options.h) and the enums they use.
void bind_transform_options(py::module_& m) {
  py::enum_<Interpolation>(m, "Interpolation", "torchvision's InterpolationMode values supported")
      .value("NEAREST", Interpolation::kNearest)
      .value("BILINEAR", Interpolation::kBilinear)
      .value("BICUBIC", Interpolation::kBicubic);
  bind_options<ToTensorOptions>(m, "ToTensorOptions", "ToTensor: no options");
  bind_options<NormalizeOptions>(m, "NormalizeOptions", "Normalize's mean and std per channel")
      .def_readwrite("mean", &NormalizeOptions::mean)
      .def_readwrite("std", &NormalizeOptions::std);
  bind_options<ResizeOptions>(m, "ResizeOptions", "Resize: size [side] or [h, w]; max_size 0: none")
      .def_readwrite("size", &ResizeOptions::size)
      .def_readwrite("interpolation", &ResizeOptions::interpolation)
      .def_readwrite("max_size", &ResizeOptions::max_size);
  bind_options<CenterCropOptions>(m, "CenterCropOptions", "CenterCrop: size [side] or [h, w]")
      .def_readwrite("size", &CenterCropOptions::size);
  bind_options<RandomResizedCropOptions>(m, "RandomResizedCropOptions",
                                         "RandomResizedCrop: size, scale and ratio ranges")
      .def_readwrite("size", &RandomResizedCropOptions::size)
      .def_readwrite("scale", &RandomResizedCropOptions::scale)
      .def_readwrite("ratio", &RandomResizedCropOptions::ratio)
      .def_readwrite("interpolation", &RandomResizedCropOptions::interpolation);
  bind_options<RandomHorizontalFlipOptions>(m, "RandomHorizontalFlipOptions",
                                            "RandomHorizontalFlip: probability p")
      .def_readwrite("p", &RandomHorizontalFlipOptions::p);
  bind_options<RandomVerticalFlipOptions>(m, "RandomVerticalFlipOptions",
                                          "RandomVerticalFlip: probability p")
      .def_readwrite("p", &RandomVerticalFlipOptions::p);
  bind_options<RandomRotationOptions>(m, "RandomRotationOptions",
                                      "RandomRotation: degrees range, center (x, y) or None, fill")
      .def_readwrite("degrees", &RandomRotationOptions::degrees)
      .def_readwrite("interpolation", &RandomRotationOptions::interpolation)
      .def_readwrite("expand", &RandomRotationOptions::expand)
      .def_readwrite("center", &RandomRotationOptions::center)
      .def_readwrite("fill", &RandomRotationOptions::fill);
  bind_options<ColorJitterOptions>(m, "ColorJitterOptions",
                                   "ColorJitter: factor ranges; None leaves that adjustment off")
      .def_readwrite("brightness", &ColorJitterOptions::brightness)
      .def_readwrite("contrast", &ColorJitterOptions::contrast)
      .def_readwrite("saturation", &ColorJitterOptions::saturation)
      .def_readwrite("hue", &ColorJitterOptions::hue);
  bind_options<GrayscaleOptions>(m, "GrayscaleOptions", "Grayscale: num_output_channels 1 or 3")
      .def_readwrite("num_output_channels", &GrayscaleOptions::num_output_channels);
}

}  // namespace

void bind_data(py::module_& m) {
  bind_transform_options(m);
  m.def("read_idx", &read_idx, py::arg("path"), py::call_guard<py::gil_scoped_release>(),
        "Read an IDX file (optionally .gz) into a uint8 tensor.");

  py::class_<Source, std::shared_ptr<Source>>(m, "Source")
      .def("__len__", &Source::size)
      .def_property_readonly("sample_shape", &Source::sample_shape)
      .def(
          "get",
          [](const Source& s, int64_t index, int64_t epoch, uint64_t seed) {
            torch::Tensor out;
            int64_t label = 0;
            {
              py::gil_scoped_release release;
              out = s.load_tensor(SampleKey{seed, epoch, index}, &label);
            }
            return py::make_tuple(out, label);
          },
          py::arg("index"), py::arg("epoch") = 0, py::arg("seed") = 0);

  py::class_<TensorSource, Source, std::shared_ptr<TensorSource>>(m, "TensorSource")
      .def(py::init<torch::Tensor, torch::Tensor, std::vector<double>, std::vector<double>>(),
           py::arg("images"), py::arg("labels"), py::arg("mean") = std::vector<double>{},
           py::arg("std") = std::vector<double>{})
      .def_property_readonly("images", &TensorSource::images)
      .def_property_readonly("labels", &TensorSource::labels);

  m.def("max_image_pixels", &max_image_pixels,
        "The largest image (width x height) any decode or transform accepts; 0: no limit.");
  m.def("set_max_image_pixels", &set_max_image_pixels, py::arg("pixels"),
        "Sets the process-wide pixel limit (0: no limit).");
  m.def("default_max_image_pixels", [] { return kDefaultMaxImagePixels; });
  m.def("have_image_decoder", &have_image_decoder,
        "Whether this build can decode image files (OpenCV).");
  m.def("default_image_extensions", &default_image_extensions);
  m.def("available_memory_bytes", &available_memory_bytes);
  m.def(
      "scan_image_folder",
      [](const std::string& root, const std::vector<std::string>& extensions, bool allow_empty) {
        FolderScan scan;
        {
          py::gil_scoped_release release;
          scan = scan_image_folder(root, extensions, allow_empty);
        }
        std::vector<std::string> paths;
        std::vector<int64_t> labels;
        for (auto& s : scan.samples) {
          paths.push_back(std::move(s.path));
          labels.push_back(s.label);
        }
        return py::make_tuple(scan.classes, paths, labels, scan.empty_class_folders);
      },
      py::arg("root"), py::arg("extensions"), py::arg("allow_empty") = false,
      "-> (classes, paths, labels, empty class folders), in torchvision's ImageFolder order");
  m.def("check_image_files", &check_image_files, py::arg("paths"), py::arg("threads") = 2,
        py::call_guard<py::gil_scoped_release>(),
        "-> [(index, reason)] for files that cannot be read");
  m.def(
      "read_image",
      [](const std::string& path, int reduction, bool via_opencv) {
        if (reduction != 1 && reduction != 2 && reduction != 4 && reduction != 8)
          throw ConfigError("reduction must be 1, 2, 4 or 8, got " + std::to_string(reduction));
        Image im;
        {
          py::gil_scoped_release release;
          std::vector<uint8_t> bytes;
          read_file(path, bytes);
          const ImageHeader h = inspect_image(bytes.data(), bytes.size(), path);
          im = decode_image(bytes.data(), bytes.size(), h, path, reduction, via_opencv);
        }
        auto out = torch::empty({im.height, im.width, im.channels}, torch::kUInt8);
        std::memcpy(out.data_ptr<uint8_t>(), im.pixels.data(), im.pixels.size());
        return out;
      },
      py::arg("path"), py::arg("reduction") = 1, py::arg("via_opencv") = false,
      "Decode an image file as torchvision's ImageFolder loader sees it: uint8 (H, W, 3) RGB, or "
      "(H, W, 1) for a "
      "grey file (its RGB form repeats that channel). reduction: JPEG DCT scaling 1/2/4/8; "
      "via_opencv: JPEGs "
      "through OpenCV instead of libjpeg directly.");
  m.def(
      "run_transforms",
      [](const torch::Tensor& image, const Chain& chain, int64_t input_channels, uint64_t seed,
         int64_t epoch, int64_t index) {
        const Pipeline pipeline(chain, input_channels);
        Image im = image_from_tensor(image);
        std::vector<StepTrace> trace;
        torch::Tensor out;
        {
          py::gil_scoped_release release;
          const Size2 full{im.height, im.width};
          im = pipeline.run_random(pipeline.run_prefix(std::move(im), full), seed, epoch, index,
                                   &trace);
          out = torch::empty({pipeline.output_channels(), im.height, im.width}, torch::kFloat32);
          pipeline.write(im, out.data_ptr<float>());
        }
        return py::make_tuple(out, traces_to_python(trace));
      },
      py::arg("image"), py::arg("transform"), py::arg("input_channels") = 3, py::arg("seed") = 0,
      py::arg("epoch") = 0, py::arg("index") = 0,
      "Runs a transform chain on one uint8 (H, W, C) image: -> (float CHW tensor, [(step, "
      "params)]).");
  m.def(
      "trace_transforms",
      [](const Chain& chain, int64_t height, int64_t width, int64_t input_channels, uint64_t seed,
         int64_t epoch, int64_t count) {
        const Pipeline pipeline(chain, input_channels);
        std::vector<std::vector<StepTrace>> traces(size_t(std::max<int64_t>(count, 0)));
        {
          py::gil_scoped_release release;
          Image blank(height, width, input_channels);
          std::fill(blank.pixels.begin(), blank.pixels.end(), uint8_t(0));
          for (int64_t i = 0; i < count; ++i)
            pipeline.run_random(pipeline.run_prefix(blank, {height, width}), seed, epoch, i,
                                &traces[size_t(i)]);
        }
        py::list out;
        for (const auto& t : traces) out.append(traces_to_python(t));
        return out;
      },
      py::arg("transform"), py::arg("height"), py::arg("width"), py::arg("input_channels") = 3,
      py::arg("seed") = 0, py::arg("epoch") = 0, py::arg("count") = 1,
      "The random parameters a chain draws for samples 0..count-1 of a height x width image (for "
      "statistics).");
  m.def(
      "check_transforms",
      [](const Chain& chain, int64_t input_channels) {
        const Pipeline pipeline(chain, input_channels);
        return pipeline.describe();
      },
      py::arg("transform"), py::arg("input_channels") = 3,
      "Validates a chain (ConfigError if unsupported).");

  py::class_<ImageSource, Source, std::shared_ptr<ImageSource>>(m, "ImageSource")
      .def_property_readonly("pipeline",
                             [](const ImageSource& s) { return s.pipeline().describe(); })
      .def(
          "trace",
          [](const ImageSource& s, int64_t index, int64_t epoch, uint64_t seed) {
            std::vector<StepTrace> t;
            {
              py::gil_scoped_release release;
              t = s.trace(SampleKey{seed, epoch, index});
            }
            return traces_to_python(t);
          },
          py::arg("index"), py::arg("epoch") = 0, py::arg("seed") = 0,
          "The random parameters drawn for one sample: [(step, params)].")
      .def("skipped", &ImageSource::skipped);

  // Only file sources offer a cache: the DataLoader takes a source without estimate_cache as in
  // memory.
  py::enum_<OnError>(m, "OnError", "What a source does with an unreadable sample")
      .value("RAISE", OnError::kRaise)
      .value("SKIP", OnError::kSkip);
  bind_options<ImageFileOptions>(m, "ImageFileOptions",
                                 "How an ImageFileSource reads files: error policy, reduced decode")
      .def_readwrite("on_error", &ImageFileOptions::on_error)
      .def_readwrite("reduced_decode", &ImageFileOptions::reduced_decode)
      .def_readwrite("reduce_margin", &ImageFileOptions::reduce_margin);
  py::class_<ImageFileSource, ImageSource, std::shared_ptr<ImageFileSource>>(m, "ImageFileSource")
      .def(py::init([](std::vector<std::string> paths, std::vector<int64_t> labels,
                       const Chain& transform, const ImageFileOptions& options) {
             py::gil_scoped_release release;
             return std::make_shared<ImageFileSource>(std::move(paths), std::move(labels),
                                                      transform, options);
           }),
           py::arg("paths"), py::arg("labels"), py::arg("transform"), py::arg("options"))
      .def("path", &ImageFileSource::path, py::arg("index"))
      .def(
          "estimate_cache",
          [](const ImageFileSource& s, const std::vector<int64_t>& indices) {
            CacheEstimate e;
            {
              py::gil_scoped_release release;
              e = s.estimate_cache(indices);
            }
            return py::make_tuple(e.bytes, e.exact);
          },
          py::arg("indices"))
      .def("enable_cache", &ImageFileSource::enable_cache, py::arg("budget_bytes"))
      .def_property_readonly("cache_bytes", &ImageFileSource::cache_bytes)
      .def_property_readonly("cached_samples", &ImageFileSource::cached_samples);

  py::class_<ImageTensorSource, ImageSource, std::shared_ptr<ImageTensorSource>>(
      m, "ImageTensorSource")
      .def(py::init([](torch::Tensor images, torch::Tensor labels, const Chain& transform,
                       std::string what) {
             return std::make_shared<ImageTensorSource>(std::move(images), std::move(labels),
                                                        transform, std::move(what));
           }),
           py::arg("images"), py::arg("labels"), py::arg("transform"), py::arg("what") = "image");

  py::class_<EpochIterator>(m, "EpochIterator")
      .def("__iter__", [](EpochIterator& it) -> EpochIterator& { return it; })
      .def("__len__", &EpochIterator::num_batches)
      .def("__next__", [](EpochIterator& it) {
        std::optional<Batch> batch;
        {
          py::gil_scoped_release release;
          batch = it.next();
        }
        if (!batch) throw py::stop_iteration();
        return py::make_tuple(batch->images, batch->labels);
      });

  py::class_<WeightedSampler, std::shared_ptr<WeightedSampler>>(m, "WeightedSampler")
      .def(py::init<std::vector<double>, int64_t, bool>(), py::arg("weights"),
           py::arg("num_samples"), py::arg("replacement") = true)
      .def_property_readonly("weights", &WeightedSampler::weights)
      .def_property_readonly("num_samples", &WeightedSampler::num_samples)
      .def_property_readonly("replacement", &WeightedSampler::replacement)
      .def("__len__", &WeightedSampler::size)
      .def("draw", &WeightedSampler::draw, py::arg("seed"), py::arg("epoch"),
           "The positions one epoch visits, in order.");
  m.def("balanced_weights", &balanced_weights, py::arg("labels"),
        "Per-sample weights 1 / (count of its label): every class drawn equally often.");

  py::class_<Loader, std::shared_ptr<Loader>>(m, "Loader")
      .def(py::init([](std::shared_ptr<Source> source, std::vector<int64_t> indices,
                       int64_t batch_size, bool shuffle, bool drop_last, uint64_t seed,
                       int64_t num_workers, int64_t prefetch, bool pin_memory,
                       std::shared_ptr<WeightedSampler> sampler) {
             LoaderOptions o;
             o.batch_size = batch_size;
             o.shuffle = shuffle;
             o.drop_last = drop_last;
             o.seed = seed;
             o.num_workers = num_workers;
             o.prefetch = prefetch;
             o.pin_memory = pin_memory;
             return std::make_shared<Loader>(std::move(source), std::move(indices), o,
                                             std::move(sampler));
           }),
           py::arg("source"), py::arg("indices"), py::arg("batch_size") = 64,
           py::arg("shuffle") = false, py::arg("drop_last") = false, py::arg("seed") = 0,
           py::arg("num_workers") = 1, py::arg("prefetch") = 2, py::arg("pin_memory") = false,
           py::arg("sampler") = nullptr)
      .def("__len__", &Loader::num_batches)
      .def_property_readonly("num_samples", &Loader::num_samples)
      .def_property_readonly(
          "sampler",
          [](const Loader& l) { return std::const_pointer_cast<WeightedSampler>(l.sampler()); })
      .def("epoch", &Loader::epoch, py::arg("epoch") = 0,
           "Start one pass; the iterator owns its worker threads.");
}

}  // namespace greymatter::bindings
