//! Output files: created private (mode 0600), never overwritten.

use std::fs::File;
use std::path::Path;

/// Creates a new file readable and writable by its owner only (mode 0600, whatever the umask):
/// exports, trust anchors and checkpoints may hold personal data or say who is enrolled.
/// Refuses to overwrite an existing file.
pub fn create_new(path: &Path) -> anyhow::Result<File> {
    let mut options = File::options();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "{} already exists: choose another file name (files are never overwritten)",
                path.display()
            )
        } else {
            anyhow::anyhow!("cannot create {}: {e}", path.display())
        }
    })?;
    // The umask may have taken bits away at creation: set the mode exactly.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| {
                anyhow::anyhow!("cannot make {} private (mode 0600): {e}", path.display())
            })?;
    }
    Ok(file)
}
