# Two entry points: `make run` starts the bot on the demo collection,
# `make test` runs the test suite. Both create .venv on first use.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test demo-data clean-index

$(STAMP): pyproject.toml
	@command -v ffmpeg >/dev/null || { echo "ffmpeg is missing: install it first (Debian/Ubuntu: apt-get install ffmpeg)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torchaudio 2.9.1 needs exactly torch 2.9.1; installing the trio first keeps pip from picking another torch.
	$(PY) -m pip install torch==2.9.1 torchvision==0.24.1 torchaudio==2.9.1
	$(PY) -m pip install -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m bot

test: $(STAMP)
	$(PY) -m pytest

# Rebuild data/demo from the Debian package tuxpaint-stamps-default (needs espeak-ng).
demo-data: $(STAMP)
	$(PY) data/build_demo.py

# Forget the cached indexes; the demo index is rebuilt on next use.
clean-index:
	rm -rf var/collections var/saysee.sqlite3*
