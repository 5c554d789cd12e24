// Block reductions of unsigned integer rasters (u8 packed four per u32 word, u16 two per word,
// contiguous little-endian): 0 = bitwise OR, 1 = maximum, 2 = mean rounded half up
// ((2·sum + n) / 2n), 3 = mode (most frequent value, ties → the smallest). One output pixel per
// invocation, written as a whole u32 (packed back to u8/u16 on the CPU; packing four results in
// one invocation lost the fourth on lavapipe for 12×12 mode blocks). Integer arithmetic only, so
// the result is bit-identical to the CPU's.

struct Params {
    w: u32,
    h: u32,
    ow: u32,
    oh: u32,
    factor: u32,
    op: u32,
    esize: u32,
    row_stride: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

fn load(i: u32) -> u32 {
    if (p.esize == 1u) {
        return (src[i / 4u] >> ((i % 4u) * 8u)) & 0xffu;
    }
    return (src[i / 2u] >> ((i % 2u) * 16u)) & 0xffffu;
}

fn reduce(oi: u32) -> u32 {
    let ox = oi % p.ow;
    let oy = oi / p.ow;
    let y0 = oy * p.factor;
    let y1 = min(y0 + p.factor, p.h);
    let x0 = ox * p.factor;
    let x1 = min(x0 + p.factor, p.w);
    var acc = 0u;
    var n = 0u;
    var best = 0u;
    var best_count = 0u;
    for (var y = y0; y < y1; y = y + 1u) {
        for (var x = x0; x < x1; x = x + 1u) {
            let v = load(y * p.w + x);
            n = n + 1u;
            if (p.op == 0u) {
                acc = acc | v;
            } else if (p.op == 1u) {
                acc = max(acc, v);
            } else if (p.op == 2u) {
                acc = acc + v;
            } else {
                var count = 0u;
                for (var yy = y0; yy < y1; yy = yy + 1u) {
                    for (var xx = x0; xx < x1; xx = xx + 1u) {
                        if (load(yy * p.w + xx) == v) {
                            count = count + 1u;
                        }
                    }
                }
                if (count > best_count || (count == best_count && v < best)) {
                    best = v;
                    best_count = count;
                }
            }
        }
    }
    if (p.op == 2u) {
        if (n == 0u) {
            return 0u;
        }
        return (2u * acc + n) / (2u * n);
    }
    if (p.op == 3u) {
        return best;
    }
    return acc;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * p.row_stride;
    if (i >= p.ow * p.oh) {
        return;
    }
    dst[i] = reduce(i);
}
