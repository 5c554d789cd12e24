"""eopf-geozarr's Python API on the Rust eopf-geozarr engine.

Replacing ``eopf_geozarr`` by ``eopf_geozarr_rs`` in an import is the whole migration: the
modules, functions, parameters and defaults are the reference's (eopf-geozarr's API reference),
and the conversions run in Rust with the GIL released.
"""

from ._native import engine_version as _engine_version
from .conversion import (
    async_consolidate_metadata,
    calculate_aligned_chunk_size,
    consolidate_metadata,
    create_geozarr_dataset,
    downsample_2d_array,
    is_grid_mapping_variable,
    iterative_copy,
    validate_existing_band_data,
)
from .demo import write_demo_product

__version__ = _engine_version()

__all__ = [
    "__version__",
    "async_consolidate_metadata",
    "calculate_aligned_chunk_size",
    "consolidate_metadata",
    "create_geozarr_dataset",
    "downsample_2d_array",
    "is_grid_mapping_variable",
    "iterative_copy",
    "validate_existing_band_data",
    "write_demo_product",
]
