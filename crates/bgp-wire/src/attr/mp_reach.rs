//! MP_REACH_NLRI, type 14 (RFC 4760 section 3; IPv6 next hops per
//! RFC 2545 section 3, IPv6 next hop for IPv4 NLRI per RFC 8950).
//! A next hop of the wrong length hides the NLRI: session reset
//! (RFC 7606 section 7.11); a malformed NLRI: AFI/SAFI disable.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, BytesMut};

use super::MpOutcome;
use crate::{
    context::Context,
    family::{Afi, Family},
    nlri::{self, Nlri},
};

/// The next hop of an MP_REACH_NLRI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NextHop {
    /// 4 bytes.
    Ipv4(Ipv4Addr),
    /// 16 bytes (global), or 32 (global then link-local).
    Ipv6 {
        /// Global address.
        global: Ipv6Addr,
        /// Link-local address, when the peer shares a link with us.
        link_local: Option<Ipv6Addr>,
    },
}

impl NextHop {
    /// Length of the Network Address of Next Hop field.
    pub fn len(&self) -> usize {
        match self {
            NextHop::Ipv4(_) => 4,
            NextHop::Ipv6 {
                link_local: None, ..
            } => 16,
            NextHop::Ipv6 {
                link_local: Some(_),
                ..
            } => 32,
        }
    }

    /// Never empty; present for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The address used for forwarding (the global one for IPv6).
    pub fn addr(&self) -> IpAddr {
        match *self {
            NextHop::Ipv4(a) => a.into(),
            NextHop::Ipv6 { global, .. } => global.into(),
        }
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        match self {
            NextHop::Ipv4(a) => out.put_slice(&a.octets()),
            NextHop::Ipv6 { global, link_local } => {
                out.put_slice(&global.octets());
                if let Some(ll) = link_local {
                    out.put_slice(&ll.octets());
                }
            }
        }
    }
}

impl std::fmt::Display for NextHop {
    /// The address; an IPv6 link-local address follows after a comma.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NextHop::Ipv4(a) => write!(f, "{a}"),
            NextHop::Ipv6 {
                global,
                link_local: None,
            } => write!(f, "{global}"),
            NextHop::Ipv6 {
                global,
                link_local: Some(ll),
            } => write!(f, "{global},{ll}"),
        }
    }
}

impl std::str::FromStr for NextHop {
    type Err = crate::ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || crate::ParseError::new("next hop", s);
        let (g, ll) = match s.split_once(',') {
            Some((g, ll)) => (g, Some(ll.trim().parse().map_err(|_| bad())?)),
            None => (s, None),
        };
        match (g.trim().parse().map_err(|_| bad())?, ll) {
            (IpAddr::V4(a), None) => Ok(NextHop::Ipv4(a)),
            (IpAddr::V6(global), link_local) => Ok(NextHop::Ipv6 { global, link_local }),
            (IpAddr::V4(_), Some(_)) => Err(bad()),
        }
    }
}

/// Reachable routes of one family and their next hop.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MpReach {
    /// IPv4 or IPv6 unicast; other families stay opaque attributes.
    pub family: Family,
    /// Next hop for every prefix.
    pub next_hop: NextHop,
    /// The prefixes.
    pub nlri: Vec<Nlri>,
}

impl MpReach {
    /// Length of the attribute value for these NLRI.
    pub(crate) fn value_len(&self, ctx: &Context) -> usize {
        let ap = ctx.add_path(self.family);
        Self::header_len(&self.next_hop)
            + self.nlri.iter().map(|n| n.encoded_len(ap)).sum::<usize>()
    }

    /// AFI, SAFI, next-hop length, next hop, reserved.
    pub(crate) fn header_len(next_hop: &NextHop) -> usize {
        5 + next_hop.len()
    }

    pub(crate) fn encode_header(family: Family, next_hop: &NextHop, out: &mut BytesMut) {
        out.put_u16(family.afi.into());
        out.put_u8(family.safi.into());
        out.put_u8(next_hop.len() as u8);
        next_hop.encode(out);
        out.put_u8(0);
    }

    pub(crate) fn encode(&self, ctx: &Context, out: &mut BytesMut) {
        Self::encode_header(self.family, &self.next_hop, out);
        let ap = ctx.add_path(self.family);
        self.nlri.iter().for_each(|n| n.encode(ap, out));
    }

    pub(crate) fn decode(v: &[u8], ctx: &Context) -> MpOutcome<Self> {
        let (Some(&[a0, a1, safi, nh_len]), true) = (v.first_chunk::<4>(), v.len() >= 5) else {
            return MpOutcome::Fatal;
        };
        let family = Family::new(u16::from_be_bytes([a0, a1]), safi);
        if !family.is_ip_unicast() {
            return MpOutcome::Opaque;
        }
        let nh_end = 4 + usize::from(nh_len);
        // The reserved byte follows the next hop.
        let (Some(nh), Some(_reserved)) = (v.get(4..nh_end), v.get(nh_end)) else {
            return MpOutcome::Fatal;
        };
        let v6 = |b: &[u8]| {
            let mut o = [0u8; 16];
            o.copy_from_slice(b);
            Ipv6Addr::from(o)
        };
        let next_hop = match (family.afi, nh.len()) {
            (Afi::Ipv4, 4) => NextHop::Ipv4(Ipv4Addr::new(nh[0], nh[1], nh[2], nh[3])),
            (_, 16) => NextHop::Ipv6 {
                global: v6(nh),
                link_local: None,
            },
            (_, 32) => NextHop::Ipv6 {
                global: v6(&nh[..16]),
                link_local: Some(v6(&nh[16..])),
            },
            _ => return MpOutcome::Fatal,
        };
        let mut out = Vec::new();
        match nlri::decode(&v[nh_end + 1..], family, ctx.add_path(family), &mut out) {
            Ok(()) => MpOutcome::Ok(MpReach {
                family,
                next_hop,
                nlri: out,
            }),
            Err(_) => MpOutcome::BadNlri(family),
        }
    }
}
