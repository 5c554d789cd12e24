"""The reference's ``conversion.fs_utils``: paths, storage options and JSON documents, local or on
S3, served by the engine's storage layer. S3 settings come from the ``AWS_*`` environment as the
reference's (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``,
``AWS_DEFAULT_REGION`` — default ``us-east-1`` —, ``AWS_ENDPOINT_URL``, ``AWS_PROFILE``); the
``**kwargs`` of a call may add s3fs-style ``endpoint_url``, ``key``, ``secret``, ``token``,
``anon`` and ``client_kwargs={"region_name": …}``."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from .. import _native

__all__ = [
    "consolidate_metadata",
    "get_filesystem",
    "get_s3_credentials_info",
    "get_s3_storage_options",
    "get_storage_options",
    "is_s3_path",
    "normalize_path",
    "normalize_s3_path",
    "open_s3_zarr_group",
    "open_zarr_group",
    "parse_s3_path",
    "path_exists",
    "read_json_metadata",
    "read_s3_json_metadata",
    "replace_json_invalid_floats",
    "s3_path_exists",
    "validate_s3_access",
    "write_json_metadata",
    "write_s3_json_metadata",
]


def _opts(kwargs: Mapping[str, Any]) -> str | None:
    return json.dumps(dict(kwargs)) if kwargs else None


def _str(path: Any, name: str = "path") -> str:
    if not isinstance(path, str):
        raise TypeError(f"{name} must be a str, not {type(path).__name__}")
    return path


def normalize_path(path: str) -> str:
    """``s3://`` paths without empty segments; local paths normalised as ``os.path.normpath``."""
    return _native.normalize_path(_str(path))


def normalize_s3_path(s3_path: str) -> str:
    """``s3://bucket/path//to//file.zarr`` → ``s3://bucket/path/to/file.zarr``."""
    return _native.normalize_s3_path(_str(s3_path, "s3_path"))


def is_s3_path(path: str) -> bool:
    """Whether ``path`` starts with ``s3://``."""
    return _native.is_s3_path(_str(path))


def parse_s3_path(s3_path: str) -> tuple[str, str]:
    """``s3://bucket/key`` → ``("bucket", "key")``; anything else is a ValueError."""
    return _native.parse_s3_path(_str(s3_path, "s3_path"))


def get_s3_storage_options(s3_path: str, **s3_kwargs: Any) -> dict[str, Any]:
    """s3fs options from the environment (``anon``, ``use_ssl``, ``client_kwargs.region_name``,
    ``endpoint_url`` when ``AWS_ENDPOINT_URL`` is set), updated with ``s3_kwargs``."""
    options = json.loads(_native.s3_storage_options())
    options.update(s3_kwargs)
    return options


def get_storage_options(path: str, **kwargs: Any) -> dict[str, Any] | None:
    """:func:`get_s3_storage_options` for ``s3://`` paths, ``None`` for everything else."""
    return get_s3_storage_options(path, **kwargs) if is_s3_path(path) else None


def get_s3_credentials_info() -> dict[str, Any]:
    """What S3 configuration is set, secrets as ``***``."""
    return json.loads(_native.s3_credentials_info())


def validate_s3_access(s3_path: str, **s3_kwargs: Any) -> tuple[bool, str | None]:
    """``(True, None)`` when the bucket can be listed, else ``(False, why)``; never raises."""
    try:
        return _native.validate_s3_access(_str(s3_path, "s3_path"), _opts(s3_kwargs))
    except Exception as e:  # noqa: BLE001 — the reference never raises here
        return False, str(e)


def s3_path_exists(s3_path: str, **s3_kwargs: Any) -> bool:
    """Whether an object or a prefix exists at ``s3_path``."""
    return _native.s3_path_exists(_str(s3_path, "s3_path"), _opts(s3_kwargs))


def path_exists(path: str, **kwargs: Any) -> bool:
    """Whether a local path or an ``s3://`` object or prefix exists."""
    return _native.path_exists(_str(path), _opts(kwargs))


def replace_json_invalid_floats(obj: object) -> object:
    """NaN → ``"NaN"``, ±∞ → ``"Infinity"``/``"-Infinity"``, through dicts, lists and tuples
    (tuples stay tuples)."""
    if isinstance(obj, float):
        if math.isnan(obj):
            return "NaN"
        if math.isinf(obj):
            return "Infinity" if obj > 0 else "-Infinity"
        return obj
    if isinstance(obj, dict):
        return {k: replace_json_invalid_floats(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return tuple(replace_json_invalid_floats(v) for v in obj)
    if isinstance(obj, list):
        return [replace_json_invalid_floats(v) for v in obj]
    return obj


def _dumps(metadata: Mapping[str, Any]) -> str:
    return json.dumps(replace_json_invalid_floats(dict(metadata)), indent=2, allow_nan=False)


def write_json_metadata(path: str, metadata: dict[str, Any], **kwargs: Any) -> None:
    """Write a JSON document (NaN as ``"NaN"``, indent 2) to a local path (parents created) or
    ``s3://``."""
    _native.write_json_metadata(_str(path), _dumps(metadata), _opts(kwargs))


def write_s3_json_metadata(s3_path: str, metadata: Mapping[str, Any], **s3_kwargs: Any) -> None:
    """:func:`write_json_metadata` for an ``s3://`` path."""
    if not is_s3_path(_str(s3_path, "s3_path")):
        raise ValueError(f"Invalid S3 path: {s3_path}")
    _native.write_json_metadata(s3_path, _dumps(metadata), _opts(s3_kwargs))


def read_json_metadata(path: str, **kwargs: Any) -> dict[str, Any]:
    """Read a JSON document from a local path or ``s3://``."""
    return json.loads(_native.read_json_metadata(_str(path), _opts(kwargs)))


def read_s3_json_metadata(s3_path: str, **s3_kwargs: Any) -> dict[str, Any]:
    """:func:`read_json_metadata` for an ``s3://`` path."""
    if not is_s3_path(_str(s3_path, "s3_path")):
        raise ValueError(f"Invalid S3 path: {s3_path}")
    return json.loads(_native.read_json_metadata(s3_path, _opts(s3_kwargs)))


def consolidate_metadata(
    store: str, path: str | None = None, zarr_format: int | None = None, **kwargs: Any
) -> None:
    """Inline consolidated metadata of every node below ``path`` into its ``zarr.json`` (Zarr v3
    stores, local or ``s3://``)."""
    if zarr_format not in (None, 3):
        raise ValueError(
            f"{store}: zarr_format {zarr_format}: only Zarr v3 stores get inline consolidated metadata"
        )
    _native.consolidate_metadata(_str(store, "store"), path or "", _opts(kwargs))


def get_filesystem(path: str, **kwargs: Any) -> Any:
    """An fsspec filesystem for ``path`` (``s3fs`` for ``s3://``, needs ``eopf-geozarr-rs[s3]``)."""
    import fsspec

    if is_s3_path(path):
        return fsspec.filesystem("s3", **get_s3_storage_options(path, **kwargs))
    return fsspec.filesystem("file", **kwargs)


def open_zarr_group(path: str, mode: str = "r", **kwargs: Any) -> Any:
    """A zarr-python group (Zarr v3) at a local path or ``s3://``."""
    import zarr

    return zarr.open_group(
        path, mode=mode, zarr_format=3, storage_options=get_storage_options(path, **kwargs)
    )


def open_s3_zarr_group(s3_path: str, mode: str = "r", **s3_kwargs: Any) -> Any:
    """:func:`open_zarr_group` for an ``s3://`` path."""
    if not is_s3_path(s3_path):
        raise ValueError(f"Invalid S3 path: {s3_path}")
    return open_zarr_group(s3_path, mode=mode, **s3_kwargs)
