//! Request signatures of the HTTP API (`docs/API.md`, "Authenticating reads"): the one
//! definition of the bytes a reader signs, shared by the client that signs
//! (`custody-client`) and the gateway that verifies (`custody-gateway`), so the two agree
//! byte for byte.
//!
//! The signed message is ASCII text, each part followed by a line feed except the last:
//!
//! ```text
//! custody-ledger/request/v1
//! <METHOD>
//! <path and query, exactly as on the request line>
//! <Custody-Date, exactly as sent>
//! <lowercase hex SHA-256 of the request body (of the empty string for a GET)>
//! ```
//!
//! The domain prefix keeps a request signature from ever being taken for an event signature
//! (which signs `custody-ledger/event/v1` and a hash).

use crate::Hash;

/// Domain separation prefix of the signed request message (its first line).
pub const REQUEST_CONTEXT: &str = "custody-ledger/request/v1\n";
/// Header carrying the reader's public key (`ed25519:` + base64url).
pub const HEADER_KEY: &str = "custody-key";
/// Header carrying the client's clock (a wire timestamp, UTC).
pub const HEADER_DATE: &str = "custody-date";
/// Header carrying the request signature (unpadded base64url, 86 characters).
pub const HEADER_SIGNATURE: &str = "custody-signature";

/// The bytes a request signature covers (see the module documentation). `method` in upper
/// case, `path_and_query` and `date` exactly as sent, `body` the exact body bytes.
pub fn signing_message(method: &str, path_and_query: &str, date: &str, body: &[u8]) -> Vec<u8> {
    let body_hash = Hash::of(body).to_hex();
    let mut m = Vec::with_capacity(
        REQUEST_CONTEXT.len() + method.len() + path_and_query.len() + date.len() + 67,
    );
    m.extend_from_slice(REQUEST_CONTEXT.as_bytes());
    for part in [method, path_and_query, date] {
        m.extend_from_slice(part.as_bytes());
        m.push(b'\n');
    }
    m.extend_from_slice(body_hash.as_bytes());
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_layout() {
        let m = signing_message("GET", "/v1/x?a=1", "2025-01-01T00:00:00Z", b"");
        let text = String::from_utf8(m).unwrap();
        assert_eq!(
            text,
            "custody-ledger/request/v1\nGET\n/v1/x?a=1\n2025-01-01T00:00:00Z\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
