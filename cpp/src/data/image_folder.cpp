// Folder scan with std::filesystem, reproducing torchvision's ordering: class folders sorted by
// name; within a class, directories visited in sorted-path order (sorted(os.walk(...))) and files
// in sorted-name order. Symlinked directories are followed once (a link cycle cannot loop forever).
#include "greymatter/data/image_folder.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <utility>

#include "greymatter/errors.h"

namespace greymatter::data {
namespace fs = std::filesystem;
namespace {

bool hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

bool accepted(const std::string& name, const std::vector<std::string>& lowered_exts) {
  const std::string n = lower(name);
  for (const auto& e : lowered_exts)
    if (n.size() >= e.size() && n.compare(n.size() - e.size(), e.size(), e) == 0) return true;
  return false;
}

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);  // follows symlinks, false on error (a broken link is a "file")
}

// Lists a directory, turning permission and I/O errors into DataError naming it.
std::vector<fs::path> list_dir(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  if (ec) throw DataError("cannot list folder '" + dir.string() + "': " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) throw DataError("cannot list folder '" + dir.string() + "': " + ec.message());
    out.push_back(it->path());
  }
  return out;
}

// Every non-hidden directory under `top` (itself included), following symlinks once per inode.
void collect_dirs(const fs::path& top, std::set<std::pair<dev_t, ino_t>>& seen,
                  std::vector<std::string>& dirs) {
  struct stat st {};
  if (::stat(top.c_str(), &st) == 0 && !seen.insert({st.st_dev, st.st_ino}).second) return;
  dirs.push_back(top.string());
  for (const auto& p : list_dir(top))
    if (!hidden(p) && is_dir(p)) collect_dirs(p, seen, dirs);
}

}  // namespace

const std::vector<std::string>& default_image_extensions() {
  static const std::vector<std::string> exts{".jpg", ".jpeg", ".png",  ".ppm", ".bmp",
                                             ".pgm", ".tif",  ".tiff", ".webp"};
  return exts;
}

FolderScan scan_image_folder(const std::string& root, const std::vector<std::string>& extensions,
                             bool allow_empty) {
  std::error_code ec;
  const auto status = fs::status(root, ec);
  if (ec || !fs::exists(status)) throw DataError("image folder '" + root + "' does not exist");
  if (!fs::is_directory(status)) throw DataError("image folder '" + root + "' is not a directory");
  if (extensions.empty()) throw ConfigError("extensions must name at least one file extension");
  std::vector<std::string> exts;
  for (const auto& e : extensions) exts.push_back(lower(e));

  FolderScan scan;
  for (const auto& p : list_dir(root))
    if (!hidden(p) && is_dir(p)) scan.classes.push_back(p.filename().string());
  std::sort(scan.classes.begin(), scan.classes.end());
  if (scan.classes.empty())
    throw DataError("image folder '" + root +
                    "' has no class folders: expected one subfolder per class, e.g. '" + root +
                    "/cats/1.jpg'");

  std::vector<std::string> empty;
  for (size_t label = 0; label < scan.classes.size(); ++label) {
    const fs::path class_dir = fs::path(root) / scan.classes[label];
    std::set<std::pair<dev_t, ino_t>> seen;
    std::vector<std::string> dirs;
    collect_dirs(class_dir, seen, dirs);
    std::sort(dirs.begin(), dirs.end());
    const size_t before = scan.samples.size();
    for (const auto& dir : dirs) {
      std::vector<std::string> names;
      for (const auto& p : list_dir(dir))
        if (!hidden(p) && !is_dir(p) && accepted(p.filename().string(), exts))
          names.push_back(p.filename().string());
      std::sort(names.begin(), names.end());
      for (auto& n : names) scan.samples.push_back({(fs::path(dir) / n).string(), int64_t(label)});
    }
    if (scan.samples.size() == before) empty.push_back(class_dir.string());
  }
  if (allow_empty) {
    scan.empty_class_folders = std::move(empty);
    return scan;
  }
  if (!empty.empty()) {
    std::string folders, ext_list;
    for (const auto& f : empty) folders += (folders.empty() ? "'" : ", '") + f + "'";
    for (const auto& e : extensions) ext_list += (ext_list.empty() ? "" : ", ") + e;
    throw DataError("found no valid image file in class folder" +
                    std::string(empty.size() > 1 ? "s " : " ") + folders +
                    "; supported extensions are: " + ext_list);
  }
  return scan;
}

}  // namespace greymatter::data
