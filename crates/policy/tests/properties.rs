//! Property tests: rejects never carry a route, accept-only chains are the
//! identity, evaluation is deterministic, and the compiled prefix and
//! community matchers agree with plain reference checks.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bgp_wire::{
    attr::{AsPath, Community, Origin},
    Attr, PathAttributes,
};
use common::*;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use policy::{Chain, EvalCtx, Outcome, Source};
use proptest::prelude::*;

fn prefix() -> impl Strategy<Value = IpNet> {
    let v4 = (
        prop::sample::select(vec![0u32, 0x0a00_0000, 0xc0a8_0000, 0x6440_0000]),
        any::<u32>(),
        0u8..=32,
    )
        .prop_map(|(hi, lo, len)| {
            let addr = Ipv4Addr::from(hi | (lo >> 12));
            IpNet::V4(Ipv4Net::new(addr, len).unwrap().trunc())
        });
    let v6 = (any::<u64>(), 0u8..=64).prop_map(|(bits, len)| {
        let addr = Ipv6Addr::from(0x2001_0db8_u128 << 96 | u128::from(bits) << 32);
        IpNet::V6(Ipv6Net::new(addr, len).unwrap().trunc())
    });
    let any_v4 = (any::<u32>(), 0u8..=32)
        .prop_map(|(a, len)| IpNet::V4(Ipv4Net::new(Ipv4Addr::from(a), len).unwrap().trunc()));
    prop_oneof![3 => v4, 1 => any_v4, 1 => v6]
}

fn route() -> impl Strategy<Value = R> {
    let asn = prop::sample::select(vec![65001u32, 65002, 65003]);
    let comm = (prop::sample::select(vec![65000u16, 65001]), 1u16..5);
    (
        prefix(),
        prop::collection::vec(asn, 0..5),
        prop::collection::vec(comm, 0..4),
        0u8..3,
        prop::option::of(0u32..300),
        prop::sample::select(vec![Source::Client, Source::NonClient, Source::Ebgp]),
    )
        .prop_map(|(prefix, path, comms, origin, med, source)| {
            let origin = [Origin::Igp, Origin::Egp, Origin::Incomplete][usize::from(origin)];
            let mut list = vec![
                Attr::Origin(origin),
                Attr::AsPath(AsPath::sequence(path)),
                Attr::LocalPref(100),
            ];
            if let Some(m) = med {
                list.push(Attr::MultiExitDisc(m));
            }
            if !comms.is_empty() {
                list.push(Attr::Communities(
                    comms
                        .into_iter()
                        .map(|(a, v)| Community::new(a, v))
                        .collect(),
                ));
            }
            let next_hop: IpAddr = match prefix {
                IpNet::V4(_) => "192.0.2.1".parse().unwrap(),
                IpNet::V6(_) => "2001:db8::1".parse().unwrap(),
            };
            R {
                prefix,
                next_hop,
                attrs: PathAttributes::from_attrs(list),
                neighbor: next_hop,
                group: "G".into(),
                source,
            }
        })
}

/// A `match:` mapping of 0 to 3 conditions (each key at most once).
fn matches() -> impl Strategy<Value = String> {
    let conds: Vec<Vec<&'static str>> = vec![
        vec![
            r#"community: ["65000:1"]"#,
            r#"community: ["65001:*", "*:3"]"#,
        ],
        vec![
            r#"prefix: ["10.0.0.0/8 orlonger", "0.0.0.0/0 ge 8 le 16"]"#,
            r#"prefix: ["2001:db8::/32 ge 40"]"#,
        ],
        vec![r#"as_path: ["^$", "^65001 "]"#],
        vec!["as_path_length: {le: 2}"],
        vec!["originated_by_neighbor_as: true"],
        vec!["origin: [egp, incomplete]"],
        vec!["family: ipv6-unicast"],
        vec!["source: non-client"],
    ];
    let pick = (
        prop::sample::subsequence(conds, 0..=3),
        any::<prop::sample::Index>(),
    );
    pick.prop_map(|(groups, i)| {
        let c: Vec<&str> = groups.iter().map(|g| *i.get(g)).collect();
        format!("{{{}}}", c.join(", "))
    })
}

/// A `set:` mapping of 1 to 3 modifications (each key at most once).
fn sets() -> impl Strategy<Value = String> {
    let ops: Vec<Vec<&'static str>> = vec![
        vec!["local_pref: 20"],
        vec!["med: 0"],
        vec![
            r#"communities: {add: ["65000:9"]}"#,
            r#"communities: {remove: ["65000:*"]}"#,
        ],
        vec!["prepend: {count: 2}"],
        vec!["origin: egp"],
        vec!["next_hop_self: true"],
    ];
    let pick = (
        prop::sample::subsequence(ops, 1..=3),
        any::<prop::sample::Index>(),
    );
    pick.prop_map(|(groups, i)| {
        let c: Vec<&str> = groups.iter().map(|g| *i.get(g)).collect();
        format!("{{{}}}", c.join(", "))
    })
}

/// A policy `P` of 1 to 5 terms with actions from `actions`, optionally
/// with `set`s, and `default`.
fn policy(
    actions: &'static [&'static str],
    with_sets: bool,
    default: &'static [&'static str],
) -> impl Strategy<Value = String> {
    let term = (
        matches(),
        prop::option::weighted(0.5, sets()).prop_map(move |s| s.filter(|_| with_sets)),
        prop::sample::select(actions),
    )
        .prop_map(|(m, s, a)| match s {
            Some(s) => format!("    - {{match: {m}, set: {s}, action: {a}}}\n"),
            None => format!("    - {{match: {m}, action: {a}}}\n"),
        });
    (
        prop::collection::vec(term, 1..5),
        prop::sample::select(default),
    )
        .prop_map(|(terms, d)| {
            let default = if d.is_empty() {
                String::new()
            } else {
                format!("  default: {d}\n")
            };
            format!("P:\n{default}  terms:\n{}", terms.concat())
        })
}

const ALL_ACTIONS: &[&str] = &["accept", "reject", "next-term", "next-policy"];
const CTX_NH: EvalCtx = EvalCtx {
    local_as: 65000,
    local_addr: Some(IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9))),
};

fn one(text: &str) -> Chain {
    chain(text, &["P"])
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Whatever was modified on the way, a chain that ends in reject gives
    /// a bare Reject.
    #[test]
    fn reject_never_yields_a_route(p in policy(&["next-term"], true, &["reject"]), rs in prop::collection::vec(route(), 1..8)) {
        let c = one(&p);
        for r in &rs {
            prop_assert_eq!(c.eval(&r.route(), &CTX_NH), Outcome::Reject);
        }
    }

    /// A reject term in front of any policy rejects exactly what it matches.
    #[test]
    fn a_leading_reject_wins(m in matches(), p in policy(ALL_ACTIONS, true, &["", "accept", "reject"]), rs in prop::collection::vec(route(), 1..8)) {
        let text = format!("{p}R:\n  terms:\n    - {{match: {m}, action: reject}}\n");
        let guarded = chain(&text, &["R", "P"]);
        let probe = matcher(&m);
        for r in &rs {
            let out = guarded.eval(&r.route(), &CTX_NH);
            if hits(&probe, r) {
                prop_assert_eq!(out, Outcome::Reject);
            } else {
                prop_assert_eq!(out, one(&p).eval(&r.route(), &CTX_NH));
            }
        }
    }

    /// Without `set` and without reject, every route passes unchanged.
    #[test]
    fn accept_only_chain_is_identity(p in policy(&["accept", "next-term", "next-policy"], false, &["", "accept"]), rs in prop::collection::vec(route(), 1..8)) {
        let c = one(&p);
        for r in &rs {
            prop_assert_eq!(c.eval(&r.route(), &CTX_NH), Outcome::Accept);
        }
    }

    /// The same chain on the same route gives the same outcome, also when
    /// loaded again; a Modified outcome really differs from the route.
    #[test]
    fn evaluation_is_deterministic(p in policy(ALL_ACTIONS, true, &["", "accept", "reject"]), rs in prop::collection::vec(route(), 1..8)) {
        let c = one(&p);
        let again = one(&p);
        for r in &rs {
            let first = c.eval(&r.route(), &CTX_NH);
            prop_assert_eq!(&first, &c.eval(&r.route(), &CTX_NH));
            prop_assert_eq!(&first, &c.clone().eval(&r.route(), &CTX_NH));
            prop_assert_eq!(&first, &again.eval(&r.route(), &CTX_NH));
            if let Outcome::Modified { attrs, next_hop } = &first {
                prop_assert!(*attrs != r.attrs || next_hop.is_some_and(|n| n != r.next_hop));
            }
        }
    }

    /// The compiled prefix list agrees with a direct check of each entry.
    #[test]
    fn prefix_list_agrees_with_reference(
        entries in prop::collection::vec((prefix(), 0u8..=8, 0u8..=8), 1..12),
        probes in prop::collection::vec(prefix(), 1..32),
    ) {
        let mut texts = Vec::new();
        let mut ranges = Vec::new();
        for (net, a, b) in entries {
            let max = net.max_prefix_len();
            let ge = (net.prefix_len() + a.min(b)).min(max);
            let le = (net.prefix_len() + a.max(b)).min(max);
            texts.push(format!("\"{net} ge {ge} le {le}\""));
            ranges.push((net, ge, le));
        }
        let c = matcher(&format!("{{prefix: [{}]}}", texts.join(", ")));
        for p in probes {
            let want = ranges
                .iter()
                .any(|&(net, ge, le)| net.contains(&p) && (ge..=le).contains(&p.prefix_len()));
            let r = R::new(&p.to_string(), "", &[]);
            prop_assert_eq!(hits(&c, &r), want, "{}", p);
        }
    }

    /// Community patterns agree with a direct check of both halves.
    #[test]
    fn community_patterns_agree_with_reference(
        pats in prop::collection::vec((prop::option::of(0u16..4), prop::option::of(0u16..4)), 1..6),
        comms in prop::collection::vec((0u16..4, 0u16..4), 0..5),
    ) {
        let text = |x: Option<u16>| x.map_or("*".to_owned(), |v| v.to_string());
        let list: Vec<String> = pats.iter().map(|(a, v)| format!("\"{}:{}\"", text(*a), text(*v))).collect();
        let c = matcher(&format!("{{community: [{}]}}", list.join(", ")));
        let cs: Vec<String> = comms.iter().map(|(a, v)| format!("{a}:{v}")).collect();
        let refs: Vec<&str> = cs.iter().map(String::as_str).collect();
        let want = comms.iter().any(|&(ca, cv)| {
            pats.iter().any(|&(a, v)| a.is_none_or(|a| a == ca) && v.is_none_or(|v| v == cv))
        });
        prop_assert_eq!(hits(&c, &R::new("10.0.0.0/8", "", &refs)), want);
    }
}
