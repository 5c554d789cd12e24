"""Pipeline A and its helpers (the reference's ``eopf_geozarr.conversion``)."""

from .geozarr import (
    async_consolidate_metadata,
    calculate_overview_levels,
    consolidate_metadata,
    create_geozarr_dataset,
    get_zarr_group,
    iterative_copy,
)
from .utils import (
    calculate_aligned_chunk_size,
    downsample_2d_array,
    is_grid_mapping_variable,
    validate_existing_band_data,
)

__all__ = [
    "async_consolidate_metadata",
    "calculate_aligned_chunk_size",
    "calculate_overview_levels",
    "consolidate_metadata",
    "create_geozarr_dataset",
    "downsample_2d_array",
    "get_zarr_group",
    "is_grid_mapping_variable",
    "iterative_copy",
    "validate_existing_band_data",
]
