//! One test per match condition, each with routes that match and routes
//! that do not.

mod common;

use bgp_wire::{attr::Origin, Attr};
use common::*;
use policy::Source;

#[test]
fn match_prefix_forms() {
    let c = matcher(
        r#"{prefix: ["10.0.0.0/8", "172.16.0.0/12 orlonger", "192.168.0.0/16 longer",
            "100.64.0.0/10 ge 16 le 24", "0.0.0.0/0 exact", "2001:db8::/32 le 48"]}"#,
    );
    let yes = [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "172.31.255.0/24",
        "192.168.1.0/24",
        "100.64.0.0/16",
        "100.127.1.0/24",
        "0.0.0.0/0",
        "2001:db8::/32",
        "2001:db8:ff::/48",
    ];
    let no = [
        "10.1.0.0/16",
        "172.32.0.0/16",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "100.64.0.0/25",
        "0.0.0.0/1",
        "2001:db8::/64",
        "::/0",
    ];
    for p in yes {
        assert!(hits(&c, &R::new(p, "65001", &[])), "{p}");
    }
    for p in no {
        assert!(!hits(&c, &R::new(p, "65001", &[])), "{p}");
    }
}

#[test]
fn match_community_exact_and_wildcards() {
    let c = matcher(r#"{community: ["65000:101", "65010:*", "*:666"]}"#);
    assert!(hits(&c, &R::new("10.0.0.0/8", "1", &["1:1", "65000:101"])));
    assert!(hits(&c, &R::new("10.0.0.0/8", "1", &["65010:7"])));
    assert!(hits(&c, &R::new("10.0.0.0/8", "1", &["3:666"])));
    assert!(!hits(
        &c,
        &R::new("10.0.0.0/8", "1", &["65000:102", "65011:1", "3:667"])
    ));
    assert!(!hits(&c, &R::new("10.0.0.0/8", "1", &[])));
    // well-known names
    let ne = matcher("{community: no-export}");
    assert!(hits(&ne, &R::new("10.0.0.0/8", "1", &["65535:65281"])));
}

#[test]
fn match_ext_community() {
    let c = matcher(r#"{ext_community: ["rt:65000:1", "soo:65001:*"]}"#);
    let r = |e: &[&str]| {
        R::new("10.0.0.0/8", "1", &[]).with(Attr::ExtendedCommunities(
            e.iter().map(|x| ext(x)).collect(),
        ))
    };
    assert!(hits(&c, &r(&["rt:65000:1"])));
    assert!(hits(&c, &r(&["rt:1:1", "soo:65001:99"])));
    assert!(!hits(&c, &r(&["rt:65000:2", "soo:65000:1"])));
    assert!(!hits(&c, &R::new("10.0.0.0/8", "1", &[])));
}

#[test]
fn match_large_community() {
    let c = matcher(r#"{large_community: ["65000:1:2", "4200000000:*:7"]}"#);
    let r = |l: &[&str]| {
        R::new("10.0.0.0/8", "1", &[])
            .with(Attr::LargeCommunities(l.iter().map(|x| large(x)).collect()))
    };
    assert!(hits(&c, &r(&["65000:1:2"])));
    assert!(hits(&c, &r(&["4200000000:99:7"])));
    assert!(!hits(&c, &r(&["65000:1:3", "4200000000:99:8"])));
}

#[test]
fn match_as_path_regex() {
    let c = matcher(r#"{as_path: ["^$", "^65001( 65001)*$", " 64496$"]}"#);
    assert!(hits(&c, &R::new("10.0.0.0/8", "", &[])));
    assert!(hits(&c, &R::new("10.0.0.0/8", "65001", &[])));
    assert!(hits(&c, &R::new("10.0.0.0/8", "65001 65001 65001", &[])));
    assert!(hits(&c, &R::new("10.0.0.0/8", "65002 3 64496", &[])));
    assert!(!hits(&c, &R::new("10.0.0.0/8", "65001 65002", &[])));
    assert!(!hits(&c, &R::new("10.0.0.0/8", "650011", &[])));
    assert!(!hits(&c, &R::new("10.0.0.0/8", "64496", &[])));
    // sets are written in braces
    let set = matcher(r#"{as_path: ["\\{64496 64497\\}$"]}"#);
    assert!(hits(
        &set,
        &R::new("10.0.0.0/8", "65001 {64496 64497}", &[])
    ));
    // an absent AS_PATH is the empty text
    let mut none = R::new("10.0.0.0/8", "", &[]);
    none.attrs.remove(bgp_wire::attr::code::AS_PATH);
    assert!(hits(&c, &none));
}

#[test]
fn match_as_path_length() {
    let c = matcher("{as_path_length: {ge: 2, le: 3}}");
    assert!(!hits(&c, &R::new("10.0.0.0/8", "1", &[])));
    assert!(hits(&c, &R::new("10.0.0.0/8", "1 2", &[])));
    assert!(
        hits(&c, &R::new("10.0.0.0/8", "1 {2 3 4}", &[])),
        "a set counts one"
    );
    assert!(
        hits(&c, &R::new("10.0.0.0/8", "(9 9) 1 2 3", &[])),
        "confederations count nothing"
    );
    assert!(!hits(&c, &R::new("10.0.0.0/8", "1 2 3 4", &[])));
    for (m, len, want) in [
        ("{eq: 0}", "", true),
        ("{ne: 0}", "", false),
        ("{lt: 2}", "1", true),
        ("{gt: 1}", "1", false),
    ] {
        assert_eq!(
            hits(
                &matcher(&format!("{{as_path_length: {m}}}")),
                &R::new("10.0.0.0/8", len, &[])
            ),
            want,
            "{m} on `{len}`"
        );
    }
}

#[test]
fn match_originated_by_neighbor_as() {
    let c = matcher("{originated_by_neighbor_as: true}");
    assert!(hits(&c, &R::new("10.0.0.0/8", "65001", &[])));
    assert!(hits(&c, &R::new("10.0.0.0/8", "65001 65001", &[])));
    assert!(!hits(&c, &R::new("10.0.0.0/8", "65001 65002", &[])));
    assert!(
        !hits(&c, &R::new("10.0.0.0/8", "", &[])),
        "the empty path is excluded"
    );
    let not = matcher("{originated_by_neighbor_as: false}");
    assert!(hits(&not, &R::new("10.0.0.0/8", "65001 65002", &[])));
    assert!(!hits(&not, &R::new("10.0.0.0/8", "65001", &[])));
}

#[test]
fn match_origin() {
    let c = matcher("{origin: [egp, incomplete]}");
    assert!(!hits(&c, &R::new("10.0.0.0/8", "1", &[])));
    assert!(hits(
        &c,
        &R::new("10.0.0.0/8", "1", &[]).with(Attr::Origin(Origin::Incomplete))
    ));
    assert!(hits(
        &c,
        &R::new("10.0.0.0/8", "1", &[]).with(Attr::Origin(Origin::Egp))
    ));
    assert!(hits(
        &matcher("{origin: igp}"),
        &R::new("10.0.0.0/8", "1", &[])
    ));
}

#[test]
fn match_next_hop() {
    let c = matcher(r#"{next_hop: ["192.0.2.0/24", "2001:db8::1"]}"#);
    let mut r = R::new("10.0.0.0/8", "1", &[]);
    assert!(hits(&c, &r));
    r.next_hop = "198.51.100.1".parse().unwrap();
    assert!(!hits(&c, &r));
    r.next_hop = "2001:db8::1".parse().unwrap();
    assert!(hits(&c, &r));
    r.next_hop = "2001:db8::2".parse().unwrap();
    assert!(!hits(&c, &r));
}

#[test]
fn match_neighbor() {
    let c = matcher(r#"{neighbor: ["192.0.2.1", "10.1.0.0/16"]}"#);
    let mut r = R::new("10.0.0.0/8", "1", &[]);
    assert!(hits(&c, &r));
    r.neighbor = "10.1.9.9".parse().unwrap();
    assert!(hits(&c, &r));
    r.neighbor = "192.0.2.2".parse().unwrap();
    assert!(!hits(&c, &r));
    r.neighbor = "::1".parse().unwrap();
    assert!(!hits(&c, &r));
}

#[test]
fn match_group() {
    let c = matcher("{group: [MESHRR-MESH, MESHRR-UPSTREAM]}");
    let mut r = R::new("10.0.0.0/8", "1", &[]);
    assert!(!hits(&c, &r));
    r.group = "MESHRR-UPSTREAM".into();
    assert!(hits(&c, &r));
    r.group = "MESHRR-UPSTREAM2".into();
    assert!(!hits(&c, &r));
}

#[test]
fn match_family() {
    let v6 = matcher("{family: ipv6-unicast}");
    assert!(!hits(&v6, &R::new("10.0.0.0/8", "1", &[])));
    assert!(hits(&v6, &R::new("2001:db8::/32", "1", &[])));
    let v4 = matcher("{family: [ipv4-unicast]}");
    assert!(hits(&v4, &R::new("10.0.0.0/8", "1", &[])));
    assert!(!hits(&v4, &R::new("2001:db8::/32", "1", &[])));
}

#[test]
fn match_source() {
    let c = matcher("{source: [non-client, ebgp]}");
    let mut r = R::new("10.0.0.0/8", "1", &[]);
    assert!(!hits(&c, &r));
    r.source = Source::NonClient;
    assert!(hits(&c, &r));
    r.source = Source::Ebgp;
    assert!(hits(&c, &r));
    assert!(hits(
        &matcher("{source: client}"),
        &R::new("10.0.0.0/8", "1", &[])
    ));
}

#[test]
fn all_conditions_must_hold_and_no_conditions_match_all() {
    let c = matcher(
        r#"{community: ["65000:1"], prefix: ["10.0.0.0/8 orlonger"], as_path_length: {le: 2}}"#,
    );
    assert!(hits(&c, &R::new("10.1.0.0/16", "1 2", &["65000:1"])));
    assert!(!hits(&c, &R::new("11.1.0.0/16", "1 2", &["65000:1"])));
    assert!(!hits(&c, &R::new("10.1.0.0/16", "1 2 3", &["65000:1"])));
    assert!(!hits(&c, &R::new("10.1.0.0/16", "1 2", &["65000:2"])));
    for m in ["{}", "null"] {
        assert!(hits(&matcher(m), &R::new("2001:db8::/32", "", &[])), "{m}");
    }
}
