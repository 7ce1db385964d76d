# The extension mixes three C++ libraries (torch, torch_python, OpenCV) in one process: their
# std::string ABI must agree, or the build links but the import fails with undefined symbols.
# Check it here, once, with one message.
execute_process(
  COMMAND "${Python3_EXECUTABLE}" -c "import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI), end='')"
  OUTPUT_VARIABLE GREYMATTER_TORCH_CXX11_ABI)
if(NOT "${TORCH_CXX_FLAGS}" MATCHES "_GLIBCXX_USE_CXX11_ABI=${GREYMATTER_TORCH_CXX11_ABI}")
  message(FATAL_ERROR
    "greymatter: the Python torch (_GLIBCXX_USE_CXX11_ABI=${GREYMATTER_TORCH_CXX11_ABI}) and the libtorch CMake "
    "found (TORCH_CXX_FLAGS='${TORCH_CXX_FLAGS}') disagree; point Torch_DIR at the torch of ${Python3_EXECUTABLE}.")
endif()
if(GREYMATTER_WITH_OPENCV AND GREYMATTER_TORCH_CXX11_ABI EQUAL 0)
  message(FATAL_ERROR
    "greymatter: this torch uses the pre-C++11 std::string ABI, but system OpenCV builds use the C++11 ABI, so "
    "the image decoder cannot link against both. Use a torch built with the C++11 ABI (torch >= 2.6 wheels, or "
    "the cxx11-abi builds), or configure with -DGREYMATTER_WITH_OPENCV=OFF (IDX datasets only).")
endif()
