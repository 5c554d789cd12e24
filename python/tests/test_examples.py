"""The usage examples of the reference's API documentation (docs/api-reference.md,
docs/examples.md of eopf-geozarr) run with only the package name changed: basic conversion,
custom chunking, Sentinel-2 optimisation, multiscale, S3 options against the local S3 server.
Paths are the temporary folder's; the demo product stands for "input.zarr"."""

from __future__ import annotations

import shutil

import pytest
import xarray as xr
import zarr


@pytest.fixture
def workdir(tmp_path, monkeypatch, demo_v3):
    shutil.copytree(demo_v3, tmp_path / "input.zarr")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_basic_conversion(workdir):
    import xarray as xr
    from eopf_geozarr_rs import create_geozarr_dataset

    # Load and convert
    dt = xr.open_datatree("input.zarr", engine="zarr")
    dt_geozarr = create_geozarr_dataset(
        dt_input=dt,
        groups=["/measurements/r10m"],
        output_path="output.zarr",
    )
    # (/measurements/r10m is the docs' stale path: missing groups are skipped, all else copied.)
    assert "measurements" in dt_geozarr.children
    # The same call with today's group path gives a GeoZarr group with its overviews.
    dt_geozarr = create_geozarr_dataset(
        dt_input=dt,
        groups=["/measurements/reflectance/r10m"],
        output_path="output.zarr",
        spatial_chunk=2048,
    )
    assert native_b04(dt_geozarr).shape == (366, 366)


def native_b04(dt):
    """B04 of the first level of r10m's ``multiscales`` layout (the geozarr profile keeps each
    level in a child group named by the layout)."""
    r10m = dt["/measurements/reflectance/r10m"]
    first = r10m.attrs["multiscales"]["layout"][0]["asset"]
    return r10m[first].ds["b04"]


def test_custom_chunking(workdir):
    from eopf_geozarr_rs import create_geozarr_dataset
    from eopf_geozarr_rs.conversion.utils import calculate_aligned_chunk_size

    dt = xr.open_datatree("input.zarr", engine="zarr")
    # Calculate optimal chunks for your data
    width, height = 10980, 10980
    optimal_chunk = calculate_aligned_chunk_size(width, 4096)
    assert optimal_chunk == 3660

    dt_geozarr = create_geozarr_dataset(
        dt_input=dt,
        groups=["/measurements/reflectance/r10m"],
        output_path="output.zarr",
        spatial_chunk=optimal_chunk,
    )
    b04 = zarr.open_group("output.zarr", mode="r")["measurements/reflectance/r10m/r1/b04"]
    assert b04.chunks == (366, 366)  # min(3660, aligned(366, 3660)) on the 366² demo
    assert native_b04(dt_geozarr).shape == (366, 366)


def test_s2_optimization(workdir):
    from eopf_geozarr_rs.s2_optimization.s2_converter import convert_s2_optimized

    # Convert using V1 optimizer (recommended)
    dt_input = xr.open_datatree("input.zarr", engine="zarr")
    dt = convert_s2_optimized(dt_input=dt_input, output_path="s2_l2a_v1.zarr", spatial_chunk=256)

    # Access data from different resolution levels
    ds_10m = dt["/measurements/reflectance/r10m"].ds  # Native 10m
    ds_20m = dt["/measurements/reflectance/r20m"].ds  # Native 20m
    ds_60m = dt["/measurements/reflectance/r60m"].ds  # Native 60m
    ds_120m = dt["/measurements/reflectance/r120m"].ds  # Computed 120m

    # Extract RGB bands for visualization (10m resolution)
    red = ds_10m["b04"]
    green = ds_10m["b03"]
    blue = ds_10m["b02"]
    rgb = xr.concat([red, green, blue], dim="band")
    assert rgb.shape == (3, 366, 366)
    assert ds_20m["b04"].shape == (183, 183) and ds_60m["b04"].shape == (61, 61)
    assert ds_120m["b04"].shape == (31, 31)
    assert float(red.mean()) > 0


def test_multiscale(workdir):
    from eopf_geozarr_rs.s2_optimization.s2_multiscale import create_multiscale_from_datatree

    dt = xr.open_datatree("input.zarr", engine="zarr")
    output_group = zarr.open_group("multiscale.zarr", mode="w", zarr_format=3)
    datasets = create_multiscale_from_datatree(
        dt,
        output_group=output_group,
        enable_sharding=True,
        spatial_chunk=256,
        keep_scale_offset=False,
    )
    assert datasets["/measurements/reflectance"] is None
    for level in ("r10m", "r20m", "r60m", "r120m", "r360m", "r720m"):
        assert isinstance(datasets[f"/measurements/reflectance/{level}"], xr.Dataset)
    assert datasets["/measurements/reflectance/r360m"]["b02"].shape == (11, 11)
    # No store-root finalisation here (that is convert_s2_optimized's): no root bbox.
    assert "spatial:bbox" not in zarr.open_group("multiscale.zarr", mode="r").attrs


def test_advanced_s3_usage(workdir, s3_env):
    from eopf_geozarr_rs import create_geozarr_dataset
    from eopf_geozarr_rs.conversion.fs_utils import (
        get_s3_storage_options,
        read_s3_json_metadata,
        s3_path_exists,
        validate_s3_access,
        write_s3_json_metadata,
    )

    dt = xr.open_datatree("input.zarr", engine="zarr")
    # Validate S3 access
    s3_path = "s3://eopf/data.zarr"
    is_valid, error = validate_s3_access(s3_path)
    assert is_valid, error

    if is_valid:
        # Get storage options
        storage_opts = get_s3_storage_options(s3_path)

        # Convert with S3
        dt_geozarr = create_geozarr_dataset(
            dt_input=dt,
            groups=["/measurements/reflectance/r10m"],
            output_path=s3_path,
            **storage_opts,
        )
    assert storage_opts["endpoint_url"] == f"http://127.0.0.1:{s3_env['moto']}"
    assert native_b04(dt_geozarr).shape == (366, 366)
    assert s3_path_exists(s3_path + "/zarr.json")
    assert not s3_path_exists("s3://eopf/nothing-here")
    write_s3_json_metadata("s3://eopf/meta/doc.json", {"a": float("nan"), "b": 1})
    assert read_s3_json_metadata("s3://eopf/meta/doc.json") == {"a": "NaN", "b": 1}
    # A bucket that does not exist, and wrong credentials: (False, why), never an exception.
    ok, why = validate_s3_access("s3://no-such-bucket/x.zarr")
    assert not ok and why


def test_s3_with_custom_credentials(workdir, s3_env, monkeypatch):
    from eopf_geozarr_rs import create_geozarr_dataset
    from eopf_geozarr_rs.conversion.fs_utils import get_s3_storage_options

    dt = xr.open_datatree("input.zarr", engine="zarr")
    # Custom S3 configuration (here the test server's), nothing in the environment.
    for v in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(v)
    s3_config = {
        "key": s3_env["key"],
        "secret": s3_env["secret"],
        "endpoint_url": f"http://127.0.0.1:{s3_env['moto']}",
        "region_name": "us-east-1",
    }
    storage_opts = get_s3_storage_options("s3://eopf/custom.zarr", **s3_config)
    dt_geozarr = create_geozarr_dataset(
        dt_input=dt,
        groups=["/measurements/reflectance/r10m"],
        output_path="s3://eopf/custom.zarr",
        **storage_opts,
    )
    assert "multiscales" in dt_geozarr["/measurements/reflectance/r10m"].attrs


def test_s3_wrong_credentials_is_a_permission_error(workdir, s3_env, monkeypatch):
    from eopf_geozarr_rs.s2_optimization.s2_converter import convert_s2_optimized

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret-of-this-key")
    with pytest.raises(PermissionError) as e:
        convert_s2_optimized("input.zarr", output_path="s3://eopf/denied.zarr")
    assert "not-the-secret-of-this-key" not in str(e.value)
