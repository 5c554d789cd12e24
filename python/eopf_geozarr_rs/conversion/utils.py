"""The reference's ``conversion.utils``: chunk and level arithmetic from the engine, and its
predicates on xarray datasets."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .. import _native

__all__ = [
    "calculate_aligned_chunk_size",
    "calculate_overview_levels",
    "downsample_2d_array",
    "is_grid_mapping_variable",
    "validate_existing_band_data",
]


def _size(v: Any, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name} must be an int, not {type(v).__name__}")
    if v < 0:
        raise ValueError(f"{name} must not be negative (got {v})")
    return int(v)


def calculate_aligned_chunk_size(dimension_size: int, target_chunk_size: int) -> int:
    """The largest divisor of ``dimension_size`` near ``target_chunk_size`` (5490/3660 → 2745,
    10980/4096 → 3660), or ``target_chunk_size`` when there is none within about half of it."""
    return _native.calculate_aligned_chunk_size(
        _size(dimension_size, "dimension_size"), _size(target_chunk_size, "target_chunk_size")
    )


def calculate_overview_levels(
    native_width: int, native_height: int, min_dimension: int = 256
) -> list[dict[str, Any]]:
    """Pipeline A's levels: ``{level, width, height, translation_relative, scale_relative}`` for
    halvings of the native size down to ``min_dimension``."""
    return json.loads(
        _native.calculate_overview_levels(
            _size(native_width, "native_width"),
            _size(native_height, "native_height"),
            _size(min_dimension, "min_dimension"),
        )
    )


def downsample_2d_array(
    source_data: np.ndarray,
    target_height: int,
    target_width: int,
    nodata_value: float | None = None,
) -> np.ndarray:
    """Block mean (float64; a finite ``nodata_value`` left out of each mean and kept where a
    block holds nothing else, NaN ``nodata_value``: mean of the non-NaN values) when both block
    sizes exceed 1, else nearest sampling (the source dtype)."""
    a = np.asarray(source_data)
    if a.ndim != 2:
        raise ValueError(f"source_data must be 2-D, not {a.ndim}-D")
    th, tw = _size(target_height, "target_height"), _size(target_width, "target_width")
    if th == 0 or tw == 0:
        raise ValueError(f"target size {th}×{tw} is empty")
    h, w = a.shape
    if h // th > 1 and w // tw > 1:
        values = np.ascontiguousarray(a, dtype=np.float64).tobytes()
        nodata = None if nodata_value is None else float(nodata_value)
        out = _native.block_mean_2d(values, h, w, th, tw, nodata)
        return np.frombuffer(out, dtype=np.float64).reshape(th, tw).copy()
    rows = np.linspace(0, h - 1, th, dtype=int)
    cols = np.linspace(0, w - 1, tw, dtype=int)
    return a[np.ix_(rows, cols)]


def is_grid_mapping_variable(ds: Any, var_name: str) -> bool:
    """Whether some other data variable of ``ds`` names ``var_name`` as its ``grid_mapping``."""
    return any(
        name != var_name and ds[name].attrs.get("grid_mapping") == var_name
        for name in ds.data_vars
    )


def _crs(ds: Any) -> Any:
    try:
        import rioxarray  # noqa: F401

        return ds.rio.crs
    except ImportError:
        gm = ds.attrs.get("grid_mapping", "spatial_ref")
        return ds[gm].attrs.get("crs_wkt") if gm in ds.variables else None


def validate_existing_band_data(existing_group: Any, var_name: str, reference_ds: Any) -> bool:
    """Whether ``var_name`` in an existing output group can be kept: present, same shape as in
    ``reference_ds``, with ``_ARRAY_DIMENSIONS`` and ``standard_name``, the same CRS, and a
    first pixel that is not NaN. Any failure to check is ``False``."""
    try:
        if var_name not in existing_group.data_vars and var_name not in existing_group.coords:
            return False
        if var_name in reference_ds.data_vars:
            if reference_ds[var_name].shape != existing_group[var_name].shape:
                return False
            if not is_grid_mapping_variable(reference_ds, var_name):
                attrs = existing_group[var_name].attrs
                if "_ARRAY_DIMENSIONS" not in attrs or "standard_name" not in attrs:
                    return False
        if _crs(existing_group) != _crs(reference_ds):
            return False
        if var_name in existing_group.data_vars and not is_grid_mapping_variable(
            existing_group, var_name
        ):
            arr = existing_group[var_name]
            if arr.size == 0:
                return False
            first = arr.isel(dict.fromkeys(arr.dims, 0)).values.mean()
            if np.isnan(first):
                return False
        return True
    except Exception:
        return False
