# Two commands matter: `make test` and `make book`. Each creates .venv/ (ignored by git and by
# the book) on first use and reinstalls when pyproject.toml changes.
SHELL := bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
VENDOR_STAMP := _vendor/.installed-stamp
# tests and the book build run with the network blocked for Python (see tests/offline/sitecustomize.py)
OFFLINE := PYTHONPATH=$(CURDIR)/tests/offline
# pip prints one line per mirror folder it skips; keep the log readable
PIP_QUIET := { grep -v "is ignored: it is neither a file nor a directory" || true; }

.PHONY: course photo-fonts pdf poppler cjk-fonts install test lint format test-slow test-unit test-portable test-portable-fast book browser-test vendor chromium bench notebooks clean fashion-data

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip 2>&1 | $(PIP_QUIET)
	$(PY) -m pip install -q -e ".[dev]" 2>&1 | $(PIP_QUIET)
	$(PY) -c "import mnist_cnn, torch, torchvision, nbval, jupyter_book"
	touch $(STAMP)

install: $(STAMP)

## Unit tests + the notebooks that do not train networks, re-executed and compared with their
## stored outputs (pytest --nbval); about 3.5 minutes on a 2-core CPU without AVX-512
test: $(STAMP) lint photo-fonts
	$(OFFLINE) $(PY) -m pytest -m "not slow and not browser and not pdf"

## ruff: the linter and the formatter (79 columns, the book's code column) over src, tests,
## tools and the notebooks' code cells; `make format` rewrites what it would change
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## The notebooks that train networks (Quick start, Training, Backpropagation assembled, Evaluation, Overfitting,
## Fine-tuning, Applications, the engineering appendix), under nbval, and the tests that start several processes: about 23 minutes on a
## 2-core CPU without AVX-512
test-slow: $(STAMP) fashion-data
	$(OFFLINE) $(PY) -m pytest -m slow

## Every notebook under nbval as on other machines: a CPU without AVX-512 and one without any vector
## extension (ATEN_CPU_CAPABILITY), 1 and 4 threads, each from an empty checkpoint cache; trained
## figures are checked within the bands of tests/tolerances.yml. 6 to 10 minutes a variant on a
## 2-core CPU (`default`, without vector instructions, is the slowest).
PORTABLE ?= cpu=default cpu=avx2 threads=1 threads=4
test-portable: $(STAMP) fashion-data
	$(OFFLINE) $(PY) tools/portability.py $(PORTABLE)

## The notebooks of `make test` on a CPU without vector extensions (CI runs it on every change)
test-portable-fast: $(STAMP)
	$(OFFLINE) $(PY) tools/portability.py --fast cpu=default

## Fashion-MNIST for the chapter "Fine-tuning": Debian's dataset-fashion-mnist where apt works
FASHION_DIR := /usr/share/datasets/fashion-mnist
fashion-data:
	@if [ -f $(FASHION_DIR)/t10k-labels-idx1-ubyte.gz ] || [ -n "$${FASHION_MNIST_DATA:-}" ] || [ -f data/fashion-mnist/FashionMNIST/raw/t10k-labels-idx1-ubyte ]; then \
	  true; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  { apt-get update -q >/dev/null && apt-get install -y -q dataset-fashion-mnist >/dev/null; } || echo "note: apt-get could not install dataset-fashion-mnist; the chapter will try torchvision's download"; \
	else \
	  echo "note: Fashion-MNIST not found. Install Debian's dataset-fashion-mnist (sudo apt install dataset-fashion-mnist)"; \
	  echo "      or set FASHION_MNIST_DATA to a folder with its four IDX files; otherwise torchvision downloads it (needs the network)."; \
	fi

## Unit tests only (no notebooks, none of the slow multi-process tests): the quick loop while
## editing src/
test-unit: $(STAMP)
	$(OFFLINE) $(PY) -m pytest tests -m "not slow and not browser and not pdf"

## The HTML book in _build/html/; any warning fails the build. It reads with no network:
## MathJax and the diagram renderer come from npm (package-lock.json).
## --all: Sphinx skips copying static files when no page changed
## The Chinese edition (book/zh/, same code cells and outputs) is built from its own folder with
## the same config, language zh_CN, into _build/html/zh/ (tools/zh.py config writes it)
book: $(STAMP) $(VENDOR_STAMP)
	$(OFFLINE) $(VENV)/bin/jupyter-book build . --all -W -n --keep-going
	$(PY) tools/zh.py config _build/zh
	$(ZH_BUILD) --all
	rm -rf _build/html/zh && cp -r _build/zh/_build/html _build/html/zh

## Open every page of _build/html in headless Chromium from file:// with the network cut off;
## screenshots land in _build/screenshots/
browser-test: $(STAMP) chromium cjk-fonts
	$(PY) -m pytest -m browser

## The fonts tools/make_photos.py draws the photo set with (tests/test_photos.py runs it):
## DejaVu and Liberation, Debian's fonts-dejavu-core, fonts-dejavu-extra, fonts-liberation
PHOTO_FONTS := fonts-dejavu-core fonts-dejavu-extra fonts-liberation
photo-fonts:
	@if $(PY) -c "import sys; sys.path.insert(0, 'tools'); import make_photos as m; sys.exit(bool(m.missing_fonts(m.font_dir())))"; then true; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -q >/dev/null && apt-get install -y -q $(PHOTO_FONTS) >/dev/null; \
	else echo "note: the photo set's fonts are missing; install $(PHOTO_FONTS) (sudo apt install $(PHOTO_FONTS)), or tests/test_photos.py skips the check that redraws the set" >&2; fi

## A CJK font, so that screenshots and PDFs of the Chinese edition show glyphs, not boxes
cjk-fonts:
	@if fc-list :lang=zh 2>/dev/null | grep -q .; then true; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -q >/dev/null && apt-get install -y -q fonts-noto-cjk >/dev/null; \
	else echo "note: no CJK font (fc-list :lang=zh is empty); install fonts-noto-cjk (sudo apt install fonts-noto-cjk) or the Chinese pages show boxes" >&2; fi

## What the HTML serves itself, from the npm registry at build time (not committed)
$(VENDOR_STAMP): package.json package-lock.json | chromium
	PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefer-offline --no-audit --no-fund --loglevel=error
	rm -rf _vendor && mkdir -p _vendor/mathjax/output/chtml/fonts
	cp node_modules/mathjax/es5/tex-mml-chtml.js _vendor/mathjax/
	cp -r node_modules/mathjax/es5/input _vendor/mathjax/
	cp -r node_modules/mathjax/es5/output/chtml/fonts/woff-v2 _vendor/mathjax/output/chtml/fonts/
	touch $(VENDOR_STAMP)

vendor: $(VENDOR_STAMP)

## Chromium renders the diagrams at build time and runs the browser test: CHROMIUM=/path (make
## book CHROMIUM=...), else the first of chromium, chromium-browser, google-chrome on PATH, the
## order _ext/offline_html.py and tests/test_html.py look in; as root with apt, Debian's package
chromium:
	@if [ -n "$${CHROMIUM:-}" ]; then \
	  command -v "$$CHROMIUM" >/dev/null || { echo "error: CHROMIUM=$$CHROMIUM is not an executable; set CHROMIUM to Chromium's path" >&2; exit 2; }; \
	elif command -v chromium || command -v chromium-browser || command -v google-chrome; then \
	  true; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; \
	else echo "error: no Chromium on PATH (chromium, chromium-browser, google-chrome): install it (sudo apt install chromium) or set CHROMIUM=/path/to/chromium" >&2; exit 2; fi >/dev/null

## Throughput of the data pipelines (figures quoted in the chapter "Data")
bench: $(STAMP)
	$(PY) -m mnist_cnn bench data

## The course pack: student notebooks without the solutions, and a teacher's guide, in _build/course/
## (README, "Teaching with this book"); `python -m mnist_cnn grade` grades them
course: $(STAMP)
	$(PY) -m mnist_cnn course

## Re-execute every notebook in place after changing it or the package (then review the diff), in
## the book's order, from the repository root; each notebook's run time and machine are stored in
## its metadata and shown on the chapter and on the page "Run times". NB=book/x.ipynb for one.
## All of them run cold, from an empty checkpoint cache (a fresh MNIST_CNN_CACHE), so the times
## the page "Run times" adds up are a reader's first run; one notebook uses the usual cache.
NB ?= book/*.ipynb
notebooks: $(STAMP) fashion-data
	$(PY) tools/notebook_setup.py
	cold=$$(if [ "$(NB)" = "book/*.ipynb" ]; then mktemp -d; fi); \
	MNIST_CNN_CACHE=$${cold:-$${MNIST_CNN_CACHE:-}} $(OFFLINE) $(PY) tools/run_notebooks.py $(NB); \
	if [ -n "$$cold" ]; then rm -rf "$$cold"; fi
	$(PY) tools/zh.py sync  # the Chinese edition takes the new code cells and outputs

## The whole book as one PDF per edition, _build/pdf/cnn-from-scratch-{en,zh}.pdf: the single-page
## HTML of each edition printed by Chromium after MathJax has typeset it (tools/pdf.py says why),
## then checked with poppler's pdftotext (tests/test_pdf.py). `make book` afterwards links them.
ZH_BUILD = $(OFFLINE) $(VENV)/bin/jupyter-book build book/zh --config $(CURDIR)/_build/zh/_config.yml \
	  --toc $(CURDIR)/_build/zh/_toc.yml --path-output $(CURDIR)/_build/zh -W -n --keep-going
pdf: $(STAMP) $(VENDOR_STAMP) chromium poppler cjk-fonts
	$(OFFLINE) $(VENV)/bin/jupyter-book build . --builder singlehtml -W -n --keep-going
	$(PY) tools/zh.py config _build/zh
	$(ZH_BUILD) --builder singlehtml
	$(PY) tools/pdf.py _build/singlehtml/book/intro.html _build/pdf/cnn-from-scratch-en.pdf --lang en
	$(PY) tools/pdf.py _build/zh/_build/singlehtml/intro.html _build/pdf/cnn-from-scratch-zh.pdf --lang zh
	$(OFFLINE) $(PY) -m pytest -m pdf
	@# an HTML book built before the PDFs existed links them once built again
	@if [ -f _build/html/book/intro.html ] && ! grep -q "download-book-pdf-en" _build/html/book/intro.html; then $(MAKE) book; fi

## poppler-utils (pdftotext, pdfinfo) for the PDF test
poppler:
	@if command -v pdftotext >/dev/null; then true; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -q >/dev/null && apt-get install -y -q poppler-utils >/dev/null; \
	else echo "error: pdftotext not found; install poppler-utils (sudo apt install poppler-utils)" >&2; exit 2; fi

clean:
	rm -rf _build _vendor
