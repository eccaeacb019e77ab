//! The per-detainee fold (`custody_views::detainee`): on the demo world it agrees with the
//! census; folded record by record it equals a full rebuild after every event; it survives a
//! serde round trip; it is idempotent by ledger position and refuses a gap.

use std::collections::BTreeMap;

use custody_core::Record;
use custody_views::census::{census_of, CustodyStatus, LegalStatus};
use custody_views::detainee::{CustodyState, Projection, ProjectionGap, Touched};

fn demo(detainees: usize) -> custody_scenario::Scenario {
    custody_scenario::build(&custody_scenario::ScenarioConfig { seed: 1, detainees })
        .expect("the demo world builds")
}

/// The records as a monitor's headers-only export has them: no detainee payload.
fn headers_only(records: &[Record]) -> Vec<Record> {
    records
        .iter()
        .map(|r| {
            if r.header.chain == custody_core::ids::AUTHORITY_CHAIN {
                r.clone()
            } else {
                r.without_payload()
            }
        })
        .collect()
}

#[test]
fn the_demo_folds_to_the_census_counts() {
    let world = demo(50);
    let records = world.published_records();
    let census = census_of(world.trust.clone(), &records).expect("the demo verifies");
    let p = Projection::of_records(&records);
    assert_eq!(p.position, Some(records.len() as u64 - 1));
    assert_eq!(p.detainees.len(), census.detainees.len());
    assert_eq!(p.detainees.len(), 50);

    let mut by_custody: BTreeMap<CustodyStatus, u64> = BTreeMap::new();
    let mut by_legal: BTreeMap<LegalStatus, u64> = BTreeMap::new();
    let mut population: BTreeMap<String, u32> = BTreeMap::new();
    for d in p.detainees.values() {
        *by_custody
            .entry(d.custody_status().expect("folded"))
            .or_default() += 1;
        if d.is_open() {
            *by_legal.entry(d.legal).or_default() += 1;
        }
        if let (CustodyState::Held { .. }, Some(f)) = (&d.custody, d.current_facility()) {
            *population.entry(f.to_string()).or_default() += 1;
        }
    }
    assert_eq!(
        by_custody.into_iter().collect::<Vec<_>>(),
        census.by_custody
    );
    assert_eq!(by_legal.into_iter().collect::<Vec<_>>(), census.by_legal);
    for f in &census.facilities {
        assert_eq!(
            population.get(&f.id).copied().unwrap_or(0),
            f.population,
            "{}",
            f.id
        );
        let entry = p.directory.facility(&f.id).expect("registered");
        assert_eq!(entry.capacity, f.capacity);
        assert_eq!(entry.officially_recognised, f.officially_recognised);
    }
    assert_eq!(p.directory.facilities.len(), census.facilities.len());
    assert_eq!(p.directory.agencies.len(), census.agencies.len());
    for line in &census.detainees {
        let d = p.detainee(&line.chain).expect("folded");
        assert_eq!(d.code, line.code);
        assert_eq!(d.legal, line.legal, "{}", line.code);
        assert_eq!(
            d.current_facility(),
            line.facility.as_deref(),
            "{}",
            line.code
        );
        assert_eq!(d.holder(), line.holder.as_deref(), "{}", line.code);
        assert_eq!(d.first_arrested_at(), Some(&line.since), "{}", line.code);
    }
    for pt in &census.pre_trial {
        let d = p.detainee(&pt.chain).expect("folded");
        let order = d.current_order().expect("an order");
        let census_order = pt.order.as_ref().expect("an order");
        assert_eq!(order.event, census_order.event);
        assert_eq!(order.valid_until, census_order.valid_until);
        assert_eq!(order.extensions.len() as u32, census_order.extensions);
        assert_eq!(d.pre_trial_since(), pt.pretrial_since.as_ref());
    }
    let gaps: Vec<_> = p.detainees.values().filter(|d| d.in_gap()).collect();
    assert_eq!(gaps.len(), census.gaps.len());
    let unofficial = p
        .detainees
        .values()
        .flat_map(|d| d.stays.iter())
        .filter(|s| !p.directory.is_recognised_facility(&s.facility))
        .count();
    assert_eq!(unofficial, census.unofficial_stays.len());
    assert!(unofficial > 0, "the demo has its detour");

    // A monitor's headers-only export folds to the same projection.
    assert_eq!(Projection::of_records(&headers_only(&records)), p);
}

#[test]
fn incremental_equals_a_full_rebuild_after_every_event() {
    let world = demo(6);
    let records = world.published_records();
    assert!(records.len() > 100, "{} records", records.len());
    let mut live = Projection::new();
    for (i, r) in records.iter().enumerate() {
        let touched = live.observe(i as u64, r).expect("the next position");
        let expected = if r.header.chain == custody_core::ids::AUTHORITY_CHAIN {
            Touched::Directory
        } else {
            Touched::Chain(r.header.chain.clone())
        };
        assert_eq!(touched, expected);
        let rebuilt = Projection::of_records(&records[..=i]);
        assert_eq!(live, rebuilt, "after record {i} ({})", r.header.kind);
    }
    // Not a trivial equality: the folds hold something.
    assert!(live.detainees.values().any(|d| !d.orders.is_empty()));
    assert!(live.detainees.values().any(|d| !d.stays.is_empty()));
}

#[test]
fn a_projection_survives_a_serde_round_trip() {
    let world = demo(12);
    let p = Projection::of_records(&world.published_records());
    let text = serde_json::to_string(&p).expect("serialises");
    let back: Projection = serde_json::from_str(&text).expect("deserialises");
    assert_eq!(back, p);
    for d in p.detainees.values() {
        let one = serde_json::to_value(d).expect("serialises");
        assert_eq!(
            serde_json::from_value::<custody_views::detainee::DetaineeFold>(one)
                .ok()
                .as_ref(),
            Some(d)
        );
    }
    // No personal data in the read model: codes and ids only (the demo's names are in payloads).
    assert!(!text.contains("Ag Mohamed"));
}

#[test]
fn repeated_and_older_positions_change_nothing() {
    let world = demo(4);
    let records = world.published_records();
    let mut p = Projection::new();
    for (i, r) in records.iter().enumerate() {
        p.observe(i as u64, r).expect("next");
    }
    let before = p.clone();
    // Every record again, at its own position and at the latest one: nothing moves.
    for (i, r) in records.iter().enumerate() {
        assert_eq!(p.observe(i as u64, r), Ok(Touched::Nothing));
    }
    assert_eq!(p, before);

    // The same at the level of one fold.
    let (last, r) = records
        .iter()
        .enumerate()
        .rev()
        .find(|(_, r)| r.header.chain != custody_core::ids::AUTHORITY_CHAIN)
        .expect("a detainee record");
    let mut fold = p.detainee(&r.header.chain).expect("folded").clone();
    let copy = fold.clone();
    assert!(!fold.observe(last as u64, r));
    assert!(!fold.observe(0, r));
    assert_eq!(fold, copy);
    // A record of another chain is not folded into it.
    let other = records
        .iter()
        .find(|x| {
            x.header.chain != r.header.chain && x.header.chain != custody_core::ids::AUTHORITY_CHAIN
        })
        .expect("another chain");
    assert!(!fold.observe(last as u64 + 1, other));
    assert_eq!(fold, copy);
}

#[test]
fn a_gap_is_refused_and_folds_nothing() {
    let world = demo(3);
    let records = world.published_records();
    let mut p = Projection::new();
    assert_eq!(
        p.observe(1, &records[1]),
        Err(ProjectionGap {
            expected: 0,
            got: 1
        })
    );
    assert_eq!(p, Projection::new());
    for (i, r) in records.iter().enumerate().take(10) {
        p.observe(i as u64, r).expect("next");
    }
    let before = p.clone();
    let e = p.observe(12, &records[12]).unwrap_err();
    assert_eq!(
        e,
        ProjectionGap {
            expected: 10,
            got: 12
        }
    );
    assert!(e.to_string().contains("next ledger position is 10"), "{e}");
    assert_eq!(p, before);
}
