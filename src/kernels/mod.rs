//! Resampling and decoding kernels. `cpu` (rayon) is the reference implementation and the fallback;
//! the wgpu implementation with the same API comes with the GPU work (WGSL in `shaders/`).

pub mod cpu;

pub use cpu::Edge;
