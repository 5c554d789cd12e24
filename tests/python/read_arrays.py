"""Read arrays of a Zarr store with zarr-python and dump their raw bytes for comparison.

usage: read_arrays.py STORE OUTDIR PATH [PATH ...]
Each PATH (e.g. /measurements/reflectance/r10m/b04) is written to OUTDIR/<path with / -> __>.bin as
C-order little-endian bytes of the array's NumPy dtype, plus OUTDIR/<...>.json with shape and dtype.
"""
import json
import sys
from pathlib import Path

import numpy as np
import zarr

store, outdir, *paths = sys.argv[1:]
root = zarr.open_group(store, mode="r")
out = Path(outdir)
out.mkdir(parents=True, exist_ok=True)
for p in paths:
    arr = root[p.strip("/")]
    data = np.ascontiguousarray(arr[...])
    if data.dtype.byteorder == ">":
        data = data.byteswap().view(data.dtype.newbyteorder("<"))
    name = p.strip("/").replace("/", "__")
    (out / f"{name}.bin").write_bytes(data.tobytes())
    (out / f"{name}.json").write_text(json.dumps({"shape": list(data.shape), "dtype": data.dtype.str}))
print("ok", len(paths))
