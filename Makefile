# marktsim: the two commands of the README, plus the studies, benchmarks and dashboard.
#   make demo   create .venv, install, run the headline experiment, write its report
#   make test   create .venv, install, run the test suite (and again on Python 3.12 if found)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO_ARGS ?= hydra/launcher=joblib
CORES  ?= $(shell nproc 2>/dev/null || echo 2)
TEST_WORKERS ?= $(CORES)
# a Python 3.12 for the second test run (Mesa 3.4+ lines); empty when none is installed
PY312  ?= $(shell for p in $$HOME/.pyenv/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12 /usr/bin/python3.12 $$(command -v python3.12); do "$$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && { echo "$$p"; break; }; done)

.PHONY: install demo test test-main test-py312 report bench validate studies dashboard lesson calibrate-example mutation clean

# One environment, with the extras (pyproject.toml) each target needs installed on first use:
# core (models, sweeps, report), dashboard, lesson, all (dashboard, optimize, cluster), test (all + test tools).
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(BIN)/.installed-%: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".$(if $(filter core,$*),,[$*])"
	touch $@

install: $(BIN)/.installed-core

demo: $(BIN)/.installed-core
	$(BIN)/marktsim experiment=retention_vs_acquisition $(DEMO_ARGS)
	@sweep=$$(ls -td results/retention_vs_acquisition/*/ | head -n 1); \
	  $(BIN)/marktsim-report "$$sweep" && \
	  echo "demo: report at $${sweep}report/report.md"

test: test-main test-py312

# one pytest worker per core (pytest-xdist), each test file on one worker so that a file's
# shared runs are made once; TEST_WORKERS=0 runs the suite in this process, in order
test-main: $(BIN)/.installed-test
	$(BIN)/python -m pytest --durations=25 $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

test-py312:
	@if [ -z "$(PY312)" ]; then \
	  echo "test-py312: no Python 3.12 found; skipped"; \
	else \
	  $(MAKE) --no-print-directory test-main PYTHON="$(PY312)" VENV=.venv312; \
	fi

bench: $(BIN)/.installed-all
	$(BIN)/python benchmarks/run.py --ten-k

dashboard: $(BIN)/.installed-dashboard
	$(BIN)/marktsim-dashboard

# the 90-minute lesson (docs/lesson): Jupyter installed, the printable worksheets written to lesson-print/,
# the notebook opened (LESSON_LANG=de for the German one); start the dashboard with `make dashboard` beside it
LESSON_LANG ?= en
lesson: $(BIN)/.installed-lesson
	$(BIN)/python docs/lesson/print_sheets.py --out lesson-print
	$(BIN)/jupyter lab docs/lesson/lesson_$(LESSON_LANG).ipynb

# the published-cohort calibration of docs/calibration.md (Fader & Hardie 2007, years 1-7, forecast 8-12)
calibrate-example: $(BIN)/.installed-all
	$(BIN)/marktsim-calibrate --data data/fader_hardie_2007_regular.csv --holdout 5 --progress on \
	  --out results/calibrate/fader_hardie_regular market=growing market.adopted_share=1 \
	  market.n_competitors=0 firm.budget=0 firm.capacity=null market.acquisition_max=0 \
	  customers.wom_positive=0 customers.initial_tenure_mean=0 market.n_customers=20000

# docs/validation.md: the checks, then the study findings its claims table quotes
validate: $(BIN)/.installed-all
	$(BIN)/python -m marktsim.analysis.validation --size full --out docs
	$(BIN)/marktsim-study render
	$(BIN)/marktsim-study check

# every study of experiments/ (about 1.5 hours on 2 cores): sweeps, findings, figures, pages
studies: $(BIN)/.installed-all
	$(BIN)/marktsim-study run --all

# mutation testing (mutmut 3): every module of the model, with the tests of meaning on the numpy
# engine (pyproject.toml [tool.mutmut]); incremental: a rerun tests only what changed. Per module:
#   make mutation MODULES="marktsim.engine.rules*"      Report: tests/MUTATION.md
MODULES ?=
mutation: $(BIN)/.installed-test
	$(BIN)/python -m pip install --quiet "mutmut>=3.3,<4"
	@# mutmut keeps which tests cover which function from its last statistics run: a function or a
	@# test added since would be "no tests", so new sources or tests make it collect them again
	@if [ -f mutants/mutmut-stats.json ] && [ -n "$$(find src tests pyproject.toml -newer mutants/mutmut-stats.json \( -name '*.py' -o -name '*.toml' \) | head -1)" ]; then \
		rm mutants/mutmut-stats.json; fi
	MARKTSIM_TEST_ENGINES=numpy MARKTSIM_ENGINE=numpy $(BIN)/mutmut run --max-children $(CORES) $(MODULES)
	$(BIN)/python tests/mutation_table.py --survivors

clean:
	rm -rf $(VENV) .venv312 .pytest_cache
