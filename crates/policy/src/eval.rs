//! Chain evaluation.
//!
//! Terms are tried in order; a term whose conditions all hold applies its
//! `set` and then its action. `accept`/`reject` end the chain,
//! `next-term` goes on, `next-policy` leaves the policy without applying
//! its default. A policy whose terms all passed applies its default, if
//! it has one; after the last policy the route is accepted.
//!
//! Later terms see the modifications of earlier ones (a community added
//! by one term matches in the next). Modifications are made on a copy of
//! the attributes, taken at the first change, and are returned only when
//! the chain accepts; a route that is accepted unchanged costs no
//! allocation.

use std::net::IpAddr;

use bgp_wire::{attr::code, Attr, PathAttributes};

use crate::{
    aspath,
    route::{EvalCtx, Outcome, Route},
    term::{Action, Facts, Policy, SetOps, Term, Verdict, View},
};

/// Where evaluation goes after one policy.
enum Flow {
    Accept,
    Reject,
    Next,
}

/// The route under evaluation.
struct State<'r> {
    orig: &'r PathAttributes,
    /// What the conditions read from `orig`.
    facts: Facts<'r>,
    /// The modified attributes, once something changed.
    owned: Option<PathAttributes>,
    next_hop: IpAddr,
}

impl<'r> State<'r> {
    fn attrs_mut(&mut self) -> &mut PathAttributes {
        self.owned.get_or_insert_with(|| self.orig.clone())
    }

    /// The index in `terms` of the first term from `from` on whose
    /// conditions all hold. One view serves every term tried.
    fn next_match(&self, route: &Route<'_>, terms: &[Term], from: usize) -> Option<usize> {
        let facts = match &self.owned {
            Some(a) => Facts::of(a),
            None => self.facts,
        };
        let view = View {
            route,
            facts,
            next_hop: self.next_hop,
        };
        let rest = terms.get(from..)?;
        let k = rest
            .iter()
            .position(|t| t.conds.iter().all(|c| c.test(&view)))?;
        Some(from + k)
    }

    fn attrs(&self) -> &PathAttributes {
        self.owned.as_ref().unwrap_or(self.orig)
    }

    /// Applies `set`, touching (and copying) the attributes only where a
    /// value really changes. Kept out of line: matching is the hot path.
    #[inline(never)]
    fn apply(&mut self, set: &SetOps, ctx: &EvalCtx) {
        if let Some(v) = set.local_pref {
            if self.attrs().local_pref() != Some(v) {
                self.attrs_mut().set(Attr::LocalPref(v));
            }
        }
        if let Some(v) = set.med {
            if self.attrs().med() != Some(v) {
                self.attrs_mut().set(Attr::MultiExitDisc(v));
            }
        }
        if let Some(v) = set.origin {
            if self.attrs().origin() != Some(v) {
                self.attrs_mut().set(Attr::Origin(v));
            }
        }
        if let Some(e) = &set.communities {
            let cur = self.attrs().communities().unwrap_or_default();
            if let Some(new) = e.apply(cur) {
                self.write_list(code::COMMUNITIES, new, Attr::Communities);
            }
        }
        if let Some(e) = &set.ext_communities {
            let cur = self.attrs().extended_communities().unwrap_or_default();
            if let Some(new) = e.apply(cur) {
                self.write_list(code::EXTENDED_COMMUNITIES, new, Attr::ExtendedCommunities);
            }
        }
        if let Some(e) = &set.large_communities {
            let cur = self.attrs().large_communities().unwrap_or_default();
            if let Some(new) = e.apply(cur) {
                self.write_list(code::LARGE_COMMUNITIES, new, Attr::LargeCommunities);
            }
        }
        if let Some(p) = set.prepend {
            let asn = p.asn.unwrap_or(ctx.local_as);
            let path = aspath::prepend(self.attrs().as_path(), asn, p.count);
            self.attrs_mut().set(Attr::AsPath(path));
        }
        if set.next_hop_self {
            self.next_hop_self(ctx);
        }
    }

    /// Writes a community list; an empty list removes the attribute.
    fn write_list<T>(&mut self, code: u8, list: Vec<T>, attr: fn(Vec<T>) -> Attr) {
        if list.is_empty() {
            self.attrs_mut().remove(code);
        } else {
            self.attrs_mut().set(attr(list));
        }
    }

    /// Our session address becomes the next hop, if it is of the next
    /// hop's family; NEXT_HOP is rewritten too when the attributes carry
    /// one.
    fn next_hop_self(&mut self, ctx: &EvalCtx) {
        let Some(local) = ctx.local_addr else { return };
        if local.is_ipv4() != self.next_hop.is_ipv4() || local == self.next_hop {
            return;
        }
        self.next_hop = local;
        if let IpAddr::V4(v4) = local {
            if self.attrs().next_hop().is_some() {
                self.attrs_mut().set(Attr::NextHop(v4));
            }
        }
    }

    fn run(&mut self, route: &Route<'_>, ctx: &EvalCtx, policy: &Policy) -> Flow {
        let mut from = 0;
        while let Some(at) = self.next_match(route, &policy.terms, from) {
            let term = &policy.terms[at];
            if let Some(set) = &term.set {
                self.apply(set, ctx);
            }
            match term.action {
                Action::Accept => return Flow::Accept,
                Action::Reject => return Flow::Reject,
                Action::NextTerm => from = at + 1,
                Action::NextPolicy => return Flow::Next,
            }
        }
        match policy.default {
            Some(Verdict::Accept) => Flow::Accept,
            Some(Verdict::Reject) => Flow::Reject,
            None => Flow::Next,
        }
    }

    /// The outcome of an accept.
    fn finish(&mut self, route: &Route<'_>) -> Outcome {
        let next_hop = (self.next_hop != route.next_hop).then_some(self.next_hop);
        match self.owned.take() {
            Some(attrs) if attrs != *self.orig => Outcome::Modified { attrs, next_hop },
            _ if next_hop.is_some() => Outcome::Modified {
                attrs: self.orig.clone(),
                next_hop,
            },
            _ => Outcome::Accept,
        }
    }
}

/// Runs `policies` on `route`. Out of line, so that callers inline the
/// empty-chain test of [`crate::Chain::eval`] and not this.
#[inline(never)]
pub(crate) fn eval(
    policies: &[std::sync::Arc<Policy>],
    route: &Route<'_>,
    ctx: &EvalCtx,
) -> Outcome {
    let mut st = State {
        orig: route.attrs,
        facts: Facts::of(route.attrs),
        owned: None,
        next_hop: route.next_hop,
    };
    for p in policies {
        match st.run(route, ctx, p) {
            Flow::Accept => break,
            Flow::Reject => return Outcome::Reject,
            Flow::Next => {}
        }
    }
    st.finish(route)
}
