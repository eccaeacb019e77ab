//! The pinned request-signature vector of docs/API.md: fixed key, method, path, date and body
//! give exactly these signed bytes and this signature, here and in the documentation.

use custody_client::sign_request;
use custody_core::request::signing_message;
use custody_core::{SecretKey, Timestamp};

/// The vector: key seed 32 bytes of 0x01, `GET /v1/chains/authority`, dated
/// `2025-03-01T09:30:00Z`, empty body.
const SEED: [u8; 32] = [1; 32];
const METHOD: &str = "GET";
const PATH: &str = "/v1/chains/authority";
const DATE: &str = "2025-03-01T09:30:00Z";
const MESSAGE: &str =
    "custody-ledger/request/v1\nGET\n/v1/chains/authority\n2025-03-01T09:30:00Z\n\
                       e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const KEY: &str = "ed25519:iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w";
const SIGNATURE: &str =
    "O3cJpQFz3KyjpW6zYSUS8T0fCvLUJ-r54fYzCvc9A3OZggaDA4T1dqLFH7zsdVRBy3rmMiBQgY_9ADo5zpOUCw";

#[test]
fn the_pinned_vector_signs_these_exact_bytes() {
    assert_eq!(
        String::from_utf8(signing_message(METHOD, PATH, DATE, b"")).unwrap(),
        MESSAGE
    );
    let key = SecretKey::from_seed(SEED);
    let date = Timestamp::parse(DATE).unwrap();
    let headers = sign_request(&key, METHOD, PATH, &date, b"");
    assert_eq!(
        headers,
        vec![
            ("custody-key", KEY.to_string()),
            ("custody-date", DATE.to_string()),
            ("custody-signature", SIGNATURE.to_string()),
        ]
    );
    // It verifies under the public key (strictly, as the gateway checks it).
    let signature: [u8; 64] = custody_core::encoding::unb64url(SIGNATURE)
        .unwrap()
        .try_into()
        .unwrap();
    assert!(key.public().verify(MESSAGE.as_bytes(), &signature).is_ok());
}

#[test]
fn docs_api_md_gives_the_same_vector() {
    let api =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/API.md")).unwrap();
    for value in [KEY, SIGNATURE, DATE, PATH] {
        assert!(api.contains(value), "docs/API.md does not give {value}");
    }
    assert!(
        api.contains(MESSAGE),
        "docs/API.md does not give the signed bytes"
    );
}
