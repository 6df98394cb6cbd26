//! ORIGINATOR_ID, type 9 (RFC 4456 section 8). Length other than 4:
//! treat-as-withdraw; from an external peer: discarded (RFC 7606 section 7.9).

use std::net::Ipv4Addr;

use super::exact4;
use crate::error::AttrError;

pub(crate) fn decode(v: &[u8]) -> Result<Ipv4Addr, AttrError> {
    exact4(v).map(Ipv4Addr::from)
}
