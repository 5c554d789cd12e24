"""What today's Python clients make of a GeoZarr store, with default options.

usage: clients.py STORE [GROUP BAND]
Prints JSON with
* "zarr_cm": for every node of the store (zarr-python walk), the error text of
  `zarr_cm.validate_all(attributes)` (null when it passes);
* "levels": for each level of the multiscale GROUP (default measurements/reflectance, band b04),
  what `xr.open_datatree(store, engine="zarr")` with no other option gives rioxarray: the CRS
  (EPSG code or WKT), the affine transform (GDAL order, pixel edges), whether the grid mapping is a
  coordinate, and a few decoded values (NaN → null) at fixed indices.
"""
import json
import math
import sys
import warnings

import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
import zarr
import zarr_cm

warnings.simplefilter("ignore")
store = sys.argv[1]
group = sys.argv[2] if len(sys.argv) > 2 else "measurements/reflectance"
band = sys.argv[3] if len(sys.argv) > 3 else "b04"

root = zarr.open_group(store, mode="r")
checked = {}


def check(path, node):
    try:
        zarr_cm.validate_all(dict(node.attrs))
        checked[path] = None
    except Exception as e:  # noqa: BLE001 - the message is the result
        checked[path] = f"{type(e).__name__}: {e}"


check("/", root)
for path, node in root.members(max_depth=None):
    check("/" + path, node)

dt = xr.open_datatree(store, engine="zarr")
layout = root[group].attrs["multiscales"]["layout"]
levels = {}
for e in layout:
    name = e["asset"]
    path = group if name == "." else f"{group}/{name}"
    ds = dt[path].to_dataset()
    da = ds[band]
    crs = da.rio.crs
    t = da.rio.transform()
    h, w = da.shape
    idx = [(0, 0), (h // 2, w // 2), (h - 1, w - 1)]
    vals = np.asarray(da.values)
    levels[name] = {
        "crs_epsg": crs.to_epsg() if crs is not None else None,
        "crs_wkt": crs.to_wkt() if crs is not None else None,
        "transform": [t.c, t.a, t.b, t.f, t.d, t.e],
        "grid_mapping_is_coordinate": "spatial_ref" in ds.coords,
        "shape": [h, w],
        "index": idx,
        "values": [None if math.isnan(float(vals[i, j])) else float(vals[i, j]) for i, j in idx],
    }
print(json.dumps({"zarr_cm": checked, "levels": levels}))
