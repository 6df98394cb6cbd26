//! Group-boundary policy through running daemons, with crafted peers (the
//! test reads exactly what each peer is sent).
//!
//! - 2regions-hrr: a regional RR's upstream export rejects 65000:101 and
//!   sets local-preference 20 on 65000:102; the core's other client sees
//!   exactly that.
//! - 3clientgroups: three client groups with full, partial and
//!   default-only export policies each receive exactly their table.

use std::{collections::BTreeSet, net::Ipv4Addr, net::SocketAddr};

use bgp_wire::{
    attr::{AsPath, Community, Origin},
    Attr, Nlri, PathAttribute, PathAttributes, Update,
};
use meshrr_tests::{lab::Lab, speaker::Speaker};

const BIN: &str = env!("CARGO_BIN_EXE_meshrr-rr");

fn meshrr(lab: &mut Lab, host: &str, yaml: &str) {
    lab.meshrr(BIN, host, yaml, &[]);
}

fn route(prefix: &str, path: &str, comms: &[&str], nh: Ipv4Addr) -> Update {
    let mut attrs = vec![
        PathAttribute::new(Attr::Origin(Origin::Igp)),
        PathAttribute::new(Attr::AsPath(path.parse::<AsPath>().expect("path"))),
        PathAttribute::new(Attr::NextHop(nh)),
        PathAttribute::new(Attr::LocalPref(100)),
    ];
    if !comms.is_empty() {
        let c = comms
            .iter()
            .map(|c| c.parse::<Community>().expect("community"))
            .collect();
        attrs.push(PathAttribute::new(Attr::Communities(c)));
    }
    Update {
        withdrawn: vec![],
        attrs: PathAttributes::from_vec(attrs),
        nlri: vec![Nlri::new(prefix.parse().expect("prefix"))],
    }
}

/// Prefixes currently announced to `s` (announcements minus withdrawals,
/// in order), with the last attributes seen for each.
fn table(s: &Speaker) -> Vec<(String, PathAttributes)> {
    let mut t: Vec<(String, PathAttributes)> = Vec::new();
    for u in s.updates() {
        for w in &u.withdrawn {
            t.retain(|(p, _)| *p != w.prefix.to_string());
        }
        for n in &u.nlri {
            t.retain(|(p, _)| *p != n.prefix.to_string());
            t.push((n.prefix.to_string(), u.attrs.clone()));
        }
    }
    t
}

fn prefixes(s: &Speaker) -> BTreeSet<String> {
    table(s).into_iter().map(|(p, _)| p).collect()
}

#[test]
fn two_regions_upstream_export_policy() {
    let mut lab = Lab::new(249, &["regional", "core", "router", "other"]);
    meshrr(
        &mut lab,
        "regional",
        r#"
asn: "65000"
router_id: 10.249.0.1
listen: ["10.249.0.1:179"]
timers: {hold_time: 30, keepalive: 10, connect_retry: 1}
bgpgroups:
  - name: MESHRR-CLIENTS
    type: subtractive
    prefixes: [10.249.0.0/24]
  - name: MESHRR-UPSTREAM
    type: mesh
    source: {sourcetype: static, peers: ["10.249.0.2"]}
    max_peers: 2
    export: [UPSTREAM-EXPORT]
policies:
  UPSTREAM-EXPORT:
    default: accept
    terms:
      - name: regional-only
        match: {community: ["65000:101"]}
        action: reject
      - name: deprefer-elsewhere
        match: {community: ["65000:102"]}
        set: {local_pref: 20}
        action: next-term
"#,
    );
    meshrr(
        &mut lab,
        "core",
        r#"
asn: "65000"
router_id: 10.249.0.2
listen: ["10.249.0.2:179"]
timers: {hold_time: 30, keepalive: 10, connect_retry: 1}
bgpgroups:
  - name: REGIONS
    type: subtractive
    prefixes: [10.249.0.0/24]
"#,
    );
    let (regional, core) = (
        SocketAddr::new(lab.host("regional").v4, 179),
        SocketAddr::new(lab.host("core").v4, 179),
    );
    let router = lab.wait(20, "router session", || {
        Speaker::open(
            &lab.host("router").ns,
            regional,
            65000,
            Ipv4Addr::new(10, 249, 0, 3),
        )
        .ok()
    });
    let other = lab.wait(20, "core client session", || {
        Speaker::open(
            &lab.host("other").ns,
            core,
            65000,
            Ipv4Addr::new(10, 249, 0, 4),
        )
        .ok()
    });
    let nh = Ipv4Addr::new(10, 249, 0, 3);
    router
        .send(&route("10.101.0.0/16", "", &["65000:101"], nh))
        .expect("send");
    router
        .send(&route("10.102.0.0/16", "", &["65000:102", "65000:7"], nh))
        .expect("send");
    router
        .send(&route("10.100.0.0/16", "", &["65000:7"], nh))
        .expect("send");
    let t = lab.wait(20, "two routes through the upstream", || {
        let t = table(&other);
        (t.len() >= 2).then_some(t)
    });
    std::thread::sleep(std::time::Duration::from_secs(1));
    let t = if table(&other).len() > t.len() {
        table(&other)
    } else {
        t
    };
    let got: BTreeSet<String> = t.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(
        got,
        ["10.100.0.0/16", "10.102.0.0/16"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        "65000:101 must stay in the region"
    );
    let attrs = |p: &str| {
        t.iter()
            .find(|(q, _)| q == p)
            .map(|(_, a)| a.clone())
            .expect("route")
    };
    let lp20 = attrs("10.102.0.0/16");
    assert_eq!(lp20.local_pref(), Some(20));
    assert_eq!(
        lp20.communities().map(<[Community]>::len),
        Some(2),
        "communities unchanged"
    );
    let plain = attrs("10.100.0.0/16");
    assert_eq!(plain.local_pref(), Some(100), "other routes pass unchanged");
    assert_eq!(plain.originator_id(), Some(Ipv4Addr::new(10, 249, 0, 3)));
    assert_eq!(
        plain.cluster_list(),
        Some(&[Ipv4Addr::new(10, 249, 0, 2), Ipv4Addr::new(10, 249, 0, 1)][..])
    );
}

#[test]
fn three_client_groups_each_get_their_table() {
    let mut lab = Lab::new(248, &["rr", "src", "full", "partial", "default"]);
    meshrr(
        &mut lab,
        "rr",
        r#"
asn: "65000"
router_id: 10.248.0.1
listen: ["10.248.0.1:179"]
timers: {hold_time: 30, keepalive: 10, connect_retry: 1}
bgpgroups:
  - name: CLIENTS-FULL
    type: subtractive
    prefixes: [10.248.0.2/31]
    export: [FULL-TABLE]
  - name: CLIENTS-PARTIAL
    type: subtractive
    prefixes: [10.248.0.4/32]
    export: [PARTIAL-TABLE]
  - name: CLIENTS-DEFAULT
    type: subtractive
    prefixes: [10.248.0.5/32]
    export: [DEFAULT-ONLY]
policies:
  FULL-TABLE:
    default: accept
  PARTIAL-TABLE:
    default: reject
    terms:
      - {name: own-as, match: {as_path_length: {eq: 0}}, action: accept}
      - {name: neighbouring-as, match: {originated_by_neighbor_as: true}, action: accept}
      - {name: default-route, match: {prefix: ["0.0.0.0/0 exact", "::/0 exact"]}, action: accept}
  DEFAULT-ONLY:
    default: reject
    terms:
      - {name: default-route, match: {prefix: ["0.0.0.0/0 exact", "::/0 exact"]}, action: accept}
"#,
    );
    let rr = SocketAddr::new(lab.host("rr").v4, 179);
    let open = |lab: &Lab, h: &str, id: u8| {
        lab.wait(20, h, || {
            Speaker::open(&lab.host(h).ns, rr, 65000, Ipv4Addr::new(10, 248, 0, id)).ok()
        })
    };
    let src = open(&lab, "src", 2);
    let full = open(&lab, "full", 3);
    let partial = open(&lab, "partial", 4);
    let default = open(&lab, "default", 5);
    let nh = Ipv4Addr::new(10, 248, 0, 2);
    for (p, path) in [
        ("0.0.0.0/0", "65010"),
        ("10.1.0.0/16", "65010"),
        ("10.4.0.0/16", "65010 65010 65010"),
        ("10.2.0.0/16", "65010 65020"),
        ("10.3.0.0/16", ""),
    ] {
        src.send(&route(p, path, &[], nh)).expect("send");
    }
    let set = |v: &[&str]| {
        v.iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<String>>()
    };
    let all = set(&[
        "0.0.0.0/0",
        "10.1.0.0/16",
        "10.2.0.0/16",
        "10.3.0.0/16",
        "10.4.0.0/16",
    ]);
    lab.wait(20, "the full table at the full client", || {
        (prefixes(&full) == all).then_some(())
    });
    lab.wait(20, "the partial table", || {
        (prefixes(&partial) == set(&["0.0.0.0/0", "10.1.0.0/16", "10.3.0.0/16", "10.4.0.0/16"]))
            .then_some(())
    });
    lab.wait(20, "the default route only", || {
        (prefixes(&default) == set(&["0.0.0.0/0"])).then_some(())
    });
    // Nothing more arrives later.
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(prefixes(&partial).len(), 4);
    assert_eq!(prefixes(&default).len(), 1);
}
