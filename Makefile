# Everything the project needs is set up from here. Start with `make serve` or `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# The widget manager that renders stored widget state in the static book, from the npm
# registry; it is copied into the book so pages work with no internet.
HTML_MANAGER := 1.0.15
WIDGET_JS := book/_static/html-manager/embed.js
# MathJax, also from the npm registry, so formulas render offline.
MATHJAX := 3.2.2
MATHJAX_JS := book/_static/mathjax/tex-chtml.js

.PHONY: setup book serve test notebooks test-tools bench workshop clean

## setup: Python environment, the project package and the offline widget files
setup: $(VENV)/.installed $(WIDGET_JS) $(MATHJAX_JS)

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# npm_copy PACKAGE@VERSION, FOLDER IN THE PACKAGE, DESTINATION
define npm_copy
	@command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq npm >/dev/null)
	rm -rf $(3) && mkdir -p $(3)
	tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent $(1) >/dev/null && tar xzf *.tgz) \
	  && cp -r $$tmp/package/$(2)/. $(3)/ && cp $$tmp/package/LICENSE $(3)/; rm -rf $$tmp
endef

$(WIDGET_JS):
	$(call npm_copy,@jupyter-widgets/html-manager@$(HTML_MANAGER),dist,book/_static/html-manager)
	@test -s $@

$(MATHJAX_JS):
	$(call npm_copy,mathjax@$(MATHJAX),es5,book/_static/mathjax)
	@test -s $@

## book: build the HTML book, warnings as errors
book: setup
	$(BIN)/jupyter-book build . --warningiserror --keep-going

## serve: build the book and serve it on this computer
serve: book
	@echo "The book is at http://127.0.0.1:$(PORT)/  (Ctrl-C to stop)"
	$(BIN)/python -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

## test-tools: Debian's Chromium for the browser tests (Playwright never downloads one) and
## PostgreSQL, which the workshop store is also tested on (a throwaway server on 127.0.0.1)
test-tools:
	@missing=""; test -x /usr/bin/chromium || missing="$$missing chromium"; \
	  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	  if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi

## test: every test: the book build, nbval over the book's notebooks, and pytest
test: setup test-tools book
	$(BIN)/python -m pytest --nbval --nbval-current-env --nbval-sanitize-with tests/nbval-sanitize.cfg book tests

## bench: bounded performance measurements, printed as one table (and bench-results/results.json)
bench: setup
	$(BIN)/python -m bench.run

## workshop: the live workshop server (add ARGS=--lan for phones on this laptop's Wi-Fi)
workshop: setup
	$(BIN)/python -m widgets.workshop.server $(ARGS)

## notebooks: run every book notebook again and store its outputs and widget state
notebooks: setup
	$(BIN)/python -m widgets.notebooks book

clean:
	rm -rf _build
