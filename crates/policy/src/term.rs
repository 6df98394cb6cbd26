//! The compiled policy model: policies of terms, each term a list of
//! conditions, optional modifications and an action.

use bgp_wire::{
    attr::{AsPath, Community, ExtendedCommunity, LargeCommunity, Origin},
    Attr, PathAttributes,
};
use ipnet::IpNet;

use crate::{
    aspath::{self, Cmp},
    community::{Edit, PatternSet},
    path_regex::PathRegex,
    prefix::PrefixSet,
    route::Route,
};

/// What a term does once its conditions hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Final: take the route (with the modifications made so far).
    Accept,
    /// Final: drop the route.
    Reject,
    /// Go on with the next term of this policy.
    NextTerm,
    /// Leave this policy (its default is not applied); go on with the next
    /// policy of the chain.
    NextPolicy,
}

/// A policy's verdict when no term decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Accept,
    Reject,
}

/// Address family bits for the `family` condition.
pub(crate) const FAMILY_V4: u8 = 1;
pub(crate) const FAMILY_V6: u8 = 2;

/// One condition. The variants are declared cheapest first; a term checks
/// its conditions in this order.
#[derive(Debug, Clone)]
pub(crate) enum Cond {
    /// Any of these family bits.
    Family(u8),
    /// Any of these [`crate::Source`] bits.
    Source(u8),
    /// Any of these group names.
    Group(Box<[Box<str>]>),
    /// Any of these origin bits (1 << wire value).
    Origin(u8),
    /// Every comparison holds on the AS_PATH length.
    AsPathLength(Box<[(Cmp, u32)]>),
    /// [`aspath::originated_by_neighbor_as`] equals this.
    OriginatedByNeighborAs(bool),
    /// The NLRI prefix is in the list.
    Prefix(PrefixSet),
    /// The peer's address is in the list.
    Neighbor(PrefixSet),
    /// The next hop is in the list.
    NextHop(PrefixSet),
    /// Some COMMUNITIES value matches.
    Community(PatternSet<u32>),
    /// Some EXTENDED_COMMUNITIES value matches.
    ExtCommunity(PatternSet<u64>),
    /// Some LARGE_COMMUNITY value matches.
    LargeCommunity(PatternSet<u128>),
    /// Some expression matches the AS_PATH text.
    AsPath(Box<[PathRegex]>),
}

impl Cond {
    /// Evaluation order of a term's conditions.
    pub(crate) fn rank(&self) -> u8 {
        match self {
            Cond::Family(_) => 0,
            Cond::Source(_) => 1,
            Cond::Group(_) => 2,
            Cond::Origin(_) => 3,
            Cond::AsPathLength(_) => 4,
            Cond::OriginatedByNeighborAs(_) => 5,
            Cond::Prefix(_) => 6,
            Cond::Neighbor(_) => 7,
            Cond::NextHop(_) => 8,
            Cond::Community(_) => 9,
            Cond::ExtCommunity(_) => 10,
            Cond::LargeCommunity(_) => 11,
            Cond::AsPath(_) => 12,
        }
    }
}

/// The attributes the conditions read, found in one pass over the
/// attribute list.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Facts<'a> {
    pub origin: Option<Origin>,
    pub as_path: Option<&'a AsPath>,
    pub communities: &'a [Community],
    pub ext_communities: &'a [ExtendedCommunity],
    pub large_communities: &'a [LargeCommunity],
}

impl<'a> Facts<'a> {
    pub(crate) fn of(attrs: &'a PathAttributes) -> Facts<'a> {
        let mut f = Facts::default();
        for a in attrs.iter() {
            match &a.value {
                Attr::Origin(o) => f.origin = Some(*o),
                Attr::AsPath(p) => f.as_path = Some(p),
                Attr::Communities(c) => f.communities = c,
                Attr::ExtendedCommunities(c) => f.ext_communities = c,
                Attr::LargeCommunities(c) => f.large_communities = c,
                _ => {}
            }
        }
        f
    }
}

/// A route as the terms see it: the original route with the modifications
/// of earlier terms.
pub(crate) struct View<'s, 'r> {
    pub route: &'s Route<'r>,
    pub facts: Facts<'s>,
    pub next_hop: std::net::IpAddr,
}

impl Cond {
    #[inline]
    pub(crate) fn test(&self, v: &View<'_, '_>) -> bool {
        match self {
            Cond::Family(bits) => {
                let f = match v.route.prefix {
                    IpNet::V4(_) => FAMILY_V4,
                    IpNet::V6(_) => FAMILY_V6,
                };
                bits & f != 0
            }
            Cond::Source(bits) => bits & v.route.source.bit() != 0,
            Cond::Group(names) => names.iter().any(|n| **n == *v.route.group),
            Cond::Origin(bits) => v.facts.origin.is_some_and(|o| bits & (1 << o.value()) != 0),
            Cond::AsPathLength(cmps) => {
                let len = v.facts.as_path.map_or(0, |p| p.path_len()) as u32;
                cmps.iter().all(|&(c, n)| c.test(len, n))
            }
            Cond::OriginatedByNeighborAs(want) => {
                aspath::originated_by_neighbor_as(v.facts.as_path) == *want
            }
            Cond::Prefix(set) => set.matches(v.route.prefix),
            Cond::Neighbor(set) => set.matches_addr(v.route.neighbor),
            Cond::NextHop(set) => set.matches_addr(v.next_hop),
            Cond::Community(set) => set.any(v.facts.communities),
            Cond::ExtCommunity(set) => set.any(v.facts.ext_communities),
            Cond::LargeCommunity(set) => set.any(v.facts.large_communities),
            Cond::AsPath(res) => {
                // most answers need only the AS numbers
                let path = v.facts.as_path;
                let mut need_text = false;
                for r in res.iter() {
                    match r.quick(path) {
                        Some(true) => return true,
                        Some(false) => {}
                        None => need_text = true,
                    }
                }
                need_text
                    && aspath::with_text(path, |t| {
                        res.iter().any(|r| r.quick(path).is_none() && r.is_match(t))
                    })
            }
        }
    }
}

/// `prepend` in a `set`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Prepend {
    /// The AS to prepend; `None` is the evaluating speaker's AS.
    pub asn: Option<u32>,
    pub count: u8,
}

/// The modifications of a term, applied in field order.
#[derive(Debug, Clone, Default)]
pub(crate) struct SetOps {
    pub local_pref: Option<u32>,
    pub med: Option<u32>,
    pub origin: Option<Origin>,
    pub communities: Option<Edit<Community>>,
    pub ext_communities: Option<Edit<ExtendedCommunity>>,
    pub large_communities: Option<Edit<LargeCommunity>>,
    pub prepend: Option<Prepend>,
    pub next_hop_self: bool,
}

/// One term.
#[derive(Debug, Clone)]
pub(crate) struct Term {
    /// Conditions, all of which must hold, sorted by [`Cond::rank`].
    pub conds: Box<[Cond]>,
    pub set: Option<Box<SetOps>>,
    pub action: Action,
}

/// One compiled policy.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub name: String,
    pub terms: Box<[Term]>,
    pub default: Option<Verdict>,
}
