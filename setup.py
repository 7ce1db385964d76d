"""Builds greymatter's C++ extension with CMake (the pybind11 cmake_example pattern).

The extension is compiled against the torch of the interpreter running this file, so build without
isolation:  pip install --no-build-isolation .   (the Makefile's .venv sets this in its pip.conf).

Environment knobs:
  GREYMATTER_BUILD_DIR     CMake build tree to (re)use, default build/cmake (kept between builds)
  GREYMATTER_BUILD_TESTS   ON to also build the GoogleTest suite in that tree (make test does)
  GREYMATTER_WITH_OPENCV   OFF to build without the image decoder (IDX datasets only)
  CMAKE_ARGS               extra CMake arguments
  CMAKE_BUILD_PARALLEL_LEVEL  compile jobs (default: the number of CPUs)
"""
import os
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


class CMakeExtension(Extension):
    def __init__(self, name: str) -> None:
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext: CMakeExtension) -> None:
        try:
            import torch.utils  # the torch we build against
        except ImportError as e:
            raise RuntimeError(
                "greymatter builds against an installed PyTorch: install torch first, then "
                "`pip install --no-build-isolation .`") from e
        out_dir = Path(self.get_ext_fullpath(ext.name)).resolve().parent
        build_dir = Path(os.environ.get("GREYMATTER_BUILD_DIR", ROOT / "build" / "cmake")).resolve()
        build_dir.mkdir(parents=True, exist_ok=True)
        cmake_args = [
            f"-DCMAKE_LIBRARY_OUTPUT_DIRECTORY={out_dir}{os.sep}",
            f"-DPython3_EXECUTABLE={sys.executable}",
            f"-DCMAKE_PREFIX_PATH={torch.utils.cmake_prefix_path}",
            f"-DCMAKE_BUILD_TYPE={'Debug' if self.debug else 'Release'}",
            f"-DGREYMATTER_BUILD_TESTS={os.environ.get('GREYMATTER_BUILD_TESTS', 'OFF')}",
            f"-DGREYMATTER_WITH_OPENCV={os.environ.get('GREYMATTER_WITH_OPENCV', 'ON')}",
        ]
        if "CMAKE_ARGS" in os.environ:
            cmake_args += [a for a in os.environ["CMAKE_ARGS"].split(" ") if a]
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
        subprocess.run(["cmake", str(ROOT), *cmake_args], cwd=build_dir, check=True)
        subprocess.run(["cmake", "--build", ".", "--parallel", jobs], cwd=build_dir, check=True)


setup(
    ext_modules=[CMakeExtension("greymatter._core")],
    cmdclass={"build_ext": CMakeBuild},
)
