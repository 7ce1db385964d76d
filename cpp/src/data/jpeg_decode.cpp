// libjpeg reports fatal errors through a callback that must not return: it longjmps back here. Only
// plain C structs live in this frame between setjmp and longjmp, and the C++ exception is thrown
// after libjpeg's state is destroyed, so no destructor is ever skipped.
#include "jpeg_decode.h"

#ifdef GREYMATTER_WITH_LIBJPEG

#include <algorithm>
#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE and size_t declared first

#include <jpeglib.h>

#include "greymatter/errors.h"

namespace greymatter::data {
namespace {

struct ErrorManager {
  jpeg_error_mgr pub;  // first member: libjpeg sees a jpeg_error_mgr*
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void fail(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void ignore_message(j_common_ptr, int) {}

}  // namespace

bool decode_jpeg(const uint8_t* data, size_t size, int reduction, const std::string& path,
                 Image& out) {
  jpeg_decompress_struct cinfo{};
  ErrorManager err{};
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = fail;
  err.pub.emit_message = ignore_message;
  volatile bool handled = true;
  if (setjmp(err.jump) == 0) {
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
    jpeg_read_header(&cinfo, TRUE);
    const int components = cinfo.num_components;
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK ||
        (components != 1 && components != 3)) {
      handled = false;
    } else {
      cinfo.out_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
      cinfo.scale_num = 1;
      cinfo.scale_denom = static_cast<unsigned int>(reduction);
      jpeg_start_decompress(&cinfo);
      out = Image(cinfo.output_height, cinfo.output_width, cinfo.output_components);
      while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW rows[4];
        const auto first = int64_t(cinfo.output_scanline);
        const int n = int(std::min<int64_t>(4, int64_t(cinfo.output_height) - first));
        for (int i = 0; i < n; ++i) rows[i] = out.row(first + i);
        jpeg_read_scanlines(&cinfo, rows, JDIMENSION(n));
      }
      jpeg_finish_decompress(&cinfo);
    }
    jpeg_destroy_decompress(&cinfo);
    return handled;
  }
  jpeg_destroy_decompress(&cinfo);
  throw DataError("cannot decode '" + path + "' as JPEG: " + err.message);
}

}  // namespace greymatter::data

#endif  // GREYMATTER_WITH_LIBJPEG
