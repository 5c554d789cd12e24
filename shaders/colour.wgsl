// Colours the map's base image on the GPU from its decoded bands (R32Float textures): per-channel
// linear stretch, gamma, RGB composite or one band through a 256-entry colour-map table. NaN and
// infinite values (nodata) are transparent. A full-viewport quad: egui sets the viewport to the
// callback's rectangle.

struct Params {
    lo: vec4<f32>,
    hi: vec4<f32>,
    gamma: f32,
    // 0: RGB composite, 1: single band through the table.
    mode: u32,
    width: u32,
    height: u32,
    // 1 when the target is an sRGB format (the shader then writes linear values).
    srgb_target: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var r_tex: texture_2d<f32>;
@group(0) @binding(2) var g_tex: texture_2d<f32>;
@group(0) @binding(3) var b_tex: texture_2d<f32>;
@group(0) @binding(4) var lut: texture_2d<f32>;

struct VsOut {
    @builtin(position) pos: vec4<f32>,
    @location(0) uv: vec2<f32>,
};

@vertex
fn vs(@builtin(vertex_index) i: u32) -> VsOut {
    var corners = array<vec2<f32>, 6>(
        vec2<f32>(0.0, 0.0), vec2<f32>(1.0, 0.0), vec2<f32>(0.0, 1.0),
        vec2<f32>(0.0, 1.0), vec2<f32>(1.0, 0.0), vec2<f32>(1.0, 1.0),
    );
    let c = corners[i];
    var o: VsOut;
    o.pos = vec4<f32>(c.x * 2.0 - 1.0, 1.0 - c.y * 2.0, 0.0, 1.0);
    o.uv = c;
    return o;
}

fn nodata(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7f800000u) == 0x7f800000u;
}

fn stretch(v: f32, lo: f32, hi: f32) -> f32 {
    let t = clamp((v - lo) / max(hi - lo, 1e-12), 0.0, 1.0);
    if (p.gamma == 1.0) {
        return t;
    }
    return pow(t, 1.0 / max(p.gamma, 0.001));
}

// What the CPU path stores in its RGBA8 texture: the value rounded to 1/255.
fn quantise(t: f32) -> f32 {
    return round(t * 255.0) / 255.0;
}

fn to_target(c: vec3<f32>) -> vec3<f32> {
    if (p.srgb_target == 0u) {
        return c;
    }
    let lo = c / 12.92;
    let hi = pow((c + 0.055) / 1.055, vec3<f32>(2.4));
    return select(hi, lo, c <= vec3<f32>(0.04045));
}

@fragment
fn fs(in: VsOut) -> @location(0) vec4<f32> {
    let size = vec2<f32>(f32(p.width), f32(p.height));
    let px = min(vec2<u32>(in.uv * size), vec2<u32>(p.width - 1u, p.height - 1u));
    let xy = vec2<i32>(px);
    let r = textureLoad(r_tex, xy, 0).x;
    if (p.mode == 1u) {
        if (nodata(r)) {
            discard;
        }
        let t = stretch(r, p.lo.x, p.hi.x);
        let i = i32(round(t * 255.0));
        let c = textureLoad(lut, vec2<i32>(i, 0), 0).rgb;
        return vec4<f32>(to_target(c), 1.0);
    }
    let g = textureLoad(g_tex, xy, 0).x;
    let b = textureLoad(b_tex, xy, 0).x;
    if (nodata(r) || nodata(g) || nodata(b)) {
        discard;
    }
    let c = vec3<f32>(
        quantise(stretch(r, p.lo.x, p.hi.x)),
        quantise(stretch(g, p.lo.y, p.hi.y)),
        quantise(stretch(b, p.lo.z, p.hi.z)),
    );
    return vec4<f32>(to_target(c), 1.0);
}
