//! One scan of a store's ledger: records in ledger order, in batches, with the continuity
//! check every reader needs (each batch starts where the last one ended and has no gap).
//!
//! Everything that reads the whole ledger (opening a ledger in `custody-ledger`, the verifier,
//! checkpoints, proofs, exports) goes through [`LedgerScan`], so no reader can skip the check.

use crate::{LedgerStore, StoreError, StoredEvent};

/// Records read from the store per batch, unless [`LedgerScan::batch_size`] says otherwise.
pub const SCAN_BATCH: usize = 1000;

/// Reads a store's ledger in order from a position, batch by batch.
///
/// Every batch it yields holds consecutive positions starting at [`LedgerScan::position`]. A
/// store that answers with a gap, a repeated or an out-of-order position is damaged: the scan
/// first yields the records before the break, then fails with [`StoreError::Corrupt`] naming
/// the position expected and the one found. A scan bounded by [`LedgerScan::until`] also fails
/// when the store ends before the bound (records acknowledged earlier are gone).
///
/// ```no_run
/// # async fn run(store: &dyn custody_store::LedgerStore) -> Result<(), custody_store::StoreError> {
/// use custody_store::LedgerScan;
/// let mut scan = LedgerScan::new(store, 0);
/// while let Some(batch) = scan.next_batch().await? {
///     for event in &batch {
///         println!("{} {}", event.position, event.record.hash);
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct LedgerScan<'a> {
    store: &'a dyn LedgerStore,
    next: u64,
    end: Option<u64>,
    batch: usize,
    /// The break found in the last batch, reported on the next call.
    pending: Option<StoreError>,
}

impl<'a> LedgerScan<'a> {
    /// A scan of `store` from ledger position `from` to the end of the ledger.
    pub fn new(store: &'a dyn LedgerStore, from: u64) -> Self {
        LedgerScan {
            store,
            next: from,
            end: None,
            batch: SCAN_BATCH,
            pending: None,
        }
    }

    /// Stops the scan before position `end` (exclusive), and requires the store to hold every
    /// position up to it.
    pub fn until(mut self, end: u64) -> Self {
        self.end = Some(end);
        self
    }

    /// Reads `size` records per call to the store (at least one).
    pub fn batch_size(mut self, size: usize) -> Self {
        self.batch = size.max(1);
        self
    }

    /// The position of the next record the scan yields: the number of records yielded so far
    /// when it started at 0.
    pub fn position(&self) -> u64 {
        self.next
    }

    /// The next batch of consecutive records, or `None` at the end (of the ledger, or of the
    /// bound given to [`LedgerScan::until`]).
    pub async fn next_batch(&mut self) -> Result<Option<Vec<StoredEvent>>, StoreError> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        let limit = match self.end {
            Some(end) if self.next >= end => return Ok(None),
            Some(end) => usize::try_from(end - self.next).map_or(self.batch, |n| n.min(self.batch)),
            None => self.batch,
        };
        let mut batch = self.store.read_from(self.next, limit).await?;
        if batch.is_empty() {
            return match self.end {
                Some(end) => Err(StoreError::Corrupt(format!(
                    "the ledger ends at position {} but {end} records were expected",
                    self.next
                ))),
                None => Ok(None),
            };
        }
        let in_order = batch
            .iter()
            .zip(self.next..)
            .take_while(|(ev, position)| ev.position == *position)
            .count();
        if in_order < batch.len() {
            let found = batch[in_order].position;
            let expected = self.next + in_order as u64;
            let e = StoreError::Corrupt(format!(
                "the store returned position {found} where {expected} was expected"
            ));
            if in_order == 0 {
                return Err(e);
            }
            self.pending = Some(e);
            batch.truncate(in_order);
        }
        if let Some(end) = self.end {
            batch.truncate(usize::try_from(end - self.next).unwrap_or(usize::MAX));
        }
        self.next += batch.len() as u64;
        Ok(Some(batch))
    }
}
