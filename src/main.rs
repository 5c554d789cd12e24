fn main() {
    // Large buffers (shards, decoded chunks: 10–250 MB) come and go on every rayon thread; with
    // one glibc arena per thread they fragment several heaps. One arena keeps the peak RSS of a
    // full-tile conversion at 0.93 GiB instead of 0.96–1.08 GiB, for ~1 s more on 2 cores (a
    // fixed 16 MB mmap threshold gave 0.89 GiB but cost 6 s in page faults).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; called before any thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
    std::process::exit(eopf_geozarr::cli::main());
}
