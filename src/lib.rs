//! # eopf-geozarr
//!
//! Open ESA EOPF Sentinel-2 products (Zarr v2), inspect them, and (in later modules) convert them
//! to GeoZarr multiscale pyramids. Modules, one concern each:
//!
//! * [`hierarchy`] — any Zarr v2/v3 hierarchy as a tree of groups and arrays; chunked reads.
//! * [`zarr_ext`] — Zarr v3 extension data types EOPF uses (`null_terminated_bytes`).
//! * [`layout`] — pydantic-zarr `GroupSpec` layouts, materialised as real Zarr v2 stores.
//! * [`product`] — EOPF semantics: Sentinel-2 detection, band table, CRS resolution, CF decoding.
//! * [`geo`] — transforms from pixel-centre coordinates, bboxes, PROJ lon/lat.
//! * [`conventions`] — `multiscales`, `proj`, `spatial`: exact declarations, read by UUID.
//! * [`plan`] — pure functions: aligned chunks, shards, overview levels, the S2 level table.
//! * [`kernels`] — CF decode and block reductions (CPU; GPU to come).
//! * [`convert`] — pipeline B's output plan (metadata exact to the reference).
//! * [`demo`] — the built-in synthetic Sentinel-2 product.
//! * [`inspect`] — the `info` report.
//! * [`render`] — composites for display (true colour).
//! * [`warp`] — Sentinel-1 GCP polynomial georeferencing and bilinear warping.
//! * [`validate`] — the GeoZarr validator (errors and warnings with node paths).
//! * `app` — the eframe desktop application (feature `gui`, the default).
//! * [`cli`] — the command-line front end.

#[cfg(feature = "gui")]
pub mod app;
pub mod bench;
pub mod cli;
pub mod codecs;
pub mod conventions;
pub mod convert;
pub mod demo;
pub mod dtype;
pub mod env;
pub mod error;
pub mod geo;
pub mod hierarchy;
pub mod inspect;
pub mod kernels;
pub mod layout;
pub mod node_path;
pub mod plan;
pub mod product;
pub mod profile;
pub mod render;
pub mod storage;
pub mod validate;
pub mod warp;
pub mod zarr_ext;

pub use error::{Error, Result};

/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
