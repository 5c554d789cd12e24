#!/usr/bin/env bash
# Runs the whole test suite the way `make test` and CI do: components that the suite needs
# (the Python interop environment, the fixtures under CI) must be there, or tests fail.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/eopf-geozarr-target}"
export EOPF_PYTHON="${EOPF_PYTHON:-${EOPF_VENV:-$HOME/.cache/eopf-geozarr-venv}/bin/python}"
export EOPF_REQUIRE_PYTHON=1
# Object-storage tests run against moto's S3 server on 127.0.0.1 (in the same venv): required.
export EOPF_REQUIRE_S3=1
# The WGSL kernels are tested on Mesa lavapipe (Vulkan on the CPU): without an adapter they fail.
export EOPF_REQUIRE_GPU=1
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"
mkdir -p /tmp/eopf-xdg && chmod 700 /tmp/eopf-xdg
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/eopf-xdg}"
if [ "${CI:-}" = "true" ]; then export EOPF_REQUIRE_FIXTURES=1; fi
fixtures="${EOPF_FIXTURES:-$PWD/../shared/fixtures}"
if [ ! -d "$fixtures" ]; then
  echo "################################################################################"
  echo "# WARNING: $fixtures is missing: the fixture suite will NOT run."
  echo "################################################################################"
fi
status=0
cargo test --all-targets --no-fail-fast 2>&1 || status=$?
# --all-targets leaves out the documentation examples (the rustdoc of `plan` holds exact numbers).
cargo test --doc 2>&1 || status=$?
# The engine without the desktop application (servers, containers, the Python package): no
# windowing or GUI crate in its dependency tree, and the library and CLI tests pass on it.
gui_crates="$(cargo tree --no-default-features -e normal --prefix none 2>/dev/null \
  | grep -E '^(eframe|egui|egui_plot|egui-wgpu|egui-winit|egui_glow|winit|rfd|egui_kittest) ' | sort -u || true)"
if [ -n "$gui_crates" ]; then
  echo "FAIL: GUI crates in the --no-default-features dependency tree: $gui_crates"
  status=1
else
  echo "no-default-features: no GUI or windowing crate in the dependency tree"
fi
cargo test --no-default-features --no-fail-fast --lib --bins \
  --test convert_cli --test bad_input --test info --test validate --test safety 2>&1 || status=$?
# The Python package (python/, PyO3): its wheel built from the library without default features
# (dev profile: the build above is reused) and installed into the test environment, then its
# pytest suite: the reference's API and examples, same bytes as the CLI, the Dask recipe on a
# LocalCluster with a killed worker, S3 against moto.
venv_bin="$(dirname "$EOPF_PYTHON")"
cargo build --no-default-features --bin eopf-geozarr 2>&1 || status=$?
if PATH="$venv_bin:$PATH" MATURIN_PEP517_ARGS="--profile dev" \
    "$EOPF_PYTHON" -m pip install -q --no-build-isolation --no-deps --force-reinstall ./python 2>&1; then
  EOPF_CLI="$CARGO_TARGET_DIR/debug/eopf-geozarr" "$EOPF_PYTHON" -m pytest -q -p no:cacheprovider \
    python/tests 2>&1 || status=$?
else
  echo "FAIL: the Python package (python/) did not build or install"
  status=1
fi
if [ ! -d "$fixtures" ]; then
  echo "WARNING: the fixture suite did not run ($fixtures is missing)."
fi
exit $status
