"""Compare the reflectance pyramid of two GeoZarr stores (ours and the Python reference's), band by
band, in row blocks (bounded memory). A developer check, not part of `make test`.

usage: python scripts/compare_reflectance.py OURS.zarr THEIRS.zarr [LEVEL ...]
       (any Python with zarr-python and numpy: the test venv or the reference's)

Prints one JSON line per level: bands compared, the largest |ours - theirs| where both are
finite, the number of pixels that are NaN in one store and not in the other, and the pixel count.
"""
import json
import sys

import numpy as np
import zarr

ours_path, theirs_path, *levels = sys.argv[1:]
levels = levels or ["r10m", "r20m", "r60m"]
ours = zarr.open_group(ours_path, mode="r")
theirs = zarr.open_group(theirs_path, mode="r")
for level in levels:
    a = ours[f"measurements/reflectance/{level}"]
    b = theirs[f"measurements/reflectance/{level}"]
    bands = sorted(set(a.array_keys()) & set(b.array_keys()) - {"x", "y", "spatial_ref"})
    worst, nan_mismatch, pixels = 0.0, 0, 0
    only = sorted(set(a.array_keys()) ^ set(b.array_keys()))
    for band in bands:
        x, y = a[band], b[band]
        if x.shape != y.shape:
            print(json.dumps({"level": level, "band": band, "shape_ours": x.shape, "shape_theirs": y.shape}))
            continue
        step = 1024
        for r in range(0, x.shape[0], step):
            u = np.asarray(x[r : r + step], dtype=np.float64)
            v = np.asarray(y[r : r + step], dtype=np.float64)
            nu, nv = np.isnan(u), np.isnan(v)
            nan_mismatch += int(np.count_nonzero(nu != nv))
            both = ~nu & ~nv
            if both.any():
                worst = max(worst, float(np.max(np.abs(u[both] - v[both]))))
            pixels += u.size
    print(
        json.dumps(
            {
                "level": level,
                "bands": bands,
                "only_in_one": only,
                "max_abs_diff": worst,
                "nan_mismatch_pixels": nan_mismatch,
                "pixels": pixels,
            }
        )
    )
