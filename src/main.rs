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
