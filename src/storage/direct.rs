//! Direct I/O for local outputs: shards and chunks are written with `O_DIRECT` (zarrs's
//! `FilesystemStore` option), so the kernel does not copy every written byte into the page cache.
//! On the full tile with `--keep-scale-offset` that copy was 4–9 % of the conversion's CPU
//! samples and half its system time (README "Benchmarks"). The bytes written are the same.
//!
//! On by default on Linux ([`set_direct_io`] turns it off; the CLI reads `EOPF_DIRECT_IO=0`), and
//! only where the output folder accepts it: [`supports_direct_io`] writes one aligned page to a new
//! probe file of its own there and removes it; a filesystem that refuses `O_DIRECT` gets buffered
//! writes, as before.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Whether new local output stores write with direct I/O where the filesystem allows it (the
/// default: on). A process-wide setting, as the CLI's `EOPF_DIRECT_IO`.
pub fn set_direct_io(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// The current [`set_direct_io`] setting.
pub fn direct_io() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Name of the probe file [`supports_direct_io`] creates (and removes) in the output folder.
pub const PROBE: &str = ".eopf-geozarr-direct-io-probe";

/// Whether `dir` (an existing folder) takes `O_DIRECT` writes: a new file of ours
/// ([`PROBE`] and the process id, created exclusively, so nothing there is touched) gets one
/// page-aligned page, and is removed whatever happens. Always false off Linux.
pub fn supports_direct_io(dir: &Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        const PAGE: usize = 4096;
        let path = dir.join(format!("{PROBE}-{}", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_DIRECT)
            .open(&path);
        let Ok(mut file) = file else {
            // Refused at open (or the name exists: then it is not ours, and stays).
            return false;
        };
        // One zeroed page at a page-aligned address.
        #[repr(C, align(4096))]
        struct Page([u8; PAGE]);
        let page = Box::new(Page([0; PAGE]));
        let ok = file.write_all(&page.0).is_ok();
        drop(file);
        let _ = std::fs::remove_file(&path);
        ok
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_leaves_nothing_behind_and_refuses_a_missing_folder() {
        let dir = tempfile::tempdir().unwrap();
        let _ = supports_direct_io(dir.path());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert!(!supports_direct_io(&dir.path().join("missing")));
    }

    #[test]
    fn an_existing_file_of_the_probe_s_name_is_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let name = dir.path().join(format!("{PROBE}-{}", std::process::id()));
        std::fs::write(&name, b"not ours").unwrap();
        assert!(!supports_direct_io(dir.path()));
        assert_eq!(std::fs::read(&name).unwrap(), b"not ours");
    }
}
