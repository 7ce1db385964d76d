// Image pipeline pieces without Python: the fixed-point resampler against a naive floating-point
// reference, header walks on synthetic JPEG/PNG streams (sizes, truncation anywhere), crop padding,
// rotation shortcuts, chain validation, and the loader leaving skipped samples out of batches.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "greymatter/data/color.h"
#include "greymatter/data/geometry.h"
#include "greymatter/data/image_header.h"
#include "greymatter/data/loader.h"
#include "greymatter/data/resample.h"
#include "greymatter/data/transforms.h"
#include "greymatter/errors.h"

using namespace greymatter::data;

namespace {

Image random_image(int64_t h, int64_t w, int64_t c, uint32_t seed) {
  std::mt19937 gen(seed);
  Image im(h, w, c);
  for (auto& p : im.pixels) p = uint8_t(gen() & 0xFF);
  return im;
}

// The definition, in double precision with no intermediate rounding: each output pixel is the
// normalised triangle-weighted sum over the source window (support scaled by the downscale factor).
std::vector<double> naive_weights(int64_t in, int64_t out, int64_t o, int64_t& first) {
  const double scale = double(in) / out, fs = std::max(scale, 1.0), center = (o + 0.5) * scale;
  first = std::max<int64_t>(0, int64_t(center - fs + 0.5));
  const int64_t last = std::min<int64_t>(in, int64_t(center + fs + 0.5));
  std::vector<double> w;
  double sum = 0;
  for (int64_t x = first; x < last; ++x) {
    w.push_back(std::max(0.0, 1.0 - std::fabs((x - center + 0.5) / fs)));
    sum += w.back();
  }
  for (auto& v : w) v /= sum;
  return w;
}

Image naive_bilinear(const Image& im, int64_t oh, int64_t ow) {
  Image out(oh, ow, im.channels);
  for (int64_t y = 0; y < oh; ++y) {
    int64_t y0 = 0;
    const auto wy = naive_weights(im.height, oh, y, y0);
    for (int64_t x = 0; x < ow; ++x) {
      int64_t x0 = 0;
      const auto wx = naive_weights(im.width, ow, x, x0);
      for (int64_t c = 0; c < im.channels; ++c) {
        double acc = 0;
        for (size_t j = 0; j < wy.size(); ++j)
          for (size_t i = 0; i < wx.size(); ++i)
            acc += wy[j] * wx[i] * im.row(y0 + int64_t(j))[(x0 + int64_t(i)) * im.channels + c];
        out.row(y)[x * im.channels + c] = uint8_t(std::clamp(std::lround(acc), 0l, 255l));
      }
    }
  }
  return out;
}

std::string jpeg_stream() {
  std::string s = "\xFF\xD8";                                              // SOI
  s += std::string("\xFF\xE0\x00\x06JF", 6) + std::string("\x00\x00", 2);  // APP0, 4 payload bytes
  s += std::string("\xFF\xC0\x00\x0B\x08\x00\x30\x00\x40\x01\x01\x11\x00",
                   13);                                              // SOF0: 48 x 64, 1 component
  s += std::string("\xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00", 10);  // SOS
  s += std::string("\x12\xFF\x00\x34\xFF\xD0\x56\xFF\xFF\x00\x78",
                   11);  // data with stuffing, RST0, fill
  s += "\xFF\xD9";       // EOI
  return s;
}

const uint8_t* bytes(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

class SkippingSource : public Source {
 public:
  int64_t size() const override { return 10; }
  std::vector<int64_t> sample_shape() const override { return {1, 1, 1}; }
  int64_t load(const SampleKey& key, float* out) const override {
    if (key.index % 3 == 0) return kSkipped;  // 0, 3, 6, 9
    out[0] = float(key.index);
    return key.index;
  }
};

}  // namespace

TEST(Resample, FixedPointStaysWithinOneLevelOfTheDefinition) {
  for (auto [h, w, oh, ow] :
       std::vector<std::array<int64_t, 4>>{{40, 50, 13, 17}, {16, 16, 40, 33}, {9, 31, 9, 4}}) {
    const Image im = random_image(h, w, 3, uint32_t(h * w));
    const Image fast = resize(ImageView(im), oh, ow, Interpolation::kBilinear);
    const Image slow = naive_bilinear(im, oh, ow);
    ASSERT_EQ(fast.pixels.size(), slow.pixels.size());
    int worst = 0;
    for (size_t i = 0; i < fast.pixels.size(); ++i)
      worst = std::max(worst, std::abs(int(fast.pixels[i]) - slow.pixels[i]));
    EXPECT_LE(worst, 1) << h << "x" << w << " -> " << oh << "x" << ow;
  }
}

TEST(Resample, ConstantImagesStayConstantAndViewsCrop) {
  Image flat(30, 20, 1);
  std::fill(flat.pixels.begin(), flat.pixels.end(), 77);
  for (auto mode : {Interpolation::kBilinear, Interpolation::kBicubic, Interpolation::kNearest}) {
    const Image out = resize(ImageView(flat), 7, 45, mode);
    for (uint8_t v : out.pixels) EXPECT_EQ(v, 77);
  }
  const Image im = random_image(10, 10, 3, 1);
  const Image same =
      resize(ImageView(im, 2, 3, 4, 5), 4, 5, Interpolation::kBilinear);  // identity on a view
  EXPECT_EQ(same.pixels, crop(im, 2, 3, 4, 5).pixels);
}

TEST(ImageHeader, JpegSizeAndEveryTruncationIsCaught) {
  const std::string s = jpeg_stream();
  const ImageHeader h = inspect_image(bytes(s), s.size(), "x.jpg");
  EXPECT_EQ(h.format, ImageFormat::kJpeg);
  EXPECT_EQ(h.height, 48);
  EXPECT_EQ(h.width, 64);
  EXPECT_EQ(h.components, 1);
  for (size_t cut = 3; cut < s.size(); ++cut)
    EXPECT_THROW(inspect_image(bytes(s), cut, "x.jpg"), greymatter::DataError) << "cut at " << cut;
  EXPECT_NO_THROW(
      inspect_image(bytes(s + "trailing junk"), s.size() + 13, "x.jpg"));  // PIL ignores it too
}

TEST(ImageHeader, PngChunksAndUnknownData) {
  std::string png = "\x89PNG\r\n\x1a\n";
  png +=
      std::string("\x00\x00\x00\x0DIHDR\x00\x00\x00\x05\x00\x00\x00\x07\x08\x06\x00\x00\x00", 21) +
      "CRC!";
  png += std::string("\x00\x00\x00\x00IEND", 8) + "CRC!";
  const ImageHeader h = inspect_image(bytes(png), png.size(), "x.png");
  EXPECT_EQ(h.width, 5);
  EXPECT_EQ(h.height, 7);
  EXPECT_EQ(h.components, 4);
  EXPECT_THROW(inspect_image(bytes(png), png.size() - 5, "x.png"), greymatter::DataError);
  const std::string text = "hello, I am not an image";
  try {
    inspect_image(bytes(text), text.size(), "notes.jpg");
    FAIL();
  } catch (const greymatter::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("notes.jpg"), std::string::npos);
  }
  EXPECT_THROW(inspect_image(bytes(text), 0, "empty.jpg"), greymatter::DataError);
}

TEST(Geometry, CropOutsideIsZeroAndQuarterTurnsAreExact) {
  const Image im = random_image(4, 4, 1, 2);
  const Image padded = crop(im, -1, -2, 6, 8);
  EXPECT_EQ(padded.row(0)[0], 0);
  EXPECT_EQ(padded.row(1)[2], im.row(0)[0]);
  EXPECT_EQ(padded.row(5)[7], 0);
  const Image turned = rotate_nearest(im, 90, 2, 2, true, {0});
  EXPECT_EQ(turned.row(0)[0], im.row(0)[3]);  // counter-clockwise: top-right comes to top-left
  const Image back =
      rotate_nearest(rotate_nearest(im, 180, 2, 2, true, {0}), -180, 2, 2, true, {0});
  EXPECT_EQ(back.pixels, im.pixels);
}

TEST(Color, GreyImagesMatchTheirRgbForm) {
  const Image grey = random_image(5, 6, 1, 3);
  Image rgb(5, 6, 3);
  for (size_t i = 0; i < grey.pixels.size(); ++i)
    rgb.pixels[3 * i] = rgb.pixels[3 * i + 1] = rgb.pixels[3 * i + 2] = grey.pixels[i];
  EXPECT_EQ(to_grey(rgb).pixels, grey.pixels);
  const Image a = adjust_contrast(grey, 1.7f), b = to_grey(adjust_contrast(rgb, 1.7f));
  EXPECT_EQ(a.pixels, b.pixels);
  EXPECT_EQ(to_grey(adjust_saturation(rgb, 0.3f)).pixels, grey.pixels);
}

TEST(Color, TabulatedHueEqualsPixelByPixelOnEveryColour) {
  Image all(4096, 4096, 3);  // every 24-bit colour once
  for (uint32_t i = 0; i < (1u << 24); ++i) {
    all.pixels[3 * i] = uint8_t(i >> 16);
    all.pixels[3 * i + 1] = uint8_t(i >> 8);
    all.pixels[3 * i + 2] = uint8_t(i);
  }
  for (double hue : {-0.5, -0.13, 0.0, 0.27})
    EXPECT_EQ(adjust_hue(all, hue).pixels, adjust_hue_reference(all, hue).pixels);
}

TEST(Pipeline, ShapesAndValidation) {
  const Pipeline p({ResizeOptions{{32}}, CenterCropOptions{{30, 20}}, ToTensorOptions{}}, 3);
  EXPECT_TRUE(p.output_size_fixed());
  EXPECT_EQ(p.output_size({100, 200}), (Size2{30, 20}));
  EXPECT_FALSE(p.has_random_steps());
  const Pipeline q({ResizeOptions{{32}}, RandomHorizontalFlipOptions{}}, 3);
  EXPECT_FALSE(q.output_size_fixed());
  EXPECT_EQ(q.output_size({100, 200}), (Size2{32, 64}));
  EXPECT_EQ(q.prefix_output_size({200, 100}), (Size2{64, 32}));
  EXPECT_THROW(Pipeline({GrayscaleOptions{2}}, 3), greymatter::ConfigError);
  EXPECT_THROW(Pipeline({NormalizeOptions{{0.5}, {0.5}}}, 3), greymatter::ConfigError);
  EXPECT_THROW(Pipeline({ToTensorOptions{}, ResizeOptions{{3}}}, 3), greymatter::ConfigError);
  EXPECT_THROW(Pipeline({ResizeOptions{{0}}}, 3), greymatter::ConfigError);
  EXPECT_THROW(Pipeline({ResizeOptions{{32, 32}, Interpolation::kBilinear, 40}}, 3),
               greymatter::ConfigError);
  RandomRotationOptions backwards;
  backwards.degrees = {10.0, -10.0};
  EXPECT_THROW(Pipeline({backwards}, 3), greymatter::ConfigError);
  RandomRotationOptions bilinear;
  bilinear.interpolation = Interpolation::kBilinear;
  EXPECT_THROW(Pipeline({bilinear}, 3), greymatter::ConfigError);
  ColorJitterOptions hue;
  hue.hue = Range{-0.7, 0.0};
  EXPECT_THROW(Pipeline({hue}, 3), greymatter::ConfigError);
  // max_size can shrink the shorter side of a very long image to nothing: an error, as in PIL
  const Pipeline thin({ResizeOptions{{4}, Interpolation::kBilinear, 10}}, 3);
  EXPECT_THROW(thin.run_prefix(Image(2, 400, 3), {2, 400}), greymatter::DataError);
}

TEST(Pipeline, TransformNamesAreTorchvisionClassNames) {
  EXPECT_STREQ(transform_name(ResizeOptions{}), "Resize");
  EXPECT_STREQ(transform_name(RandomVerticalFlipOptions{}), "RandomVerticalFlip");
  EXPECT_STREQ(transform_name(GrayscaleOptions{}), "Grayscale");
}

TEST(Loader, SkippedSamplesAreLeftOutOfTheirBatches) {
  LoaderOptions o;
  o.batch_size = 3;
  o.num_workers = 2;
  Loader loader(std::make_shared<SkippingSource>(), {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, o);
  auto it = loader.epoch(0);
  std::vector<int64_t> labels;
  std::vector<int64_t> sizes;
  while (auto b = it->next()) {
    sizes.push_back(b->labels.size(0));
    for (int64_t i = 0; i < b->labels.size(0); ++i) {
      labels.push_back(b->labels[i].item<int64_t>());
      EXPECT_EQ(b->images[i][0][0][0].item<float>(), float(labels.back()));
    }
  }
  EXPECT_EQ(labels, (std::vector<int64_t>{1, 2, 4, 5, 7, 8}));
  EXPECT_EQ(sizes,
            (std::vector<int64_t>{2, 2, 2}));  // the last batch ({9}) was all skipped: not returned
}
