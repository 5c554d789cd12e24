// CF decode of packed uint16 digital numbers through a 65536-entry table computed on the CPU
// (fill → NaN, v·scale + offset in f64, rounded to f32), so the GPU result is bit-identical to
// the CPU's. Two u16 per u32 word, little-endian.

struct Params {
    n: u32,
    row_stride: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> lut: array<u32>;
@group(0) @binding(3) var<storage, read_write> dst: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * p.row_stride;
    if (i >= p.n) {
        return;
    }
    let word = src[i / 2u];
    let v = (word >> ((i % 2u) * 16u)) & 0xffffu;
    dst[i] = lut[v];
}
