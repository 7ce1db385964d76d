// IDX parsing: big-endian header (0, 0, type, ndims), ndims big-endian uint32 sizes, then the body.
#include "greymatter/data/idx.h"

#include <zlib.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "greymatter/errors.h"

namespace greymatter::data {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string read_gzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) throw DataError("cannot open IDX file '" + path + "'");
  std::string out;
  char chunk[1 << 16];
  int n = 0;
  while ((n = gzread(f, chunk, sizeof(chunk))) > 0) out.append(chunk, static_cast<size_t>(n));
  int errnum = 0;
  const char* msg = gzerror(f, &errnum);
  std::string message = msg ? msg : "";
  gzclose(f);
  // A truncated gzip stream is reported as Z_BUF_ERROR by gzerror after the last read.
  if (n < 0 || (errnum != Z_OK && errnum != Z_STREAM_END))
    throw DataError("IDX file '" + path + "' is not a valid gzip stream (" + message + ")");
  return out;
}

std::string read_plain(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot open IDX file '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uint32_t big_endian_u32(const unsigned char* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

}  // namespace

torch::Tensor parse_idx(const std::string& bytes, const std::string& name) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 4 || p[0] != 0 || p[1] != 0)
    throw DataError("'" + name + "' is not an IDX file (bad magic number)");
  if (p[2] != 0x08)
    throw DataError("'" + name + "' holds IDX element type 0x" + std::to_string(p[2]) +
                    "; only unsigned bytes (0x08) are supported");
  const size_t ndims = p[3];
  if (ndims == 0 || ndims > 4)
    throw DataError("'" + name + "' declares " + std::to_string(ndims) + " dimensions");
  if (bytes.size() < 4 + 4 * ndims) throw DataError("'" + name + "' is truncated (header)");
  std::vector<int64_t> dims(ndims);
  size_t count = 1;
  for (size_t d = 0; d < ndims; ++d) {
    dims[d] = big_endian_u32(p + 4 + 4 * d);
    // Four u32 sizes can overflow the product; wrapped, it would pass the size check below.
    if (__builtin_mul_overflow(count, static_cast<size_t>(dims[d]), &count))
      throw DataError("'" + name + "' declares more elements than can exist");
  }
  const size_t offset = 4 + 4 * ndims;
  if (bytes.size() - offset < count)
    throw DataError("'" + name + "' is truncated: expected " + std::to_string(count) +
                    " bytes of data, found " + std::to_string(bytes.size() - offset));
  auto out = torch::empty(dims, torch::kUInt8);
  std::memcpy(out.data_ptr<uint8_t>(), p + offset, count);
  return out;
}

torch::Tensor read_idx(const std::string& path) {
  return parse_idx(ends_with(path, ".gz") ? read_gzip(path) : read_plain(path), path);
}

}  // namespace greymatter::data
