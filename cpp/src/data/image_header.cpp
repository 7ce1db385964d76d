// Signature sniffing and header/structure walks for the formats ImageFolder accepts. JPEG: marker
// segments up to the end-of-image marker, skipping entropy-coded data with memchr. PNG: chunks up
// to IEND. The walk is a linear pass over bytes already in memory, cheap next to decoding them.
// Every format's size is read from its header and held against the pixel limit before the decoder
// sees the file: the size a decoder allocates for is the size its header claims.
#include "greymatter/data/image_header.h"

#include <cstring>

#include "greymatter/data/pixel_limit.h"
#include "greymatter/errors.h"

namespace greymatter::data {
namespace {

uint32_t be16(const uint8_t* p) { return (uint32_t(p[0]) << 8) | p[1]; }
uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
uint32_t le16(const uint8_t* p) { return uint32_t(p[0]) | (uint32_t(p[1]) << 8); }
uint32_t le32(const uint8_t* p) { return le16(p) | (le16(p + 2) << 16); }

[[noreturn]] void truncated(const std::string& path, const char* format,
                            const std::string& detail) {
  throw DataError("'" + path + "' is a truncated " + format + " file (" + detail + ")");
}

[[noreturn]] void malformed(const std::string& path, const char* format,
                            const std::string& detail) {
  throw DataError("'" + path + "' is not a valid " + format + " file (" + detail + ")");
}

bool is_sof(uint8_t m) {
  // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

void walk_jpeg(const uint8_t* d, size_t n, const std::string& path, ImageHeader& h) {
  size_t pos = 2;  // after SOI
  while (true) {
    // libjpeg skips stray bytes before a marker (with a warning); do the same.
    const void* ff = pos < n ? std::memchr(d + pos, 0xFF, n - pos) : nullptr;
    if (ff == nullptr) truncated(path, "JPEG", "the data ends before the end-of-image marker");
    pos = size_t(static_cast<const uint8_t*>(ff) - d);
    while (pos < n && d[pos] == 0xFF) ++pos;  // fill bytes
    if (pos >= n) truncated(path, "JPEG", "the data ends inside a marker");
    const uint8_t marker = d[pos++];
    if (marker == 0xD9) return;                                          // EOI
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no payload
    if (marker == 0x00) continue;  // stuffed byte outside a scan: skip
    if (pos + 2 > n) truncated(path, "JPEG", "the data ends inside a segment header");
    const size_t length = be16(d + pos);
    if (length < 2) malformed(path, "JPEG", "segment of length " + std::to_string(length));
    if (pos + length > n) truncated(path, "JPEG", "the data ends inside a segment");
    if (is_sof(marker) && h.width == 0) {
      if (length < 8) malformed(path, "JPEG", "frame header too short");
      h.height = be16(d + pos + 3);
      h.width = be16(d + pos + 5);
      h.components = d[pos + 7];
      if (h.width == 0) malformed(path, "JPEG", "zero image width");
      // Height 0 defers it to a DNL marker, which libjpeg does not support either.
      if (h.height == 0) malformed(path, "JPEG", "zero image height");
      check_image_pixels(h.width, h.height, path);  // before walking the rest: the size is the news
    }
    pos += length;
    if (marker == 0xDA) {
      if (h.width == 0) malformed(path, "JPEG", "scan data before the frame header");
      // Entropy-coded data: a marker is 0xFF followed by anything but 0x00 (stuffing), 0xFF (fill)
      // or a restart marker.
      while (true) {
        const void* next = pos < n ? std::memchr(d + pos, 0xFF, n - pos) : nullptr;
        if (next == nullptr) truncated(path, "JPEG", "the data ends inside the image data");
        pos = size_t(static_cast<const uint8_t*>(next) - d);
        if (pos + 1 >= n) truncated(path, "JPEG", "the data ends inside the image data");
        const uint8_t b = d[pos + 1];
        if (b == 0x00 || b == 0xFF || (b >= 0xD0 && b <= 0xD7)) {
          pos += (b == 0xFF) ? 1 : 2;
          continue;
        }
        break;  // pos is at the next marker's 0xFF
      }
    }
  }
}

void walk_png(const uint8_t* d, size_t n, const std::string& path, ImageHeader& h) {
  size_t pos = 8;
  bool first = true;
  while (true) {
    if (pos + 8 > n) truncated(path, "PNG", "the data ends before the IEND chunk");
    const size_t length = be32(d + pos);
    const uint8_t* type = d + pos + 4;
    if (length > 0x7FFFFFFFu) malformed(path, "PNG", "chunk length " + std::to_string(length));
    if (pos + 12 + length > n) truncated(path, "PNG", "the data ends inside a chunk");
    if (first) {
      if (std::memcmp(type, "IHDR", 4) != 0 || length != 13)
        malformed(path, "PNG", "first chunk is not IHDR");
      h.width = be32(d + pos + 8);
      h.height = be32(d + pos + 12);
      h.bit_depth = d[pos + 16];
      const uint8_t color_type = d[pos + 17];
      static const int kComponents[7] = {1, 0, 3, 1, 2, 0, 4};  // by PNG colour type
      h.components = color_type <= 6 ? kComponents[color_type] : 0;
      if (h.width == 0 || h.height == 0 || h.components == 0)
        malformed(path, "PNG",
                  "header says " + std::to_string(h.width) + "x" + std::to_string(h.height) +
                      ", colour type " + std::to_string(color_type));
      check_image_pixels(h.width, h.height, path);
      first = false;
    }
    if (std::memcmp(type, "IEND", 4) == 0) return;
    pos += 12 + length;
  }
}

// Reads the next unsigned decimal from a PNM header, skipping whitespace and # comments.
bool pnm_number(const uint8_t* d, size_t n, size_t& pos, int64_t& out) {
  while (pos < n) {
    if (d[pos] == '#') {
      while (pos < n && d[pos] != '\n') ++pos;
    } else if (d[pos] == ' ' || d[pos] == '\t' || d[pos] == '\n' || d[pos] == '\r') {
      ++pos;
    } else {
      break;
    }
  }
  if (pos >= n || d[pos] < '0' || d[pos] > '9') return false;
  out = 0;
  while (pos < n && d[pos] >= '0' && d[pos] <= '9' && out < (int64_t(1) << 40))
    out = out * 10 + (d[pos++] - '0');
  return true;
}

// TIFF: the first image file directory's ImageWidth (256) and ImageLength (257), which is the page
// OpenCV's decoder (libtiff) reads.
void parse_tiff(const uint8_t* d, size_t n, ImageHeader& h) {
  const bool le = d[0] == 'I';
  auto u16 = [&](size_t at) { return le ? le16(d + at) : be16(d + at); };
  auto u32 = [&](size_t at) { return le ? le32(d + at) : be32(d + at); };
  if (n < 8) return;
  const size_t ifd = u32(4);
  if (ifd < 8 || ifd + 2 > n) return;
  const size_t entries = u16(ifd);
  for (size_t i = 0; i < entries; ++i) {
    const size_t at = ifd + 2 + 12 * i;
    if (at + 12 > n) return;
    const uint32_t tag = u16(at), type = u16(at + 2);
    if (tag != 256 && tag != 257) continue;
    int64_t value = 0;
    if (type == 3)  // SHORT: the first two bytes of the value field
      value = u16(at + 8);
    else if (type == 4)  // LONG
      value = u32(at + 8);
    else
      continue;
    (tag == 256 ? h.width : h.height) = value;
  }
}

void parse_webp(const uint8_t* d, size_t n, const std::string& path, ImageHeader& h) {
  if (n >= 30 && std::memcmp(d + 12, "VP8X", 4) == 0) {  // extended: the canvas size
    h.width = 1 + int64_t(d[24] | (d[25] << 8) | (d[26] << 16));
    h.height = 1 + int64_t(d[27] | (d[28] << 8) | (d[29] << 16));
  } else if (n >= 25 && std::memcmp(d + 12, "VP8L", 4) == 0) {  // lossless
    if (d[20] != 0x2F) malformed(path, "WebP", "bad lossless signature");
    const uint32_t bits = le32(d + 21);
    h.width = 1 + int64_t(bits & 0x3FFF);
    h.height = 1 + int64_t((bits >> 14) & 0x3FFF);
  } else if (n >= 30 && std::memcmp(d + 12, "VP8 ", 4) == 0) {  // lossy: the key frame header
    if (d[23] != 0x9D || d[24] != 0x01 || d[25] != 0x2A)
      malformed(path, "WebP", "bad key frame start code");
    h.width = le16(d + 26) & 0x3FFF;
    h.height = le16(d + 28) & 0x3FFF;
  }
}

void parse_other(const uint8_t* d, size_t n, const std::string& path, ImageHeader& h) {
  switch (h.format) {
    case ImageFormat::kBmp:
      if (n >= 26) {
        if (le32(d + 14) == 12) {  // OS/2 core header: 16-bit sizes
          h.width = le16(d + 18);
          h.height = le16(d + 20);
        } else {
          h.width = int32_t(le32(d + 18));
          const int32_t height = int32_t(le32(d + 22));  // negative: rows stored top-down
          h.height = height < 0 ? -int64_t(height) : height;
        }
      }
      break;
    case ImageFormat::kPnm: {
      size_t pos = 2;
      int64_t w = 0, hh = 0;
      if (pnm_number(d, n, pos, w) && pnm_number(d, n, pos, hh)) {
        h.width = w;
        h.height = hh;
      }
      break;
    }
    case ImageFormat::kWebp:
      parse_webp(d, n, path, h);
      break;
    case ImageFormat::kTiff:
      parse_tiff(d, n, h);
      break;
    case ImageFormat::kGif:  // the logical screen
      if (n >= 10) {
        h.width = le16(d + 6);
        h.height = le16(d + 8);
      }
      break;
    default:
      break;
  }
  // A decoder that finds no size in the header would learn it while allocating: refuse instead.
  if (h.width <= 0 || h.height <= 0)
    malformed(path, format_name(h.format),
              "its header states no image size" +
                  (h.width < 0 || h.height < 0
                       ? " (" + std::to_string(h.width) + "x" + std::to_string(h.height) + ")"
                       : std::string()));
  check_image_pixels(h.width, h.height, path);
}

}  // namespace

const char* format_name(ImageFormat f) {
  switch (f) {
    case ImageFormat::kJpeg:
      return "JPEG";
    case ImageFormat::kPng:
      return "PNG";
    case ImageFormat::kBmp:
      return "BMP";
    case ImageFormat::kPnm:
      return "PNM";
    case ImageFormat::kTiff:
      return "TIFF";
    case ImageFormat::kWebp:
      return "WebP";
    case ImageFormat::kGif:
      return "GIF";
    default:
      return "unknown";
  }
}

ImageFormat sniff_format(const uint8_t* d, size_t n) {
  if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return ImageFormat::kJpeg;
  if (n >= 8 && std::memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0) return ImageFormat::kPng;
  if (n >= 2 && d[0] == 'B' && d[1] == 'M') return ImageFormat::kBmp;
  if (n >= 2 && d[0] == 'P' && d[1] >= '1' && d[1] <= '6') return ImageFormat::kPnm;
  if (n >= 4 && (std::memcmp(d, "II*\0", 4) == 0 || std::memcmp(d, "MM\0*", 4) == 0))
    return ImageFormat::kTiff;
  if (n >= 12 && std::memcmp(d, "RIFF", 4) == 0 && std::memcmp(d + 8, "WEBP", 4) == 0)
    return ImageFormat::kWebp;
  if (n >= 6 && (std::memcmp(d, "GIF87a", 6) == 0 || std::memcmp(d, "GIF89a", 6) == 0))
    return ImageFormat::kGif;
  return ImageFormat::kUnknown;
}

ImageHeader inspect_image(const uint8_t* data, size_t size, const std::string& path) {
  if (size == 0) throw DataError("'" + path + "' is an empty file (0 bytes)");
  ImageHeader h;
  h.format = sniff_format(data, size);
  switch (h.format) {
    case ImageFormat::kUnknown:
      throw DataError("'" + path +
                      "' is not an image: its first bytes match no supported format "
                      "(JPEG, PNG, BMP, PPM/PGM, TIFF, WebP)");
    case ImageFormat::kJpeg:
      walk_jpeg(data, size, path, h);
      break;
    case ImageFormat::kPng:
      walk_png(data, size, path, h);
      break;
    default:
      parse_other(data, size, path, h);
  }
  return h;
}

}  // namespace greymatter::data
