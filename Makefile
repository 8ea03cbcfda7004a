# Two commands for a new user: `make run` and `make test`. Each sets itself up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAGE ?= dev
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: run test unit lint package bench deploy clean onboard recount web chromium browser \
	screenshots checkov

# Two install levels in one venv: what `make run` needs (.run-installed), and on top of it the
# test, lint and type tools (.installed) that only `make test` and friends use.
$(VENV)/.run-installed: requirements.txt requirements-local.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check 'pip<26.3'
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-local.txt
	@touch $@

$(VENV)/.installed: $(VENV)/.run-installed requirements-dev.txt
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed

# checkov (the template scanner run by the template tests) in a venv of its own: its pins
# (boto3 1.35, packaging 23) conflict with the project's.
CHECKOV_VENV := .venv-checkov
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	@$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
	  -r requirements-checkov.txt
	@touch $@

checkov: $(CHECKOV_VENV)/.installed

## Start the local stack: moto server, API, event pumps, sandbox gateway (Ctrl-C stops it).
run: $(VENV)/.run-installed web
	$(PY) -m local.run

## The whole test suite: lint, types, unit, service (moto), end-to-end (local stack), template.
test: $(VENV)/.installed web chromium checkov
	$(PY) -m ruff check chalicelib app.py infra local ops tests bench
	$(PY) -m mypy
	$(PY) -m pytest -q -n 2 --dist loadfile

unit: $(VENV)/.installed
	$(PY) -m pytest -q tests/unit

lint: $(VENV)/.installed
	$(PY) -m ruff check chalicelib app.py infra local ops tests bench
	$(PY) -m mypy

## Build the CloudFormation (SAM) template for AWS into dist/.
package: $(VENV)/.installed web
	$(PY) -m infra.build --stage $(STAGE) --out build/merge-$(STAGE).json
	PROACTIVE_STAGE=$(STAGE) $(VENV)/bin/chalice package --stage $(STAGE) \
	  --merge-template build/merge-$(STAGE).json dist/
	@echo "Template: dist/sam.json (deploy: see README)"

## Onboard a brand and print its first admin key (once). Local stack by default (`make run` must
## be running); AWS=1 STAGE=prod for the stage's stack. E.g.
##   make onboard BRAND=acme NAME="Acme Inc." TIME_ZONE=America/New_York [SECRET_REF=/proactive/dev/...]
onboard: $(VENV)/.run-installed
	$(PY) -m ops.onboard --brand-id "$(BRAND)" --name "$(NAME)" \
	  --time-zone "$(or $(TIME_ZONE),America/New_York)" --stage $(STAGE) \
	  $(if $(SECRET_REF),--gateway-secret-ref "$(SECRET_REF)") $(if $(AWS),--aws)

## Deploy the packaged template with CloudFormation (needs AWS credentials and the stage's SSM
## secret; see README "Deploy to AWS"; PUBLIC_BASE_URL=https://... for a custom domain). Not run
## in CI.
deploy: package
	@test -n "$(DEPLOY_BUCKET)" || { echo "set DEPLOY_BUCKET=<an S3 bucket for the code>"; exit 2; }
	aws cloudformation package --template-file dist/sam.json \
	  --s3-bucket $(DEPLOY_BUCKET) --output-template-file dist/packaged.yaml
	aws cloudformation deploy --template-file dist/packaged.yaml \
	  --stack-name proactive-$(STAGE) --capabilities CAPABILITY_IAM \
	  $(if $(PUBLIC_BASE_URL),--parameter-overrides PublicBaseUrl=$(PUBLIC_BASE_URL))

## Recount the counters from the messages table of the running stack (or ENDPOINT=http://...).
recount: $(VENV)/.run-installed
	$(PY) -m ops.recount $(if $(ENDPOINT),--endpoint $(ENDPOINT)) $(if $(AWS),--aws)

## Benchmarks; results go to BENCHMARKS.md.
bench: $(VENV)/.installed
	$(PY) -m bench

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) dist build .local .pytest_cache .mypy_cache .ruff_cache chalicelib/web/npm/node_modules \
	  chalicelib/web/vendor

## The web tool's third-party libraries (chart.js; swagger-ui-dist for /docs) into
## chalicelib/web/vendor/ (they deploy with the functions; not committed): the versions pinned in
## chalicelib/web/npm/package-lock.json, fetched with Python and checked against the lock's
## sha512 (no npm, no root). To upgrade one:
##   cd chalicelib/web/npm && npm install --package-lock-only chart.js@X   then `make web`.
WEB_STAMP := chalicelib/web/vendor/.pinned
web: $(WEB_STAMP)

$(WEB_STAMP): chalicelib/web/npm/package-lock.json local/web_vendor.py
	$(PYTHON) -m local.web_vendor --force
	@touch $@

## Debian's chromium for the browser tests (Playwright's own browser download does not work here).
CHROMIUM := /usr/bin/chromium
chromium: $(CHROMIUM)

$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

## Only the browser tests (tests/browser): Playwright driving chromium against the local stack.
browser: $(VENV)/.installed web chromium
	$(PY) -m pytest -q tests/browser -p no:logging

## Screenshots of every page at 1280 px and 390 px into docs/ (shown by the README).
screenshots: $(VENV)/.installed web chromium
	WEB_SCREENSHOTS_DIR=docs $(PY) -m pytest -q tests/browser -p no:logging
