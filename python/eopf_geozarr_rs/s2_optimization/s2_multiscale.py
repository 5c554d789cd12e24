"""``create_multiscale_from_datatree`` and the chunk arithmetic of pipeline B."""

from __future__ import annotations

import json
from typing import Any

from .. import _common, _native

__all__ = [
    "calculate_aligned_chunk_size",
    "calculate_simple_shard_dimensions",
    "create_multiscale_from_datatree",
]


def create_multiscale_from_datatree(
    dt_input: Any,
    *,
    output_group: Any,
    enable_sharding: bool = False,
    spatial_chunk: int = 256,
    crs: Any = None,
    keep_scale_offset: bool = False,
    experimental_scale_offset_codec: bool = False,
    profile: str = "geozarr",
    codec: str = "auto",
    shard_size: str | int = "4096",
    device: str = "auto",
) -> dict[str, Any]:
    """Pipeline B without the store-root finalisation, into ``output_group`` (a zarr-python group
    of a local or ``s3://`` store, or a path/URL): the product copied, the reflectance pyramid,
    its ``multiscales``. Returns ``{group path: Dataset}`` for every written group with arrays,
    opened lazily on the output; the reflectance parent maps to ``None``.

    ``crs`` is resolved from the product (as the reference does when it is ``None``; a given value
    is not used, with a warning); ``experimental_scale_offset_codec`` is a ValueError (the
    scale_offset codec is not available in the engine: use ``keep_scale_offset``)."""
    import xarray as xr

    from ..conversion.fs_utils import get_storage_options

    if experimental_scale_offset_codec:
        raise ValueError(
            "experimental_scale_offset_codec: the scale_offset and cast_value codecs are not "
            "available in the engine; use keep_scale_offset=True for packed uint16 with CF attributes"
        )
    if crs is not None:
        import warnings

        warnings.warn(
            "create_multiscale_from_datatree: crs is resolved from the product by the engine "
            "(REFERENCE §1.6 order); the crs argument is not used",
            stacklevel=2,
        )
    source = _common.source_of(dt_input)
    output = _output_of_group(output_group)

    report = json.loads(
        _native.convert_s2_optimized(
            source,
            output,
            enable_sharding=bool(enable_sharding),
            spatial_chunk=int(spatial_chunk),
            compression_level=3,
            validate_output=False,
            keep_scale_offset=bool(keep_scale_offset),
            max_retries=3,
            finalise_root=False,
            on_existing="replace",
            storage_options=None,
            **_common.options(
                {"profile": profile, "codec": codec, "shard_size": shard_size, "device": device}
            ),
        )
    )
    parents = {p.rsplit("/", 1)[0] or "/" for p in report["array_paths"]}
    options = get_storage_options(output)
    out: dict[str, Any] = {}
    for group in report["groups"]:
        if group == "/" or group not in parents:
            continue
        out[group] = xr.open_dataset(
            output,
            group=group.lstrip("/"),
            engine="zarr",
            chunks={},
            consolidated=False,
            storage_options=options,
        )
    if "/measurements/reflectance" in report["groups"]:
        out["/measurements/reflectance"] = None
    return out


def _output_of_group(group: Any) -> str:
    if isinstance(group, str) or hasattr(group, "__fspath__"):
        return _common.output_of(group, "output_group")
    location = _common.store_path(getattr(group, "store", None))
    if location is None:
        raise TypeError(
            "output_group: a zarr-python group of a local or s3:// store, or a path/URL, is needed"
        )
    sub = getattr(group, "path", "")
    return location.rstrip("/") + "/" + sub if sub else location


def calculate_aligned_chunk_size(dimension_size: int, target_chunk: int) -> int:
    """Pipeline B's variant: the largest divisor of ``dimension_size`` not above ``target_chunk``."""
    return _native.calculate_aligned_chunk_size_s2(int(dimension_size), int(target_chunk))


def calculate_simple_shard_dimensions(
    data_shape: tuple[int, ...], chunks: tuple[int, ...]
) -> tuple[int, ...]:
    """Shard shape: per axis the largest multiple of the chunk that fits the data (whole-array
    shards with the chunk as the unit)."""
    return tuple(_native.calculate_simple_shard_dimensions(list(data_shape), list(chunks)))
