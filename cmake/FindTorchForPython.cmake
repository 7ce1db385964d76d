# Finds the libtorch that belongs to the Python interpreter the extension is built for:
# first torch.utils.cmake_prefix_path (pip wheels ship TorchConfig.cmake there), then the system's
# Torch package config (Debian's libtorch-dev). Also finds libtorch_python, which TORCH_LIBRARIES lacks.
execute_process(
  COMMAND "${Python3_EXECUTABLE}" -c "import torch.utils; print(torch.utils.cmake_prefix_path, end='')"
  OUTPUT_VARIABLE _torch_cmake_prefix RESULT_VARIABLE _torch_import_rc ERROR_QUIET)
if(NOT _torch_import_rc EQUAL 0)
  message(FATAL_ERROR "greymatter: `import torch` failed for ${Python3_EXECUTABLE}; install PyTorch in that environment first.")
endif()
if(EXISTS "${_torch_cmake_prefix}/Torch/TorchConfig.cmake")
  list(PREPEND CMAKE_PREFIX_PATH "${_torch_cmake_prefix}")
endif()
find_package(Torch REQUIRED)

execute_process(
  COMMAND "${Python3_EXECUTABLE}" -c "import os, torch; print(os.path.join(os.path.dirname(torch.__file__), 'lib'), end='')"
  OUTPUT_VARIABLE _torch_python_libdir)
find_library(TORCH_PYTHON_LIBRARY torch_python
  HINTS "${_torch_python_libdir}" "${TORCH_INSTALL_PREFIX}/lib" REQUIRED)

# Compile flags torch wants (the _GLIBCXX_USE_CXX11_ABI define among them), as a list.
separate_arguments(GREYMATTER_TORCH_CXX_FLAGS UNIX_COMMAND "${TORCH_CXX_FLAGS}")
