#!/usr/bin/env bash
# Print a short hash of an image's inputs: a parent hash plus every file (name and content) below the
# given directories of tests/lab/images/. An image is rebuilt only when this hash changes.
# Usage: input-hash.sh PARENT_HASH DIR...
set -euo pipefail
cd "$(dirname "$0")"
parent=$1
shift
{
  printf '%s\n' "$parent"
  find "$@" -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
} | sha256sum | cut -c1-16
