"""A conversion through Python and through the CLI with the same options writes identical
stores: every file, byte for byte (the journal included: it records the same input and options)."""

from __future__ import annotations

import pytest
import xarray as xr

from conftest import assert_same_store, run_cli
from eopf_geozarr_rs import create_geozarr_dataset
from eopf_geozarr_rs.s2_optimization.s2_converter import convert_s2_optimized

S2_CASES = {
    "sharded-defaults": (
        dict(enable_sharding=True, spatial_chunk=256, compression_level=3,
             validate_output=True, keep_scale_offset=False),
        ["--enable-sharding", "--spatial-chunk", "256"],
    ),
    "packed-blosc-level5": (
        dict(enable_sharding=True, spatial_chunk=128, compression_level=5,
             validate_output=True, keep_scale_offset=True, codec="blosc-zstd"),
        ["--enable-sharding", "--spatial-chunk", "128", "--compression-level", "5",
         "--keep-scale-offset", "--codec", "blosc-zstd"],
    ),
    "reference-profile-unsharded": (
        dict(enable_sharding=False, spatial_chunk=256, compression_level=3,
             validate_output=False, keep_scale_offset=False, profile="reference"),
        ["--spatial-chunk", "256", "--profile", "reference", "--skip-validation"],
    ),
}


@pytest.mark.parametrize("case", sorted(S2_CASES))
@pytest.mark.parametrize("fmt", ["v3", "v2"])
def test_convert_s2_optimized_same_bytes_as_the_cli(case, fmt, cli, demo_v3, demo_v2, tmp_path):
    demo = demo_v3 if fmt == "v3" else demo_v2
    kwargs, flags = S2_CASES[case]
    ours = tmp_path / "python.zarr"
    dt = convert_s2_optimized(xr.open_datatree(demo, engine="zarr"), output_path=str(ours), **kwargs)
    assert "measurements" in dt.children
    theirs = tmp_path / "cli.zarr"
    run_cli(cli, "convert-s2-optimized", demo, str(theirs), *flags)
    assert_same_store(ours, theirs)


def test_create_geozarr_dataset_same_bytes_as_the_cli(cli, demo_v3, tmp_path):
    groups = ["/measurements/reflectance/r10m", "/measurements/reflectance/r20m"]
    ours = tmp_path / "python.zarr"
    create_geozarr_dataset(demo_v3, groups, str(ours), spatial_chunk=128, enable_sharding=True)
    theirs = tmp_path / "cli.zarr"
    run_cli(cli, "convert", demo_v3, str(theirs), "--no-s2-optimized", "--groups", *groups,
            "--spatial-chunk", "128", "--enable-sharding")
    assert_same_store(ours, theirs)


def test_an_existing_output_is_replaced_and_an_interrupted_one_resumed(cli, demo_v3, tmp_path):
    kwargs = S2_CASES["sharded-defaults"][0]
    out = tmp_path / "o.zarr"
    convert_s2_optimized(demo_v3, output_path=str(out), **kwargs)
    # Another conversion into the same (ours, complete) output replaces it.
    convert_s2_optimized(demo_v3, output_path=str(out), **{**kwargs, "spatial_chunk": 128})
    theirs = tmp_path / "cli128.zarr"
    run_cli(cli, "convert-s2-optimized", demo_v3, str(theirs), "--enable-sharding", "--spatial-chunk", "128")
    assert_same_store(out, theirs)

    # Interrupted: the journal says that only the first half of the arrays is complete, and an
    # array of the second half lost its data. The next call resumes: the completed arrays are
    # kept as they are (their files untouched), the rest is written again.
    import json
    import os
    import shutil

    journal = out / ".eopf-geozarr-journal.json"
    j = json.loads(journal.read_text())
    done = j["done"]
    kept, redo = done[: len(done) // 2], done[len(done) // 2 :]
    journal.write_text(json.dumps({**j, "done": kept, "complete": False}))
    lost = next(p for p in redo if (out / p.lstrip("/") / "c").is_dir())
    shutil.rmtree(out / lost.lstrip("/") / "c")
    kept_file = next(
        f for p in kept for f in sorted((out / p.lstrip("/")).rglob("*")) if f.is_file()
    )
    before = os.stat(kept_file).st_mtime_ns
    convert_s2_optimized(demo_v3, output_path=str(out), **{**kwargs, "spatial_chunk": 128})
    assert os.stat(kept_file).st_mtime_ns == before, f"{kept_file} was rewritten"
    assert (out / lost.lstrip("/") / "c").is_dir()
    assert_same_store(out, theirs)
