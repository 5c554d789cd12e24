//! A synthetic but plausible Sentinel-2 scene: land cover from fractal noise (water, vegetation,
//! bare soil, snow on high ground), clouds with soft edges and displaced shadows, thin cirrus, a
//! nodata corner and a slanted swath edge, and per-class spectra. Everything is a function of the
//! tile fraction `(u, v)` (u east, v south), so every resolution and every size sees the same scene.

/// Bands in the order of [`crate::product::BAND_INFO`].
pub const BANDS: [&str; 13] = [
    "b01", "b02", "b03", "b04", "b05", "b06", "b07", "b08", "b8a", "b09", "b10", "b11", "b12",
];

// Surface reflectance spectra (BOA) per class, band order as BANDS.
const VEG: [f32; 13] = [
    0.030, 0.040, 0.080, 0.045, 0.120, 0.300, 0.380, 0.420, 0.430, 0.400, 0.004, 0.210, 0.100,
];
const SOIL: [f32; 13] = [
    0.090, 0.110, 0.150, 0.200, 0.220, 0.240, 0.260, 0.280, 0.290, 0.290, 0.008, 0.360, 0.300,
];
const WATER: [f32; 13] = [
    0.070, 0.065, 0.055, 0.030, 0.022, 0.015, 0.012, 0.010, 0.009, 0.005, 0.001, 0.003, 0.002,
];
const SNOW: [f32; 13] = [
    0.900, 0.920, 0.900, 0.880, 0.860, 0.840, 0.820, 0.800, 0.780, 0.600, 0.050, 0.100, 0.080,
];
const CLOUD: [f32; 13] = [
    0.600, 0.620, 0.630, 0.650, 0.660, 0.670, 0.670, 0.680, 0.670, 0.550, 0.300, 0.450, 0.350,
];
// Atmospheric path reflectance added at top of atmosphere (L1C).
const HAZE: [f32; 13] = [
    0.095, 0.075, 0.050, 0.035, 0.030, 0.026, 0.022, 0.018, 0.016, 0.010, 0.001, 0.004, 0.002,
];

const GRID: usize = 384;

/// The surface state at one point.
#[derive(Debug, Clone, Copy, Default)]
pub struct Surface {
    pub nodata: bool,
    pub elevation: f32,
    pub water: f32,
    pub vegetation: f32,
    pub snow: f32,
    pub cloud: f32,
    pub cirrus: f32,
    pub shadow: f32,
    pub texture: f32,
}

/// SCL classes (L2A scene classification).
pub mod scl {
    pub const NO_DATA: u8 = 0;
    pub const SATURATED: u8 = 1;
    pub const DARK: u8 = 2;
    pub const CLOUD_SHADOW: u8 = 3;
    pub const VEGETATION: u8 = 4;
    pub const NOT_VEGETATED: u8 = 5;
    pub const WATER: u8 = 6;
    pub const UNCLASSIFIED: u8 = 7;
    pub const CLOUD_MEDIUM: u8 = 8;
    pub const CLOUD_HIGH: u8 = 9;
    pub const CIRRUS: u8 = 10;
    pub const SNOW: u8 = 11;
}

/// A deterministic scene for a seed.
pub struct Scene {
    seed: u64,
    // Coarse fields on a GRID×GRID lattice over the tile: elevation, moisture, cloud, cirrus.
    fields: Vec<[f32; 4]>,
}

fn hash(x: i64, y: i64, seed: u64) -> u64 {
    let mut h = seed ^ 0x9E37_79B9_7F4A_7C15;
    h ^= (x as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = h.rotate_left(31).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^= (y as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93);
    h ^= h >> 32;
    h = h.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^ (h >> 29)
}

fn unit(h: u64) -> f32 {
    (h >> 40) as f32 / (1u64 << 24) as f32
}

fn value_noise(x: f64, y: f64, seed: u64) -> f32 {
    let xi = x.floor();
    let yi = y.floor();
    let fx = (x - xi) as f32;
    let fy = (y - yi) as f32;
    let (xi, yi) = (xi as i64, yi as i64);
    let s = |t: f32| t * t * t * (t * (t * 6.0 - 15.0) + 10.0);
    let (sx, sy) = (s(fx), s(fy));
    let a = unit(hash(xi, yi, seed));
    let b = unit(hash(xi + 1, yi, seed));
    let c = unit(hash(xi, yi + 1, seed));
    let d = unit(hash(xi + 1, yi + 1, seed));
    let top = a + (b - a) * sx;
    let bottom = c + (d - c) * sx;
    top + (bottom - top) * sy
}

fn fbm(u: f64, v: f64, freq: f64, octaves: u32, seed: u64) -> f32 {
    let mut sum = 0.0;
    let mut amp = 0.5;
    let mut norm = 0.0;
    let mut f = freq;
    for o in 0..octaves {
        sum += amp * value_noise(u * f, v * f, seed.wrapping_add(u64::from(o) * 7919));
        norm += amp;
        amp *= 0.5;
        f *= 2.03;
    }
    sum / norm
}

fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

impl Scene {
    /// Build the coarse fields of the scene for `seed`.
    pub fn new(seed: u64) -> Scene {
        use rayon::prelude::*;
        let fields = (0..GRID * GRID)
            .into_par_iter()
            .map(|i| {
                let u = (i % GRID) as f64 / (GRID - 1) as f64;
                let v = (i / GRID) as f64 / (GRID - 1) as f64;
                [
                    fbm(u, v, 3.0, 6, seed),
                    fbm(u, v, 4.0, 5, seed ^ 0xA5A5),
                    fbm(u, v, 5.0, 6, seed ^ 0x5A5A_1234),
                    fbm(u * 0.6, v * 2.2, 2.0, 4, seed ^ 0x0C1C),
                ]
            })
            .collect();
        Scene { seed, fields }
    }

    fn field(&self, u: f64, v: f64) -> [f32; 4] {
        let gx = (u.clamp(0.0, 1.0) * (GRID - 1) as f64).min((GRID - 1) as f64 - 1e-9);
        let gy = (v.clamp(0.0, 1.0) * (GRID - 1) as f64).min((GRID - 1) as f64 - 1e-9);
        let (x0, y0) = (gx as usize, gy as usize);
        let (fx, fy) = ((gx - x0 as f64) as f32, (gy - y0 as f64) as f32);
        let at = |x: usize, y: usize| self.fields[y * GRID + x];
        let (a, b, c, d) = (
            at(x0, y0),
            at(x0 + 1, y0),
            at(x0, y0 + 1),
            at(x0 + 1, y0 + 1),
        );
        let mut out = [0.0; 4];
        for k in 0..4 {
            let top = a[k] + (b[k] - a[k]) * fx;
            let bot = c[k] + (d[k] - c[k]) * fx;
            out[k] = top + (bot - top) * fy;
        }
        out
    }

    fn cloud_at(&self, u: f64, v: f64) -> f32 {
        smoothstep(0.635, 0.71, self.field(u, v)[2])
    }

    /// Whether `(u, v)` lies outside the imaged swath (nodata corner and slanted swath edge).
    pub fn is_nodata(u: f64, v: f64) -> bool {
        u + v < 0.14 || u > 0.94 - 0.10 * v
    }

    /// The surface at tile fraction `(u, v)`.
    pub fn surface(&self, u: f64, v: f64) -> Surface {
        let [elev, moist, _, cirrus_f] = self.field(u, v);
        let water = smoothstep(0.36, 0.32, elev);
        let snow = smoothstep(0.70, 0.76, elev);
        // Agricultural parcels (≈ 400 m, slightly skewed grid), each with its own crop vigour.
        let pu = u * 270.0 + v * 40.0;
        let pv = v * 270.0 - u * 25.0;
        let parcel = unit(hash(
            pu.floor() as i64,
            pv.floor() as i64,
            self.seed ^ 0xFA12,
        )) - 0.5;
        let farmland = 1.0 - (moist - 0.5).abs() * 4.0;
        let vegetation = (smoothstep(0.36, 0.64, moist) + 0.9 * parcel * farmland.max(0.0))
            .clamp(0.0, 1.0)
            * (1.0 - snow);
        let cloud = self.cloud_at(u, v);
        // The sun is to the south-south-east: shadows fall north-north-west of clouds.
        let shadow = (self.cloud_at(u + 0.010, v + 0.030) - cloud).clamp(0.0, 1.0);
        let cirrus = smoothstep(0.66, 0.74, cirrus_f) * 0.7;
        // Field-scale texture (≈ 300 m parcels) plus pixel-scale speckle.
        let texture = value_noise(u * 360.0, v * 360.0, self.seed ^ 0xF00D) - 0.5;
        Surface {
            nodata: Self::is_nodata(u, v),
            elevation: elev,
            water,
            vegetation,
            snow,
            cloud,
            cirrus,
            shadow,
            texture,
        }
    }

    /// Reflectance of band index `b` (order of [`BANDS`]); `toa` adds the atmosphere's path term.
    pub fn reflectance(s: &Surface, b: usize, toa: bool) -> f32 {
        let land = VEG[b] * s.vegetation + SOIL[b] * (1.0 - s.vegetation);
        let land = land * (1.0 + 0.18 * s.texture);
        let mut r = WATER[b] * s.water + land * (1.0 - s.water);
        r = SNOW[b] * s.snow + r * (1.0 - s.snow);
        r *= 1.0 - 0.65 * s.shadow;
        if toa {
            r += HAZE[b];
        }
        r = CLOUD[b] * s.cloud + r * (1.0 - s.cloud);
        r += s.cirrus * if b == 10 { 0.25 } else { 0.06 };
        r.max(0.0)
    }

    /// Digital number of a reflectance with EOPF packing (`DN·1e-4 − 0.1`), never the fill 0.
    pub fn digital_number(r: f32) -> u16 {
        ((f64::from(r) + 0.1) * 10_000.0)
            .round()
            .clamp(1.0, 65_535.0) as u16
    }

    /// Per-pixel speckle in [-0.5, 0.5] for integer pixel `(col, row)` at a resolution.
    pub fn speckle(&self, col: u64, row: u64, res: u32) -> f32 {
        unit(hash(col as i64, row as i64, self.seed ^ u64::from(res))) - 0.5
    }

    /// The SCL class of a surface.
    pub fn scl(s: &Surface) -> u8 {
        if s.nodata {
            scl::NO_DATA
        } else if s.cloud > 0.999 && s.texture > 0.47 {
            scl::SATURATED
        } else if s.cloud > 0.75 {
            scl::CLOUD_HIGH
        } else if s.cloud > 0.4 {
            scl::CLOUD_MEDIUM
        } else if s.cirrus > 0.35 {
            scl::CIRRUS
        } else if s.shadow > 0.35 {
            scl::CLOUD_SHADOW
        } else if s.snow > 0.5 {
            scl::SNOW
        } else if s.water > 0.5 {
            scl::WATER
        } else if s.elevation > 0.66 && s.texture < -0.42 {
            scl::DARK
        } else if s.vegetation > 0.5 {
            scl::VEGETATION
        } else if s.vegetation > 0.42 {
            scl::UNCLASSIFIED
        } else {
            scl::NOT_VEGETATED
        }
    }

    /// Cloud probability in percent.
    pub fn cloud_probability(s: &Surface) -> u8 {
        if s.nodata {
            0
        } else {
            (100.0 * s.cloud.max(s.cirrus * 0.6)).round() as u8
        }
    }

    /// Snow probability in percent.
    pub fn snow_probability(s: &Surface) -> u8 {
        if s.nodata {
            0
        } else {
            (100.0 * s.snow * (1.0 - s.cloud)).round() as u8
        }
    }

    /// Detector id (1–12) of a point, 0 outside the swath. Detector stripes run slanted across the tile.
    pub fn detector(u: f64, v: f64) -> u8 {
        if Self::is_nodata(u, v) {
            0
        } else {
            (3.0 + ((u + 0.18 * v) * 4.2).floor()).clamp(1.0, 12.0) as u8
        }
    }

    /// Bit mask of the L1A/L1B quality flags (QT_NODATA 32, QT_SATURATED 128).
    pub fn quality_mask(s: &Surface) -> u8 {
        if s.nodata {
            32
        } else if s.cloud > 0.999 && s.texture > 0.47 {
            128
        } else {
            0
        }
    }

    /// L1C cloud classification bits (OPAQUE 1, CIRRUS 2, SNOW_ICE 4).
    pub fn l1c_classification(s: &Surface) -> u8 {
        if s.nodata {
            return 0;
        }
        let mut m = 0;
        if s.cloud > 0.5 {
            m |= 1;
        }
        if s.cirrus > 0.35 {
            m |= 2;
        }
        if s.snow > 0.5 {
            m |= 4;
        }
        m
    }

    /// True-colour quicklook value (TCI: reflectance 0–0.2 → 1–255, 0 for nodata).
    pub fn tci(s: &Surface, channel: usize, toa: bool) -> u8 {
        if s.nodata {
            return 0;
        }
        let band = [3usize, 2, 1][channel.min(2)];
        let r = Self::reflectance(s, band, toa);
        (r / 0.2 * 255.0).round().clamp(1.0, 255.0) as u8
    }

    /// Aerosol optical thickness ×1000 (smooth, 60–220).
    pub fn aot(&self, u: f64, v: f64, nodata: bool) -> u16 {
        if nodata {
            return 0;
        }
        (60.0 + 160.0 * fbm(u, v, 1.5, 3, self.seed ^ 0xA07)).round() as u16
    }

    /// Water vapour ×1000 (g/cm², 900–2400).
    pub fn wvp(&self, u: f64, v: f64, nodata: bool) -> u16 {
        if nodata {
            return 0;
        }
        (900.0 + 1500.0 * fbm(u, v, 1.2, 3, self.seed ^ 0x3A7)).round() as u16
    }

    /// A smooth field in [0, 1] for generic arrays, keyed by a name.
    pub fn generic(&self, key: &str, u: f64, v: f64) -> f32 {
        let k = key
            .bytes()
            .fold(self.seed, |h, b| h.rotate_left(5) ^ u64::from(b));
        fbm(u, v, 2.0, 3, k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Class fractions of the default scene over a 200×200 sample.
    fn fractions(seed: u64) -> [f64; 12] {
        let scene = Scene::new(seed);
        let mut counts = [0f64; 12];
        let n = 200;
        for j in 0..n {
            for i in 0..n {
                let s = scene.surface((i as f64 + 0.5) / n as f64, (j as f64 + 0.5) / n as f64);
                counts[Scene::scl(&s) as usize] += 1.0;
            }
        }
        counts.map(|c| c / f64::from(n * n))
    }

    #[test]
    fn scene_looks_like_a_sentinel2_tile() {
        for seed in [42, 7] {
            let f = fractions(seed);
            let cloud = f[scl::CLOUD_HIGH as usize]
                + f[scl::CLOUD_MEDIUM as usize]
                + f[scl::SATURATED as usize];
            assert!(f[scl::SATURATED as usize] < 0.01, "saturated {}", f[1]);
            let veg = f[scl::VEGETATION as usize];
            let bare = f[scl::NOT_VEGETATED as usize];
            eprintln!("seed {seed}: {f:?}");
            assert!((0.05..0.20).contains(&f[0]), "nodata {}", f[0]);
            assert!((0.03..0.30).contains(&cloud), "cloud {cloud}");
            assert!(f[scl::CLOUD_SHADOW as usize] > 0.005, "shadow");
            assert!(f[scl::WATER as usize] > 0.01, "water");
            assert!(veg > 0.15 && bare > 0.05, "vegetation {veg} bare {bare}");
        }
    }

    #[test]
    fn spectra_are_plausible() {
        let veg = Surface {
            vegetation: 1.0,
            ..Default::default()
        };
        let water = Surface {
            water: 1.0,
            ..Default::default()
        };
        let ndvi = |s: &Surface| {
            let (nir, red) = (
                Scene::reflectance(s, 7, false),
                Scene::reflectance(s, 3, false),
            );
            (nir - red) / (nir + red)
        };
        assert!(ndvi(&veg) > 0.7);
        assert!(ndvi(&water) < 0.0);
        assert_eq!(Scene::digital_number(0.0), 1000);
        assert_eq!(Scene::digital_number(-0.5), 1);
    }
}
