//! Durable Object ids, derived exactly as workerd derives them
//! (`src/workerd/server/actor-id-impl.c++`):
//!
//! * namespace key = SHA-256(uniqueKey)
//! * named id: first 16 bytes = HMAC-SHA256(key, name)[..16],
//!   last 16 bytes = HMAC-SHA256(key, first16)[..16]
//! * unique id: 16 random bytes + the same MAC
//!
//! The MAC half is what lets `idFromString` tell ids of another namespace apart.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::error::CoreError;

pub const ID_LEN: usize = 32;
pub type ObjectId = [u8; ID_LEN];

/// The secret of one namespace: SHA-256 of its `uniqueKey`.
#[derive(Clone)]
pub struct NamespaceKey([u8; 32]);

impl NamespaceKey {
    pub fn new(unique_key: &str) -> Self {
        NamespaceKey(Sha256::digest(unique_key.as_bytes()).into())
    }

    fn mac16(&self, data: &[u8]) -> [u8; 16] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .expect("HMAC accepts keys of any length");
        mac.update(data);
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        out
    }

    fn with_mac(&self, first: [u8; 16]) -> ObjectId {
        let mut id = [0u8; ID_LEN];
        id[..16].copy_from_slice(&first);
        id[16..].copy_from_slice(&self.mac16(&first));
        id
    }

    pub fn id_from_name(&self, name: &str) -> ObjectId {
        self.with_mac(self.mac16(name.as_bytes()))
    }

    pub fn new_unique_id(&self) -> Result<ObjectId, CoreError> {
        let mut first = [0u8; 16];
        getrandom::getrandom(&mut first).map_err(|e| CoreError::Entropy(e.to_string()))?;
        Ok(self.with_mac(first))
    }

    /// True when `id` carries this namespace's MAC.
    pub fn owns(&self, id: &ObjectId) -> bool {
        let mut first = [0u8; 16];
        first.copy_from_slice(&id[..16]);
        // Not secret-dependent timing that matters here: ids are not credentials.
        self.mac16(&first) == id[16..]
    }

    /// Parses a 64-hex-digit id and checks that it belongs to this namespace.
    pub fn parse(&self, text: &str) -> Result<ObjectId, CoreError> {
        let id = parse_hex(text)?;
        if self.owns(&id) {
            Ok(id)
        } else {
            Err(CoreError::IdWrongNamespace)
        }
    }
}

/// Parses 64 hex digits (either case) into an id.
pub fn parse_hex(text: &str) -> Result<ObjectId, CoreError> {
    let bytes = text.as_bytes();
    if bytes.len() != ID_LEN * 2 {
        return Err(CoreError::IdMalformed);
    }
    let mut id = [0u8; ID_LEN];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = hex_value(pair[0]).ok_or(CoreError::IdMalformed)?;
        let lo = hex_value(pair[1]).ok_or(CoreError::IdMalformed)?;
        id[i] = (hi << 4) | lo;
    }
    Ok(id)
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Lowercase hex, as workerd's `ActorId::toString()` and its file names use.
pub fn to_hex(id: &ObjectId) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(ID_LEN * 2);
    for b in id {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_id_matches_workerd_test_vector() {
        let key = NamespaceKey::new("mykey");
        assert_eq!(
            to_hex(&key.id_from_name("name")),
            "3652ef6221834806dc8df802d1d216e27b7d07e0a6b7adf6cfdaeec90f06459a"
        );
    }

    #[test]
    fn unique_ids_differ_and_belong_to_their_namespace() {
        let key = NamespaceKey::new("ns");
        let a = key.new_unique_id().unwrap();
        let b = key.new_unique_id().unwrap();
        assert_ne!(a, b);
        assert!(key.owns(&a));
        assert!(!NamespaceKey::new("other").owns(&a));
    }

    #[test]
    fn parse_round_trips_and_accepts_uppercase() {
        let key = NamespaceKey::new("ns");
        let id = key.id_from_name("x");
        let hex = to_hex(&id);
        assert_eq!(key.parse(&hex).unwrap(), id);
        assert_eq!(key.parse(&hex.to_uppercase()).unwrap(), id);
    }

    #[test]
    fn parse_rejects_malformed_and_foreign_ids() {
        let key = NamespaceKey::new("ns");
        assert!(matches!(parse_hex("abc"), Err(CoreError::IdMalformed)));
        assert!(matches!(
            parse_hex(&"g".repeat(64)),
            Err(CoreError::IdMalformed)
        ));
        let foreign = to_hex(&NamespaceKey::new("other").id_from_name("x"));
        assert!(matches!(
            key.parse(&foreign),
            Err(CoreError::IdWrongNamespace)
        ));
    }
}
