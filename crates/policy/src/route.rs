//! What a policy looks at ([`Route`], [`EvalCtx`]) and what it says
//! ([`Outcome`]).

use std::net::IpAddr;

use bgp_wire::PathAttributes;
use ipnet::IpNet;

/// How the reflector learned a route (RFC 4456 section 6 roles, plus eBGP
/// for route-server use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// From a route-reflector client (iBGP).
    Client,
    /// From an iBGP peer that is not a client: a mesh member or an upstream
    /// reflector.
    NonClient,
    /// From an external peer.
    Ebgp,
}

impl Source {
    pub(crate) const fn bit(self) -> u8 {
        match self {
            Source::Client => 1,
            Source::NonClient => 2,
            Source::Ebgp => 4,
        }
    }
}

/// One path as a policy sees it. The policy never changes it; a rewrite
/// comes back in [`Outcome::Modified`].
#[derive(Debug, Clone, Copy)]
pub struct Route<'a> {
    /// The NLRI prefix (IPv4 unicast or IPv6 unicast, host bits clear).
    pub prefix: IpNet,
    /// The next hop, from NEXT_HOP or MP_REACH_NLRI (RFC 4271 section
    /// 5.1.3, RFC 4760 section 3).
    pub next_hop: IpAddr,
    /// The path attributes (NEXT_HOP may or may not be among them).
    pub attrs: &'a PathAttributes,
    /// Address of the peer the route was learned from.
    pub neighbor: IpAddr,
    /// Name of the meshrr group that peer belongs to.
    pub group: &'a str,
    /// How the route was learned.
    pub source: Source,
}

/// Facts about the evaluating speaker that `set` actions need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EvalCtx {
    /// Our AS number: the default AS of `prepend`.
    pub local_as: u32,
    /// Our address on the session the route goes to (import: comes from):
    /// what `next_hop_self` writes. `None` leaves the next hop alone.
    pub local_addr: Option<IpAddr>,
}

/// The verdict of a policy chain on one route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Drop the route (do not import it / do not advertise it).
    Reject,
    /// Take the route exactly as it is.
    Accept,
    /// Take the route with these attributes instead of its own.
    Modified {
        /// The rewritten path attributes (flags and order of the
        /// untouched attributes kept).
        attrs: PathAttributes,
        /// The new next hop, when `next_hop_self` changed it; `None` keeps
        /// the route's own next hop.
        next_hop: Option<IpAddr>,
    },
}

impl Outcome {
    /// The route goes on (accepted, with or without changes).
    pub fn is_accepted(&self) -> bool {
        !matches!(self, Outcome::Reject)
    }
}
