//! The two meshrr examples, loaded from `examples/*.yaml`.

mod common;

use bgp_wire::{attr::code, Attr, PathAttribute, PathAttributes};
use common::*;
use policy::{Chain, Outcome, Policies};

fn example(text: &str) -> Policies {
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).unwrap();
    match Policies::from_yaml(&doc["policies"]) {
        Ok(p) => p,
        Err(e) => panic!("{e:#?}"),
    }
}

fn named(p: &Policies, name: &str) -> Chain {
    p.chain(&[name.to_owned()]).unwrap()
}

#[test]
fn two_regions_hrr_upstream_export() {
    let p = example(include_str!("../examples/2regions-hrr.yaml"));
    assert_eq!(p.names().collect::<Vec<_>>(), ["UPSTREAM-EXPORT"]);
    let c = named(&p, "UPSTREAM-EXPORT");

    // regional-only routes stay in the region
    let regional = R::new("10.1.0.0/16", "65010", &["65000:101"]);
    assert_eq!(eval(&c, &regional), Outcome::Reject);
    let both = R::new("10.1.0.0/16", "65010", &["65000:102", "65000:101"]);
    assert_eq!(eval(&c, &both), Outcome::Reject);

    // 65000:102: local-preference 20, everything else as it was
    let depref = R::new("10.2.0.0/16", "65010 65020", &["65000:7", "65000:102"])
        .with(Attr::MultiExitDisc(30));
    let (attrs, next_hop) = modified(eval(&c, &depref));
    assert_eq!(next_hop, None);
    assert_eq!(attrs.local_pref(), Some(20));
    let without_lp = |a: &PathAttributes| -> Vec<PathAttribute> {
        a.iter()
            .filter(|x| x.value.code() != code::LOCAL_PREF)
            .cloned()
            .collect()
    };
    assert_eq!(without_lp(&attrs), without_lp(&depref.attrs));
    assert_eq!(attrs.len(), depref.attrs.len());

    // and the rest passes untouched
    for r in [
        R::new("10.3.0.0/16", "65010", &["65000:103"]),
        R::new("10.4.0.0/16", "", &[]),
        R::new("2001:db8::/32", "65010", &["65001:101"]),
    ] {
        assert_eq!(eval(&c, &r), Outcome::Accept, "{}", r.prefix);
    }
}

/// The small table every client group is offered.
fn table() -> Vec<R> {
    vec![
        R::new("0.0.0.0/0", "65001 65002", &[]),
        R::new("::/0", "65001", &[]),
        R::new("10.0.0.0/24", "", &[]),
        R::new("10.1.0.0/16", "65001", &[]),
        R::new("10.2.0.0/16", "65001 65001 65001", &[]),
        R::new("10.3.0.0/16", "65001 65002", &[]),
        R::new("10.4.0.0/16", "65002 65001 65001", &[]),
        R::new("2001:db8::/32", "65003 65001", &[]),
        R::new("0.0.0.0/1", "65001 65002", &[]),
    ]
}

fn offered(c: &Chain) -> Vec<String> {
    table()
        .iter()
        .filter_map(|r| match eval(c, r) {
            Outcome::Accept => Some(r.prefix.to_string()),
            Outcome::Reject => None,
            o => panic!("no rewrites in this example: {o:?}"),
        })
        .collect()
}

#[test]
fn three_client_groups_full_partial_default() {
    let p = example(include_str!("../examples/3clientgroups.yaml"));
    assert_eq!(
        p.names().collect::<Vec<_>>(),
        ["FULL-TABLE", "PARTIAL-TABLE", "DEFAULT-ONLY"]
    );
    let all: Vec<String> = table().iter().map(|r| r.prefix.to_string()).collect();
    assert_eq!(offered(&named(&p, "FULL-TABLE")), all);
    assert_eq!(
        offered(&named(&p, "PARTIAL-TABLE")),
        [
            "0.0.0.0/0",
            "::/0",
            "10.0.0.0/24",
            "10.1.0.0/16",
            "10.2.0.0/16"
        ]
    );
    assert_eq!(offered(&named(&p, "DEFAULT-ONLY")), ["0.0.0.0/0", "::/0"]);
}

#[test]
fn partial_table_with_a_fixed_neighbour_regex_agrees() {
    // Where the neighbouring AS is known, a regex says the same thing.
    let p = load(
        r#"
PARTIAL:
  default: reject
  terms:
    - match: {as_path: ["^$", "^65001( 65001)*$"]}
      action: accept
    - match: {prefix: ["0.0.0.0/0", "::/0"]}
      action: accept
"#,
    );
    let ex = example(include_str!("../examples/3clientgroups.yaml"));
    assert_eq!(
        offered(&named(&p, "PARTIAL")),
        offered(&named(&ex, "PARTIAL-TABLE"))
    );
}
