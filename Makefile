# make demo | test | notebook | bench — each sets up what is missing first (Debian packages when
# root, .venv, the package built and installed into it). Build tree kept in build/cmake between runs.
VENV      := .venv
PY        := $(VENV)/bin/python
PACKAGES  := packaging/debian-packages.txt
TEST_PACKAGES     := packaging/test-packages.txt
NOTEBOOK_PACKAGES := packaging/notebook-packages.txt
BUILD_DIR := build/cmake
export GREYMATTER_BUILD_DIR := $(CURDIR)/$(BUILD_DIR)
export GREYMATTER_BUILD_TESTS := ON

.PHONY: setup packages test-packages notebook-packages venv install demo test notebook lint format \
	test-cpp test-python bench clean

setup: packages venv install

# $(call install-missing,LISTS): installs the Debian packages named in the LISTS files (one a line, #
# comments) that are not installed yet; when not root, names them and fails.
define install-missing
	@missing=$$(grep -hv '^#' $(1) | xargs -r -n1 sh -c 'dpkg-query -W -f="\$${Status}" "$$0" 2>/dev/null | grep -q "install ok installed" || echo "$$0"'); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:" $$missing; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	  else \
	    echo "missing Debian packages (run as root, or: sudo apt-get install $$missing)"; exit 1; \
	  fi; \
	fi
endef

packages:
	$(call install-missing,$(PACKAGES))

# The browser test runs the notebooks in Jupyter Notebook, so the test setup includes its list.
test-packages:
	$(call install-missing,$(TEST_PACKAGES) $(NOTEBOOK_PACKAGES))

notebook-packages:
	$(call install-missing,$(NOTEBOOK_PACKAGES))

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

test: setup test-packages lint test-cpp test-python

# The tutorials in a browser: registers the .venv as the "greymatter" kernel, copies the notebooks into
# $(NOTEBOOK_DIR) (ignored by git; copies you edited are kept) and serves them there; Jupyter prints
# the URL to open. NOTEBOOK_ARGS go to Jupyter, e.g. NOTEBOOK_ARGS="--no-browser --port 8890".
NOTEBOOK_DIR  := notebooks/work
NOTEBOOK_ARGS ?=
notebook: setup notebook-packages
	$(PY) -m greymatter.jupyter --notebooks notebooks --into $(NOTEBOOK_DIR)
	cd $(NOTEBOOK_DIR) && exec $(CURDIR)/$(PY) -m notebook --ip=127.0.0.1 \
	  $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(NOTEBOOK_ARGS)

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
