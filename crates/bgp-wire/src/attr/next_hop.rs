//! NEXT_HOP, type 3 (RFC 4271 section 5.1.3): the IPv4 next hop of the
//! classic NLRI field. Length other than 4: treat-as-withdraw (RFC 7606
//! section 7.3). Semantic checks (martians, own address) belong to the
//! session, which knows the addresses.

use std::net::Ipv4Addr;

use super::exact4;
use crate::error::AttrError;

pub(crate) fn decode(v: &[u8]) -> Result<Ipv4Addr, AttrError> {
    exact4(v).map(Ipv4Addr::from)
}
