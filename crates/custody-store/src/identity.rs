//! The identity of a ledger, written in the side files derived from it (the views file of
//! `custody-projection`, the tree file of `custody-tlog`), so that a file made from another
//! ledger is refused rather than served: the ledger's name and the hash of its first record.

use crate::{LedgerStore, StoreError};

/// The store metadata key holding the ledger description (`custody_ledger::META_LEDGER`).
const META_LEDGER: &str = "ledger";

/// The identity of a ledger: its name and the hash of its first record (`None` while it is
/// empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerIdentity {
    /// The ledger's name (checkpoint origin).
    pub name: String,
    /// Hex hash of the record at position 0.
    pub genesis: Option<String>,
}

/// What a side file naming one ledger makes of another ([`LedgerIdentity::binding`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Binding {
    /// The same ledger, as far as the file knows.
    Same,
    /// The same ledger, whose first record the file did not know yet: write this genesis.
    LearnGenesis(String),
    /// Another ledger (or the ledger was replaced): refuse the file.
    Other {
        /// The ledger the file names, in words.
        expected: String,
        /// This ledger, in words.
        found: String,
    },
}

impl LedgerIdentity {
    /// Reads the identity of the ledger in a store.
    pub async fn of(store: &dyn LedgerStore) -> Result<LedgerIdentity, StoreError> {
        let name = store
            .meta(META_LEDGER)
            .await?
            .and_then(|m| m.get("name").and_then(|n| n.as_str()).map(str::to_owned))
            .unwrap_or_default();
        let genesis = store
            .read_from(0, 1)
            .await?
            .first()
            .map(|ev| ev.record.hash.to_hex());
        Ok(LedgerIdentity { name, genesis })
    }

    /// The identity in words, for errors: the name and the first 16 hex digits of the genesis.
    pub fn describe(&self) -> String {
        match &self.genesis {
            Some(g) => format!(
                "{:?} starting with record {}",
                self.name,
                g.get(..16).unwrap_or(g)
            ),
            None => format!("{:?}, empty", self.name),
        }
    }

    /// Whether a file naming this ledger (`self`) belongs to `ledger`: the same name and, once
    /// the file knows it, the same first record.
    pub fn binding(&self, ledger: &LedgerIdentity) -> Binding {
        let same =
            self.name == ledger.name && (self.genesis.is_none() || self.genesis == ledger.genesis);
        if !same {
            return Binding::Other {
                expected: self.describe(),
                found: ledger.describe(),
            };
        }
        match (&self.genesis, &ledger.genesis) {
            (None, Some(g)) => Binding::LearnGenesis(g.clone()),
            _ => Binding::Same,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(name: &str, genesis: Option<&str>) -> LedgerIdentity {
        LedgerIdentity {
            name: name.into(),
            genesis: genesis.map(str::to_owned),
        }
    }

    #[test]
    fn a_file_belongs_to_its_ledger_only() {
        let g = "ab".repeat(32);
        let file = id("ml.example/ledger", Some(&g));
        assert_eq!(file.binding(&file), Binding::Same);
        assert_eq!(
            id("ml.example/ledger", None).binding(&file),
            Binding::LearnGenesis(g.clone())
        );
        match file.binding(&id("ml.example/ledger", Some(&"cd".repeat(32)))) {
            Binding::Other { expected, found } => {
                assert!(expected.contains("abababab"), "{expected}");
                assert!(found.contains("cdcdcdcd"), "{found}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            file.binding(&id("other.example/ledger", Some(&g))),
            Binding::Other { .. }
        ));
        assert_eq!(
            id("x", None).binding(&id("x", None)),
            Binding::Same,
            "an empty ledger"
        );
        assert!(id("x", None).describe().contains("empty"));
    }
}
