# Two commands on a fresh machine:  make demo  |  make test
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
REPORT ?= report

.PHONY: demo test install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[cnn]'

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[cnn,test]'

## demo: install, then compare KNN, SVM and the CNN on the built-in seeded 4-digit set
demo: install
	$(BIN)/captcha-cli compare --report $(REPORT) --overwrite

## test: install with the test tools, then run the whole test suite
test: install-test
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) $(REPORT) build *.egg-info
