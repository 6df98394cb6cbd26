//! AGGREGATOR, type 7 (RFC 4271 section 5.1.7; 6 bytes with 2-octet AS,
//! 8 with 4-octet, RFC 6793) and AS4_AGGREGATOR, type 18 (RFC 6793,
//! always 8). A bad length: attribute-discard (RFC 7606 section 7.7,
//! RFC 6793 section 6).

use std::net::Ipv4Addr;

use bytes::{BufMut, BytesMut};

use crate::{error::AttrError, open::AS_TRANS};

/// The AS and BGP identifier of the speaker that aggregated the route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Aggregator {
    /// Aggregating AS.
    pub asn: u32,
    /// BGP identifier of the aggregating speaker.
    pub address: Ipv4Addr,
}

impl Aggregator {
    pub(crate) fn decode(v: &[u8], four_octet: bool) -> Result<Self, AttrError> {
        match (four_octet, v) {
            (false, &[a, b, ref ip @ ..]) if ip.len() == 4 => Ok(Aggregator {
                asn: u16::from_be_bytes([a, b]).into(),
                address: Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]),
            }),
            (true, &[a, b, c, d, ref ip @ ..]) if ip.len() == 4 => Ok(Aggregator {
                asn: u32::from_be_bytes([a, b, c, d]),
                address: Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]),
            }),
            _ => Err(AttrError::Length {
                length: v.len() as u16,
            }),
        }
    }

    pub(crate) fn value_len(four_octet: bool) -> usize {
        if four_octet {
            8
        } else {
            6
        }
    }

    pub(crate) fn encode(&self, four_octet: bool, out: &mut BytesMut) {
        if four_octet {
            out.put_u32(self.asn);
        } else {
            out.put_u16(u16::try_from(self.asn).unwrap_or(AS_TRANS));
        }
        out.put_slice(&self.address.octets());
    }
}
