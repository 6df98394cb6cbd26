//! ORIGIN, type 1 (RFC 4271 section 5.1.1); malformed: treat-as-withdraw
//! (RFC 7606 section 7.1).

use crate::error::AttrError;

/// Origin of the route information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// 0: interior to the originating AS.
    Igp,
    /// 1: learned via EGP.
    Egp,
    /// 2: learned some other way.
    Incomplete,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Origin::Igp => "igp",
            Origin::Egp => "egp",
            Origin::Incomplete => "incomplete",
        })
    }
}

impl std::str::FromStr for Origin {
    type Err = crate::ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "igp" => Ok(Origin::Igp),
            "egp" => Ok(Origin::Egp),
            "incomplete" => Ok(Origin::Incomplete),
            _ => Err(crate::ParseError::new("origin", s)),
        }
    }
}

impl Origin {
    pub(crate) fn decode(v: &[u8]) -> Result<Self, AttrError> {
        match v {
            [0] => Ok(Origin::Igp),
            [1] => Ok(Origin::Egp),
            [2] => Ok(Origin::Incomplete),
            [_] => Err(AttrError::Value),
            _ => Err(AttrError::Length {
                length: v.len() as u16,
            }),
        }
    }

    /// The wire value.
    pub fn value(self) -> u8 {
        match self {
            Origin::Igp => 0,
            Origin::Egp => 1,
            Origin::Incomplete => 2,
        }
    }
}
