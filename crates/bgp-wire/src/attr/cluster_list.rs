//! CLUSTER_LIST, type 10 (RFC 4456 section 8). Length zero or not a
//! multiple of 4: treat-as-withdraw; from an external peer: discarded
//! (RFC 7606 section 7.10).

use std::net::Ipv4Addr;

use crate::error::AttrError;

pub(crate) fn decode(v: &[u8]) -> Result<Vec<Ipv4Addr>, AttrError> {
    if v.is_empty() || v.len() % 4 != 0 {
        return Err(AttrError::Length {
            length: v.len() as u16,
        });
    }
    Ok(v.chunks_exact(4)
        .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
        .collect())
}
