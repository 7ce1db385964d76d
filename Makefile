# make demo | test | bench — each sets up what is missing first (Debian packages when root, .venv,
# the package built and installed into it). Build tree kept in build/cmake between runs.
VENV      := .venv
PY        := $(VENV)/bin/python
PACKAGES  := packaging/debian-packages.txt
BUILD_DIR := build/cmake
export GREYMATTER_BUILD_DIR := $(CURDIR)/$(BUILD_DIR)
export GREYMATTER_BUILD_TESTS := ON

.PHONY: setup packages venv install demo test lint format test-cpp test-python bench clean

setup: packages venv install

packages:
	@missing=$$(grep -v '^#' $(PACKAGES) | xargs -n1 sh -c 'dpkg-query -W -f="\$${Status}" "$$0" 2>/dev/null | grep -q "install ok installed" || echo "$$0"'); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:" $$missing; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	  else \
	    echo "missing Debian packages (run as root, or: sudo apt-get install $$missing)"; exit 1; \
	  fi; \
	fi

# The venv sees Debian's torch (system site packages). Its pip.conf never reaches for an index and builds
# against that torch, so a plain `.venv/bin/pip install .` works offline. pip reads "no-" keys inverted:
# `no-build-isolation = false` there means the same as the flag --no-build-isolation.
$(PY):
	/usr/bin/python3 -m venv --system-site-packages $(VENV)
	printf '[global]\nno-index = true\n# = --no-build-isolation (pip inverts "no-" keys)\nno-build-isolation = false\n' > $(VENV)/pip.conf

venv: $(PY)

install: $(PY)
	$(PY) -m pip install --no-deps --no-build-isolation --no-index -q .

demo: setup
	$(PY) -m greymatter.demo

test: setup lint test-cpp test-python

# Style, checked the way CI checks it: black and flake8 for Python, clang-format for C++ (configs in
# pyproject.toml, .flake8 and .clang-format). `make format` rewrites the files instead.
PY_SOURCES  := python tests bench
CPP_SOURCES  = $(shell git ls-files 'cpp/*.cpp' 'cpp/*.h')

lint:
	@black --check --quiet $(PY_SOURCES) || { echo "black would reformat the files above: run make format"; exit 1; }
	@flake8 $(PY_SOURCES)
	@clang-format --dry-run --Werror $(CPP_SOURCES)
	@echo "lint: black, flake8 and clang-format found nothing"

format:
	black --quiet $(PY_SOURCES)
	clang-format -i $(CPP_SOURCES)

test-cpp:
	ctest --test-dir $(BUILD_DIR) --output-on-failure

# tests/ imports the installed package (python/ is not on sys.path), so a missing install step fails here.
test-python:
	$(PY) -m pytest -q -p no:cacheprovider tests

bench: setup
	$(PY) bench/train.py
	$(PY) bench/models.py
	$(PY) bench/loader.py
	$(PY) bench/sweep.py

clean:
	rm -rf build $(VENV) python/greymatter/_core*.so *.egg-info python/*.egg-info
