//! Demo products of both levels at 1/10 size round-trip: the values our reader reads back equal the
//! generated ones, zarr-python reads the same bytes from the same store, and the scene is
//! deterministic for a seed.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

mod common;

use std::path::Path;

use eopf_geozarr::demo::{DemoContent, DemoOptions, demo_layout, write_demo};
use eopf_geozarr::hierarchy::Hierarchy;
use eopf_geozarr::layout::{LayoutNode, ZarrFormat};
use eopf_geozarr::product::{ProductKind, S2Level, detect};

const ARRAYS: [&str; 9] = [
    "/measurements/reflectance/r10m/b04",
    "/measurements/reflectance/r60m/b01",
    "/measurements/reflectance/r10m/x",
    "/measurements/reflectance/r10m/y",
    "/conditions/geometry/angle",
    "/conditions/geometry/band",
    "/conditions/geometry/viewing_incidence_angles",
    "/conditions/mask/detector_footprint/r20m/b05",
    "/quality/mask/r60m/b01",
];
const L2A_ONLY: [&str; 5] = [
    "/conditions/mask/l2a_classification/r20m/scl",
    "/quality/probability/r20m/cld",
    "/quality/atmosphere/r10m/aot",
    "/quality/l2a_quicklook/r60m/tci",
    "/conditions/meteorology/cams/aod550",
];

fn build(level: S2Level, seed: u64, dir: &Path) -> (std::path::PathBuf, DemoOptions) {
    build_as(level, seed, dir, ZarrFormat::V3)
}

fn build_as(
    level: S2Level,
    seed: u64,
    dir: &Path,
    format: ZarrFormat,
) -> (std::path::PathBuf, DemoOptions) {
    let opts = DemoOptions {
        level,
        size: 1098,
        seed,
        format: Some(format),
        ..Default::default()
    };
    let out = dir.join(format!("{level}-{seed}-{format:?}.zarr"));
    write_demo(&out, &opts, &|_, _| {}).unwrap();
    (out, opts)
}

/// Raw bytes of a whole array through our reader (dtype-generic via zarrs' raw retrieval).
fn read_raw(h: &Hierarchy, path: &str) -> Vec<u8> {
    let array = h.open_array(path).unwrap();
    let bytes: zarrs::array::ArrayBytes = array.retrieve_array_subset(&array.subset_all()).unwrap();
    bytes.into_fixed().unwrap().into_owned()
}

fn paths(level: S2Level) -> Vec<&'static str> {
    let mut v = ARRAYS.to_vec();
    if level == S2Level::L2A {
        v.extend(L2A_ONLY);
    }
    v
}

#[test]
fn demo_values_round_trip_through_our_reader_and_zarr_python() {
    let dir = tempfile::tempdir().unwrap();
    let python = common::python();
    for (level, format) in [
        (S2Level::L2A, ZarrFormat::V3),
        (S2Level::L1C, ZarrFormat::V3),
        (S2Level::L2A, ZarrFormat::V2),
        (S2Level::L1C, ZarrFormat::V2),
    ] {
        let (out, opts) = build_as(level, 42, dir.path(), format);
        let h = Hierarchy::open(&out).unwrap();
        assert!(h.consolidated());
        assert_eq!(h.zarr_format(), format.number());
        assert_eq!(detect(&h), ProductKind::Sentinel2 { level });
        let layout = demo_layout(&opts).unwrap();
        let content = DemoContent::new(&layout, opts.seed);
        // N0512 (v3) products have no quicklooks and no meteorology.
        let ps: Vec<&str> = paths(level)
            .into_iter()
            .filter(|p| {
                format == ZarrFormat::V2 || !(p.contains("quicklook") || p.contains("meteorology"))
            })
            .collect();
        for &p in &ps {
            let Some(LayoutNode::Array(spec)) = layout.get(p) else {
                panic!("{p} not in layout")
            };
            let region: Vec<_> = spec.shape.iter().map(|&n| 0..n).collect();
            let expected = content.region_bytes(p, spec, &region).unwrap();
            let got = read_raw(&h, p);
            assert_eq!(got.len(), expected.len(), "{level} {p}");
            assert!(
                got == expected,
                "{level} {p}: values read back differ from the generated ones"
            );
            // Also through the typed reader for the reflectance band.
            if p.ends_with("r10m/b04") {
                let typed = h.read::<u16>(p).unwrap();
                let le: Vec<u8> = typed.iter().flat_map(|v| v.to_le_bytes()).collect();
                assert_eq!(le, expected);
            }
        }
        if let Some(py) = &python {
            let dump = dir.path().join(format!("py-{level}-{format:?}"));
            let o = std::process::Command::new(py)
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/read_arrays.py"))
                .arg(&out)
                .arg(&dump)
                .args(&ps)
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "zarr-python failed: {}",
                common::stderr(&o)
            );
            for &p in &ps {
                let name = p.trim_start_matches('/').replace('/', "__");
                let py_bytes = std::fs::read(dump.join(format!("{name}.bin"))).unwrap();
                assert!(
                    py_bytes == read_raw(&h, p),
                    "{level} {format:?} {p}: zarr-python reads other values"
                );
            }
        }
    }
}

#[test]
fn demo_is_deterministic_for_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = build(S2Level::L2A, 7, dir.path());
    let b_dir = dir.path().join("again");
    std::fs::create_dir(&b_dir).unwrap();
    let (b, _) = build(S2Level::L2A, 7, &b_dir);
    let (c, _) = build(S2Level::L2A, 8, dir.path());
    let (ha, hb, hc) = (
        Hierarchy::open(&a).unwrap(),
        Hierarchy::open(&b).unwrap(),
        Hierarchy::open(&c).unwrap(),
    );
    let p = "/measurements/reflectance/r20m/b8a";
    assert_eq!(read_raw(&ha, p), read_raw(&hb, p));
    assert_ne!(read_raw(&ha, p), read_raw(&hc, p));
}

#[test]
fn demo_content_is_a_plausible_scene() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = build(S2Level::L2A, 42, dir.path());
    let h = Hierarchy::open(&out).unwrap();
    let red = h.read::<u16>("/measurements/reflectance/r20m/b04").unwrap();
    let nir = h.read::<u16>("/measurements/reflectance/r20m/b8a").unwrap();
    let scl = h
        .read::<u8>("/conditions/mask/l2a_classification/r20m/scl")
        .unwrap();
    let det = h
        .read::<u8>("/conditions/mask/detector_footprint/r20m/b05")
        .unwrap();
    let (mut veg_ndvi, mut veg_n, mut water_ndvi, mut water_n) = (0.0, 0, 0.0, 0);
    for ((&r, &n), (&c, &d)) in red.iter().zip(nir.iter()).zip(scl.iter().zip(det.iter())) {
        // Nodata is consistent across arrays: DN 0 ⇔ SCL 0 ⇔ no detector.
        assert_eq!(r == 0, c == 0);
        assert_eq!(c == 0, d == 0);
        if r == 0 {
            continue;
        }
        let (r, n) = (f64::from(r) * 1e-4 - 0.1, f64::from(n) * 1e-4 - 0.1);
        let ndvi = (n - r) / (n + r);
        match c {
            4 => {
                veg_ndvi += ndvi;
                veg_n += 1
            }
            6 => {
                water_ndvi += ndvi;
                water_n += 1
            }
            _ => {}
        }
    }
    assert!(
        veg_n > 1000 && water_n > 100,
        "classes present: veg {veg_n} water {water_n}"
    );
    assert!(veg_ndvi / f64::from(veg_n) > 0.5, "vegetation NDVI");
    assert!(water_ndvi / f64::from(water_n) < 0.0, "water NDVI");
    // The corner is nodata, the centre is not.
    assert_eq!(red[[0, 0]], 0);
    assert_ne!(red[[274, 274]], 0);
    // Coordinates are pixel centres of T32TQM at 200 m.
    // (float32 in today's v3 products, exact at these values)
    let x = h.read::<f32>("/measurements/reflectance/r20m/x").unwrap();
    let y = h.read::<f32>("/measurements/reflectance/r20m/y").unwrap();
    assert_eq!(
        (x[0], x[548]),
        (699_960.0 + 100.0, 699_960.0 + 100.0 + 548.0 * 200.0)
    );
    assert_eq!(
        (y[0], y[548]),
        (4_700_040.0 - 100.0, 4_700_040.0 - 100.0 - 548.0 * 200.0)
    );
}
