"""Convert a list of Sentinel-2 products on a dask.distributed cluster, one task per product.

    python dask_many_products.py [--scheduler tcp://host:8786] LIST.txt OUT_PREFIX

LIST.txt holds one input per line (a local path or s3://…); each output is OUT_PREFIX/<name>
(a local folder or s3://bucket/prefix). Without --scheduler a LocalCluster of two one-thread
worker processes on 127.0.0.1 is started (what the project's test does). S3 settings come from
the AWS_* environment of the workers (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_ENDPOINT_URL, AWS_DEFAULT_REGION).

Worker loss: the scheduler runs a lost task again on another worker (up to
distributed.scheduler.allowed-failures, 3 by default), and the new run resumes the output the dead
worker left (the arrays it completed are kept). A task that raises is retried --retries times.
"""

from __future__ import annotations

import argparse
import os
import sys

from dask.distributed import Client, LocalCluster

from eopf_geozarr_rs.cluster import convert_products


def output_for(src: str, prefix: str) -> str:
    name = os.path.basename(src.rstrip("/"))
    name = name[: -len(".zarr")] if name.endswith(".zarr") else name
    return f"{prefix.rstrip('/')}/{name}-geozarr.zarr"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("products", help="text file: one input path or s3:// URL per line")
    ap.add_argument("out_prefix", help="folder or s3:// prefix for the outputs")
    ap.add_argument("--scheduler", help="address of a running scheduler (default: a LocalCluster)")
    ap.add_argument("--retries", type=int, default=2, help="retries of a task that raised (2)")
    ap.add_argument("--keep-scale-offset", action="store_true")
    args = ap.parse_args(argv)

    with open(args.products) as f:
        inputs = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    pairs = [(src, output_for(src, args.out_prefix)) for src in inputs]

    if args.scheduler:
        client = Client(args.scheduler)
        cluster = None
    else:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1")
        client = Client(cluster)
    try:
        results = convert_products(
            client,
            pairs,
            retries=args.retries,
            enable_sharding=True,
            spatial_chunk=256,
            keep_scale_offset=args.keep_scale_offset,
        )
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    for r in results:
        print(f"{r['input']} -> {r['output']}: {r['arrays']} arrays ({r['kernels']})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
