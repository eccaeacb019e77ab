//! Key files: one Ed25519 secret key as JSON,
//! `{"type": "custody-ledger/ed25519-secret-key", "public": "ed25519:...", "seed": "<base64url>"}`.
//! The keys `custody demo` writes also carry `"demo": true`: their seeds derive from a public
//! demo seed, so anyone can sign with them, and they belong on the demo ledger only.
//!
//! A key file is created with mode 0600 and never overwritten. Reading refuses a file that
//! group or others may read or write (a key others can read is a key others can sign with),
//! and a file whose `public` does not match its seed (a damaged or hand-edited file).

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use custody_core::encoding::{b64url, unb64url};
use custody_core::{PublicKeyId, SecretKey};
use serde::{Deserialize, Serialize};

/// The `type` of a key file.
pub const KEY_FILE_TYPE: &str = "custody-ledger/ed25519-secret-key";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    #[serde(rename = "type")]
    file_type: String,
    public: String,
    seed: String,
    /// A demo key (`custody demo`): anyone can recompute it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    demo: bool,
}

/// Fresh random seed for a new key.
pub fn random_key() -> anyhow::Result<SecretKey> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed)
        .map_err(|e| anyhow::anyhow!("the system random generator failed: {e}"))?;
    Ok(SecretKey::from_seed(seed))
}

/// Writes a new key file with mode 0600; refuses to overwrite an existing file.
pub fn write(path: &Path, key: &SecretKey) -> anyhow::Result<()> {
    write_file(path, key, false)
}

/// Writes a new demo key file (`"demo": true`) with mode 0600; refuses to overwrite an
/// existing file.
pub fn write_demo(path: &Path, key: &SecretKey) -> anyhow::Result<()> {
    write_file(path, key, true)
}

fn write_file(path: &Path, key: &SecretKey, demo: bool) -> anyhow::Result<()> {
    let doc = KeyFile {
        file_type: KEY_FILE_TYPE.to_string(),
        public: key.public().to_string(),
        seed: b64url(&key.seed()),
        demo,
    };
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "key file {} already exists: choose another --out (keys are never overwritten)",
                path.display()
            )
        } else {
            anyhow::Error::new(e).context(format!("cannot create key file {}", path.display()))
        }
    })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write key file {}", path.display()))?;
    Ok(())
}

/// Refuses a key file that group or others may read or write.
#[cfg(unix)]
fn check_permissions(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta =
        fs::metadata(path).with_context(|| format!("cannot read key file {}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        let what = if mode & 0o044 != 0 {
            "readable"
        } else {
            "writable"
        };
        bail!(
            "key file {p} is {what} by others (mode {mode:04o}): chmod 600 {p}",
            p = path.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}

/// Reads a key file, refusing loose permissions and a public key that does not match the seed.
pub fn read(path: &Path) -> anyhow::Result<SecretKey> {
    read_file(path).map(|(key, _)| key)
}

/// Reads a key file as [`read`] does, and says whether it is a demo key.
pub fn read_file(path: &Path) -> anyhow::Result<(SecretKey, bool)> {
    check_permissions(path)?;
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read key file {}", path.display()))?;
    let doc: KeyFile = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a custody key file ({e}): create one with `custody keygen --out FILE`",
            path.display()
        )
    })?;
    if doc.file_type != KEY_FILE_TYPE {
        bail!(
            "{} has type {:?}, not {KEY_FILE_TYPE:?}: create a key with `custody keygen --out FILE`",
            path.display(),
            doc.file_type
        );
    }
    let seed: [u8; 32] = unb64url(&doc.seed)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "key file {}: seed is not 32 bytes of unpadded base64url",
                path.display()
            )
        })?;
    let key = SecretKey::from_seed(seed);
    let public: PublicKeyId = doc
        .public
        .parse()
        .with_context(|| format!("key file {}: bad public key", path.display()))?;
    if public != key.public() {
        bail!(
            "key file {} is damaged: its public key {} does not match its seed (which gives {})",
            path.display(),
            public,
            key.public()
        );
    }
    Ok((key, doc.demo))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        let key = SecretKey::from_seed([9; 32]);
        write(&path, &key).unwrap();
        assert_eq!(read(&path).unwrap().public(), key.public());
        assert!(write(&path, &key).is_err(), "must not overwrite");

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            let err = format!("{:#}", read(&path).unwrap_err());
            assert!(err.contains("readable by others (mode 0644)"), "{err}");
            assert!(err.contains("chmod 600"), "{err}");
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        }

        let other = SecretKey::from_seed([1; 32]).public().to_string();
        let text = fs::read_to_string(&path)
            .unwrap()
            .replace(&key.public().to_string(), &other);
        fs::write(&path, text).unwrap();
        let err = format!("{:#}", read(&path).unwrap_err());
        assert!(err.contains("does not match its seed"), "{err}");
    }

    #[test]
    fn demo_keys_are_marked_and_read_like_any_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = SecretKey::from_seed([4; 32]);
        let demo = dir.path().join("demo.key");
        write_demo(&demo, &key).unwrap();
        let doc: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&demo).unwrap()).unwrap();
        assert_eq!(doc["demo"], true, "{doc}");
        let (read_back, is_demo) = read_file(&demo).unwrap();
        assert_eq!(read_back.public(), key.public());
        assert!(is_demo);
        let plain = dir.path().join("plain.key");
        write(&plain, &key).unwrap();
        let doc: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&plain).unwrap()).unwrap();
        assert!(
            doc.get("demo").is_none(),
            "keygen writes no demo member: {doc}"
        );
        assert!(!read_file(&plain).unwrap().1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&demo).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
}
