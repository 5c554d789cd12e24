"""Fixtures of the Python package's tests: the CLI they compare with, demo products, and the
S3-compatible test server (moto on 127.0.0.1, tests/python/s3_harness.py of the repository).

Nothing here is optional: a missing CLI, package or server fails the tests, it never skips them.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

import eopf_geozarr_rs

REPO = pathlib.Path(__file__).resolve().parents[2]

#: The demo products of these tests: small (r10m 366 px), so that the suite stays short.
DEMO_SIZE = 366


def _cli() -> pathlib.Path:
    named = os.environ.get("EOPF_CLI")
    candidates = [pathlib.Path(named)] if named else []
    target = os.environ.get("CARGO_TARGET_DIR", str(REPO / "target"))
    candidates += [pathlib.Path(target) / "debug" / "eopf-geozarr", REPO / "target/debug/eopf-geozarr"]
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    pytest.fail(
        "the eopf-geozarr CLI was not found (set EOPF_CLI, or build it with `cargo build`): "
        f"looked at {', '.join(map(str, candidates))}"
    )


@pytest.fixture(scope="session")
def cli() -> pathlib.Path:
    return _cli()


def run_cli(cli: pathlib.Path, *args: str, env: dict[str, str] | None = None) -> str:
    r = subprocess.run(
        [str(cli), *args], capture_output=True, text=True, env={**os.environ, **(env or {})}
    )
    assert r.returncode == 0, f"{cli} {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout


@pytest.fixture(scope="session")
def demo_v3(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("demo") / "demo-v3.zarr"
    return eopf_geozarr_rs.write_demo_product(out, size=DEMO_SIZE, seed=7)


@pytest.fixture(scope="session")
def demo_v2(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("demo") / "demo-v2.zarr"
    return eopf_geozarr_rs.write_demo_product(out, size=DEMO_SIZE, seed=8, zarr_format=2)


def store_files(root: str | os.PathLike[str]) -> dict[str, bytes]:
    """Every file of a local store by relative path, with its bytes."""
    root = pathlib.Path(root)
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def assert_same_store(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> None:
    fa, fb = store_files(a), store_files(b)
    assert fa.keys() == fb.keys(), (
        f"different files: only in {a}: {sorted(fa.keys() - fb.keys())[:5]}, "
        f"only in {b}: {sorted(fb.keys() - fa.keys())[:5]}"
    )
    differ = [k for k in fa if fa[k] != fb[k]]
    assert not differ, f"{len(differ)} files differ between {a} and {b}, e.g. {differ[:5]}"
    assert len(fa) > 50, f"{a}: only {len(fa)} files"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """moto's S3 server with signature checking (IAM keys created at start), one bucket."""
    root = tmp_path_factory.mktemp("http-root")
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "tests/python/s3_harness.py"), str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        pytest.fail("the S3 test server (tests/python/s3_harness.py) did not start")
    info = json.loads(line)
    try:
        yield info
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


@pytest.fixture
def s3_env(s3_server, monkeypatch):
    """The reference's S3 environment variables pointing at the test server."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server["key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server["secret"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{s3_server['moto']}")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return s3_server
