//! Key files of custody-ledger: one Ed25519 secret key as JSON,
//! `{"type": "custody-ledger/ed25519-secret-key", "public": "ed25519:...", "seed": "<base64url>"}`,
//! the one format of `custody keygen`, `custody demo`, and `custody-witness init`.
//! The keys `custody demo` writes also carry `"demo": true`: their seeds derive from a public
//! demo seed, so anyone can sign with them, and they belong on the demo ledger only.
//!
//! A key file is created with mode 0600 and never overwritten. Reading refuses a file that
//! group or others may read or write (a key others can read is a key others can sign with),
//! naming the file and the fix (`chmod 600 FILE`), and a file whose `public` does not match its
//! seed (a damaged or hand-edited file).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::fs;
use std::io::Write;
use std::path::Path;

use custody_core::encoding::{b64url, unb64url};
use custody_core::{PublicKeyId, SecretKey};
use serde::{Deserialize, Serialize};

/// The `type` of a key file.
pub const KEY_FILE_TYPE: &str = "custody-ledger/ed25519-secret-key";

/// Why a key file could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The file exists already (keys are never overwritten).
    #[error("key file {0} already exists: choose another file (keys are never overwritten)")]
    Exists(String),
    /// Group or others may read or write the file.
    #[error("key file {path} is {what} by others (mode {mode:04o}): chmod 600 {path}")]
    LoosePermissions {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
        /// `readable` or `writable`.
        what: &'static str,
    },
    /// The file is not a key file of this format.
    #[error(
        "{path} is not a custody key file ({reason}): create one with `custody keygen --out FILE`"
    )]
    Malformed {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The file's public key is not the one its seed gives.
    #[error("key file {path} is damaged: its public key {public} does not match its seed (which gives {derived})")]
    Mismatch {
        /// The file.
        path: String,
        /// The public key the file names.
        public: String,
        /// The public key of its seed.
        derived: String,
    },
    /// Reading or writing failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The system random generator failed.
    #[error("the system random generator failed: {0}")]
    Random(String),
}

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

/// A fresh key from the system random generator.
pub fn random_key() -> Result<SecretKey, KeyFileError> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| KeyFileError::Random(e.to_string()))?;
    Ok(SecretKey::from_seed(seed))
}

/// Writes a new key file with mode 0600; refuses to overwrite an existing file.
pub fn write(path: &Path, key: &SecretKey) -> Result<(), KeyFileError> {
    write_file(path, key, false)
}

/// Writes a new demo key file (`"demo": true`) with mode 0600; refuses to overwrite an
/// existing file.
pub fn write_demo(path: &Path, key: &SecretKey) -> Result<(), KeyFileError> {
    write_file(path, key, true)
}

fn write_file(path: &Path, key: &SecretKey, demo: bool) -> Result<(), KeyFileError> {
    let p = path.display().to_string();
    let doc = KeyFile {
        file_type: KEY_FILE_TYPE.to_owned(),
        public: key.public().to_string(),
        seed: b64url(&key.seed()),
        demo,
    };
    let mut text = serde_json::to_string_pretty(&doc).map_err(|e| KeyFileError::Malformed {
        path: p.clone(),
        reason: e.to_string(),
    })?;
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
            KeyFileError::Exists(p.clone())
        } else {
            KeyFileError::Io {
                path: p.clone(),
                source: e,
            }
        }
    })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|source| KeyFileError::Io { path: p, source })
}

/// Refuses a key file that group or others may read or write (a no-op off Unix).
pub fn check_permissions(path: &Path) -> Result<(), KeyFileError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let p = path.display().to_string();
        let mode = fs::metadata(path)
            .map_err(|source| KeyFileError::Io {
                path: p.clone(),
                source,
            })?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            let what = if mode & 0o044 != 0 {
                "readable"
            } else {
                "writable"
            };
            return Err(KeyFileError::LoosePermissions {
                path: p,
                mode,
                what,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Reads a key file, refusing loose permissions and a public key that does not match the seed.
pub fn read(path: &Path) -> Result<SecretKey, KeyFileError> {
    read_file(path).map(|(key, _)| key)
}

/// Reads a key file as [`read`] does, and says whether it is a demo key.
pub fn read_file(path: &Path) -> Result<(SecretKey, bool), KeyFileError> {
    check_permissions(path)?;
    let p = path.display().to_string();
    let text = fs::read_to_string(path).map_err(|source| KeyFileError::Io {
        path: p.clone(),
        source,
    })?;
    let malformed = |reason: String| KeyFileError::Malformed {
        path: p.clone(),
        reason,
    };
    let doc: KeyFile = serde_json::from_str(&text).map_err(|e| malformed(e.to_string()))?;
    if doc.file_type != KEY_FILE_TYPE {
        return Err(malformed(format!(
            "type {:?} is not {KEY_FILE_TYPE:?}",
            doc.file_type
        )));
    }
    let seed: [u8; 32] = unb64url(&doc.seed)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| malformed("seed is not 32 bytes of unpadded base64url".into()))?;
    let key = SecretKey::from_seed(seed);
    let public: PublicKeyId = doc
        .public
        .parse()
        .map_err(|e| malformed(format!("bad public key: {e}")))?;
    if public != key.public() {
        return Err(KeyFileError::Mismatch {
            path: p,
            public: public.to_string(),
            derived: key.public().to_string(),
        });
    }
    Ok((key, doc.demo))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn chmod(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[cfg(unix)]
    fn mode_of(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn written_0600_read_back_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let key = random_key().unwrap();
        write(&path, &key).unwrap();
        #[cfg(unix)]
        assert_eq!(mode_of(&path), 0o600);
        assert_eq!(read(&path).unwrap().seed(), key.seed());
        let again = write(&path, &SecretKey::from_seed([1; 32])).unwrap_err();
        assert!(matches!(again, KeyFileError::Exists(_)), "{again}");
        assert_eq!(read(&path).unwrap().seed(), key.seed(), "overwritten");
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_may_read_or_write_is_refused_naming_the_file_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("officer.key");
        write(&path, &SecretKey::from_seed([9; 32])).unwrap();
        let p = path.display().to_string();
        for (mode, what) in [
            (0o644, "readable"),
            (0o640, "readable"),
            (0o604, "readable"),
            (0o620, "writable"),
        ] {
            chmod(&path, mode);
            let err = read(&path).unwrap_err().to_string();
            assert_eq!(
                err,
                format!("key file {p} is {what} by others (mode {mode:04o}): chmod 600 {p}")
            );
        }
        chmod(&path, 0o400);
        assert!(read(&path).is_ok(), "a read-only owner file is fine");
    }

    #[test]
    fn a_hand_edited_public_key_and_other_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let key = SecretKey::from_seed([9; 32]);
        write(&path, &key).unwrap();
        let other = SecretKey::from_seed([1; 32]).public().to_string();
        let text = fs::read_to_string(&path)
            .unwrap()
            .replace(&key.public().to_string(), &other);
        fs::write(&path, text).unwrap();
        let err = read(&path).unwrap_err();
        assert!(matches!(err, KeyFileError::Mismatch { .. }), "{err}");
        assert!(err.to_string().contains("does not match its seed"), "{err}");

        let junk = dir.path().join("junk.key");
        write(&junk, &key).unwrap();
        fs::write(&junk, "{\"type\": \"something-else\"}").unwrap();
        let err = read(&junk).unwrap_err();
        assert!(matches!(err, KeyFileError::Malformed { .. }), "{err}");
    }

    #[test]
    fn demo_keys_are_marked_0600_and_read_like_any_key() {
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
        #[cfg(unix)]
        assert_eq!(mode_of(&demo), 0o600);
        let plain = dir.path().join("plain.key");
        write(&plain, &key).unwrap();
        let doc: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&plain).unwrap()).unwrap();
        assert!(doc.get("demo").is_none(), "no demo member: {doc}");
        assert!(!read_file(&plain).unwrap().1);
    }
}
