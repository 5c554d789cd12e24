// Colours one map tile on the GPU from its bands as stored: u8/u16 (R8Uint/R16Uint textures,
// `fs_uint`) or f32 (R32Float, `fs_float`). Each channel is CF-decoded here (fill → nodata,
// v·scale + offset), then: an RGB composite with per-channel linear stretch and gamma (mode 0),
// one band through a 256-entry colour-map table (mode 1), NDVI in float (mode 2), or SCL class
// codes through ESA's class colours (mode 3). Nodata is transparent. The quad covers the tile's
// rectangle in normalised device coordinates (`rect`), so tiles larger than the screen or partly
// outside it need no viewport of their size.

struct Params {
    // x0, y0, x1, y1 in normalised device coordinates.
    rect: vec4<f32>,
    lo: vec4<f32>,
    hi: vec4<f32>,
    scale: vec4<f32>,
    offset: vec4<f32>,
    fill: vec4<f32>,
    gamma: f32,
    // 0: RGB composite, 1: single band through the table, 2: NDVI, 3: SCL classes.
    mode: u32,
    width: u32,
    height: u32,
    // 1 when the target is an sRGB format (the shader then writes linear values).
    srgb_target: u32,
    // Bit c: channel c has a fill value.
    has_fill: u32,
    // Bit c: channel c is decoded with scale and offset.
    decode: u32,
    _pad: u32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var lut: texture_2d<f32>;
@group(0) @binding(2) var f0: texture_2d<f32>;
@group(0) @binding(3) var f1: texture_2d<f32>;
@group(0) @binding(4) var f2: texture_2d<f32>;
@group(0) @binding(5) var u0: texture_2d<u32>;
@group(0) @binding(6) var u1: texture_2d<u32>;
@group(0) @binding(7) var u2: texture_2d<u32>;

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
    o.pos = vec4<f32>(mix(p.rect.x, p.rect.z, c.x), mix(p.rect.y, p.rect.w, c.y), 0.0, 1.0);
    o.uv = c;
    return o;
}

fn nodata(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7f800000u) == 0x7f800000u;
}

// CF decoding of channel `c`: NaN for the fill value, else v·scale + offset.
fn decode(v: f32, c: u32) -> f32 {
    if (((p.has_fill >> c) & 1u) == 1u && v == p.fill[c]) {
        return bitcast<f32>(0x7fc00000u);
    }
    if (((p.decode >> c) & 1u) == 1u) {
        return v * p.scale[c] + p.offset[c];
    }
    return v;
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

// The CPU's `ndvi_colour`: brown (−0.2) → yellow (0.3) → green (0.9), rounded to 8 bits.
fn ndvi_colour(v0: f32) -> vec3<f32> {
    let v = clamp(v0, -0.2, 0.9);
    var a = vec3<f32>(140.0, 80.0, 30.0);
    var b = vec3<f32>(240.0, 220.0, 80.0);
    var t = (v + 0.2) / 0.5;
    if (v > 0.3) {
        a = vec3<f32>(240.0, 220.0, 80.0);
        b = vec3<f32>(20.0, 130.0, 40.0);
        t = (v - 0.3) / 0.6;
    }
    return round(a + t * (b - a)) / 255.0;
}

// The texel of this fragment in a texture of `size`.
fn texel(uv: vec2<f32>, size: vec2<u32>) -> vec2<i32> {
    let px = min(vec2<u32>(uv * vec2<f32>(size)), size - vec2<u32>(1u, 1u));
    return vec2<i32>(px);
}

fn colour(v: vec3<f32>) -> vec4<f32> {
    if (p.mode == 3u) {
        // SCL: the class code indexes row 1 of the table; alpha 0 = no data.
        let c = textureLoad(lut, vec2<i32>(i32(clamp(v.x, 0.0, 255.0)), 1), 0);
        if (c.a < 0.5) {
            discard;
        }
        return vec4<f32>(to_target(c.rgb), 1.0);
    }
    if (p.mode == 2u) {
        let n = v.x;
        let r = v.y;
        if (nodata(n) || nodata(r) || n + r == 0.0) {
            discard;
        }
        return vec4<f32>(to_target(ndvi_colour(clamp((n - r) / (n + r), -1.0, 1.0))), 1.0);
    }
    if (p.mode == 1u) {
        if (nodata(v.x)) {
            discard;
        }
        let i = i32(round(stretch(v.x, p.lo.x, p.hi.x) * 255.0));
        return vec4<f32>(to_target(textureLoad(lut, vec2<i32>(i, 0), 0).rgb), 1.0);
    }
    if (nodata(v.x) || nodata(v.y) || nodata(v.z)) {
        discard;
    }
    let c = vec3<f32>(
        quantise(stretch(v.x, p.lo.x, p.hi.x)),
        quantise(stretch(v.y, p.lo.y, p.hi.y)),
        quantise(stretch(v.z, p.lo.z, p.hi.z)),
    );
    return vec4<f32>(to_target(c), 1.0);
}

@fragment
fn fs_float(in: VsOut) -> @location(0) vec4<f32> {
    let xy = texel(in.uv, textureDimensions(f0));
    let v = vec3<f32>(
        decode(textureLoad(f0, xy, 0).x, 0u),
        decode(textureLoad(f1, texel(in.uv, textureDimensions(f1)), 0).x, 1u),
        decode(textureLoad(f2, texel(in.uv, textureDimensions(f2)), 0).x, 2u),
    );
    return colour(v);
}

@fragment
fn fs_uint(in: VsOut) -> @location(0) vec4<f32> {
    let xy = texel(in.uv, textureDimensions(u0));
    let v = vec3<f32>(
        decode(f32(textureLoad(u0, xy, 0).x), 0u),
        decode(f32(textureLoad(u1, texel(in.uv, textureDimensions(u1)), 0).x), 1u),
        decode(f32(textureLoad(u2, texel(in.uv, textureDimensions(u2)), 0).x), 2u),
    );
    return colour(v);
}
