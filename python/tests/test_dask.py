"""Many products on a dask.distributed LocalCluster (two worker processes on 127.0.0.1), one task
per product; one worker process is killed mid-conversion, its task runs again elsewhere and
resumes; every output equals the CLI's conversion of the same product."""

from __future__ import annotations

import os
import signal
import time

import pytest

import eopf_geozarr_rs
from conftest import assert_same_store, run_cli

OPTIONS = dict(enable_sharding=True, spatial_chunk=256)
CLI_FLAGS = ["--enable-sharding", "--spatial-chunk", "256"]


def _journal_started(out: str) -> bool:
    """The conversion has started writing (its journal exists) and is not complete."""
    j = os.path.join(out, ".eopf-geozarr-journal.json")
    try:
        with open(j) as f:
            return '"complete":false' in f.read().replace(" ", "")
    except OSError:
        return False


def test_four_products_two_workers_one_killed(tmp_path, cli):
    from dask.distributed import Client, LocalCluster

    from eopf_geozarr_rs.cluster import convert_product

    products = []
    for i in range(4):
        src = eopf_geozarr_rs.write_demo_product(tmp_path / f"in{i}.zarr", size=1098, seed=100 + i)
        products.append((src, str(tmp_path / f"out{i}.zarr")))

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        memory_limit="4GiB",
    ) as cluster, Client(cluster) as client:
        futures = [
            client.submit(convert_product, s, d, key=f"eopf-geozarr-{n}", pure=False, retries=2, **OPTIONS)
            for n, (s, d) in enumerate(products)
        ]
        outputs = {f"eopf-geozarr-{n}": d for n, (_, d) in enumerate(products)}
        # Wait until a worker is in the middle of a conversion (its journal written, not
        # complete), then kill that worker process.
        victim = None
        deadline = time.monotonic() + 120
        while victim is None and time.monotonic() < deadline:
            for addr, keys in client.processing().items():
                for k in keys:
                    if _journal_started(outputs[k]):
                        victim = (addr, k)
                        break
                if victim:
                    break
            time.sleep(0.02)
        assert victim, "no conversion was seen in progress"
        addr, key = victim
        pid = client.run(os.getpid, workers=[addr])[addr]
        os.kill(pid, signal.SIGKILL)
        results = client.gather(futures)
        suspicious = client.run_on_scheduler(
            lambda dask_scheduler: {k: ts.suspicious for k, ts in dask_scheduler.tasks.items()}
        )
    assert suspicious[key] >= 1, f"{key} was not re-run after its worker died: {suspicious}"
    assert _journal_started(outputs[key]) is False
    by_key = dict(zip(outputs, results))
    assert by_key[key]["worker_pid"] != pid, "the killed worker cannot have finished the task"
    for (src, dst), r in zip(products, results):
        assert r["output"] == dst and r["arrays"] > 100 and not r["up_to_date"]
        ref = tmp_path / (os.path.basename(dst) + ".cli")
        run_cli(cli, "convert-s2-optimized", src, str(ref), *CLI_FLAGS)
        assert_same_store(dst, ref)


def test_convert_products_helper_retries_and_orders_results(tmp_path):
    from dask.distributed import Client, LocalCluster

    from eopf_geozarr_rs.cluster import convert_products

    src = eopf_geozarr_rs.write_demo_product(tmp_path / "in.zarr", size=366, seed=5)
    pairs = [(src, str(tmp_path / "a.zarr")), (src, str(tmp_path / "b.zarr"))]
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        results = convert_products(client, pairs, **OPTIONS)
        assert [r["output"] for r in results] == [d for _, d in pairs]
        with pytest.raises(FileNotFoundError):
            convert_products(client, [(str(tmp_path / "missing.zarr"), str(tmp_path / "c.zarr"))])


def test_the_example_script_runs(tmp_path):
    """python/examples/dask_many_products.py as the README shows it, on a LocalCluster."""
    import pathlib
    import subprocess
    import sys

    example = pathlib.Path(__file__).resolve().parents[1] / "examples" / "dask_many_products.py"
    srcs = [
        eopf_geozarr_rs.write_demo_product(tmp_path / f"S2-demo-{i}.zarr", size=366, seed=i)
        for i in range(2)
    ]
    (tmp_path / "list.txt").write_text("# products\n" + "\n".join(srcs) + "\n")
    r = subprocess.run(
        [sys.executable, str(example), str(tmp_path / "list.txt"), str(tmp_path / "out")],
        capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    for i in range(2):
        assert (tmp_path / "out" / f"S2-demo-{i}-geozarr.zarr" / "zarr.json").is_file()
    assert r.stdout.count(" arrays (") == 2
