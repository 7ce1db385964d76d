// Scanning a folder of class folders the way torchvision's ImageFolder does (find_classes +
// make_dataset): class names are the sorted subfolder names, each class's files are collected
// recursively (following symlinks) in the order of sorted(os.walk(...)) with sorted file names, and
// kept when their name ends with one of the extensions (case-insensitive). Unlike torchvision,
// hidden entries (names starting with '.') are ignored at every level, so `.ipynb_checkpoints`
// never becomes a class. Not here: reading the files (decode.h) or the dataset object
// (image_source.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace greymatter::data {

struct FolderSample {
  std::string path;
  int64_t label = 0;
};

struct FolderScan {
  std::vector<std::string> classes;  // sorted; index = label
  std::vector<FolderSample> samples;
  std::vector<std::string> empty_class_folders;  // only filled when allow_empty
};

// torchvision's IMG_EXTENSIONS.
const std::vector<std::string>& default_image_extensions();

// Throws DataError naming the folder when root does not exist or is not a directory, has no class
// folder, or (unless allow_empty) some class folder holds no file with an accepted extension, as
// torchvision does. With allow_empty such classes keep their label and are listed instead.
FolderScan scan_image_folder(const std::string& root, const std::vector<std::string>& extensions,
                             bool allow_empty = false);

}  // namespace greymatter::data
