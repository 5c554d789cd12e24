// Block means of f32 rasters, one output pixel per invocation: `skip_nan = 1` averages the
// non-NaN pixels of each factor × factor block (all-NaN → NaN), `skip_nan = 0` is the plain mean
// (any NaN → NaN). Partial edge blocks average the pixels they have. Values travel as u32 bits so
// NaN is tested on the bits (compilers may assume x == x). Summation is compensated (Neumaier)
// so the f32 result agrees with the CPU's f64 accumulation within the division's rounding.

struct Params {
    w: u32,
    h: u32,
    ow: u32,
    oh: u32,
    factor: u32,
    skip_nan: u32,
    row_stride: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

const NAN_BITS: u32 = 0x7fc00000u;

fn is_nan(b: u32) -> bool {
    return (b & 0x7f800000u) == 0x7f800000u && (b & 0x007fffffu) != 0u;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * p.row_stride;
    if (i >= p.ow * p.oh) {
        return;
    }
    let ox = i % p.ow;
    let oy = i / p.ow;
    let y0 = oy * p.factor;
    let y1 = min(y0 + p.factor, p.h);
    let x0 = ox * p.factor;
    let x1 = min(x0 + p.factor, p.w);
    var s = 0.0;
    var c = 0.0;
    var n = 0u;
    var any_nan = false;
    for (var y = y0; y < y1; y = y + 1u) {
        for (var x = x0; x < x1; x = x + 1u) {
            let b = src[y * p.w + x];
            if (is_nan(b)) {
                any_nan = true;
                continue;
            }
            let v = bitcast<f32>(b);
            let t = s + v;
            if (abs(s) >= abs(v)) {
                c = c + ((s - t) + v);
            } else {
                c = c + ((v - t) + s);
            }
            s = t;
            n = n + 1u;
        }
    }
    if (n == 0u || (p.skip_nan == 0u && any_nan)) {
        dst[i] = NAN_BITS;
    } else {
        dst[i] = bitcast<u32>((s + c) / f32(n));
    }
}
