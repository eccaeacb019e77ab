//! Shared by the ledger's tests: initialising a store with a scenario world's ledger.

use std::sync::Arc;

use custody_core::checkpoint::NoteSigner;
use custody_ledger::{Ledger, LedgerMeta, LedgerRole};
use custody_scenario::Scenario;
use custody_store::LedgerStore;

/// Writes the metadata of the world's ledger (a primary) into an empty store.
pub async fn init_primary(s: &Scenario, store: Arc<dyn LedgerStore>) {
    let signer = NoteSigner::new(&s.name, s.ledger_key.signing_key().clone()).unwrap();
    Ledger::init(
        store,
        LedgerMeta {
            name: s.name.clone(),
            trust: s.trust.clone(),
            ledger_vkey: signer.verifier_key(),
            role: LedgerRole::Primary,
        },
    )
    .await
    .unwrap();
}
