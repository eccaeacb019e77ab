//! A store's ledger, read in batches in ledger order.

use std::collections::HashSet;

use custody_core::validate::look_back_target;
use custody_core::{Hash, Rule};
use custody_store::{LedgerScan, LedgerStore, PayloadState, StoreError, StoredEvent};

use crate::pipeline::Slot;
use crate::{Failure, Report, Verifier, VerifyError};

/// Records read from the store per call (one batch of verification).
const STORE_BATCH: usize = 1000;

/// An accepted record of a store whose payload the store holds neither as such nor as a
/// redaction ([`PayloadState::Missing`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingPayload {
    /// Its ledger position.
    pub position: u64,
    /// Its chain.
    pub chain: String,
    /// Its hash.
    pub hash: Hash,
}

impl Verifier {
    /// Verifies every record of a store in ledger order, after a first read that finds the
    /// look-back targets; `accepted` sees each accepted record. Missing payloads are listed
    /// in the report; a store whose data is inconsistent ([`StoreError::Corrupt`]) is the
    /// failure [`Rule::StoreCorrupt`] at the position reached; any other store error is an
    /// error.
    pub async fn verify_store(
        &mut self,
        store: &dyn LedgerStore,
        mut accepted: impl FnMut(&StoredEvent),
    ) -> Result<Report, VerifyError> {
        let mut missing = Vec::new();
        let read = self.read_store(store, &mut missing, &mut accepted).await;
        self.chain_error()?;
        let failure = match read {
            Ok(Some(failure)) => {
                self.needs_full_pass(&failure)?;
                Some(failure)
            }
            Ok(None) => None,
            Err(StoreError::Corrupt(message)) => Some(Failure {
                line: None,
                position: self.size(),
                chain: None,
                hash: None,
                rule: Rule::StoreCorrupt,
                message: format!("the store is damaged: {message}"),
            }),
            Err(e) => return Err(VerifyError::Store(e)),
        };
        Ok(self.report(failure, missing))
    }

    async fn read_store(
        &mut self,
        store: &dyn LedgerStore,
        missing: &mut Vec<MissingPayload>,
        accepted: &mut impl FnMut(&StoredEvent),
    ) -> Result<Option<Failure>, StoreError> {
        if self.size() == 0 {
            self.remember_only(store_look_back_targets(store).await?);
        } else {
            // Resumed from a saved state: only the records from its size are read.
            let pairs = store_look_back_pairs(store, self.size()).await?;
            self.remember_new(pairs);
        }
        let mut scan = LedgerScan::new(store, self.size()).batch_size(STORE_BATCH);
        while let Some(batch) = scan.next_batch().await? {
            let slots: Vec<Slot<'_>> = batch
                .iter()
                .map(|ev| Slot::record(None, &ev.record))
                .collect();
            let verdict = self.run(&slots, |i| {
                let ev = &batch[i];
                if ev.payload == PayloadState::Missing {
                    missing.push(MissingPayload {
                        position: ev.position,
                        chain: ev.record.header.chain.clone(),
                        hash: ev.record.hash,
                    });
                }
                accepted(ev);
            });
            if let Err(failure) = verdict {
                return Ok(Some(failure));
            }
        }
        Ok(None)
    }
}

/// The look-back targets of a store's ledger (a first read of it).
async fn store_look_back_targets(store: &dyn LedgerStore) -> Result<HashSet<Hash>, StoreError> {
    let mut targets = HashSet::new();
    let mut scan = LedgerScan::new(store, 0).batch_size(STORE_BATCH);
    while let Some(batch) = scan.next_batch().await? {
        targets.extend(batch.iter().filter_map(|ev| look_back_target(&ev.record)));
    }
    Ok(targets)
}

/// The look-back records of a store's ledger from `from`: (record hash, the event it points at).
async fn store_look_back_pairs(
    store: &dyn LedgerStore,
    from: u64,
) -> Result<Vec<(Hash, Hash)>, StoreError> {
    let mut pairs = Vec::new();
    let mut scan = LedgerScan::new(store, from).batch_size(STORE_BATCH);
    while let Some(batch) = scan.next_batch().await? {
        pairs.extend(
            batch
                .iter()
                .filter_map(|ev| look_back_target(&ev.record).map(|t| (ev.record.hash, t))),
        );
    }
    Ok(pairs)
}
