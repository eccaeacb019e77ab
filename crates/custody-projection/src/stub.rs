//! Placeholder of `custody_views::detainee` (the fold of h2) until it is merged.
#![allow(missing_docs)]

use std::collections::BTreeMap;

use custody_core::humancode::code_for_chain;
use custody_core::ids::AUTHORITY_CHAIN;
use custody_core::{Record, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DetaineeFold {
    pub chain: String,
    pub code: String,
    pub last_position: Option<u64>,
    pub events: u64,
}

impl DetaineeFold {
    pub fn observe(&mut self, position: u64, record: &Record) -> bool {
        if self.last_position.is_some_and(|p| position <= p) {
            return false;
        }
        if self.chain.is_empty() {
            self.chain = record.header.chain.clone();
            self.code = code_for_chain(&self.chain);
        }
        self.events += 1;
        self.last_position = Some(position);
        true
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Directory {
    pub last_position: Option<u64>,
    pub records: u64,
}

impl Directory {
    pub fn observe(&mut self, position: u64, _record: &Record) -> bool {
        if self.last_position.is_some_and(|p| position <= p) {
            return false;
        }
        self.records += 1;
        self.last_position = Some(position);
        true
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Projection {
    pub directory: Directory,
    pub detainees: BTreeMap<String, DetaineeFold>,
    pub position: Option<u64>,
    pub latest_recorded_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Touched {
    Nothing,
    Directory,
    Chain(String),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("position {found} folded where {expected} was expected")]
pub struct ProjectionGap {
    pub expected: u64,
    pub found: u64,
}

impl Projection {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn observe(&mut self, position: u64, record: &Record) -> Result<Touched, ProjectionGap> {
        let expected = self.position.map_or(0, |p| p + 1);
        if position < expected {
            return Ok(Touched::Nothing);
        }
        if position > expected {
            return Err(ProjectionGap {
                expected,
                found: position,
            });
        }
        self.position = Some(position);
        let at = &record.header.recorded_at;
        if self.latest_recorded_at.as_ref().is_none_or(|l| at > l) {
            self.latest_recorded_at = Some(at.clone());
        }
        let chain = &record.header.chain;
        if chain == AUTHORITY_CHAIN {
            self.directory.observe(position, record);
            Ok(Touched::Directory)
        } else {
            self.detainees
                .entry(chain.clone())
                .or_default()
                .observe(position, record);
            Ok(Touched::Chain(chain.clone()))
        }
    }
}
