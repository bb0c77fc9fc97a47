# Two commands do all the set-up (see README.md):
#   make demo   creates/reuses .venv, installs the requirements, fetches the data, trains a quick
#               model and runs the demo (figures and results under results/demo/)
#   make test   the same set-up plus the optional Dask and PyTorch extras (requirements-dask.txt,
#               requirements-torch.txt) and Debian's chromium for the browser test, then the test suite
#   make notebooks   re-executes the MNIST, data-randomization and parameter-space notebooks at the original settings
#               and writes them back with their outputs (trained models from MODELS, default models/)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DASK_STAMP := $(VENV)/.installed-dask
TORCH_STAMP := $(VENV)/.installed-torch
DATA := data

MODELS ?= $(CURDIR)/models

.PHONY: demo test data venv clean-venv notebooks browser

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

data: $(STAMP)
	$(PY) src/fetch_data.py --data mnist fashion --root $(DATA)

demo: data
	$(PY) src/demo.py

# the tests run the Dask backend too; make demo never needs it
$(DASK_STAMP): requirements-dask.txt $(STAMP)
	$(PY) -m pip install --quiet -r requirements-dask.txt
	touch $(DASK_STAMP)

# the tests run the PyTorch engine too; make demo never needs it
$(TORCH_STAMP): requirements-torch.txt $(STAMP)
	$(PY) -m pip install --quiet -r requirements-torch.txt
	touch $(TORCH_STAMP)

# the tests open report.html in headless Chromium (tests/test_report_html.py): Debian's package, installed
# quietly when missing (as root, or with password-less sudo); without it that one test is skipped, saying why
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { command -v apt-get >/dev/null 2>&1 && SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo -n) && \
	    { $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; } \
	    >/dev/null 2>&1 && echo "installed chromium (for the browser test)"; } || \
	  echo "chromium could not be installed: the browser test will be skipped"

# two pytest workers; tests sharing an expensive module fixture carry an xdist_group mark
test: data $(DASK_STAMP) $(TORCH_STAMP) browser
	$(PY) -m pytest -n 2 --dist loadgroup --durations=15

notebooks: data
	SANITY_CHECKS_MODELS=$(abspath $(MODELS)) PYTHONPATH=$(CURDIR)/src $(PY) notebook/refresh.py

clean-venv:
	rm -rf $(VENV)
