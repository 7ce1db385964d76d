// Files from strangers: every format's header size is read and held against the pixel limit before
// anything decodes (hand-built headers, sizes checked against the numbers written into them),
// transforms refuse outputs over the limit when the chain is built, and the stop flag stops an
// Engine loop within one batch whatever the progress interval.
#include <gtest/gtest.h>

#include <string>

#include "greymatter/data/image_header.h"
#include "greymatter/data/loader.h"
#include "greymatter/data/pixel_limit.h"
#include "greymatter/data/transforms.h"
#include "greymatter/errors.h"
#include "greymatter/models/mnist_net.h"
#include "greymatter/train/engine.h"
#include "greymatter/train/stop.h"

using namespace greymatter::data;

namespace {

const uint8_t* bytes(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

std::string le16(uint32_t v) { return {char(v & 0xFF), char((v >> 8) & 0xFF)}; }
std::string le32(uint32_t v) { return le16(v & 0xFFFF) + le16(v >> 16); }
std::string be16(uint32_t v) { return {char((v >> 8) & 0xFF), char(v & 0xFF)}; }
std::string be32(uint32_t v) { return be16(v >> 16) + be16(v & 0xFFFF); }

std::string jpeg(uint8_t sof, uint32_t w, uint32_t h) {
  std::string s = "\xFF\xD8";
  s += std::string("\xFF", 1) + char(sof) + be16(11) + "\x08" + be16(h) + be16(w) + "\x01\x01" +
       std::string("\x11\x00", 2);
  s += std::string("\xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00", 10) + "\x12\x34";
  return s + "\xFF\xD9";
}

std::string png(uint32_t w, uint32_t h) {
  return std::string("\x89PNG\r\n\x1a\n", 8) + be32(13) + "IHDR" + be32(w) + be32(h) +
         std::string("\x08\x02\x00\x00\x00", 5) + "CRC!" + be32(0) + "IEND" + "CRC!";
}

std::string webp(const std::string& chunk, const std::string& payload) {
  const std::string body = "WEBP" + chunk + le32(uint32_t(payload.size())) + payload;
  return "RIFF" + le32(uint32_t(body.size())) + body;
}

std::string webp_vp8(uint32_t w, uint32_t h) {
  return webp("VP8 ", std::string("\x00\x00\x00\x9D\x01\x2A", 6) + le16(w) + le16(h) +
                          std::string(8, '\0'));
}

std::string webp_vp8l(uint32_t w, uint32_t h) {
  return webp("VP8L", "\x2F" + le32((w - 1) | ((h - 1) << 14)) + std::string(4, '\0'));
}

std::string webp_vp8x(uint32_t w, uint32_t h) {
  const std::string canvas = {char((w - 1) & 0xFF),         char(((w - 1) >> 8) & 0xFF),
                              char(((w - 1) >> 16) & 0xFF), char((h - 1) & 0xFF),
                              char(((h - 1) >> 8) & 0xFF),  char(((h - 1) >> 16) & 0xFF)};
  return webp("VP8X", std::string(4, '\0') + canvas);
}

std::string bmp(int32_t w, int32_t h) {
  return "BM" + le32(54) + le32(0) + le32(54) + le32(40) + le32(uint32_t(w)) + le32(uint32_t(h)) +
         le16(1) + le16(24) + std::string(24, '\0');
}

std::string tiff(bool little, uint32_t w, uint32_t h, bool long_sizes) {
  auto u16 = little ? le16 : be16;
  auto u32 = little ? le32 : be32;
  auto entry = [&](uint32_t tag, uint32_t value) {
    // A SHORT sits in the first two bytes of the 4-byte value field, in the file's byte order.
    return u16(tag) + u16(long_sizes ? 4 : 3) + u32(1) +
           (long_sizes ? u32(value) : u16(value) + std::string(2, '\0'));
  };
  return std::string(little ? "II*\0" : "MM\0*", 4) + u32(8) + u16(3) + entry(256, w) +
         entry(257, h) + entry(258, 8) + u32(0);
}

std::string gif(uint32_t w, uint32_t h) { return "GIF89a" + le16(w) + le16(h) + "\x00\x00\x00;"; }

std::string pnm(const std::string& size) { return "P5\n# a comment\n" + size + "\n255\n" + "xx"; }

// Restores the process-wide limit when a test ends, whatever it set.
struct LimitGuard {
  int64_t saved = max_image_pixels();
  ~LimitGuard() { set_max_image_pixels(saved); }
};

void expect_size(const std::string& file, const char* name, int64_t w, int64_t h) {
  SCOPED_TRACE(name);
  const ImageHeader header = inspect_image(bytes(file), file.size(), name);
  EXPECT_EQ(header.width, w);
  EXPECT_EQ(header.height, h);
}

void expect_refused(const std::string& file, const char* name, const std::string& size_text) {
  SCOPED_TRACE(name);
  try {
    inspect_image(bytes(file), file.size(), name);
    ADD_FAILURE() << "no DataError for " << name;
  } catch (const greymatter::DataError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(name), std::string::npos) << message;
    EXPECT_NE(message.find(size_text), std::string::npos) << message;
    EXPECT_NE(message.find("limit"), std::string::npos) << message;
  }
}

}  // namespace

TEST(PixelLimit, EveryFormatStatesItsSize) {
  expect_size(jpeg(0xC0, 64, 48), "base.jpg", 64, 48);
  expect_size(jpeg(0xC2, 640, 480), "progressive.jpg", 640, 480);
  expect_size(png(300, 200), "a.png", 300, 200);
  expect_size(webp_vp8(123, 45), "lossy.webp", 123, 45);
  expect_size(webp_vp8l(1000, 16384), "lossless.webp", 1000, 16384);
  expect_size(webp_vp8x(70000, 3), "extended.webp", 70000, 3);
  expect_size(bmp(31, -17), "topdown.bmp", 31, 17);
  expect_size(tiff(true, 70000, 9, true), "le.tif", 70000, 9);
  expect_size(tiff(false, 513, 257, false), "be.tif", 513, 257);
  expect_size(gif(640, 480), "a.gif", 640, 480);
  expect_size(pnm("12 34"), "a.pgm", 12, 34);
}

TEST(PixelLimit, HeadersOverTheLimitAreRefusedNamingFileAndSize) {
  ASSERT_EQ(max_image_pixels(), kDefaultMaxImagePixels);  // PIL's Image.MAX_IMAGE_PIXELS
  expect_refused(jpeg(0xC0, 65500, 65500), "bomb.jpg", "65500x65500");
  expect_refused(jpeg(0xC2, 34464, 46341), "progressive.jpg", "34464x46341");
  expect_refused(png(100000, 100000), "bomb.png", "100000x100000");
  expect_refused(webp_vp8(16383, 16383), "lossy.webp", "16383x16383");
  expect_refused(webp_vp8l(16384, 16384), "lossless.webp", "16384x16384");
  expect_refused(webp_vp8x(1 << 24, 1 << 24), "extended.webp", "16777216x16777216");
  expect_refused(bmp(30000, -30000), "bomb.bmp", "30000x30000");
  expect_refused(tiff(false, 0xFFFFFFFFu, 0xFFFFFFFFu, true), "bomb.tif",
                 "4294967295x4294967295 pixels (18446744065119617025)");
  expect_refused(gif(65535, 65535), "bomb.gif", "65535x65535");
  expect_refused(pnm("100000 100000"), "bomb.pgm", "100000x100000");
  // One pixel over PIL's limit is over; the limit itself is not.
  expect_refused(png(kDefaultMaxImagePixels + 1, 1), "edge.png", "89478486x1");
  expect_size(png(kDefaultMaxImagePixels, 1), "edge.png", kDefaultMaxImagePixels, 1);
}

TEST(PixelLimit, RaisingOrRemovingTheLimitLetsLargeHeadersThrough) {
  LimitGuard guard;
  set_max_image_pixels(200);
  expect_refused(png(15, 14), "small.png", "15x14");
  expect_size(png(10, 20), "small.png", 10, 20);
  set_max_image_pixels(0);  // no limit
  expect_size(jpeg(0xC0, 65500, 65500), "big.jpg", 65500, 65500);
  EXPECT_THROW(set_max_image_pixels(-1), greymatter::ConfigError);
}

TEST(PixelLimit, HeadersThatStateNoSizeAreRefused) {
  for (const std::string& file :
       {std::string("BM\0\0", 4), bmp(0, 5), bmp(-3, 5), std::string("II*\0", 4) + le32(8),
        tiff(true, 0, 5, false), std::string("GIF89a"), pnm(""), webp("VP8 ", "short"),
        jpeg(0xC0, 10, 0)})
    EXPECT_THROW(inspect_image(bytes(file), file.size(), "x"), greymatter::DataError);
}

TEST(PixelLimit, TransformsOverTheLimitFailWhenTheChainIsBuilt) {
  auto build = [](const std::string& name, std::vector<int64_t> size) {
    if (name == "Resize") return Pipeline({ResizeOptions{size}}, 3);
    if (name == "CenterCrop") return Pipeline({CenterCropOptions{size}}, 3);
    return Pipeline({RandomResizedCropOptions{size}}, 3);
  };
  for (const char* name : {"Resize", "CenterCrop", "RandomResizedCrop"}) {
    SCOPED_TRACE(name);
    try {
      build(name, {100000, 100000});
      ADD_FAILURE() << "no ConfigError";
    } catch (const greymatter::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("100000"), std::string::npos) << e.what();
    }
    EXPECT_NO_THROW(build(name, {224, 224}));
  }
  EXPECT_THROW(build("Resize", {20000}), greymatter::ConfigError);  // at least 20000x20000
}

TEST(PixelLimit, ShorterSideResizeOfALongImageIsCheckedPerImage) {
  LimitGuard guard;
  set_max_image_pixels(10000);
  const Pipeline chain({ResizeOptions{{50}}}, 1);
  Image wide(2, 1000, 1);  // 50 x 25000 after the resize
  EXPECT_THROW(chain.run_prefix(std::move(wide), {2, 1000}), greymatter::DataError);
  Image square(10, 10, 1);
  EXPECT_EQ(chain.run_prefix(std::move(square), {10, 10}).width, 50);
}

namespace {

// 1000 one-value samples; reading sample `stop_at` requests a stop, as a signal handler would,
// in the middle of building a batch.
class StopAtSource : public Source {
 public:
  explicit StopAtSource(int64_t stop_at) : stop_at_(stop_at) {}
  int64_t size() const override { return 1000; }
  std::vector<int64_t> sample_shape() const override { return {1}; }
  int64_t load(const SampleKey& key, float* out) const override {
    if (key.index == stop_at_) greymatter::train::request_stop();
    out[0] = float(key.index % 7);
    return key.index % 2;
  }

 private:
  int64_t stop_at_;
};

}  // namespace

TEST(StopFlag, StopsEveryLoopAfterTheCurrentBatchWhateverTheProgressInterval) {
  using namespace greymatter::train;
  LoaderOptions options;
  options.batch_size = 10;
  options.num_workers = 0;  // batches built in this thread: the request lands in batch 8
  std::vector<int64_t> all(1000);
  for (int64_t i = 0; i < 1000; ++i) all[size_t(i)] = i;
  Loader loader(std::make_shared<StopAtSource>(75), all, options);
  auto model = std::make_shared<greymatter::models::MNISTNetImpl>(
      greymatter::models::MNISTNetOptions{1, {4}, 2, 0.0});
  Engine engine(model, EngineOptions{}, torch::kCPU);
  int64_t calls = 0;
  const ProgressFn progress = [&](int64_t, int64_t) {
    ++calls;
    return true;  // never asks to stop: only the flag does
  };
  clear_stop();
  const EpochStats trained = engine.train_epoch(loader, 0, progress, 50);
  EXPECT_TRUE(trained.interrupted);
  EXPECT_EQ(trained.batches, 8);
  EXPECT_EQ(engine.optimizer().steps(), 8);
  EXPECT_EQ(calls, 0);  // the progress interval (50) never came round
  clear_stop();
  const EpochStats evaluated = engine.evaluate(loader, progress, 50);
  EXPECT_TRUE(evaluated.interrupted);
  EXPECT_EQ(evaluated.batches, 8);
  clear_stop();
  EXPECT_EQ(engine.predict(loader, progress, 50).labels.size(0), 80);
  clear_stop();
  Loader unstopped(std::make_shared<StopAtSource>(-1), all, options);
  const EpochStats full = engine.evaluate(unstopped, progress, 50);
  EXPECT_FALSE(full.interrupted);
  EXPECT_EQ(full.batches, 100);
  EXPECT_FALSE(stop_requested());
}
