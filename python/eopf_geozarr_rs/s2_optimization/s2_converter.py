"""``convert_s2_optimized`` (pipeline B) on the engine."""

from __future__ import annotations

from typing import Any

from .. import _common, _native

__all__ = ["convert_s2_optimized", "is_sentinel2_dataset"]


def convert_s2_optimized(
    dt_input: Any,
    *,
    output_path: str,
    enable_sharding: bool = False,
    spatial_chunk: int = 256,
    compression_level: int = 3,
    validate_output: bool = True,
    keep_scale_offset: bool = False,
    max_retries: int = 3,
    profile: str = "geozarr",
    codec: str = "auto",
    shard_size: str | int = "4096",
    device: str = "auto",
) -> Any:
    """Convert a Sentinel-2 product (a DataTree opened from a store, or its path/URL) to an
    optimised GeoZarr store: the product copied, the reflectance pyramid r10m … r720m, the
    ``multiscales`` metadata, the store-root bbox, consolidated metadata. The same bytes as
    ``eopf-geozarr convert-s2-optimized`` with the same options. ``validate_output`` runs the
    engine's GeoZarr validator (ValueError on errors). Returns the output opened as a DataTree.

    The reference's parameters have no defaults but ``max_retries``; here they default to what
    its CLI passes (no sharding, chunk 256, level 3, validation, decoded reflectance), so that the
    calls of its documentation run as written.

    Not Sentinel-2 ⇒ ValueError; a missing input ⇒ FileNotFoundError; an existing output that is
    neither a Zarr store nor ours ⇒ PermissionError (nothing touched). An existing Zarr store or
    output of ours is replaced, an interrupted conversion of ours with the same input and options
    is resumed."""
    source = _common.source_of(dt_input)
    output = _common.output_of(output_path)
    _run(
        source,
        output,
        enable_sharding=enable_sharding,
        spatial_chunk=spatial_chunk,
        compression_level=compression_level,
        validate_output=validate_output,
        keep_scale_offset=keep_scale_offset,
        max_retries=max_retries,
        extra={"profile": profile, "codec": codec, "shard_size": shard_size, "device": device},
    )
    return _common.open_output(output)


def _run(
    source: str,
    output: str,
    *,
    enable_sharding: bool,
    spatial_chunk: int,
    compression_level: int,
    validate_output: bool,
    keep_scale_offset: bool,
    max_retries: int,
    extra: dict[str, Any],
) -> str:
    """The engine's pipeline B from ``source`` to ``output`` (replacing or resuming as
    :func:`convert_s2_optimized` says); returns the engine's JSON report. ``extra``: our
    keyword-only options (``profile``, ``codec``, ``shard_size``, ``device``)."""
    return _native.convert_s2_optimized(
        source,
        output,
        enable_sharding=bool(enable_sharding),
        spatial_chunk=int(spatial_chunk),
        compression_level=int(compression_level),
        validate_output=bool(validate_output),
        keep_scale_offset=bool(keep_scale_offset),
        max_retries=int(max_retries),
        finalise_root=True,
        on_existing="replace",
        storage_options=None,
        **_common.options(extra),
    )


def is_sentinel2_dataset(group: Any) -> bool:
    """Whether a zarr-python group (or a store path/URL, or a DataTree opened from one) is a
    Sentinel-2 product; a group that cannot be read is not."""
    try:
        location = _common.store_path(getattr(group, "store", None)) if hasattr(
            group, "store"
        ) else _common.source_of(group, "group")
        if location is None:
            return False
        sub = getattr(group, "path", "")
        if sub:
            location = location.rstrip("/") + "/" + sub
        return _native.sentinel2_check(location) is None
    except Exception:
        return False
