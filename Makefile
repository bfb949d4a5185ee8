# Two commands on a fresh machine:  make demo  |  make test
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
REPORT ?= report

.PHONY: demo test install install-test fonts browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[cnn]'

install-test: $(BIN)/python fonts browser
	$(BIN)/pip install --quiet -e '.[cnn,test]'

## browser: headless Chromium and its driver for the web-page test, where the machine lets us (root with apt);
## elsewhere that test skips and says why
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
	   (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium chromium-driver >/dev/null 2>&1)) \
	  && echo "installed chromium and chromium-driver" || echo "chromium not installed (apt failed); the browser test skips"; \
	else echo "no chromium (not root with apt); the browser test skips"; fi

## fonts: a CJK font for the figures of Chinese captchas, where the machine lets us (root with apt);
## elsewhere nothing is installed and the figures say which characters they cannot draw
fonts:
	@if fc-list 2>/dev/null | grep -qi -e wqy -e 'noto.*cjk'; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get install -y -q fonts-wqy-microhei >/dev/null 2>&1 || \
	   (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q fonts-wqy-microhei >/dev/null 2>&1)) \
	  && echo "installed a CJK font (fonts-wqy-microhei)" || echo "no CJK font installed (apt failed); CJK figures show boxes"; \
	else echo "no CJK font (not root with apt); CJK figures show boxes"; fi

## demo: install, then compare KNN, SVM and the CNN on the built-in seeded 4-digit set
demo: install
	$(BIN)/captcha-cli compare --report $(REPORT) --overwrite

## test: install with the test tools, then run the whole test suite, one worker per core (at most 4), each
## worker's BLAS in one thread (tests/conftest.py): two threads per worker spun against each other
test: install-test
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4 --dist worksteal

clean:
	rm -rf $(VENV) $(REPORT) build *.egg-info
