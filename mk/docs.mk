# Offline API docs: `include`d from the Makefile.
# /docs (Swagger UI) and /redoc serve JavaScript and CSS vendored in src/conduit/api/static/, copied
# from the exact npm versions in tools/docs-assets/package-lock.json, never from a CDN: `make run`
# needs no Node.js. `make docs-assets-update` (maintainers, needs npm) refreshes the copies after a
# version bump in tools/docs-assets/package.json.
# The browser test (tests/browser) drives Debian's chromium through Debian's chromedriver.

NPM ?= npm
DOCS_ASSETS_DIR := tools/docs-assets
DOCS_MODULES := $(DOCS_ASSETS_DIR)/node_modules
DOCS_STATIC := src/conduit/api/static
BROWSER_PACKAGES := chromium chromium-driver
BROWSER_BINARIES := /usr/bin/chromium /usr/bin/chromedriver

.PHONY: docs-assets-update browser-deps test-browser

docs-assets-update:  ## refresh the vendored Swagger UI / ReDoc files from the pinned npm packages
	$(NPM) ci --prefix $(DOCS_ASSETS_DIR) --loglevel=error
	rm -rf $(DOCS_STATIC) && mkdir -p $(DOCS_STATIC)/swagger-ui-dist $(DOCS_STATIC)/redoc/bundles
	cd $(DOCS_MODULES)/swagger-ui-dist && cp package.json LICENSE NOTICE swagger-ui-bundle.js \
		swagger-ui-bundle.js.LICENSE.txt swagger-ui.css favicon-32x32.png \
		$(CURDIR)/$(DOCS_STATIC)/swagger-ui-dist/
	cd $(DOCS_MODULES)/redoc && cp package.json LICENSE $(CURDIR)/$(DOCS_STATIC)/redoc/ && \
		cp bundles/redoc.standalone.js bundles/redoc.standalone.js.LICENSE.txt \
		$(CURDIR)/$(DOCS_STATIC)/redoc/bundles/

# Installs only what is missing. Where apt-get is absent (not Debian) it says so and carries on:
# the browser tests then skip, except with CI=true, where they fail.
browser-deps:  ## install Debian's chromium and chromium-driver for the browser tests
	@missing=""; for binary in $(BROWSER_BINARIES); do \
		[ -x "$$binary" ] || missing="$$missing $$binary"; done; \
	[ -z "$$missing" ] && exit 0; \
	if ! command -v apt-get >/dev/null; then \
		echo "browser-deps: no apt-get here; install $(BROWSER_PACKAGES) by hand (missing:$$missing)" >&2; \
		exit 0; fi; \
	sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
	echo "browser-deps: installing $(BROWSER_PACKAGES) (missing:$$missing)"; \
	$$sudo apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends \
		$(BROWSER_PACKAGES) >/dev/null

test-browser: install browser-deps  ## only the headless-Chromium tests of /docs and /redoc
	$(BIN)/pytest tests/browser
