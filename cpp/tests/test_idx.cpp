// IDX parsing: round trips through plain and gzip files, and clear errors for bad files.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "greymatter/data/idx.h"
#include "greymatter/errors.h"

using greymatter::DataError;
using greymatter::data::parse_idx;
using greymatter::data::read_idx;

namespace {

std::string idx_bytes(const std::vector<uint32_t>& dims, const std::string& body,
                      unsigned char type = 0x08) {
  std::string s{char(0), char(0), char(type), char(dims.size())};
  for (uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) s.push_back(char((d >> shift) & 0xff));
  return s + body;
}

std::string temp_path(const std::string& name) { return ::testing::TempDir() + "/" + name; }

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

void write_gzip(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Idx, ParsesImagesWithDimsAndValues) {
  std::string body;
  for (int i = 0; i < 2 * 3 * 4; ++i) body.push_back(char(i * 10));
  auto t = parse_idx(idx_bytes({2, 3, 4}, body), "mem");
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(t.scalar_type(), torch::kUInt8);
  EXPECT_EQ(t[1][2][3].item<int>(), 230);
  EXPECT_EQ(t[0][0][1].item<int>(), 10);
}

TEST(Idx, ReadsPlainAndGzipFilesIdentically) {
  const auto bytes = idx_bytes({5}, std::string("\x01\x02\x03\x04\x09", 5));
  write_file(temp_path("labels.idx"), bytes);
  write_gzip(temp_path("labels.idx.gz"), bytes);
  auto plain = read_idx(temp_path("labels.idx"));
  auto gz = read_idx(temp_path("labels.idx.gz"));
  EXPECT_TRUE(plain.equal(gz));
  EXPECT_EQ(gz[4].item<int>(), 9);
}

TEST(Idx, WrongMagicNamesTheFile) {
  write_file(temp_path("bad_magic.idx"), std::string("\x12\x34\x08\x01\x00\x00\x00\x01\x05", 9));
  const auto msg = error_of([] { read_idx(temp_path("bad_magic.idx")); });
  EXPECT_NE(msg.find("bad_magic.idx"), std::string::npos) << msg;
  EXPECT_NE(msg.find("magic"), std::string::npos) << msg;
}

TEST(Idx, TruncatedBodyIsAnErrorWithCounts) {
  write_file(temp_path("short.idx"), idx_bytes({10, 2}, "abc"));
  const auto msg = error_of([] { read_idx(temp_path("short.idx")); });
  EXPECT_NE(msg.find("short.idx"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  EXPECT_NE(msg.find("20 bytes"), std::string::npos) << msg;
}

TEST(Idx, TruncatedHeaderAndUnsupportedTypeAreErrors) {
  EXPECT_NE(
      error_of([] { parse_idx(std::string("\0\0\x08\x03\0\0", 6), "hdr"); }).find("truncated"),
      std::string::npos);
  EXPECT_NE(error_of([] { parse_idx(idx_bytes({1}, "abcd", 0x0D), "float"); }).find("element type"),
            std::string::npos);
}

TEST(Idx, TruncatedGzipStreamIsAnError) {
  const auto bytes = idx_bytes({4096}, std::string(4096, 'x'));
  write_gzip(temp_path("full.gz"), bytes);
  std::ifstream in(temp_path("full.gz"), std::ios::binary);
  std::string gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  write_file(temp_path("cut.idx.gz"), gz.substr(0, gz.size() / 2));
  const auto msg = error_of([] { read_idx(temp_path("cut.idx.gz")); });
  EXPECT_NE(msg.find("cut.idx.gz"), std::string::npos) << msg;
}

TEST(Idx, MissingFileNamesThePath) {
  const auto msg = error_of([] { read_idx("/nonexistent/train-images-idx3-ubyte.gz"); });
  EXPECT_NE(msg.find("/nonexistent/train-images-idx3-ubyte.gz"), std::string::npos) << msg;
}

TEST(Idx, SizesWhoseProductOverflowsAreAnError) {
  // 2^16 four times is 2^64: wrapped to 0 it would match an empty body and allocate 2^64 bytes.
  const auto msg = error_of([] { parse_idx(idx_bytes({65536, 65536, 65536, 65536}, ""), "bomb"); });
  EXPECT_NE(msg.find("bomb"), std::string::npos) << msg;
  EXPECT_NE(msg.find("more elements"), std::string::npos) << msg;
}
