"""The reference's API on our engine: every exported function's signature and defaults against
REFERENCE.md §4 (and eopf-geozarr 0.12.0 where §4 abbreviates), the exact values §4 and §2A.6
give, and bad input raising the documented exception types."""

from __future__ import annotations

import importlib
import inspect
import math

import numpy as np
import pytest

import eopf_geozarr_rs

# module → (signature as REFERENCE.md §4 gives it, or eopf-geozarr 0.12.0's where §4 writes "…"
# or abbreviates parameter names). Copied as they are.
REFERENCE_SIGNATURES = {
    "eopf_geozarr_rs": {
        "create_geozarr_dataset": "(dt_input, groups, output_path, spatial_chunk=4096, min_dimension=256, max_retries=3, crs_groups=None, gcp_group=None, enable_sharding=False)",
        "iterative_copy": "(dt_input, geozarr_groups, output_path, compressor, spatial_chunk, min_dimension, max_retries, crs_groups, gcp_group, enable_sharding)",
        "consolidate_metadata": "(store, path=None, zarr_format=None)",
        "async_consolidate_metadata": "(store, path=None, zarr_format=None)",
        "calculate_aligned_chunk_size": "(dimension_size, target_chunk_size)",
        "downsample_2d_array": "(source_data, target_height, target_width, nodata_value=None)",
        "is_grid_mapping_variable": "(ds, var_name)",
        "validate_existing_band_data": "(existing_group, var_name, reference_ds)",
    },
    "eopf_geozarr_rs.conversion.geozarr": {
        "create_geozarr_dataset": "(dt_input, groups, output_path, spatial_chunk=4096, min_dimension=256, max_retries=3, crs_groups=None, gcp_group=None, enable_sharding=False)",
        "calculate_overview_levels": "(native_width, native_height, min_dimension=256)",
        "consolidate_metadata": "(store, path=None, zarr_format=None)",
        "get_zarr_group": "(data)",
    },
    "eopf_geozarr_rs.conversion.utils": {
        "calculate_aligned_chunk_size": "(dimension_size, target_chunk_size)",
        "calculate_overview_levels": "(native_width, native_height, min_dimension=256)",
        "downsample_2d_array": "(source_data, target_height, target_width, nodata_value=None)",
        "validate_existing_band_data": "(existing_group, var_name, reference_ds)",
        "is_grid_mapping_variable": "(ds, var_name)",
    },
    "eopf_geozarr_rs.conversion.fs_utils": {
        "normalize_path": "(path)",
        "normalize_s3_path": "(s3_path)",
        "is_s3_path": "(path)",
        "parse_s3_path": "(s3_path)",
        "get_storage_options": "(path, **kwargs)",
        "get_s3_storage_options": "(s3_path, **s3_kwargs)",
        "get_s3_credentials_info": "()",
        "validate_s3_access": "(s3_path, **s3_kwargs)",
        "s3_path_exists": "(s3_path, **s3_kwargs)",
        "path_exists": "(path, **kwargs)",
        "read_s3_json_metadata": "(s3_path, **s3_kwargs)",
        "write_s3_json_metadata": "(s3_path, metadata, **s3_kwargs)",
        "read_json_metadata": "(path, **kwargs)",
        "write_json_metadata": "(path, metadata, **kwargs)",
        "replace_json_invalid_floats": "(obj)",
        "get_filesystem": "(path, **kwargs)",
        "open_zarr_group": "(path, mode='r', **kwargs)",
        "open_s3_zarr_group": "(s3_path, mode='r', **s3_kwargs)",
        "consolidate_metadata": "(store, path=None, zarr_format=None)",
    },
    "eopf_geozarr_rs.s2_optimization.s2_converter": {
        "convert_s2_optimized": "(dt_input, *, output_path, enable_sharding, spatial_chunk, compression_level, validate_output, keep_scale_offset, max_retries=3)",
        "is_sentinel2_dataset": "(group)",
    },
    "eopf_geozarr_rs.s2_optimization.s2_multiscale": {
        "create_multiscale_from_datatree": "(dt_input, *, output_group, enable_sharding, spatial_chunk, crs=None, keep_scale_offset, experimental_scale_offset_codec=False)",
        "calculate_aligned_chunk_size": "(dimension_size, target_chunk)",
        "calculate_simple_shard_dimensions": "(data_shape, chunks)",
    },
}


def _parse(sig: str) -> inspect.Signature:
    # A signature with defaults after required keyword-only parameters is valid Python.
    ns: dict = {}
    exec(f"def f{sig}: pass", ns)  # noqa: S102 — our own table above
    return inspect.signature(ns["f"])


CASES = [(m, n, s) for m, fs in REFERENCE_SIGNATURES.items() for n, s in fs.items()]


@pytest.mark.parametrize(("module", "name", "sig"), CASES, ids=[f"{m}.{n}" for m, n, _ in CASES])
def test_signature_matches_the_reference(module, name, sig):
    ref = _parse(sig)
    ours = inspect.signature(getattr(importlib.import_module(module), name))
    op = ours.parameters
    positional = [p for p in ref.parameters.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert [p.name for p in op.values()][: len(positional)] == [p.name for p in positional], (
        f"{module}.{name}{ours}: positional parameters differ from the reference's {sig}"
    )
    for p in ref.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            assert any(q.kind is q.VAR_KEYWORD for q in op.values()), f"{name}: no **{p.name}"
            continue
        assert p.name in op, f"{module}.{name}{ours}: no parameter {p.name} ({sig})"
        q = op[p.name]
        assert q.kind == p.kind, f"{name}.{p.name}: {q.kind} instead of {p.kind}"
        if p.default is not p.empty:
            assert q.default == p.default, f"{name}.{p.name}: default {q.default!r}, not {p.default!r}"
    # Our additions never break a call that works with the reference: keyword-only with defaults.
    for q in op.values():
        if q.name not in ref.parameters and q.kind is not q.VAR_KEYWORD:
            assert q.kind is q.KEYWORD_ONLY and q.default is not q.empty, (
                f"{name}.{q.name}: an extra parameter must be keyword-only with a default"
            )


def test_root_exports_and_version():
    for n in REFERENCE_SIGNATURES["eopf_geozarr_rs"]:
        assert n in eopf_geozarr_rs.__all__
    assert eopf_geozarr_rs.__version__ == "0.1.0"


def test_chunk_and_level_arithmetic_of_the_reference():
    from eopf_geozarr_rs.conversion.utils import (
        calculate_aligned_chunk_size,
        calculate_overview_levels,
    )
    from eopf_geozarr_rs.s2_optimization import s2_multiscale

    # REFERENCE §4 / §2A.6: 5490/3660 → 2745; 10980/4096 → 3660.
    assert calculate_aligned_chunk_size(5490, 3660) == 2745
    assert calculate_aligned_chunk_size(10980, 4096) == 3660
    levels = calculate_overview_levels(10980, 10980)
    assert [lv["width"] for lv in levels] == [10980, 5490, 2745, 1372, 686, 343]
    assert levels[1] == {
        "level": 1,
        "width": 5490,
        "height": 5490,
        "translation_relative": 0.0,
        "scale_relative": 2,
    }
    assert len(calculate_overview_levels(5490, 5490)) == 5
    assert [lv["width"] for lv in calculate_overview_levels(1830, 1830)] == [1830, 915, 457]
    assert calculate_overview_levels(255, 255) == []
    assert len(calculate_overview_levels(256, 256)) == 1
    last = calculate_overview_levels(26064, 16677)
    assert len(last) == 7 and (last[-1]["width"], last[-1]["height"]) == (407, 260)
    # REFERENCE §5.1: shard dims (1000,1000)/(256,256) → (768,768); aligned chunk (1024,256) = 256.
    assert s2_multiscale.calculate_simple_shard_dimensions((1000, 1000), (256, 256)) == (768, 768)
    assert s2_multiscale.calculate_aligned_chunk_size(1024, 256) == 256


def test_downsample_2d_array():
    from eopf_geozarr_rs.conversion.utils import downsample_2d_array

    a = np.arange(16, dtype=np.float64).reshape(4, 4)
    np.testing.assert_array_equal(downsample_2d_array(a, 2, 2), [[2.5, 4.5], [10.5, 12.5]])
    # Integer input is averaged into float64, as numpy's mean.
    out = downsample_2d_array(np.arange(16, dtype=np.uint16).reshape(4, 4), 2, 2)
    assert out.dtype == np.float64
    # Nearest sampling keeps the dtype: linspace(0, 2, 2) → rows/cols 0 and 2.
    b = np.arange(9, dtype=np.int32).reshape(3, 3)
    s = downsample_2d_array(b, 2, 2)
    assert s.dtype == np.int32 and s.tolist() == [[0, 2], [6, 8]]
    # A finite nodata is left out of the mean; a block of only nodata stays nodata.
    c = np.array([[1, 0, 5, 5], [0, 3, 5, 5], [0, 0, 7, 7], [0, 0, 7, 7]], dtype=np.float64)
    np.testing.assert_array_equal(downsample_2d_array(c, 2, 2, nodata_value=0), [[2, 5], [0, 7]])
    # NaN nodata: mean of the other values.
    e = np.array([[np.nan, 1, 2, 2], [3, np.nan, 2, 2]])
    np.testing.assert_array_equal(downsample_2d_array(e, 1, 2, nodata_value=float("nan")), [[2.0, 2.0]])
    np.testing.assert_array_equal(downsample_2d_array(e, 1, 2), [[np.nan, 2.0]])


def test_grid_mapping_and_existing_band_predicates():
    import xarray as xr

    from eopf_geozarr_rs.conversion.utils import (
        is_grid_mapping_variable,
        validate_existing_band_data,
    )

    ds = xr.Dataset(
        {
            "b02": (("y", "x"), np.ones((2, 2)), {"grid_mapping": "spatial_ref"}),
            "spatial_ref": ((), 0),
        }
    )
    assert is_grid_mapping_variable(ds, "spatial_ref")
    assert not is_grid_mapping_variable(ds, "b02")
    good = ds.copy()
    good["b02"].attrs.update({"_ARRAY_DIMENSIONS": ["y", "x"], "standard_name": "x"})
    assert validate_existing_band_data(good, "b02", ds)
    assert not validate_existing_band_data(ds, "b02", ds)  # no _ARRAY_DIMENSIONS/standard_name
    assert not validate_existing_band_data(good, "b03", ds)
    nan_first = good.copy(deep=True)
    nan_first["b02"][0, 0] = np.nan
    assert not validate_existing_band_data(nan_first, "b02", ds)


def test_paths_and_storage_options(monkeypatch):
    from eopf_geozarr_rs.conversion import fs_utils as f

    assert f.is_s3_path("s3://bucket/x") and not f.is_s3_path("gs://bucket/x")
    assert not f.is_s3_path("https://host/x") and not f.is_s3_path("s3a://bucket/x")
    assert f.parse_s3_path("s3://my-bucket/data/file.zarr") == ("my-bucket", "data/file.zarr")
    assert f.parse_s3_path("s3://bucket/") == ("bucket", "")
    with pytest.raises(ValueError, match="Invalid S3 path"):
        f.parse_s3_path("gs://bucket/x")
    assert f.normalize_s3_path("s3://bucket/path//to//file.zarr") == "s3://bucket/path/to/file.zarr"
    assert f.normalize_path("/a//b/./c/../d/") == "/a/b/d"
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    assert f.get_s3_storage_options("s3://b/k") == {
        "anon": False,
        "use_ssl": True,
        "client_kwargs": {"region_name": "us-east-1"},
    }
    assert f.get_storage_options("/local/path") is None
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://s3.example.org")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    o = f.get_s3_storage_options("s3://b/k", anon=True)
    assert o["endpoint_url"] == "https://s3.example.org"
    assert o["client_kwargs"] == {"region_name": "eu-west-1", "endpoint_url": "https://s3.example.org"}
    assert o["anon"] is True
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very-secret-value")
    info = f.get_s3_credentials_info()
    assert info["aws_secret_access_key"] == "***" and info["aws_default_region"] == "eu-west-1"
    v = f.replace_json_invalid_floats({"a": math.nan, "b": (math.inf, -math.inf, 1.5), "c": [1]})
    assert v == {"a": "NaN", "b": ("Infinity", "-Infinity", 1.5), "c": [1]}


def test_json_documents_local(tmp_path):
    from eopf_geozarr_rs.conversion import fs_utils as f

    p = str(tmp_path / "sub" / "doc.json")
    f.write_json_metadata(p, {"x": math.nan, "y": [1, 2]})
    assert f.path_exists(p)
    assert f.read_json_metadata(p) == {"x": "NaN", "y": [1, 2]}
    assert not f.path_exists(str(tmp_path / "missing.json"))


def test_bad_input_raises_the_documented_types(tmp_path, demo_v3):
    from eopf_geozarr_rs.s2_optimization.s2_converter import convert_s2_optimized

    kw = dict(enable_sharding=True, spatial_chunk=256, compression_level=3,
              validate_output=True, keep_scale_offset=False)
    with pytest.raises(FileNotFoundError, match="no-such.zarr"):
        convert_s2_optimized(str(tmp_path / "no-such.zarr"), output_path=str(tmp_path / "o"), **kw)
    assert not (tmp_path / "o" / "zarr.json").exists()
    # Not Sentinel-2: a Zarr store that is no EOPF product.
    import zarr

    zarr.open_group(str(tmp_path / "plain.zarr"), mode="w").create_array("a", shape=(4,), dtype="i4")
    with pytest.raises(ValueError, match="not a Sentinel-2 product"):
        convert_s2_optimized(str(tmp_path / "plain.zarr"), output_path=str(tmp_path / "o2"), **kw)
    # Not a Zarr store at all.
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "readme.txt").write_text("hello")
    with pytest.raises(ValueError, match="folder"):
        convert_s2_optimized(str(tmp_path / "folder"), output_path=str(tmp_path / "o3"), **kw)
    # An output that is neither ours nor a Zarr store is never touched.
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(PermissionError, match="refusing to replace"):
        convert_s2_optimized(demo_v3, output_path=str(tmp_path / "mine"), **kw)
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["thesis.tex"]
    # Bad options.
    with pytest.raises(ValueError, match="spatial_chunk"):
        convert_s2_optimized(demo_v3, output_path=str(tmp_path / "o4"), **{**kw, "spatial_chunk": 0})
    with pytest.raises(ValueError, match="compression_level"):
        convert_s2_optimized(demo_v3, output_path=str(tmp_path / "o5"), **{**kw, "compression_level": 12})
    with pytest.raises(ValueError, match="profile"):
        convert_s2_optimized(demo_v3, output_path=str(tmp_path / "o6"), profile="fancy", **kw)
    with pytest.raises(ValueError, match="encoding"):
        convert_s2_optimized(object(), output_path=str(tmp_path / "o7"), **kw)
    with pytest.raises(TypeError):
        convert_s2_optimized(demo_v3, output_path=None, **kw)


def test_missing_groups_are_skipped(tmp_path, demo_v3):
    from eopf_geozarr_rs import create_geozarr_dataset

    # A missing requested group is skipped silently (the reference's behaviour); the rest is copied.
    dt = create_geozarr_dataset(demo_v3, ["/no/such/group"], str(tmp_path / "a.zarr"))
    assert "measurements" in dt.children


def test_conversions_release_the_gil(tmp_path, demo_v3):
    """While a conversion runs in one thread, Python code keeps running in another."""
    import threading

    from eopf_geozarr_rs import _native

    errors = []

    def work():
        # The engine call alone (what convert_s2_optimized makes), so that the thread runs no
        # Python of its own that would let the loop below run anyway.
        try:
            _native.convert_s2_optimized(
                demo_v3, str(tmp_path / "gil.zarr"), enable_sharding=True, spatial_chunk=256,
                compression_level=3, validate_output=False, keep_scale_offset=False,
                max_retries=3, profile_name="geozarr", codec_name="zstd", shard="4096",
                device="cpu", finalise_root=True, on_existing="error", storage_options=None,
            )
        except Exception as e:  # noqa: BLE001 — reported below
            errors.append(e)

    t = threading.Thread(target=work)
    ticks = 0
    t.start()
    while t.is_alive():
        ticks += 1
        sum(range(100))
    t.join()
    assert not errors, errors
    assert (tmp_path / "gil.zarr" / "zarr.json").is_file()
    # Held GIL: the loop would barely run (a handful of switch intervals). Released: it spins
    # freely for the whole conversion (hundreds of thousands of iterations here).
    assert ticks > 10_000, f"only {ticks} iterations ran during the conversion"


def test_one_abi3_extension_for_every_cpython_from_3_11():
    from eopf_geozarr_rs import _native

    assert _native.__file__.endswith(".abi3.so"), _native.__file__
