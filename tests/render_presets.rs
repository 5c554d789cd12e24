//! Map presets on the golden L2A input: SCL pixels take ESA's class colours, NDVI pixels the
//! colour ramp of (B8A − B04)/(B8A + B04) at r60m (no B08 there), nodata stays transparent.

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
