//! The witness key file, in the project's key file format (the one `custody keygen` writes):
//! `{"type": "custody-ledger/ed25519-secret-key", "public": "ed25519:...", "seed": "<base64url>"}`.
//!
//! Created with mode 0600 and never overwritten; reading refuses a file that group or others
//! may read or write, and a file whose `public` does not match its seed.

use std::fs;
use std::io::Write;
use std::path::Path;

use custody_core::encoding::{b64url, unb64url};
use custody_core::SecretKey;
use serde::{Deserialize, Serialize};

/// The `type` of a key file.
pub const KEY_FILE_TYPE: &str = "custody-ledger/ed25519-secret-key";

/// Why a key file could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The file exists already (keys are never overwritten).
    #[error("key file {0} already exists: keys are never overwritten")]
    Exists(String),
    /// Group or others may read or write the file.
    #[error(
        "key file {path} may be read or written by others (mode {mode:04o}): chmod 600 {path}"
    )]
    LoosePermissions {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// The file is not a key file of this format.
    #[error("{path} is not a custody key file: {reason}")]
    Malformed {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
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
}

/// A fresh random key.
pub fn random_key() -> Result<SecretKey, KeyFileError> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| KeyFileError::Random(e.to_string()))?;
    Ok(SecretKey::from_seed(seed))
}

/// Writes a new key file with mode 0600; refuses to overwrite an existing file.
pub fn write(path: &Path, key: &SecretKey) -> Result<(), KeyFileError> {
    let p = path.display().to_string();
    let doc = KeyFile {
        file_type: KEY_FILE_TYPE.to_owned(),
        public: key.public().to_string(),
        seed: b64url(&key.seed()),
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

/// Reads a key file, refusing loose permissions and a public key that does not match the seed.
pub fn read(path: &Path) -> Result<SecretKey, KeyFileError> {
    let p = path.display().to_string();
    let io = |source| KeyFileError::Io {
        path: p.clone(),
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::LoosePermissions { path: p, mode });
        }
    }
    let text = fs::read_to_string(path).map_err(io)?;
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
    if key.public().to_string() != doc.public {
        return Err(malformed("public key does not match the seed".into()));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.key");
        let key = random_key().unwrap();
        write(&path, &key).unwrap();
        assert_eq!(read(&path).unwrap().seed(), key.seed());
        assert!(matches!(write(&path, &key), Err(KeyFileError::Exists(_))));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                read(&path),
                Err(KeyFileError::LoosePermissions { .. })
            ));
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        }
        // A file whose public key is another key's.
        let other = dir.path().join("other.key");
        let text = fs::read_to_string(&path).unwrap().replace(
            &key.public().to_string(),
            &random_key().unwrap().public().to_string(),
        );
        fs::write(&other, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&other, fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert!(matches!(read(&other), Err(KeyFileError::Malformed { .. })));
    }
}
