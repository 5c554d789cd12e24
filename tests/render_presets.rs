//! Map presets on the golden L2A input: SCL pixels take ESA's class colours, NDVI pixels the
//! colour ramp of (B8A − B04)/(B8A + B04) at r60m (no B08 there), nodata stays transparent.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

mod common;

use eopf_geozarr::hierarchy::Hierarchy;
use eopf_geozarr::render::{Preset, SCL_CLASSES, ndvi_colour, read_band, render_preset};

#[test]
fn scl_and_ndvi_presets() {
    let Some(fx) = common::fixtures() else { return };
    let h = Hierarchy::open(fx.join("golden/in_l2a_shard.zarr")).unwrap();
    let scl = render_preset(&h, "r60m", Preset::Scl).unwrap();
    let classes = h
        .read::<u8>("/conditions/mask/l2a_classification/r60m/scl")
        .unwrap();
    for (r, c) in [(50usize, 60usize), (100, 100), (182, 182)] {
        let i = (r * scl.width + c) * 4;
        let k = classes[[r, c]];
        let px = &scl.pixels[i..i + 4];
        if k == 0 {
            assert_eq!(px[3], 0);
        } else {
            let want = SCL_CLASSES.iter().find(|e| e.0 == k).unwrap().2;
            assert_eq!(&px[..3], &want[..], "class {k} at {r},{c}");
            assert_eq!(px[3], 255);
        }
    }
    let ndvi = render_preset(&h, "r60m", Preset::Ndvi).unwrap();
    let nir = read_band(&h, "/measurements/reflectance/r60m/b8a").unwrap();
    let red = read_band(&h, "/measurements/reflectance/r60m/b04").unwrap();
    for (r, c) in [(0usize, 0usize), (50, 60), (150, 20)] {
        let i = r * ndvi.width + c;
        let (a, b) = (nir.values[i], red.values[i]);
        let px = &ndvi.pixels[i * 4..i * 4 + 4];
        if a.is_nan() || b.is_nan() {
            assert_eq!(px[3], 0, "nodata at {r},{c} is transparent");
        } else {
            assert_eq!(&px[..3], &ndvi_colour((a - b) / (a + b))[..]);
        }
    }
    // Every preset renders on an L2A product.
    for p in Preset::ALL {
        assert!(render_preset(&h, "r60m", p).is_ok(), "{p:?}");
    }
}

/// Single band through a colour map: each pixel is the map's colour of the stretched value; a
/// fixed stretch with gamma 2 maps the middle of the bounds to √0.5; histograms count every
/// valid pixel once per channel.
#[test]
fn single_band_colour_maps_gamma_and_histograms() {
    use eopf_geozarr::render::{
        Colormap, Stretch, Window, histograms, percentiles, render_preset_window,
    };
    let Some(fx) = common::fixtures() else { return };
    let h = Hierarchy::open(fx.join("golden/in_l2a_shard.zarr")).unwrap();
    let b04 = read_band(&h, "/measurements/reflectance/r60m/b04").unwrap();
    let preset = Preset::Single {
        band: 3,
        colormap: Colormap::Viridis,
    };
    let (img, s) = render_preset_window(&h, "r60m", preset, None, None).unwrap();
    let s = s.unwrap();
    assert_eq!(s.bounds[0], percentiles(&b04.values, 2.0, 98.0).unwrap());
    for i in [0usize, 777, 183 * 90 + 91, b04.values.len() - 1] {
        let v = b04.values[i];
        let px = &img.pixels[i * 4..i * 4 + 4];
        if v.is_finite() {
            // The 256-entry table: t rounded to 1/255.
            let t = (s.apply(0, v) * 255.0).round() / 255.0;
            assert_eq!(&px[..3], &Colormap::Viridis.colour(t)[..], "pixel {i}");
            assert_eq!(px[3], 255);
        } else {
            assert_eq!(px[3], 0);
        }
    }
    let fixed = Stretch {
        bounds: [(0.1, 0.3); 3],
        gamma: 2.0,
    };
    assert!((fixed.apply(0, 0.2) - 0.5f32.sqrt()).abs() < 1e-6);
    assert_eq!(fixed.apply(0, 0.05), 0.0);
    assert_eq!(fixed.apply(0, 0.9), 1.0);
    // A window renders the same pixels as the whole level there.
    let w = Window {
        rows: 10..30,
        cols: 40..45,
    };
    let (part, _) = render_preset_window(&h, "r60m", preset, Some(&w), Some(&s)).unwrap();
    assert_eq!((part.width, part.height), (5, 20));
    for r in 0..20 {
        for c in 0..5 {
            let a = &part.pixels[(r * 5 + c) * 4..(r * 5 + c) * 4 + 4];
            let i = (r + 10) * img.width + c + 40;
            assert_eq!(a, &img.pixels[i * 4..i * 4 + 4]);
        }
    }
    let hist = histograms(&h, "r60m", Preset::TrueColour, 64)
        .unwrap()
        .unwrap();
    assert_eq!(hist.counts.len(), 3);
    let in_range = b04
        .values
        .iter()
        .filter(|v| v.is_finite() && **v >= hist.lo && **v <= hist.hi)
        .count();
    assert_eq!(hist.counts[0].iter().sum::<u32>() as usize, in_range);
    assert!(histograms(&h, "r60m", Preset::Scl, 64).unwrap().is_none());
}
