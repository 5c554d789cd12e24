#[cfg(target_os = "linux")]
mod large_alloc;

/// glibc's heap, and a mapping of its own for each block of 256 MiB or more (see the module).
#[cfg(target_os = "linux")]
#[global_allocator]
static GLOBAL: large_alloc::HeapWithDirectLargeBlocks = large_alloc::HeapWithDirectLargeBlocks;

fn main() {
    // Large buffers (shards, decoded chunks: 10–250 MB; zstd's ~1 MB context per compressed
    // chunk) come and go on every thread. By default glibc maps and unmaps each one over its
    // dynamic mmap threshold and trims the heap top after frees, so each is page-faulted afresh:
    // half of a full-tile conversion's CPU time was the kernel's. A fixed 32 MiB mmap threshold
    // (glibc's maximum) and a 1 GiB trim threshold keep freed memory for reuse; one arena keeps
    // the big buffers from fragmenting one heap per thread. No mmap at all (M_MMAP_MAX = 0):
    // blocks of 32–256 MiB (decoded Zarr v2 chunks, region buffers) are reused from the heap
    // too; larger ones get their own mapping from the global allocator (src/large_alloc.rs;
    // README "Performance").
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; called before any thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_MMAP_MAX, 0);
    }
    // Mesa's Vulkan/GL drivers print "XDG_RUNTIME_DIR is invalid" on headless machines when
    // wgpu looks for adapters; give them a private runtime directory when there is none.
    #[cfg(unix)]
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("eopf-geozarr-xdg-{}", std::process::id()));
        if std::fs::create_dir_all(&dir).is_ok()
            && std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).is_ok()
        {
            // SAFETY: no other thread exists yet.
            unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
        }
    }
    // `eopf-geozarr info … | head` ends quietly, as command-line tools do.
    #[cfg(unix)]
    // SAFETY: restoring the default SIGPIPE action before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let code = eopf_geozarr::cli::main();
    #[cfg(unix)]
    let _ = std::fs::remove_dir(
        std::env::temp_dir().join(format!("eopf-geozarr-xdg-{}", std::process::id())),
    );
    std::process::exit(code);
}
