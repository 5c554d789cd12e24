// Sampling of 32-bit rasters at given rows and columns: top-left (k·f), centre (k·f + f/2) and
// the reference's nearest sampling (floor(linspace(0, s−1, t))) are all index lists computed on
// the CPU. Pure copies, so bit-identical.

struct Params {
    w: u32,
    ow: u32,
    oh: u32,
    row_stride: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> rows: array<u32>;
@group(0) @binding(3) var<storage, read> cols: array<u32>;
@group(0) @binding(4) var<storage, read_write> dst: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * p.row_stride;
    if (i >= p.ow * p.oh) {
        return;
    }
    let ox = i % p.ow;
    let oy = i / p.ow;
    dst[i] = src[rows[oy] * p.w + cols[ox]];
}
