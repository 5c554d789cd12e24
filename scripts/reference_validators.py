"""Run the Python reference's validators on a GeoZarr store (a developer check, not part of
`make test`: eopf-geozarr 0.12 and geozarr-toolkit need Python >= 3.12).

usage: ~/.cache/eopf-geozarr-reference/bin/python scripts/reference_validators.py STORE [STORE ...]
       (the venv of ../shared/tools/reference/install.sh)

For each store prints one JSON line: eopf-geozarr 0.12's `validate_store` verdict and issues, and
geozarr-toolkit 0.1.2's `validate_group` / `validate_multiscales_structure` applied to every node
(groups and arrays, not only the root), with the nodes that fail. Exit code 1 when any fails.
"""
import json
import sys
import warnings

import zarr

warnings.simplefilter("ignore")
from eopf_geozarr.data_api.geozarr.validation import validate_store  # noqa: E402
from geozarr_toolkit.helpers.validation import (  # noqa: E402
    detect_conventions,
    validate_multiscales_structure,
    validate_spatial,
    validate_proj,
    validate_multiscales,
    validate_zarr_conventions,
)


def toolkit_errors(attrs):
    errors = []
    conventions = detect_conventions(attrs)
    for name, check in (
        ("spatial", validate_spatial),
        ("proj", validate_proj),
        ("multiscales", validate_multiscales),
    ):
        if name in conventions:
            errors += [f"{name}: {e}" for e in check(attrs)[1]]
    if "zarr_conventions" in attrs:
        errors += [f"zarr_conventions: {e}" for e in validate_zarr_conventions(attrs)[1]]
    return errors


status = 0
for store in sys.argv[1:]:
    report = validate_store(store)
    root = zarr.open_group(store, mode="r")
    nodes = [("/", root)] + [("/" + p, n) for p, n in root.members(max_depth=None)]
    failing = {}
    for path, node in nodes:
        errs = toolkit_errors(dict(node.attrs))
        if isinstance(node, zarr.Group) and "multiscales" in node.attrs:
            errs += [f"structure: {e}" for e in validate_multiscales_structure(node)[1]]
        if errs:
            failing[path] = errs
    ok = report.compliant and not failing
    status |= 0 if ok else 1
    print(
        json.dumps(
            {
                "store": store,
                "eopf_geozarr_0_12": "COMPLIANT" if report.compliant else "NOT COMPLIANT",
                "eopf_geozarr_issues": [str(i) for i in report.issues][:20],
                "geozarr_toolkit_nodes_checked": len(nodes),
                "geozarr_toolkit_failing_nodes": dict(list(failing.items())[:20]),
                "geozarr_toolkit_failing_count": len(failing),
            }
        )
    )
sys.exit(status)
