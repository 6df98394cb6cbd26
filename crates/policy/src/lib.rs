//! Group-boundary routing policy for meshrr: named policies of ordered
//! terms, loaded from YAML, compiled once into matchers, evaluated per
//! route on the reflector's hot path.
//!
//! In meshrr the boundaries between route-reflector groups are where
//! policy applies: each group names an import chain and an export chain.
//! A chain is a list of policies; each policy a list of terms. A term has
//! conditions (`match`, all must hold; a list inside one condition means
//! any of its items), modifications (`set`) and an `action`:
//!
//! - `accept` / `reject` decide for the whole chain;
//! - `next-term` (the default for a term with a `set` and no action) goes
//!   on with the next term;
//! - `next-policy` leaves the policy at once, skipping its `default`.
//!
//! A policy whose terms did not decide applies its `default` (`accept` or
//! `reject`) if it has one, else evaluation goes on with the next policy;
//! after the last policy the route is accepted. Modifications accumulate
//! along the way, are seen by later terms, and take effect only if the
//! result is accept.
//!
//! ```
//! use bgp_wire::{attr::Community, Attr, PathAttributes};
//! use policy::{EvalCtx, Outcome, Policies, Route, Source};
//!
//! let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(r#"
//! UPSTREAM-EXPORT:
//!   default: accept
//!   terms:
//!     - name: regional-only
//!       match: {community: ["65000:101"]}
//!       action: reject
//!     - match: {community: ["65000:102"]}
//!       set: {local_pref: 20}
//! "#).unwrap();
//! let policies = Policies::from_yaml(&yaml).unwrap();
//! let chain = policies.chain(&["UPSTREAM-EXPORT".to_owned()]).unwrap();
//!
//! let attrs = PathAttributes::from_attrs([Attr::Communities(vec![Community::new(65000, 101)])]);
//! let route = Route {
//!     prefix: "10.1.0.0/16".parse().unwrap(),
//!     next_hop: "192.0.2.1".parse().unwrap(),
//!     attrs: &attrs,
//!     neighbor: "192.0.2.1".parse().unwrap(),
//!     group: "MESHRR-CLIENTS",
//!     source: Source::Client,
//! };
//! assert_eq!(chain.eval(&route, &EvalCtx::default()), Outcome::Reject);
//! ```
//!
//! The YAML grammar is described on [`Policies::from_yaml`].

mod aspath;
mod community;
mod error;
mod eval;
mod parse;
mod path_regex;
mod prefix;
mod route;
mod term;

use std::{fmt, sync::Arc};

use crate::term::Policy;
pub use crate::{
    error::PolicyError,
    route::{EvalCtx, Outcome, Route, Source},
};

/// Every policy of the configuration, compiled. Immutable; share it
/// freely (`Send + Sync`) and build [`Chain`]s from it.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    /// In configuration order.
    list: Vec<Arc<Policy>>,
}

impl Policies {
    /// Compiles the value of the daemon's top-level `policies:` key (a
    /// mapping from policy name to policy; `null` for none). Returns every
    /// error found, each naming its field from `policies.` on, such as
    /// `policies.UPSTREAM-EXPORT.terms[1].match.community[0]`.
    ///
    /// ```yaml
    /// NAME:
    ///   default: accept | reject           # optional
    ///   terms:
    ///     - name: TEXT                     # optional, unique in the policy
    ///       match:                         # optional; all given must hold
    ///         prefix: ["10.0.0.0/8 orlonger", "0.0.0.0/0 exact",
    ///                  "10.0.0.0/8 longer", "10.0.0.0/8 ge 16 le 24", "::/0"]
    ///         community: ["65000:101", "65000:*", "*:100", "no-export"]
    ///         ext_community: ["rt:65000:1", "soo:192.0.2.1:7", "rt:*:*", "0x0002fde800000001"]
    ///         large_community: ["65000:1:2", "65000:*:*"]
    ///         as_path: ["^$", "^65001( 65001)*$"]   # regex on "65001 65002 {1 2}"
    ///         as_path_length: {ge: 1, le: 5}       # eq ne lt le gt ge, all must hold
    ///         originated_by_neighbor_as: true      # path = first AS only, maybe prepended
    ///         origin: [igp, egp, incomplete]
    ///         next_hop: ["192.0.2.0/24", "2001:db8::1"]
    ///         neighbor: ["10.0.0.0/8", "10.255.0.1"]
    ///         group: [MESHRR-CLIENTS]
    ///         family: [ipv4-unicast, ipv6-unicast]
    ///         source: [client, non-client, ebgp]
    ///       set:                           # optional; applied in this order
    ///         local_pref: 20
    ///         med: 0
    ///         origin: igp
    ///         communities: {set: [...], remove: ["65000:*"], add: ["65000:1"]}
    ///         ext_communities: {set: [...], remove: [...], add: [...]}
    ///         large_communities: {set: [...], remove: [...], add: [...]}
    ///         prepend: {asn: 65000, count: 2}  # asn defaults to EvalCtx::local_as
    ///         next_hop_self: true              # EvalCtx::local_addr, same family only
    ///       action: accept | reject | next-term | next-policy  # next-term if only `set`
    /// ```
    ///
    /// Every list item may also be given alone, without the brackets.
    /// `set`/`add` take exact communities; only `remove` takes wildcards.
    pub fn from_yaml(v: &serde_yaml_ng::Value) -> Result<Policies, Vec<PolicyError>> {
        let list = parse::load(v, "policies")?;
        Ok(Policies {
            list: list.into_iter().map(Arc::new).collect(),
        })
    }

    /// The chain of the named policies, in the given order. An unknown
    /// name is an error whose field is its index (`[1]`) and whose message
    /// names it.
    pub fn chain(&self, names: &[String]) -> Result<Chain, PolicyError> {
        let mut policies = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            match self.list.iter().find(|p| p.name == *name) {
                Some(p) => policies.push(Arc::clone(p)),
                None => {
                    let known: Vec<&str> = self.names().collect();
                    let known = if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    };
                    return Err(PolicyError::new(
                        format!("[{i}]"),
                        format!("unknown policy `{name}` (defined: {known})"),
                    ));
                }
            }
        }
        Ok(Chain {
            policies: policies.into(),
        })
    }

    /// The names of the policies, in configuration order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.list.iter().map(|p| p.name.as_str())
    }
}

/// An ordered list of compiled policies, applied to routes crossing one
/// group boundary in one direction. Cheap to clone and to evaluate.
#[derive(Clone)]
pub struct Chain {
    policies: Arc<[Arc<Policy>]>,
}

impl Chain {
    /// The empty chain: accepts every route unchanged.
    pub fn accept_all() -> Chain {
        Chain {
            policies: Arc::new([]),
        }
    }

    /// Whether the chain has no policy (and so accepts everything).
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// The names of the chain's policies, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.policies.iter().map(|p| p.name.as_str())
    }

    /// Evaluates the chain on `route`. Allocates nothing unless the route
    /// is rewritten (or an AS_PATH text is longer than 128 bytes; and
    /// `regex-lite` allocates its matching cache once per thread, on the
    /// first run of its engine).
    #[inline]
    pub fn eval(&self, route: &Route<'_>, ctx: &EvalCtx) -> Outcome {
        if self.policies.is_empty() {
            return Outcome::Accept;
        }
        eval::eval(&self.policies, route, ctx)
    }
}

impl Default for Chain {
    fn default() -> Self {
        Chain::accept_all()
    }
}

impl fmt::Debug for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_across_threads() {
        fn check<T: Send + Sync + Clone>() {}
        check::<Policies>();
        check::<Chain>();
    }
}
