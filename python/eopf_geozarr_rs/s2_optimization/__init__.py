"""Pipeline B (the reference's ``eopf_geozarr.s2_optimization``)."""

from .s2_converter import convert_s2_optimized, is_sentinel2_dataset
from .s2_multiscale import create_multiscale_from_datatree

__all__ = ["convert_s2_optimized", "create_multiscale_from_datatree", "is_sentinel2_dataset"]
