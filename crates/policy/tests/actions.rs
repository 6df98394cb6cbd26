//! One test per action and per `set` modification, and the chain rules:
//! first deciding term wins, defaults, next-policy, end of chain.

mod common;

use std::net::IpAddr;

use bgp_wire::{
    attr::{code, Origin},
    Attr, PathAttribute, PathAttributes,
};
use common::*;
use policy::{Chain, EvalCtx, Outcome};

const TWO: &str = r#"
FIRST:
  terms:
    - match: {community: ["1:1"]}
      action: accept
    - match: {community: ["1:2"]}
      action: reject
    - match: {community: ["1:3"]}
      action: next-policy
    - match: {community: ["1:4"]}
      action: next-term
    - match: {community: ["1:4"]}
      action: reject
  default: accept
SECOND:
  default: reject
"#;

fn two() -> Chain {
    chain(TWO, &["FIRST", "SECOND"])
}

#[test]
fn action_accept_decides_for_the_chain() {
    // SECOND would reject, but FIRST's accept ends the chain
    assert_eq!(
        eval(&two(), &R::new("10.0.0.0/8", "1", &["1:1", "1:2"])),
        Outcome::Accept
    );
}

#[test]
fn action_reject() {
    assert_eq!(
        eval(&two(), &R::new("10.0.0.0/8", "1", &["1:2"])),
        Outcome::Reject
    );
}

#[test]
fn action_next_policy_skips_the_default() {
    // FIRST's default accept is skipped, SECOND rejects
    assert_eq!(
        eval(&two(), &R::new("10.0.0.0/8", "1", &["1:3"])),
        Outcome::Reject
    );
}

#[test]
fn action_next_term_goes_on() {
    assert_eq!(
        eval(&two(), &R::new("10.0.0.0/8", "1", &["1:4"])),
        Outcome::Reject
    );
}

#[test]
fn policy_default_applies_when_no_term_decides() {
    // FIRST's default accept
    assert_eq!(
        eval(&two(), &R::new("10.0.0.0/8", "1", &["9:9"])),
        Outcome::Accept
    );
    // SECOND alone: its default reject
    let c = chain(TWO, &["SECOND"]);
    assert_eq!(eval(&c, &R::new("10.0.0.0/8", "1", &[])), Outcome::Reject);
}

#[test]
fn no_default_goes_on_and_the_chain_ends_in_accept() {
    let text = r#"
A:
  terms:
    - match: {community: ["1:1"]}
      action: reject
B:
  terms:
    - match: {community: ["1:2"]}
      action: reject
"#;
    let c = chain(text, &["A", "B"]);
    assert_eq!(
        eval(&c, &R::new("10.0.0.0/8", "1", &["1:1"])),
        Outcome::Reject
    );
    assert_eq!(
        eval(&c, &R::new("10.0.0.0/8", "1", &["1:2"])),
        Outcome::Reject
    );
    assert_eq!(
        eval(&c, &R::new("10.0.0.0/8", "1", &["1:3"])),
        Outcome::Accept
    );
    let empty = Chain::accept_all();
    assert!(empty.is_empty());
    assert_eq!(
        eval(&empty, &R::new("10.0.0.0/8", "1", &["1:1"])),
        Outcome::Accept
    );
    assert!(!c.is_empty());
    assert_eq!(c.names().collect::<Vec<_>>(), ["A", "B"]);
}

/// One policy with one term `set: {SET}` and `action: accept`, run on `r`.
fn set(set: &str, r: &R, ctx: &EvalCtx) -> Outcome {
    let c = chain(
        &format!("P:\n  terms:\n    - set: {set}\n      action: accept\n"),
        &["P"],
    );
    c.eval(&r.route(), ctx)
}

fn base() -> R {
    R::new("10.0.0.0/8", "65001 65002", &["65000:1", "65000:2", "1:1"])
}

/// `after` equals `before` except for the attribute of type `code`.
fn only_changed(before: &PathAttributes, after: &PathAttributes, code: u8) {
    let rest = |a: &PathAttributes| -> Vec<PathAttribute> {
        a.iter()
            .filter(|x| x.value.code() != code)
            .cloned()
            .collect()
    };
    assert_eq!(rest(before), rest(after));
}

#[test]
fn set_local_pref() {
    let r = base();
    let (a, nh) = modified(set("{local_pref: 20}", &r, &CTX));
    assert_eq!(a.local_pref(), Some(20));
    assert_eq!(nh, None);
    only_changed(&r.attrs, &a, code::LOCAL_PREF);
    // already 100: nothing changes, no copy
    assert_eq!(set("{local_pref: 100}", &r, &CTX), Outcome::Accept);
}

#[test]
fn set_med() {
    let r = base();
    let (a, _) = modified(set("{med: 7}", &r, &CTX));
    assert_eq!(a.med(), Some(7));
    only_changed(&r.attrs, &a, code::MULTI_EXIT_DISC);
    // a new attribute goes in type-code order
    let codes: Vec<u8> = a.iter().map(|x| x.value.code()).collect();
    assert_eq!(codes, [1, 2, 4, 5, 8]);
}

#[test]
fn set_origin() {
    let r = base();
    let (a, _) = modified(set("{origin: incomplete}", &r, &CTX));
    assert_eq!(a.origin(), Some(Origin::Incomplete));
    only_changed(&r.attrs, &a, code::ORIGIN);
}

#[test]
fn set_communities_set_remove_add() {
    let r = base();
    let (a, _) = modified(set(
        r#"{communities: {remove: ["65000:*"], add: ["65000:9", "1:1"]}}"#,
        &r,
        &CTX,
    ));
    assert_eq!(a.communities().unwrap(), [comm("1:1"), comm("65000:9")]);
    only_changed(&r.attrs, &a, code::COMMUNITIES);
    let (a, _) = modified(set(r#"{communities: {set: ["2:2"]}}"#, &r, &CTX));
    assert_eq!(a.communities().unwrap(), [comm("2:2")]);
    // removing every community removes the attribute
    let (a, _) = modified(set(r#"{communities: {remove: ["*:*"]}}"#, &r, &CTX));
    assert_eq!(a.get(code::COMMUNITIES), None);
    let (a, _) = modified(set("{communities: {set: []}}", &r, &CTX));
    assert_eq!(a.get(code::COMMUNITIES), None);
    // adding to a route without the attribute creates it
    let bare = R::new("10.0.0.0/8", "1", &[]);
    let (a, _) = modified(set(r#"{communities: {add: [no-export]}}"#, &bare, &CTX));
    assert_eq!(
        a.communities().unwrap(),
        [bgp_wire::attr::Community::NO_EXPORT]
    );
    // nothing to do: Accept, not Modified
    assert_eq!(
        set(
            r#"{communities: {remove: ["9:*"], add: ["1:1"]}}"#,
            &r,
            &CTX
        ),
        Outcome::Accept
    );
}

#[test]
fn set_ext_communities() {
    let r = base().with(Attr::ExtendedCommunities(vec![
        ext("rt:65000:1"),
        ext("soo:65000:1"),
    ]));
    let (a, _) = modified(set(
        r#"{ext_communities: {remove: ["rt:*:*"], add: ["rt:65000:2"]}}"#,
        &r,
        &CTX,
    ));
    assert_eq!(
        a.extended_communities().unwrap(),
        [ext("soo:65000:1"), ext("rt:65000:2")]
    );
    only_changed(&r.attrs, &a, code::EXTENDED_COMMUNITIES);
}

#[test]
fn set_large_communities() {
    let r = base().with(Attr::LargeCommunities(vec![
        large("65000:1:1"),
        large("65000:2:1"),
    ]));
    let (a, _) = modified(set(
        r#"{large_communities: {remove: ["65000:1:*"], add: ["65000:3:3"]}}"#,
        &r,
        &CTX,
    ));
    assert_eq!(
        a.large_communities().unwrap(),
        [large("65000:2:1"), large("65000:3:3")]
    );
    let (a, _) = modified(set(r#"{large_communities: {set: ["1:2:3"]}}"#, &r, &CTX));
    assert_eq!(a.large_communities().unwrap(), [large("1:2:3")]);
}

#[test]
fn set_prepend() {
    let r = base();
    let (a, _) = modified(set("{prepend: {count: 2}}", &r, &CTX));
    assert_eq!(a.as_path().unwrap().to_string(), "65000 65000 65001 65002");
    only_changed(&r.attrs, &a, code::AS_PATH);
    let (a, _) = modified(set("{prepend: {asn: 64999}}", &r, &CTX));
    assert_eq!(a.as_path().unwrap().to_string(), "64999 65001 65002");
    let (a, _) = modified(set(
        "{prepend: {asn: 7}}",
        &R::new("10.0.0.0/8", "", &[]),
        &CTX,
    ));
    assert_eq!(a.as_path().unwrap().to_string(), "7");
}

#[test]
fn set_next_hop_self() {
    let local: IpAddr = "10.9.9.9".parse().unwrap();
    let ctx = EvalCtx {
        local_as: 65000,
        local_addr: Some(local),
    };
    // the attributes carry no NEXT_HOP (the RIB keeps it apart)
    let r = base();
    let (a, nh) = modified(set("{next_hop_self: true}", &r, &ctx));
    assert_eq!(nh, Some(local));
    assert_eq!(a, r.attrs);
    // with a NEXT_HOP attribute, it is rewritten as well
    let r4 = base().with(Attr::NextHop("192.0.2.1".parse().unwrap()));
    let (a, nh) = modified(set("{next_hop_self: true}", &r4, &ctx));
    assert_eq!(nh, Some(local));
    assert_eq!(a.next_hop(), Some("10.9.9.9".parse().unwrap()));
    // no local address, another family, or already ours: unchanged
    assert_eq!(set("{next_hop_self: true}", &r, &CTX), Outcome::Accept);
    let mut r6 = R::new("2001:db8::/32", "1", &[]);
    r6.next_hop = "2001:db8::1".parse().unwrap();
    assert_eq!(set("{next_hop_self: true}", &r6, &ctx), Outcome::Accept);
    let mut mine = base();
    mine.next_hop = local;
    assert_eq!(set("{next_hop_self: true}", &mine, &ctx), Outcome::Accept);
}

#[test]
fn a_term_with_only_set_continues() {
    let c = chain(
        r#"
P:
  terms:
    - set: {local_pref: 50}
    - match: {community: ["65000:1"]}
      action: reject
"#,
        &["P"],
    );
    assert_eq!(eval(&c, &base()), Outcome::Reject);
    let (a, _) = modified(eval(&c, &R::new("10.0.0.0/8", "1", &[])));
    assert_eq!(a.local_pref(), Some(50));
}

#[test]
fn modifications_are_dropped_on_reject_and_seen_by_later_terms() {
    let c = chain(
        r#"
P:
  terms:
    - set: {communities: {add: ["65000:900"]}, local_pref: 10}
      action: next-term
    - match: {community: ["65000:900"], prefix: ["10.0.0.0/8"]}
      action: reject
    - match: {community: ["65000:900"]}
      set: {med: 1}
      action: accept
"#,
        &["P"],
    );
    assert_eq!(eval(&c, &R::new("10.0.0.0/8", "1", &[])), Outcome::Reject);
    let (a, _) = modified(eval(&c, &R::new("11.0.0.0/8", "1", &[])));
    assert_eq!(a.communities().unwrap(), [comm("65000:900")]);
    assert_eq!((a.local_pref(), a.med()), (Some(10), Some(1)));
}

#[test]
fn modifications_accumulate_across_policies() {
    let c = chain(
        r#"
A:
  terms:
    - set: {local_pref: 10}
      action: next-policy
B:
  terms:
    - set: {med: 5}
"#,
        &["A", "B"],
    );
    let (a, _) = modified(eval(&c, &base()));
    assert_eq!((a.local_pref(), a.med()), (Some(10), Some(5)));
}

#[test]
fn received_flags_survive_a_rewrite() {
    // LOCAL_PREF with the Partial bit, as received
    let mut attrs = base().attrs;
    let lp = PathAttribute {
        flags: 0x40 | 0x20,
        value: Attr::LocalPref(100),
    };
    let list: Vec<PathAttribute> = attrs
        .iter()
        .map(|a| {
            if a.value.code() == code::LOCAL_PREF {
                lp.clone()
            } else {
                a.clone()
            }
        })
        .collect();
    attrs = PathAttributes::from_vec(list);
    let mut r = base();
    r.attrs = attrs;
    let (a, _) = modified(set("{local_pref: 20}", &r, &CTX));
    assert_eq!(a.get(code::LOCAL_PREF).unwrap().flags, 0x60);
}
