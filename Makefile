# Entry points for a new machine (README): `make serve` and `make test`.
SWIFT ?= swift
VOCAB := Models/bpe_simple_vocab_16e6.txt.gz

.PHONY: deps setup build release test test-postgres test-browser test-api embed-public fuzz clean serve fetch-model bench parity

# System libraries (Debian); needs root, skipped when already installed.
deps:
	tools/install-deps.sh

# OpenAI's BPE vocabulary, from the PyPI sdist openai-clip==1.0.1.
$(VOCAB):
	tools/fetch-vocab.sh $@

setup: deps $(VOCAB)

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build -c release

test: setup
	$(SWIFT) test

# The PostgreSQL store's tests (and the contract tests for both stores) against a throwaway
# PostgreSQL 18 + pgvector that tools/pg-test-server.sh starts and removes. `make test` runs them
# too whenever CLIP_TEST_POSTGRES_URL is set (.ci/run sets it) and skips them otherwise.
test-postgres: setup
	$(SWIFT) build --build-tests
	pg_env=$$(tools/pg-test-server.sh start) && eval "$$pg_env" && trap 'tools/pg-test-server.sh stop "$$CLIP_TEST_POSTGRES_DIR"' EXIT && \
		$(SWIFT) test --skip-build --filter 'Postgres|LibraryStoreContract'

# The page (Public/) in the system's headless Chromium (apt-get install chromium python3-venv),
# driven by Playwright for Python in its own virtualenv; screenshots land in screenshots/.
CHROMIUM ?= /usr/bin/chromium
BROWSER_VENV := .venv-browser
$(BROWSER_VENV)/bin/python:
	python3 -m venv $(BROWSER_VENV)
	$(BROWSER_VENV)/bin/pip install --quiet playwright==1.65.2

test-browser: setup $(BROWSER_VENV)/bin/python
	$(SWIFT) build
	CHROMIUM=$(CHROMIUM) $(BROWSER_VENV)/bin/python Tests/Browser/test_page.py

# The HTTP API against its spec and its clients (tools/schemathesis.sh): a debug server with an API
# key, the demo model and a few images, started outside the repository; clip-retrieval's ClipClient,
# the openai package and Immich/Weaviate-shaped requests (Tests/Clients/test_clients.py), then
# schemathesis --checks all on /openapi.yaml. Python packages in .venv-api (python3-venv).
test-api: setup
	$(SWIFT) build
	tools/schemathesis.sh

# Public/ into the binary (Sources/App/Generated/PublicFiles.swift); run after changing Public/.
embed-public:
	python3 tools/embed_public.py

# libFuzzer targets (Fuzz/: image decoders with EXIF/XMP, tokenizer, JSON and multipart readers),
# FUZZ_SECONDS each on the seed corpus in Fuzz/Corpus; a crash fails (tools/fuzz.sh).
FUZZ_SECONDS ?= 60
fuzz: setup
	FUZZ_SECONDS=$(FUZZ_SECONDS) tools/fuzz.sh

# Set up, build in release and start the HTTP server with the best model at hand (tools/serve.sh):
# ViT-B/32 in Models/clip-vit-base-patch32, else fetched into it, else (offline) the demo model in
# Models/demo with its own database data/demo.sqlite. E.g. `make serve SERVE_ARGS="--port 9000"`.
SERVE_ARGS ?=
serve: release
	CLIP_SERVER=.build/release/clip-server tools/serve.sh $(SERVE_ARGS)

# OpenAI CLIP ViT-B/32 from the Hugging Face Hub into Models/clip-vit-base-patch32 (resumable, checksummed).
fetch-model: build
	.build/debug/clip-server fetch-model

# A full-size ViT-B/32 with seeded random weights for bench and parity (needs torch, transformers,
# open_clip_torch: see tools/clipfixture.py). Built once, reused.
PYTHON ?= python3
FIXTURE_MODEL ?= Models/parity-vitb32

# Our engine against ONNX Runtime and PyTorch on the same model and 2 threads, alternating rounds,
# medians and ratios as a table (DESIGN.md section 4; bench/peers.py alone adds open_clip).
bench: setup
	$(SWIFT) build -c release
	$(PYTHON) tools/clipfixture.py $(FIXTURE_MODEL)
	$(PYTHON) bench/compare.py $(FIXTURE_MODEL)

# clip-server embed against transformers on the same model (cosine >= 0.9999 images, 0.99999 texts).
parity: build
	$(PYTHON) tools/parity-vitb32 --model $(FIXTURE_MODEL)

clean:
	rm -rf .build
