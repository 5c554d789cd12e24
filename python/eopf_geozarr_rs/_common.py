"""What every public function shares: the input a DataTree came from, the output as a path,
options for the engine, and opening what was written."""

from __future__ import annotations

import json
import os
from typing import Any

from . import _native

#: Our options beyond the reference's parameters (keyword-only, with these defaults):
#: ``profile`` ("geozarr": the published conventions with our fixes, as the CLI's default;
#: "reference": eopf-geozarr 0.10.1's metadata), ``codec`` ("auto": zstd, and
#: Blosc zstd with byte shuffle for the packed uint16 of ``keep_scale_offset``; "zstd",
#: "blosc-zstd", "blosc-zstd-bitshuffle"), ``shard_size`` (pixels or "full"), ``device`` ("auto", "cpu", "gpu").
DEFAULTS = {"profile": "geozarr", "codec": "auto", "shard_size": "4096", "device": "auto"}


def source_of(dt_input: Any, name: str = "dt_input") -> str:
    """The path or URL of the store ``dt_input`` was opened from (its ``encoding["source"]``), or
    ``dt_input`` itself when it is a path or URL."""
    if isinstance(dt_input, (str, os.PathLike)):
        return os.fspath(dt_input)
    encoding = getattr(dt_input, "encoding", None)
    if isinstance(encoding, dict) and isinstance(encoding.get("source"), str):
        return encoding["source"]
    close = getattr(dt_input, "_close", None)
    store = getattr(getattr(getattr(close, "__self__", None), "zarr_group", None), "store", None)
    path = store_path(store) if store is not None else None
    if path is not None:
        return path
    raise ValueError(
        f"{name}: a DataTree opened from a store (xarray.open_datatree(path, engine='zarr')) or a "
        f"path/URL is needed: this {type(dt_input).__name__} has no encoding['source'] "
        "(eopf_geozarr_rs converts stores, not in-memory trees)"
    )


def store_path(store: Any) -> str | None:
    """The location of a zarr-python store (local or fsspec), or ``None``."""
    if isinstance(store, (str, os.PathLike)):
        return os.fspath(store)
    root = getattr(store, "root", None)
    if root is not None:
        return os.fspath(root)
    path = getattr(store, "path", None)
    fs = getattr(store, "fs", None)
    if isinstance(path, str):
        protocol = getattr(fs, "protocol", "file")
        protocol = protocol[0] if isinstance(protocol, (tuple, list)) else protocol
        if protocol in ("s3", "s3a"):
            return "s3://" + path.lstrip("/")
        if protocol in ("file", "local"):
            return path
    return None


def output_of(output_path: Any, name: str = "output_path") -> str:
    if not isinstance(output_path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path or URL, not {type(output_path).__name__}")
    out = os.fspath(output_path)
    if not out:
        raise ValueError(f"{name} is empty")
    return out


def options(extra: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(extra) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(unknown)}")
    merged = {**DEFAULTS, **extra}
    return {
        "profile_name": str(merged["profile"]),
        "codec_name": str(merged["codec"]),
        "shard": str(merged["shard_size"]),
        "device": str(merged["device"]),
    }


#: The storage options s3fs itself takes (others, such as a top-level ``region_name``, are ours).
S3FS_OPTIONS = {"key", "secret", "token", "endpoint_url", "anon", "use_ssl", "client_kwargs"}


def storage_json(storage_options: dict[str, Any] | None) -> str | None:
    return json.dumps(storage_options) if storage_options else None


def open_output(output: str, storage_kwargs: dict[str, Any] | None = None) -> Any:
    """The written store as an xarray DataTree (what the reference returns), opened lazily."""
    import xarray as xr

    from .conversion.fs_utils import get_storage_options

    options = get_storage_options(output)
    if options is not None and storage_kwargs:
        options.update({k: v for k, v in storage_kwargs.items() if k in S3FS_OPTIONS})
    return xr.open_datatree(output, engine="zarr", storage_options=options, chunks={})
