"""Open a GeoZarr store with zarr-python and xarray.open_datatree and report what they see.

usage: read_geozarr.py STORE [GROUP BAND [--per-level]]
Prints JSON: for each level of the multiscale GROUP (default measurements/reflectance, band b04),
the shape, proj:code, the CRS of its grid mapping, and a few values of BAND read through
zarr-python and through xarray (decoded, NaN → null), plus the multiscales layout assets.
xarray opens the whole store with open_datatree, or — with --per-level, for layouts that nest
levels under the native one (asset "."), which DataTree cannot align — each level group with
open_dataset.
"""
import json
import math
import sys
import warnings

import numpy as np
import xarray as xr
import zarr

warnings.simplefilter("ignore")
store = sys.argv[1]
group = sys.argv[2] if len(sys.argv) > 2 else "measurements/reflectance"
band = sys.argv[3] if len(sys.argv) > 3 else "b04"
per_level = "--per-level" in sys.argv
root = zarr.open_group(store, mode="r")
refl = root[group]
layout = refl.attrs["multiscales"]["layout"]
dt = None if per_level else xr.open_datatree(store, engine="zarr", consolidated=True)
out = {"assets": [e["asset"] for e in layout], "levels": {}}


def clean(v):
    v = float(v)
    return None if math.isnan(v) else v


for e in layout:
    name = e["asset"]
    level_path = group if name == "." else f"{group}/{name}"
    arr = root[f"{level_path}/{band}"]
    if dt is None:
        ds = xr.open_dataset(f"{store}/{level_path}", engine="zarr", zarr_format=3, consolidated=False)
    else:
        ds = dt[level_path].ds
    h, w = arr.shape
    idx = [(0, 0), (h // 2, w // 2), (h - 1, w - 1), (h // 3, (2 * w) // 3)]
    zvals = np.asarray(arr[...])
    xvals = ds[band].values
    grid_mapping = ds[band].attrs.get("grid_mapping") or ds[band].encoding.get("grid_mapping")
    out["levels"][name] = {
        "shape": list(arr.shape),
        "proj_code": root[level_path].attrs.get("proj:code"),
        "crs_wkt_epsg": (
            ds[grid_mapping].attrs.get("crs_wkt", "").rsplit('"', 2)[-2] if grid_mapping in ds else None
        ),
        "xarray_dims": list(ds[band].dims),
        "xarray_shape": list(ds[band].shape),
        "samples_zarr": [clean(zvals[i, j]) for i, j in idx],
        "samples_xarray": [clean(xvals[i, j]) for i, j in idx],
        "index": idx,
        "x0": float(ds["x"].values[0]),
    }
print(json.dumps(out))
