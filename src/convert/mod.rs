//! Conversion pipelines. Pipeline B (`convert_s2_optimized`, REFERENCE §2B) is planned by [`s2`]:
//! every output node with its exact metadata and the source of its values; [`metadata`] holds the
//! Zarr v3 documents the reference writes.

pub mod metadata;
pub mod s2;

pub use s2::{OutputPlan, S2Options, Source, plan_s2};
