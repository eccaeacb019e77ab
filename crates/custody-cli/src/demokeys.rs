//! The key files of the demo world (`custody demo`): the root key, the ledger key and the key
//! of every key holder of every agency, written into `demo-keys/` beside the database so that
//! one can practise signing on the demo ledger.
//!
//! They are demo keys: their seeds derive from the public demo seed, so anyone can recompute
//! them. Each file is marked `"demo": true`, created mode 0600 (in a directory of mode 0700)
//! and never overwritten: a second run of the same demo finds its keys already there, and a
//! file holding anything else is refused before the store is touched.

use std::path::{Path, PathBuf};

use custody_core::SecretKey;
use custody_scenario::{Actor, ScenarioStream, REVOKED_ACTOR};
use serde_json::{json, Value};

use crate::keyfile;

/// Name of the key directory, beside the SQLite file.
pub const DIR_NAME: &str = "demo-keys";

/// One key file to write.
#[derive(Debug)]
pub struct DemoKey {
    /// File path.
    pub path: PathBuf,
    /// The key.
    pub key: SecretKey,
    /// What the key is: `root` (writes the authority chain), `ledger` (signs checkpoints) or
    /// `agency` (signs events with its roles).
    pub kind: &'static str,
    /// Agency the key signs for (the ledger's name for the ledger key).
    pub agency: String,
    /// Roles it holds (agency keys only).
    pub roles: Vec<String>,
    /// Revoked on the demo ledger (it signs nothing valid).
    pub revoked: bool,
}

/// The demo's key files, in the order they are listed.
#[derive(Debug)]
pub struct DemoKeys {
    /// The directory holding them.
    pub dir: PathBuf,
    /// Every key file.
    pub keys: Vec<DemoKey>,
}

/// The default key directory: `demo-keys/` beside the SQLite file, or in the current directory
/// for a NATS store.
pub fn default_dir(spec: &str) -> PathBuf {
    if crate::store::is_nats(spec) {
        return PathBuf::from(DIR_NAME);
    }
    match Path::new(spec).parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.join(DIR_NAME),
        _ => PathBuf::from(DIR_NAME),
    }
}

impl DemoKeys {
    /// The key files of a demo world, in `dir`.
    #[cfg(test)]
    pub fn plan(scenario: &custody_scenario::Scenario, dir: &Path) -> DemoKeys {
        Self::plan_parts(
            (&scenario.root_key, scenario.root_agency),
            (&scenario.ledger_key, &scenario.name),
            &scenario.actors,
            dir,
        )
    }

    /// The key files of a streamed demo world, in `dir`.
    pub fn plan_stream(scenario: &ScenarioStream, dir: &Path) -> DemoKeys {
        Self::plan_parts(
            (&scenario.root_key, scenario.root_agency),
            (&scenario.ledger_key, &scenario.name),
            &scenario.actors,
            dir,
        )
    }

    /// The key files of the root (key, agency), the ledger (key, name) and the actors.
    fn plan_parts(
        root: (&SecretKey, &str),
        ledger: (&SecretKey, &str),
        actors: &[Actor],
        dir: &Path,
    ) -> DemoKeys {
        let mut keys = vec![
            DemoKey {
                path: dir.join("root.key"),
                key: root.0.clone(),
                kind: "root",
                agency: root.1.to_string(),
                roles: vec![],
                revoked: false,
            },
            DemoKey {
                path: dir.join("ledger.key"),
                key: ledger.0.clone(),
                kind: "ledger",
                agency: ledger.1.to_string(),
                roles: vec![],
                revoked: false,
            },
        ];
        for actor in actors {
            keys.push(DemoKey {
                path: dir.join(format!("{}.key", actor.label)),
                key: actor.key.clone(),
                kind: "agency",
                agency: actor.agency.to_string(),
                roles: actor.roles.iter().map(|r| r.as_str().to_string()).collect(),
                revoked: actor.label == REVOKED_ACTOR,
            });
        }
        DemoKeys {
            dir: dir.to_path_buf(),
            keys,
        }
    }

    /// The path of a key file: `root`, `ledger` or an actor's label (e.g. `mca-registrar`).
    pub fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.key"))
    }

    /// Checks, without writing anything, that every key file is either absent or already this
    /// very demo key. Returns how many are already there.
    pub fn check(&self) -> anyhow::Result<usize> {
        let mut present = 0;
        for k in &self.keys {
            if !k.path.exists() {
                continue;
            }
            let shown = k.path.display();
            let (found, demo) = keyfile::read_file(&k.path).map_err(|e| {
                anyhow::anyhow!(
                    "{shown} existe déjà et n'est pas lisible comme clé de démonstration ({e:#}) : \
                     déplacez-le, ou passez --keys-dir DIR"
                )
            })?;
            if !demo || found.public() != k.key.public() {
                anyhow::bail!(
                    "{shown} existe déjà et contient une autre clé que la clé de démonstration \
                     {} de cette démo (une autre graine ?) : les clés ne sont jamais écrasées ; \
                     déplacez ce dossier, ou passez --keys-dir DIR",
                    k.key.public()
                );
            }
            present += 1;
        }
        Ok(present)
    }

    /// Writes the key files not already there (directory mode 0700, files mode 0600).
    /// Returns how many were written.
    pub fn write(&self) -> anyhow::Result<usize> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&self.dir).map_err(|e| {
            anyhow::anyhow!(
                "impossible de créer le dossier des clés {} : {e}",
                self.dir.display()
            )
        })?;
        let mut written = 0;
        for k in &self.keys {
            if k.path.exists() {
                continue;
            }
            keyfile::write_demo(&k.path, &k.key)?;
            written += 1;
        }
        Ok(written)
    }

    /// The key list for `--json`.
    pub fn to_json(&self) -> Value {
        Value::Array(
            self.keys
                .iter()
                .map(|k| {
                    json!({
                        "file": k.path.display().to_string(),
                        "public": k.key.public().to_string(),
                        "kind": k.kind,
                        "agency": k.agency,
                        "roles": k.roles,
                        "revoked": k.revoked,
                    })
                })
                .collect(),
        )
    }

    /// One line per key file, for people.
    pub fn lines(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|k| {
                let file = k.path.display().to_string();
                let what = match k.kind {
                    "root" => format!(
                        "clé racine de {} (custody enroll --root-key)",
                        k.agency
                    ),
                    "ledger" => {
                        "clé du registre, signe les points de contrôle (custody checkpoint --ledger-key)"
                            .to_string()
                    }
                    _ => format!(
                        "{} : {}{}",
                        k.agency,
                        k.roles.join(", "),
                        if k.revoked {
                            " (RÉVOQUÉE : ce qu'elle signe est refusé)"
                        } else {
                            ""
                        }
                    ),
                };
                format!("  {file:<44} {what}")
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_dir_is_beside_the_sqlite_file() {
        assert_eq!(default_dir("custody.db"), PathBuf::from("demo-keys"));
        assert_eq!(
            default_dir("/var/lib/x/demo.db"),
            PathBuf::from("/var/lib/x/demo-keys")
        );
        assert_eq!(
            default_dir("nats://127.0.0.1:4222"),
            PathBuf::from("demo-keys")
        );
    }

    #[test]
    fn keys_are_written_once_and_a_foreign_file_is_refused() {
        let scenario = custody_scenario::build(&custody_scenario::ScenarioConfig {
            seed: 1,
            detainees: 1,
        })
        .unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(DIR_NAME);
        let keys = DemoKeys::plan(&scenario, &dir);
        assert_eq!(keys.keys.len(), 2 + scenario.actors.len());
        assert_eq!(keys.check().unwrap(), 0);
        assert_eq!(keys.write().unwrap(), keys.keys.len());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir), 0o700);
            for k in &keys.keys {
                assert_eq!(mode(&k.path), 0o600, "{}", k.path.display());
            }
        }
        let (ledger, demo) = keyfile::read_file(&keys.path_of("ledger")).unwrap();
        assert!(demo);
        assert_eq!(ledger.public(), scenario.ledger_key.public());
        // A second run finds them all.
        assert_eq!(keys.check().unwrap(), keys.keys.len());
        assert_eq!(keys.write().unwrap(), 0);
        // Another demo's key in place of one of them: refused, nothing written.
        let other = custody_scenario::build(&custody_scenario::ScenarioConfig {
            seed: 2,
            detainees: 1,
        })
        .unwrap();
        let err = DemoKeys::plan(&other, &dir)
            .check()
            .unwrap_err()
            .to_string();
        assert!(err.contains("root.key existe déjà"), "{err}");
        assert!(err.contains("--keys-dir"), "{err}");
    }
}
