"""The engine's synthetic Sentinel-2 product (what ``eopf-geozarr demo`` writes)."""

from __future__ import annotations

import os

from . import _native


def write_demo_product(
    output_path: str | os.PathLike[str],
    *,
    size: int = 1098,
    seed: int = 42,
    level: str = "l2a",
    zarr_format: int = 3,
) -> str:
    """Write the demo product (EOPF layout; r10m edge ``size`` px; Zarr v3 as EOPF writes since
    N0512, or 2) to a new ``output_path``; returns its path."""
    return _native.write_demo(
        os.fspath(output_path), size=size, seed=seed, level=level, zarr_format=zarr_format
    )
