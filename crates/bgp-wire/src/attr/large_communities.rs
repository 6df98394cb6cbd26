//! LARGE_COMMUNITY, type 32 (RFC 8092). Length zero or not a multiple of
//! 12: treat-as-withdraw (RFC 8092 section 6).

use std::{fmt, str::FromStr};

use crate::error::AttrError;

/// A large community: global administrator and two local data parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LargeCommunity {
    /// Global Administrator, by convention an AS number.
    pub global: u32,
    /// Local Data Part 1.
    pub local1: u32,
    /// Local Data Part 2.
    pub local2: u32,
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.global, self.local1, self.local2)
    }
}

impl FromStr for LargeCommunity {
    type Err = crate::ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || crate::ParseError::new("large community", s);
        let mut it = s.split(':').map(|p| p.parse::<u32>().map_err(|_| bad()));
        let (Some(g), Some(a), Some(b), None) = (it.next(), it.next(), it.next(), it.next()) else {
            return Err(bad());
        };
        Ok(LargeCommunity {
            global: g?,
            local1: a?,
            local2: b?,
        })
    }
}

pub(crate) fn decode(v: &[u8]) -> Result<Vec<LargeCommunity>, AttrError> {
    if v.is_empty() || v.len() % 12 != 0 {
        return Err(AttrError::Length {
            length: v.len() as u16,
        });
    }
    let word = |c: &[u8], i: usize| u32::from_be_bytes([c[i], c[i + 1], c[i + 2], c[i + 3]]);
    Ok(v.chunks_exact(12)
        .map(|c| LargeCommunity {
            global: word(c, 0),
            local1: word(c, 4),
            local2: word(c, 8),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form() {
        let c: LargeCommunity = "4200000000:1:2".parse().unwrap();
        assert_eq!(
            c,
            LargeCommunity {
                global: 4_200_000_000,
                local1: 1,
                local2: 2
            }
        );
        assert_eq!(c.to_string(), "4200000000:1:2");
        assert!("1:2".parse::<LargeCommunity>().is_err());
        assert!("1:2:3:4".parse::<LargeCommunity>().is_err());
    }
}
