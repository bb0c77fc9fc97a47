# Two commands do all the set-up (see README.md):
#   make demo   creates/reuses .venv, installs the requirements, fetches the data, trains a quick
#               model and runs the demo (figures and results under results/demo/)
#   make test   the same set-up, then the test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA := data

.PHONY: demo test data venv clean-venv

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

test: data
	$(PY) -m pytest

clean-venv:
	rm -rf $(VENV)
