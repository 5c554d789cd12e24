"""Pipeline A (``create_geozarr_dataset``, the reference's ``conversion/geozarr.py``) on the engine."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from .. import _common, _native
from . import fs_utils
from .utils import calculate_overview_levels

__all__ = [
    "async_consolidate_metadata",
    "calculate_overview_levels",
    "consolidate_metadata",
    "create_geozarr_dataset",
    "get_zarr_group",
    "iterative_copy",
]


def _groups(groups: Iterable[str] | str | None, name: str) -> list[str] | None:
    if groups is None:
        return None
    if isinstance(groups, str):
        return [groups]
    out = list(groups)
    if not all(isinstance(g, str) for g in out):
        raise TypeError(f"{name} must be an iterable of group paths (str)")
    return out


def create_geozarr_dataset(
    dt_input: Any,
    groups: Iterable[str],
    output_path: str,
    spatial_chunk: int = 4096,
    min_dimension: int = 256,
    max_retries: int = 3,
    crs_groups: Iterable[str] | None = None,
    gcp_group: str | None = None,
    enable_sharding: bool = False,
    *,
    profile: str = "geozarr",
    codec: str = "auto",
    shard_size: str | int = "4096",
    device: str = "auto",
    **storage_kwargs: Any,
) -> Any:
    """Pipeline A: the ``groups`` become GeoZarr groups with overviews, every other group is
    copied. ``dt_input`` is a DataTree opened from a store, or its path/URL. Returns the output
    opened as a DataTree. Sentinel-1 needs ``gcp_group`` (ValueError otherwise); requested groups
    that are missing are skipped. An existing output is replaced if it is a Zarr store or ours
    (an interrupted conversion of ours with the same input and options is resumed); anything
    else raises PermissionError. ``storage_kwargs`` are s3fs-style options for ``s3://``
    (``key``, ``secret``, ``token``, ``endpoint_url``, ``region_name``, ``anon``,
    ``client_kwargs``), as :func:`~eopf_geozarr_rs.conversion.fs_utils.get_s3_storage_options`
    returns them; without them the ``AWS_*`` environment is used."""
    source = _common.source_of(dt_input)
    output = _common.output_of(output_path)
    _run(
        source,
        output,
        groups=_groups(groups, "groups") or [],
        spatial_chunk=spatial_chunk,
        min_dimension=min_dimension,
        max_retries=max_retries,
        crs_groups=_groups(crs_groups, "crs_groups"),
        gcp_group=gcp_group,
        enable_sharding=enable_sharding,
        storage_options=storage_kwargs,
        extra={"profile": profile, "codec": codec, "shard_size": shard_size, "device": device},
    )
    return _common.open_output(output, storage_kwargs)


def _run(
    source: str,
    output: str,
    *,
    groups: list[str],
    spatial_chunk: int,
    min_dimension: int,
    max_retries: int,
    crs_groups: list[str] | None,
    gcp_group: str | None,
    enable_sharding: bool,
    storage_options: dict[str, Any] | None,
    extra: dict[str, Any],
) -> str:
    """The engine's pipeline A from ``source`` to ``output`` (replacing or resuming as
    :func:`create_geozarr_dataset` says); returns the engine's JSON report. ``extra``: our
    keyword-only options (``profile``, ``codec``, ``shard_size``, ``device``)."""
    return _native.create_geozarr_dataset(
        source,
        output,
        groups=groups,
        spatial_chunk=int(spatial_chunk),
        min_dimension=int(min_dimension),
        max_retries=int(max_retries),
        crs_groups=crs_groups,
        gcp_group=gcp_group,
        enable_sharding=bool(enable_sharding),
        on_existing="replace",
        storage_options=_common.storage_json(storage_options),
        **_common.options(extra),
    )


def iterative_copy(
    dt_input: Any,
    geozarr_groups: dict[str, Any],
    output_path: str,
    compressor: Any,
    spatial_chunk: int = 4096,
    min_dimension: int = 256,
    max_retries: int = 3,
    crs_groups: Iterable[str] | None = None,
    gcp_group: str | None = None,
    enable_sharding: bool = False,
) -> Any:
    """The reference's tree walk of pipeline A: the keys of ``geozarr_groups`` become GeoZarr
    groups, everything else is copied. The prepared datasets themselves and ``compressor`` are not
    used: the engine prepares the groups from the input and compresses as its profile says."""
    del compressor
    return create_geozarr_dataset(
        dt_input,
        list(geozarr_groups),
        output_path,
        spatial_chunk=spatial_chunk,
        min_dimension=min_dimension,
        max_retries=max_retries,
        crs_groups=crs_groups,
        gcp_group=gcp_group,
        enable_sharding=enable_sharding,
    )


def consolidate_metadata(store: Any, path: str | None = None, zarr_format: int | None = None) -> Any:
    """Inline consolidated metadata of everything below ``path`` of a Zarr v3 store (a path, an
    ``s3://`` URL or a zarr-python store); returns the group opened with zarr-python."""
    import zarr

    location = _store_location(store)
    fs_utils.consolidate_metadata(location, path or "", zarr_format=zarr_format)
    return zarr.open_group(
        location,
        path=path or "",
        mode="r",
        zarr_format=3,
        storage_options=fs_utils.get_storage_options(location),
    )


async def async_consolidate_metadata(
    store: Any, path: str | None = None, zarr_format: int | None = None
) -> Any:
    """:func:`consolidate_metadata` without blocking the event loop; returns the AsyncGroup."""
    import zarr.api.asynchronous as za

    location = _store_location(store)
    await asyncio.to_thread(
        fs_utils.consolidate_metadata, location, path or "", zarr_format=zarr_format
    )
    return await za.open_group(
        location,
        path=path or "",
        mode="r",
        zarr_format=3,
        storage_options=fs_utils.get_storage_options(location),
    )


def get_zarr_group(data: Any) -> Any:
    """The zarr-python group of the store a DataTree was opened from."""
    import zarr

    location = _common.source_of(data, "data")
    return zarr.open_group(
        location, mode="r", storage_options=fs_utils.get_storage_options(location)
    )


def _store_location(store: Any) -> str:
    location = _common.store_path(store)
    if location is None:
        raise TypeError(
            f"store: a path, an s3:// URL or a local/fsspec zarr store is needed, not {type(store).__name__}"
        )
    return location
