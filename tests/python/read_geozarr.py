"""Open a GeoZarr store with zarr-python and xarray.open_datatree and report what they see.

usage: read_geozarr.py STORE
Prints JSON: for each reflectance level, the shape, proj:code and a few values of b04 read through
zarr-python and through xarray (decoded, NaN → null), plus the multiscales layout assets.
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
root = zarr.open_group(store, mode="r")
refl = root["measurements/reflectance"]
layout = refl.attrs["multiscales"]["layout"]
dt = xr.open_datatree(store, engine="zarr", consolidated=True)
out = {"assets": [e["asset"] for e in layout], "levels": {}}


def clean(v):
    v = float(v)
    return None if math.isnan(v) else v


for e in layout:
    name = e["asset"]
    arr = refl[f"{name}/b04"]
    ds = dt[f"measurements/reflectance/{name}"].ds
    h, w = arr.shape
    idx = [(0, 0), (h // 2, w // 2), (h - 1, w - 1), (h // 3, (2 * w) // 3)]
    zvals = np.asarray(arr[...])
    xvals = ds["b04"].values
    out["levels"][name] = {
        "shape": list(arr.shape),
        "proj_code": refl[name].attrs.get("proj:code"),
        "xarray_dims": list(ds["b04"].dims),
        "xarray_shape": list(ds["b04"].shape),
        "samples_zarr": [clean(zvals[i, j]) for i, j in idx],
        "samples_xarray": [clean(xvals[i, j]) for i, j in idx],
        "index": idx,
        "x0": float(ds["x"].values[0]),
    }
print(json.dumps(out))
