// File reading (POSIX, for exact error causes) and OpenCV decoding with PIL's conversion rules.
#include "greymatter/data/decode.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <utility>

#include "greymatter/errors.h"
#include "jpeg_decode.h"

#ifdef GREYMATTER_WITH_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#endif

namespace greymatter::data {
namespace {

std::string errno_text(int err) {
  if (err == ENOENT) return "does not exist";
  if (err == EACCES || err == EPERM) return "cannot be read: permission denied";
  if (err == EISDIR) return "is a directory, not an image file";
  return std::string("cannot be read: ") + std::strerror(err);
}

// Closes a file descriptor on every path out of read_file.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

void read_file(const std::string& path, std::vector<uint8_t>& bytes) {
  // O_NONBLOCK: opening a FIFO named like an image must not wait for a writer.
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  if (f.fd < 0) throw DataError("'" + path + "' " + errno_text(errno));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw DataError("'" + path + "' " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) throw DataError("'" + path + "' is not a regular file");
  if (st.st_size == 0) throw DataError("'" + path + "' is an empty file (0 bytes)");
  bytes.resize(size_t(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(f.fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw DataError("'" + path + "' " + errno_text(errno));
    if (n == 0) break;  // shrank while reading
    done += size_t(n);
  }
  bytes.resize(done);
  if (done == 0) throw DataError("'" + path + "' is an empty file (0 bytes)");
}

int jpeg_reduction_for(int64_t height, int64_t width, int64_t target_height, int64_t target_width,
                       double margin) {
  if (height <= 0 || width <= 0 || target_height <= 0 || target_width <= 0) return 1;
  for (int r : {8, 4, 2}) {
    // libjpeg's scaled size is ceil(size / r).
    const double h = std::ceil(double(height) / r), w = std::ceil(double(width) / r);
    if (h >= margin * double(target_height) && w >= margin * double(target_width)) return r;
  }
  return 1;
}

#ifdef GREYMATTER_WITH_OPENCV

bool have_image_decoder() { return true; }

namespace {

int jpeg_flags(int components, int reduction) {
  const bool grey = components == 1;
  int flags = grey ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR;
  switch (reduction) {
    case 2:
      flags = grey ? cv::IMREAD_REDUCED_GRAYSCALE_2 : cv::IMREAD_REDUCED_COLOR_2;
      break;
    case 4:
      flags = grey ? cv::IMREAD_REDUCED_GRAYSCALE_4 : cv::IMREAD_REDUCED_COLOR_4;
      break;
    case 8:
      flags = grey ? cv::IMREAD_REDUCED_GRAYSCALE_8 : cv::IMREAD_REDUCED_COLOR_8;
      break;
    default:
      break;
  }
  return flags | cv::IMREAD_IGNORE_ORIENTATION;
}

// 16-bit sample -> 8 bits the way PIL gets there: saturate for grey ("I" -> "L"/"RGB"), high byte
// for colour ("RGB;16B").
inline uint8_t narrow16(uint16_t v, bool saturate) {
  return saturate ? uint8_t(v > 255 ? 255 : v) : uint8_t(v >> 8);
}

// OpenCV's channel order (B, G, R[, A]) or (Y) -> Image (R, G, B) or (L).
template <typename T>
Image to_image(const cv::Mat& m, bool keep_grey_only, bool saturate16) {
  const int cn = m.channels();
  const bool grey_out = cn == 1 || keep_grey_only;
  Image out(m.rows, m.cols, grey_out ? 1 : 3);
  auto to8 = [&](T v) -> uint8_t {
    if constexpr (sizeof(T) == 1)
      return v;
    else
      return narrow16(v, saturate16);
  };
  for (int y = 0; y < m.rows; ++y) {
    const T* src = m.ptr<T>(y);
    uint8_t* dst = out.row(y);
    if (grey_out) {
      for (int x = 0; x < m.cols; ++x)
        dst[x] = to8(src[x * cn]);  // grey, or grey+alpha expanded to B=G=R
    } else {
      for (int x = 0; x < m.cols; ++x) {
        dst[3 * x + 0] = to8(src[cn * x + 2]);
        dst[3 * x + 1] = to8(src[cn * x + 1]);
        dst[3 * x + 2] = to8(src[cn * x + 0]);
      }
    }
  }
  return out;
}

// Swaps B and R in place.
void bgr_to_rgb(Image& im) {
  uint8_t* p = im.pixels.data();
  for (int64_t i = 0, n = im.height * im.width; i < n; ++i, p += 3) std::swap(p[0], p[2]);
}

// A JPEG whose size the header gave decodes straight into the Image's buffer: no second copy.
bool decode_jpeg_in_place(const cv::Mat& encoded, const ImageHeader& header, int reduction,
                          Image& out) {
  const int channels = header.components == 1 ? 1 : 3;
  const auto h = int64_t(std::ceil(double(header.height) / reduction));
  const auto w = int64_t(std::ceil(double(header.width) / reduction));
  out = Image(h, w, channels);
  cv::Mat dst(int(h), int(w), channels == 1 ? CV_8UC1 : CV_8UC3, out.pixels.data());
  cv::imdecode(encoded, jpeg_flags(header.components, reduction), &dst);
  if (dst.empty()) return false;
  if (dst.data != out.pixels.data() || dst.rows != h || dst.cols != w ||
      dst.channels() != channels) {
    out = to_image<uint8_t>(dst, false,
                            false);  // the decoder disagreed with the header: take its result
    return true;
  }
  if (channels == 3) bgr_to_rgb(out);
  return true;
}

}  // namespace

Image decode_image(const uint8_t* data, size_t size, const ImageHeader& header,
                   const std::string& path, int reduction, bool via_opencv) {
#ifdef GREYMATTER_WITH_LIBJPEG
  if (header.format == ImageFormat::kJpeg && !via_opencv) {
    Image out;
    if (decode_jpeg(data, size, reduction, path, out)) return out;
  }
#endif
  const cv::Mat encoded(1, int(size), CV_8U, const_cast<uint8_t*>(data));
  if (header.format == ImageFormat::kJpeg && header.width > 0 && header.height > 0 &&
      (header.components == 1 || header.components == 3)) {
    Image out;
    try {
      if (decode_jpeg_in_place(encoded, header, reduction, out)) return out;
    } catch (const cv::Exception& e) {
      throw DataError("cannot decode '" + path + "' as JPEG: " + e.what());
    }
    throw DataError("cannot decode '" + path +
                    "' as JPEG (corrupt data or an unsupported variant of the format)");
  }
  const int flags = header.format == ImageFormat::kJpeg
                        ? jpeg_flags(header.components, reduction)
                        : cv::IMREAD_UNCHANGED;  // keeps 16 bits and alpha
  cv::Mat m;
  try {
    m = cv::imdecode(encoded, flags);
  } catch (const cv::Exception& e) {
    throw DataError("cannot decode '" + path + "' as " + format_name(header.format) + ": " +
                    e.what());
  }
  if (m.empty())
    throw DataError("cannot decode '" + path + "' as " + format_name(header.format) +
                    " (corrupt data or an unsupported variant of the format)");
  // A grey+alpha PNG arrives as BGRA with B == G == R: keep it one channel, like PIL's "LA" ->
  // "RGB".
  const bool grey_with_alpha = header.format == ImageFormat::kPng && header.components == 2;
  const bool saturate16 = m.channels() == 1;
  switch (m.depth()) {
    case CV_8U:
      return to_image<uint8_t>(m, grey_with_alpha, false);
    case CV_16U:
      return to_image<uint16_t>(m, grey_with_alpha, saturate16);
    default:
      throw DataError(
          "'" + path + "' has " + std::to_string(m.elemSize1() * 8) +
          "-bit samples of a type greymatter does not convert (8- and 16-bit integers only)");
  }
}

#else  // no OpenCV

bool have_image_decoder() { return false; }

Image decode_image(const uint8_t*, size_t, const ImageHeader&, const std::string& path, int, bool) {
  throw ConfigError(
      "this greymatter build has no image decoder (built with GREYMATTER_WITH_OPENCV=OFF), so '" +
      path + "' cannot be read; rebuild with OpenCV installed");
}

#endif

}  // namespace greymatter::data
