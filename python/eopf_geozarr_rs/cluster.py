"""Many products on a Dask cluster: one task per product, each a whole conversion on one worker.

A conversion is one engine call (it uses every core of its worker through the engine's own
thread pool), so run workers with one thread each (``LocalCluster(threads_per_worker=1)``,
``dask worker --nthreads 1``). When a worker dies mid-conversion the scheduler runs the task
again on another worker (up to ``distributed.scheduler.allowed-failures`` times, 3 by default);
the new run finds the interrupted output of the same input and options and resumes it, keeping
every array the dead worker completed. A task that fails with an exception is retried
``retries`` times. See ``examples/dask_many_products.py``.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable
from typing import Any

from . import _common
from .conversion import geozarr
from .s2_optimization import s2_converter

__all__ = ["convert_product", "convert_products"]


def convert_product(
    input_path: str,
    output_path: str,
    *,
    pipeline: str = "s2",
    enable_sharding: bool = True,
    spatial_chunk: int = 256,
    compression_level: int = 3,
    validate_output: bool = True,
    keep_scale_offset: bool = False,
    max_retries: int = 3,
    groups: Iterable[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Convert one product (local path or ``s3://``) and return a summary (picklable; no
    DataTree): ``{"input", "output", "arrays", "groups", "kernels", "up_to_date", "worker_pid"}``.
    ``pipeline="s2"`` is ``convert_s2_optimized``; ``"generic"`` is ``create_geozarr_dataset``
    with ``groups``. An existing output is replaced, an interrupted one of the same conversion
    resumed; anything that is neither ours nor a Zarr store is refused (PermissionError)."""
    source = _common.source_of(input_path, "input_path")
    output = _common.output_of(output_path)
    if pipeline == "s2":
        text = s2_converter._run(
            source,
            output,
            enable_sharding=enable_sharding,
            spatial_chunk=spatial_chunk,
            compression_level=compression_level,
            validate_output=validate_output,
            keep_scale_offset=keep_scale_offset,
            max_retries=max_retries,
            extra=extra,
        )
    elif pipeline == "generic":
        text = geozarr._run(
            source,
            output,
            groups=list(groups or []),
            spatial_chunk=spatial_chunk,
            min_dimension=256,
            max_retries=max_retries,
            crs_groups=None,
            gcp_group=None,
            enable_sharding=enable_sharding,
            storage_options=None,
            extra=extra,
        )
    else:
        raise ValueError(f"pipeline {pipeline!r}: expected 's2' or 'generic'")
    report = json.loads(text)
    return {
        "input": source,
        "output": output,
        "arrays": report["arrays"],
        "groups": len(report["groups"]),
        "kernels": report["kernels"],
        "up_to_date": report["up_to_date"],
        "worker_pid": os.getpid(),
    }


def convert_products(
    client: Any,
    products: Iterable[tuple[str, str]],
    *,
    retries: int = 2,
    **options: Any,
) -> list[dict[str, Any]]:
    """Submit one :func:`convert_product` task per ``(input, output)`` pair to a
    ``dask.distributed`` client and wait for all of them; results in the order given. The task
    keys are ``eopf-geozarr-<n>-<batch>`` so that a dashboard shows which product is where."""
    batch = uuid.uuid4().hex[:8]
    futures = [
        client.submit(
            convert_product,
            src,
            dst,
            key=f"eopf-geozarr-{n}-{batch}",
            retries=retries,
            pure=False,
            **options,
        )
        for n, (src, dst) in enumerate(products)
    ]
    return client.gather(futures)
