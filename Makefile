# Entry points for a new machine (README): `make try` and `make test`.
SWIFT ?= swift
VOCAB := Models/bpe_simple_vocab_16e6.txt.gz

.PHONY: deps setup build release test try clean

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

clean:
	rm -rf .build
