//! Address families: AFI (IANA "Address Family Numbers") and SAFI
//! (RFC 4760 section 6).

use std::fmt;

/// Address Family Identifier. Unknown values are kept as they came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Afi {
    /// 1
    Ipv4,
    /// 2
    Ipv6,
    /// 25, used by EVPN and VPLS
    L2vpn,
    /// Any other value.
    Other(u16),
}

impl From<u16> for Afi {
    fn from(v: u16) -> Self {
        match v {
            1 => Afi::Ipv4,
            2 => Afi::Ipv6,
            25 => Afi::L2vpn,
            v => Afi::Other(v),
        }
    }
}

impl From<Afi> for u16 {
    fn from(a: Afi) -> u16 {
        match a {
            Afi::Ipv4 => 1,
            Afi::Ipv6 => 2,
            Afi::L2vpn => 25,
            Afi::Other(v) => v,
        }
    }
}

/// Subsequent Address Family Identifier. Unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Safi {
    /// 1
    Unicast,
    /// 2
    Multicast,
    /// 4 (RFC 8277)
    Labeled,
    /// 70 (RFC 7432)
    Evpn,
    /// 128 (RFC 4364)
    MplsVpn,
    /// 133 (RFC 8955)
    FlowSpec,
    /// Any other value.
    Other(u8),
}

impl From<u8> for Safi {
    fn from(v: u8) -> Self {
        match v {
            1 => Safi::Unicast,
            2 => Safi::Multicast,
            4 => Safi::Labeled,
            70 => Safi::Evpn,
            128 => Safi::MplsVpn,
            133 => Safi::FlowSpec,
            v => Safi::Other(v),
        }
    }
}

impl From<Safi> for u8 {
    fn from(s: Safi) -> u8 {
        match s {
            Safi::Unicast => 1,
            Safi::Multicast => 2,
            Safi::Labeled => 4,
            Safi::Evpn => 70,
            Safi::MplsVpn => 128,
            Safi::FlowSpec => 133,
            Safi::Other(v) => v,
        }
    }
}

/// An AFI/SAFI pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Family {
    /// Address family.
    pub afi: Afi,
    /// Subsequent address family.
    pub safi: Safi,
}

impl Family {
    /// IPv4 unicast, the family of the classic NLRI fields (RFC 4271).
    pub const IPV4_UNICAST: Family = Family {
        afi: Afi::Ipv4,
        safi: Safi::Unicast,
    };
    /// IPv6 unicast (RFC 2545).
    pub const IPV6_UNICAST: Family = Family {
        afi: Afi::Ipv6,
        safi: Safi::Unicast,
    };

    /// A family from its wire values.
    pub fn new(afi: u16, safi: u8) -> Self {
        Family {
            afi: afi.into(),
            safi: safi.into(),
        }
    }

    /// True for the families whose NLRI this crate decodes into prefixes.
    pub fn is_ip_unicast(self) -> bool {
        self == Self::IPV4_UNICAST || self == Self::IPV6_UNICAST
    }

    /// Longest prefix length of this family's unicast NLRI.
    pub(crate) fn max_prefix_len(self) -> u8 {
        match self.afi {
            Afi::Ipv6 => 128,
            _ => 32,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Family::IPV4_UNICAST => f.write_str("ipv4-unicast"),
            Family::IPV6_UNICAST => f.write_str("ipv6-unicast"),
            Family { afi, safi } => write!(f, "{}/{}", u16::from(afi), u8::from(safi)),
        }
    }
}

impl std::str::FromStr for Family {
    type Err = crate::ParseError;

    /// `ipv4-unicast`, `ipv6-unicast`, or `AFI/SAFI` in numbers.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || crate::ParseError::new("address family", s);
        match s {
            "ipv4-unicast" => Ok(Family::IPV4_UNICAST),
            "ipv6-unicast" => Ok(Family::IPV6_UNICAST),
            _ => {
                let (a, b) = s.split_once('/').ok_or_else(bad)?;
                Ok(Family::new(
                    a.parse().map_err(|_| bad())?,
                    b.parse().map_err(|_| bad())?,
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for v in 0..=u16::MAX {
            assert_eq!(u16::from(Afi::from(v)), v);
        }
        for v in 0..=u8::MAX {
            assert_eq!(u8::from(Safi::from(v)), v);
        }
        assert_eq!(Family::new(2, 1), Family::IPV6_UNICAST);
        assert_eq!(Family::new(2, 1).to_string(), "ipv6-unicast");
        assert_eq!(Family::new(25, 70).to_string(), "25/70");
        for f in [
            Family::IPV4_UNICAST,
            Family::IPV6_UNICAST,
            Family::new(25, 70),
        ] {
            assert_eq!(f.to_string().parse::<Family>(), Ok(f));
        }
        assert!("ipv4".parse::<Family>().is_err());
    }
}
