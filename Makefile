# Entry points for a new machine (README): `make try` and `make test`.
SWIFT ?= swift
VOCAB := Models/bpe_simple_vocab_16e6.txt.gz

.PHONY: deps setup build release test try clean serve

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

# Set up, build in release, fetch the model when missing (offline, fetch-model stops with its
# message) and start the HTTP server. Override with e.g. `make serve SERVE_ARGS="--port 9000"`.
MODEL_DIR ?= Models/clip-vit-base-patch32
SERVE_ARGS ?=
serve: release
	@if [ ! -f $(MODEL_DIR)/model.safetensors ]; then \
		.build/release/clip-server fetch-model --dest $(MODEL_DIR) || exit 1; \
	fi
	.build/release/clip-server serve --model $(MODEL_DIR) $(SERVE_ARGS)

clean:
	rm -rf .build
