//! COMMUNITIES, type 8 (RFC 1997). Length zero or not a multiple of 4:
//! treat-as-withdraw (RFC 7606 section 7.8).

use std::{fmt, str::FromStr};

use crate::error::AttrError;

/// A standard community: 16-bit AS and 16-bit value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Community(pub u32);

impl Community {
    /// NO_EXPORT (RFC 1997).
    pub const NO_EXPORT: Community = Community(0xFFFF_FF01);
    /// NO_ADVERTISE (RFC 1997).
    pub const NO_ADVERTISE: Community = Community(0xFFFF_FF02);
    /// NO_EXPORT_SUBCONFED (RFC 1997).
    pub const NO_EXPORT_SUBCONFED: Community = Community(0xFFFF_FF03);
    /// GRACEFUL_SHUTDOWN (RFC 8326).
    pub const GRACEFUL_SHUTDOWN: Community = Community(0xFFFF_0000);
    /// BLACKHOLE (RFC 7999).
    pub const BLACKHOLE: Community = Community(0xFFFF_029A);

    /// A community from its two halves.
    pub const fn new(asn: u16, value: u16) -> Self {
        Community((asn as u32) << 16 | value as u32)
    }

    /// The high 16 bits (by convention an AS number).
    pub fn asn(self) -> u16 {
        (self.0 >> 16) as u16
    }

    /// The low 16 bits.
    pub fn value(self) -> u16 {
        self.0 as u16
    }
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.asn(), self.value())
    }
}

impl FromStr for Community {
    type Err = crate::ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || crate::ParseError::new("community", s);
        let (a, v) = s.split_once(':').ok_or_else(bad)?;
        Ok(Community::new(
            a.parse().map_err(|_| bad())?,
            v.parse().map_err(|_| bad())?,
        ))
    }
}

pub(crate) fn decode(v: &[u8]) -> Result<Vec<Community>, AttrError> {
    if v.is_empty() || v.len() % 4 != 0 {
        return Err(AttrError::Length {
            length: v.len() as u16,
        });
    }
    Ok(v.chunks_exact(4)
        .map(|c| Community(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form() {
        let c: Community = "65000:101".parse().unwrap();
        assert_eq!(c, Community::new(65000, 101));
        assert_eq!(c.to_string(), "65000:101");
        assert!("65536:1".parse::<Community>().is_err());
        assert!("65000".parse::<Community>().is_err());
    }
}
