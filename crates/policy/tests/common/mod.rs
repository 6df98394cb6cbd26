//! Helpers shared by the integration tests: routes, attributes, chains
//! from YAML text.
#![allow(dead_code)]

use std::net::IpAddr;

use bgp_wire::{
    attr::{AsPath, Community, ExtendedCommunity, LargeCommunity, Origin},
    Attr, PathAttributes,
};
use ipnet::IpNet;
use policy::{Chain, EvalCtx, Outcome, Policies, PolicyError, Route, Source};

/// An owned route to borrow a [`Route`] from.
#[derive(Debug, Clone)]
pub struct R {
    pub prefix: IpNet,
    pub next_hop: IpAddr,
    pub attrs: PathAttributes,
    pub neighbor: IpAddr,
    pub group: String,
    pub source: Source,
}

impl R {
    /// `prefix` from client 192.0.2.1 in MESHRR-CLIENTS, next hop 192.0.2.1,
    /// ORIGIN igp, AS_PATH `path`, LOCAL_PREF 100, the given communities.
    pub fn new(prefix: &str, path: &str, communities: &[&str]) -> R {
        R {
            prefix: prefix.parse().unwrap(),
            next_hop: "192.0.2.1".parse().unwrap(),
            attrs: attrs(path, communities),
            neighbor: "192.0.2.1".parse().unwrap(),
            group: "MESHRR-CLIENTS".to_owned(),
            source: Source::Client,
        }
    }

    pub fn route(&self) -> Route<'_> {
        Route {
            prefix: self.prefix,
            next_hop: self.next_hop,
            attrs: &self.attrs,
            neighbor: self.neighbor,
            group: &self.group,
            source: self.source,
        }
    }

    pub fn with(mut self, a: Attr) -> R {
        self.attrs.set(a);
        self
    }
}

pub fn attrs(path: &str, communities: &[&str]) -> PathAttributes {
    let mut list = vec![
        Attr::Origin(Origin::Igp),
        Attr::AsPath(path.parse::<AsPath>().unwrap()),
        Attr::LocalPref(100),
    ];
    if !communities.is_empty() {
        list.push(Attr::Communities(
            communities.iter().map(|c| comm(c)).collect(),
        ));
    }
    PathAttributes::from_attrs(list)
}

pub fn comm(s: &str) -> Community {
    s.parse().unwrap()
}

pub fn ext(s: &str) -> ExtendedCommunity {
    s.parse().unwrap()
}

pub fn large(s: &str) -> LargeCommunity {
    s.parse().unwrap()
}

pub fn yaml(text: &str) -> serde_yaml_ng::Value {
    serde_yaml_ng::from_str(text).unwrap()
}

pub fn load(text: &str) -> Policies {
    match Policies::from_yaml(&yaml(text)) {
        Ok(p) => p,
        Err(e) => panic!("{text}\n{e:#?}"),
    }
}

pub fn load_err(text: &str) -> Vec<PolicyError> {
    match Policies::from_yaml(&yaml(text)) {
        Ok(_) => panic!("loaded, but should not have:\n{text}"),
        Err(e) => e,
    }
}

/// A chain of the named policies of `text`.
pub fn chain(text: &str, names: &[&str]) -> Chain {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    load(text).chain(&names).unwrap()
}

/// A chain of one policy `P` whose only term has this `match` and
/// `action: accept`, and whose default is reject: true when it matches.
pub fn matcher(m: &str) -> Chain {
    chain(
        &format!("P:\n  default: reject\n  terms:\n    - match: {m}\n      action: accept\n"),
        &["P"],
    )
}

pub const CTX: EvalCtx = EvalCtx {
    local_as: 65000,
    local_addr: None,
};

pub fn eval(c: &Chain, r: &R) -> Outcome {
    c.eval(&r.route(), &CTX)
}

pub fn hits(c: &Chain, r: &R) -> bool {
    match eval(c, r) {
        Outcome::Accept => true,
        Outcome::Reject => false,
        o => panic!("a match-only chain modified the route: {o:?}"),
    }
}

/// The attributes of a Modified outcome.
pub fn modified(o: Outcome) -> (PathAttributes, Option<IpAddr>) {
    match o {
        Outcome::Modified { attrs, next_hop } => (attrs, next_hop),
        o => panic!("expected Modified, got {o:?}"),
    }
}
