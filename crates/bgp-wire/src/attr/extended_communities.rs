//! EXTENDED_COMMUNITIES, type 16 (RFC 4360). Length zero or not a multiple
//! of 8: treat-as-withdraw (RFC 7606 section 7.14).

use std::fmt;

use crate::error::AttrError;

/// An extended community, 8 bytes: type, sub-type and value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExtendedCommunity(pub [u8; 8]);

impl ExtendedCommunity {
    /// Type high octet (bit 0x40 clear: transitive across ASes).
    pub fn type_high(self) -> u8 {
        self.0[0]
    }

    /// Sub-type octet.
    pub fn subtype(self) -> u8 {
        self.0[1]
    }

    /// A 2-octet-AS specific route target (type 0x00, sub-type 0x02).
    pub fn route_target(asn: u16, value: u32) -> Self {
        let a = asn.to_be_bytes();
        let v = value.to_be_bytes();
        ExtendedCommunity([0x00, 0x02, a[0], a[1], v[0], v[1], v[2], v[3]])
    }
}

impl fmt::Display for ExtendedCommunity {
    /// `rt:ASN:VALUE` / `soo:ASN:VALUE` for 2-octet-AS route targets and
    /// sites of origin, otherwise the 8 bytes in hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        let name = match (b[0], b[1]) {
            (0x00, 0x02) => Some("rt"),
            (0x00, 0x03) => Some("soo"),
            _ => None,
        };
        match name {
            Some(n) => {
                let asn = u16::from_be_bytes([b[2], b[3]]);
                let val = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
                write!(f, "{n}:{asn}:{val}")
            }
            None => {
                f.write_str("0x")?;
                b.iter().try_for_each(|x| write!(f, "{x:02x}"))
            }
        }
    }
}

impl std::str::FromStr for ExtendedCommunity {
    type Err = crate::ParseError;

    /// `rt:ASN:VALUE`, `soo:ASN:VALUE` (2-octet ASN) or `0x` and 16 hex digits.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || crate::ParseError::new("extended community", s);
        if let Some(hex) = s.strip_prefix("0x") {
            let v = u64::from_str_radix(hex, 16).map_err(|_| bad())?;
            if hex.len() != 16 {
                return Err(bad());
            }
            return Ok(ExtendedCommunity(v.to_be_bytes()));
        }
        let mut it = s.split(':');
        let (Some(kind), Some(asn), Some(val), None) = (it.next(), it.next(), it.next(), it.next())
        else {
            return Err(bad());
        };
        let sub = match kind {
            "rt" => 0x02,
            "soo" => 0x03,
            _ => return Err(bad()),
        };
        let a = asn.parse::<u16>().map_err(|_| bad())?.to_be_bytes();
        let v = val.parse::<u32>().map_err(|_| bad())?.to_be_bytes();
        Ok(ExtendedCommunity([
            0x00, sub, a[0], a[1], v[0], v[1], v[2], v[3],
        ]))
    }
}

pub(crate) fn decode(v: &[u8]) -> Result<Vec<ExtendedCommunity>, AttrError> {
    if v.is_empty() || v.len() % 8 != 0 {
        return Err(AttrError::Length {
            length: v.len() as u16,
        });
    }
    Ok(v.chunks_exact(8)
        .map(|c| {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            ExtendedCommunity(a)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form() {
        for s in ["rt:65000:7", "soo:1:4294967295", "0x0102030405060708"] {
            assert_eq!(s.parse::<ExtendedCommunity>().unwrap().to_string(), s);
        }
        for bad in ["rt:65536:1", "xx:1:1", "0x01", "rt:1"] {
            assert!(bad.parse::<ExtendedCommunity>().is_err(), "{bad}");
        }
    }
}
