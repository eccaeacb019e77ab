//! A small tmpfs, for the tests of a full disk: mounted on a directory of the test's, filled
//! to the last byte, unmounted (lazily) when dropped. Mounting needs root (CAP_SYS_ADMIN).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs of a given size mounted on a directory, unmounted (lazily) on drop.
pub struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`mount -o size=`, e.g. `4m`) on `dir` (created if needed).
    ///
    /// `None` when mounting is refused and `CUSTODY_SKIP_TMPFS=1` is set (after printing that
    /// the test is skipped); otherwise a refusal panics, saying what the test needs: a test of
    /// a full disk that cannot make one must not pass silently.
    pub fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        if let Err(e) = std::fs::create_dir_all(dir) {
            panic!("cannot create the mount point {}: {e}", dir.display());
        }
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .output();
        let refusal = match out {
            Ok(o) if o.status.success() => {
                return Some(Tmpfs {
                    dir: dir.to_path_buf(),
                })
            }
            Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
            Err(e) => format!("cannot run mount: {e}"),
        };
        if std::env::var("CUSTODY_SKIP_TMPFS").as_deref() == Ok("1") {
            eprintln!("skipped (CUSTODY_SKIP_TMPFS=1): cannot mount a tmpfs: {refusal}");
            return None;
        }
        panic!(
            "this test mounts a small tmpfs to fill a disk, which needs root (CAP_SYS_ADMIN): \
             {refusal}; run it as root, or set CUSTODY_SKIP_TMPFS=1 to skip it"
        );
    }

    /// The directory the tmpfs is mounted on.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Fills the file system with a file `name` until not one byte more fits; returns the
    /// file's path (remove it to free the space).
    pub fn fill(&self, name: &str) -> PathBuf {
        let path = self.dir.join(name);
        let mut file = match std::fs::File::create(&path) {
            Ok(f) => f,
            Err(e) => panic!("cannot create {}: {e}", path.display()),
        };
        let chunk = vec![0u8; 4096];
        loop {
            match file.write(&chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
        // Single bytes, to the last free block.
        while let Ok(1) = file.write(&[0]) {}
        let _ = file.sync_all();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}
