//! meshrr-rr between real routers: BIRD 2 and FRR bgpd as clients, plus
//! crafted peers (bgp-wire over a socket) for what routers cannot be made
//! to send. Each test builds its own network namespaces; it needs root and
//! the Debian packages that scripts/install-deps.sh installs, and fails
//! loudly without them.

use std::net::{Ipv4Addr, SocketAddr};

use bgp_wire::{
    attr::{flags, AsPath, Origin},
    notification::CeaseSubcode,
    Attr, Message, Nlri, NotificationCode, PathAttribute, PathAttributes, Update,
};
use meshrr_tests::{lab::Lab, speaker::Speaker};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_meshrr-rr");

fn meshrr(lab: &mut Lab, host: &str, yaml: &str) {
    lab.meshrr(BIN, host, yaml, &[]);
}

fn show(lab: &Lab, host: &str, what: &[&str]) -> Value {
    lab.show(BIN, host, what)
}

fn established(lab: &Lab, host: &str) -> usize {
    show(lab, host, &["neighbors"]).as_array().map_or(0, |a| {
        a.iter().filter(|n| n["state"] == "Established").count()
    })
}

/// The first value of `key` anywhere in `v`.
fn find<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Object(m) => m.get(key).or_else(|| m.values().find_map(|x| find(x, key))),
        Value::Array(a) => a.iter().find_map(|x| find(x, key)),
        _ => None,
    }
}

fn frr_route(lab: &Lab, vty: &std::path::Path, family: &str, prefix: &str) -> Option<Value> {
    let out = lab.vtysh(
        "frr",
        vty,
        &[&format!("show bgp {family} unicast {prefix} json")],
    );
    let v: Value = serde_json::from_str(&out).ok()?;
    v.get("paths")
        .and_then(Value::as_array)
        .filter(|p| !p.is_empty())?;
    Some(v)
}

fn route(prefix: &str, attrs: Vec<PathAttribute>) -> Update {
    Update {
        withdrawn: vec![],
        attrs: PathAttributes::from_vec(attrs),
        nlri: vec![Nlri::new(prefix.parse().expect("prefix"))],
    }
}

fn basic(next_hop: Ipv4Addr) -> Vec<PathAttribute> {
    vec![
        PathAttribute::new(Attr::Origin(Origin::Igp)),
        PathAttribute::new(Attr::AsPath(AsPath::default())),
        PathAttribute::new(Attr::NextHop(next_hop)),
        PathAttribute::new(Attr::LocalPref(100)),
    ]
}

fn has_prefix(u: &Update, p: &str) -> bool {
    u.nlri.iter().any(|n| n.prefix.to_string() == p)
}

fn withdrew(u: &Update, p: &str) -> bool {
    u.withdrawn.iter().any(|n| n.prefix.to_string() == p)
}

const BIRD_CONF: &str = r#"
router id 10.252.0.2;
protocol device { }
protocol direct { ipv4; ipv6; interface "eth0"; }
protocol static s4 {
  ipv4;
  route 10.220.1.0/24 blackhole { bgp_community.add((65000,101)); bgp_large_community.add((65000,7,7)); bgp_path.prepend(64601); bgp_path.prepend(64602); };
  route 10.220.2.0/24 blackhole;
}
protocol static s6 {
  ipv6;
  route 2001:db8:220::/48 blackhole { bgp_community.add((65000,106)); };
}
protocol bgp up {
  local 10.252.0.2 as 65000; neighbor 10.252.0.1 as 65000; hold time 30;
  ipv4 { import all; export all; };
  ipv6 { import all; export all; next hop address fd00:252::2; };
}
"#;

const FRR_CONF: &str = "frr defaults traditional
hostname frr
route-map TAG permit 10
 set community 65000:102 additive
 set large-community 65000:3:3
 set ipv6 next-hop global fd00:252::3
router bgp 65000
 bgp router-id 10.252.0.3
 no bgp network import-check
 neighbor 10.252.0.1 remote-as 65000
 neighbor 10.252.0.1 timers 10 30
 address-family ipv4 unicast
  network 10.230.1.0/24 route-map TAG
 exit-address-family
 address-family ipv6 unicast
  network 2001:db8:230::/48 route-map TAG
  neighbor 10.252.0.1 activate
 exit-address-family
";

#[test]
fn reflects_between_bird_frr_and_crafted_clients() {
    let mut lab = Lab::new(252, &["rr", "bird", "frr", "c1", "c2", "out"]);
    meshrr(
        &mut lab,
        "rr",
        r#"
asn: "65000"
mode: ipv4rr
router_id: 10.252.0.1
listen: ["10.252.0.1:179", "[fd00:252::1]:179"]
admin: "127.0.0.1:9179"
timers: {hold_time: 30, keepalive: 10, connect_retry: 2}
bgpgroups:
  - name: CLIENTS
    type: subtractive
    prefixes: [10.252.0.0/30, 10.252.0.4/31, "fd00:252::/64"]
"#,
    );
    lab.wait(10, "meshrr-rr admin API", || {
        show(&lab, "rr", &["groups"]).get("groups").map(|_| ())
    });
    let bird = lab.bird("bird", BIRD_CONF);
    let frr = lab.frr("frr", FRR_CONF);
    lab.wait(30, "BIRD and FRR sessions", || {
        (established(&lab, "rr") == 2).then_some(())
    });

    // BIRD's routes at FRR: reflected, attributes intact.
    let v = lab.wait(20, "BIRD's IPv4 route at FRR", || {
        frr_route(&lab, &frr, "ipv4", "10.220.1.0/24")
    });
    assert_eq!(
        find(&v, "originatorId"),
        Some(&Value::from("10.252.0.2")),
        "{v}"
    );
    let cl = find(&v, "clusterList")
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(cl.contains("10.252.0.1"), "CLUSTER_LIST {cl}");
    let text = v.to_string();
    assert!(text.contains("65000:101"), "community: {text}");
    assert!(text.contains("65000:7:7"), "large community: {text}");
    assert!(text.contains("64602 64601"), "AS path: {text}");
    assert!(text.contains("\"ip\":\"10.252.0.2\""), "next hop: {text}");
    let v6 = lab.wait(20, "BIRD's IPv6 route at FRR", || {
        frr_route(&lab, &frr, "ipv6", "2001:db8:220::/48")
    });
    let t6 = v6.to_string();
    assert!(t6.contains("fd00:252::2"), "IPv6 next hop: {t6}");
    assert!(t6.contains("65000:106"), "{t6}");
    assert_eq!(find(&v6, "originatorId"), Some(&Value::from("10.252.0.2")));

    // FRR's routes at BIRD.
    let b = lab.wait(20, "FRR's IPv4 route at BIRD", || {
        let o = lab.birdc("bird", &bird, "show route all 10.230.1.0/24");
        o.contains("BGP.originator_id").then_some(o)
    });
    assert!(b.contains("BGP.originator_id: 10.252.0.3"), "{b}");
    assert!(b.contains("BGP.cluster_list: 10.252.0.1"), "{b}");
    assert!(b.contains("BGP.next_hop: 10.252.0.3"), "{b}");
    assert!(b.contains("(65000,102)"), "{b}");
    assert!(b.contains("(65000, 3, 3)"), "{b}");
    let b6 = lab.wait(20, "FRR's IPv6 route at BIRD", || {
        let o = lab.birdc("bird", &bird, "show route all 2001:db8:230::/48");
        o.contains("BGP.next_hop").then_some(o)
    });
    assert!(b6.contains("BGP.next_hop: fd00:252::3"), "{b6}");

    // Crafted clients: an unknown optional transitive attribute passes
    // through with the Partial bit.
    let rr = SocketAddr::new(lab.host("rr").v4, 179);
    let c1 = Speaker::open(&lab.host("c1").ns, rr, 65000, Ipv4Addr::new(10, 252, 0, 4))
        .expect("c1 session");
    let c2 = Speaker::open(&lab.host("c2").ns, rr, 65000, Ipv4Addr::new(10, 252, 0, 5))
        .expect("c2 session");
    let mut attrs = basic(Ipv4Addr::new(10, 252, 0, 4));
    attrs.push(PathAttribute {
        flags: flags::OPTIONAL_TRANSITIVE,
        value: Attr::Unknown {
            code: 0xf0,
            data: vec![1, 2, 3].into(),
        },
    });
    c1.send(&route("10.240.1.0/24", attrs)).expect("send");
    let got = lab.wait(10, "the crafted route at c2", || {
        c2.updates()
            .into_iter()
            .find(|u| has_prefix(u, "10.240.1.0/24"))
    });
    let unknown = got
        .attrs
        .get(0xf0)
        .expect("unknown attribute passed through");
    assert_eq!(unknown.flags & flags::PARTIAL, flags::PARTIAL);
    assert_eq!(
        unknown.value,
        Attr::Unknown {
            code: 0xf0,
            data: vec![1, 2, 3].into()
        }
    );
    assert_eq!(
        got.attrs.originator_id(),
        Some(Ipv4Addr::new(10, 252, 0, 4))
    );
    assert_eq!(got.attrs.next_hop(), Some(Ipv4Addr::new(10, 252, 0, 4)));
    // c2 also got the table from BIRD and FRR when it came up.
    lab.wait(10, "BIRD's route at c2", || {
        c2.updates()
            .iter()
            .any(|u| has_prefix(u, "10.220.1.0/24"))
            .then_some(())
    });

    // A route carrying our cluster id is not accepted.
    let mut looped = basic(Ipv4Addr::new(10, 252, 0, 4));
    looped.push(PathAttribute::new(Attr::ClusterList(vec![Ipv4Addr::new(
        10, 252, 0, 1,
    )])));
    c1.send(&route("10.240.2.0/24", looped)).expect("send");
    // A malformed UPDATE: ORIGIN 7 for a prefix announced before is
    // treat-as-withdraw (RFC 7606 section 7.1); the session stays up.
    c1.send(&route("10.240.3.0/24", basic(Ipv4Addr::new(10, 252, 0, 4))))
        .expect("send");
    lab.wait(10, "10.240.3.0/24 at c2", || {
        c2.updates()
            .iter()
            .any(|u| has_prefix(u, "10.240.3.0/24"))
            .then_some(())
    });
    let mut bad = Update {
        withdrawn: vec![],
        attrs: PathAttributes::from_vec(basic(Ipv4Addr::new(10, 252, 0, 4))),
        nlri: vec![Nlri::new("10.240.3.0/24".parse().expect("prefix"))],
    }
    .encode_bytes();
    // ORIGIN's value byte: header 19, lengths 4, then 40 01 01 <value>.
    assert_eq!(&bad[23..26], &[0x40, 0x01, 0x01]);
    bad[26] = 7;
    c1.send_raw(&bad).expect("send");
    lab.wait(10, "treat-as-withdraw of 10.240.3.0/24 at c2", || {
        c2.updates()
            .iter()
            .any(|u| withdrew(u, "10.240.3.0/24"))
            .then_some(())
    });
    c1.send(&route("10.240.4.0/24", basic(Ipv4Addr::new(10, 252, 0, 4))))
        .expect("session still up");
    lab.wait(10, "10.240.4.0/24 at c2 after the malformed UPDATE", || {
        c2.updates()
            .iter()
            .any(|u| has_prefix(u, "10.240.4.0/24"))
            .then_some(())
    });
    assert!(
        !c2.updates().iter().any(|u| has_prefix(u, "10.240.2.0/24")),
        "looped route was reflected"
    );
    assert!(
        !lab.birdc("bird", &bird, "show route 10.240.2.0/24")
            .contains("10.240.2.0/24"),
        "looped route at BIRD"
    );
    // The other sessions kept every route.
    assert!(frr_route(&lab, &frr, "ipv4", "10.220.1.0/24").is_some());
    assert!(lab
        .birdc("bird", &bird, "show route 10.230.1.0/24")
        .contains("10.230.1.0/24"));
    assert_eq!(established(&lab, "rr"), 4);

    // A router outside the client ranges is refused before OPEN.
    let refused = Speaker::open(&lab.host("out").ns, rr, 65000, Ipv4Addr::new(10, 252, 0, 6));
    assert!(
        refused.is_err(),
        "a session from outside the ranges came up"
    );
    let metrics = lab.admin_get("rr", "/metrics");
    assert!(
        metrics.contains("meshrr_connections_refused_total 1"),
        "{metrics}"
    );

    // Withdrawals propagate.
    std::fs::write(
        lab.dir.join("bird-bird.conf"),
        BIRD_CONF.replace("  route 10.220.2.0/24 blackhole;\n", ""),
    )
    .expect("conf");
    assert!(
        frr_route(&lab, &frr, "ipv4", "10.220.2.0/24").is_some(),
        "10.220.2.0/24 was at FRR before"
    );
    lab.birdc("bird", &bird, "configure");
    lab.wait(20, "withdrawal of 10.220.2.0/24 at FRR", || {
        frr_route(&lab, &frr, "ipv4", "10.220.2.0/24")
            .is_none()
            .then_some(())
    });

    // A client's session drops: its routes go from the others.
    lab.kill_pidfile(&frr.join("bgpd.pid"));
    lab.wait(45, "FRR's routes withdrawn at BIRD", || {
        (!lab
            .birdc("bird", &bird, "show route 10.230.1.0/24")
            .contains("10.230.1.0/24"))
        .then_some(())
    });

    // SIGTERM: every peer gets Cease / administrative shutdown with a
    // shutdown communication.
    lab.stop("meshrr-rr");
    let n = lab.wait(10, "the shutdown NOTIFICATION at c2", || {
        c2.received().into_iter().find_map(|m| match m {
            Message::Notification(n) => Some(n),
            _ => None,
        })
    });
    assert_eq!(
        n.code,
        NotificationCode::Cease(CeaseSubcode::AdministrativeShutdown)
    );
    assert!(
        n.shutdown_communication()
            .is_some_and(|m| m.contains("SIGTERM")),
        "{n}"
    );
}

trait EncodeBytes {
    fn encode_bytes(&self) -> Vec<u8>;
}

impl EncodeBytes for Update {
    fn encode_bytes(&self) -> Vec<u8> {
        let mut out = bytes::BytesMut::new();
        self.encode(&bgp_wire::Context::ibgp_4octet(), &mut out)
            .expect("encodes");
        out.to_vec()
    }
}

fn rr_yaml(id: u8, groups: &str) -> String {
    format!(
        r#"
asn: "65000"
router_id: 10.253.0.{id}
listen: ["10.253.0.{id}:179"]
admin: "127.0.0.1:9179"
timers: {{hold_time: 30, keepalive: 10, connect_retry: 1}}
bgpgroups:
{groups}"#
    )
}

/// Two meshrr-rr in one mesh group, each with a router as client, and a
/// third meshrr-rr as the upstream RR of both (the 2regions-hrr shape).
#[test]
fn mesh_and_upstream() {
    let mut lab = Lab::new(253, &["rr1", "rr2", "rr3", "bird", "frr"]);
    let regional = |me: u8, other: u8| {
        rr_yaml(
            me,
            &format!(
                r#"  - name: MESHRR-MESH
    type: mesh
    source: {{sourcetype: static, peers: ["10.253.0.{me}", "10.253.0.{other}"]}}
  - name: MESHRR-UPSTREAM
    type: mesh
    source: {{sourcetype: static, peers: ["10.253.0.3"]}}
    max_peers: 1
  - name: MESHRR-CLIENTS
    type: subtractive
    prefixes: [10.253.0.0/24]
"#
            ),
        )
    };
    meshrr(&mut lab, "rr1", &regional(1, 2));
    meshrr(&mut lab, "rr2", &regional(2, 1));
    meshrr(
        &mut lab,
        "rr3",
        &rr_yaml(
            3,
            "  - name: REGIONS\n    type: subtractive\n    prefixes: [10.253.0.0/24]\n",
        ),
    );
    let bird = lab.bird(
        "bird",
        r#"
router id 10.253.0.4;
protocol device { }
protocol direct { ipv4; interface "eth0"; }
protocol static s4 { ipv4; route 10.250.1.0/24 blackhole { bgp_community.add((65000,7)); }; }
protocol bgp up { local 10.253.0.4 as 65000; neighbor 10.253.0.1 as 65000; hold time 30;
  ipv4 { import all; export all; }; }
"#,
    );
    let frr = lab.frr(
        "frr",
        "frr defaults traditional
router bgp 65000
 bgp router-id 10.253.0.5
 no bgp network import-check
 neighbor 10.253.0.2 remote-as 65000
 neighbor 10.253.0.2 timers 10 30
 address-family ipv4 unicast
  network 10.250.2.0/24
 exit-address-family
",
    );
    // rr1: BIRD, rr2, rr3. rr2: FRR, rr1, rr3. rr3: rr1, rr2.
    lab.wait(40, "every session up", || {
        (established(&lab, "rr1") == 3
            && established(&lab, "rr2") == 3
            && established(&lab, "rr3") == 2)
            .then_some(())
    });

    // BIRD -> rr1 -> (mesh) rr2 -> FRR, and rr1 -> rr3 -> rr2.
    let v = lab.wait(20, "BIRD's route at FRR", || {
        frr_route(&lab, &frr, "ipv4", "10.250.1.0/24")
    });
    assert_eq!(
        find(&v, "originatorId"),
        Some(&Value::from("10.253.0.4")),
        "{v}"
    );
    let cl = find(&v, "clusterList")
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        cl.contains("10.253.0.2") && cl.contains("10.253.0.1"),
        "CLUSTER_LIST {cl}"
    );
    assert!(
        !cl.contains("10.253.0.3"),
        "the mesh path (shorter CLUSTER_LIST) should win: {cl}"
    );
    let at_rr2 = show(&lab, "rr2", &["routes", "10.250.1.0/24"]);
    let paths = at_rr2["paths"].as_array().cloned().unwrap_or_default();
    let from: Vec<String> = paths
        .iter()
        .map(|p| p["peer_address"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        from.contains(&"10.253.0.1".to_string()) && from.contains(&"10.253.0.3".to_string()),
        "{at_rr2:#}"
    );
    assert_eq!(paths[0]["peer_address"], "10.253.0.1", "{at_rr2:#}");
    assert_eq!(paths[1]["lost_at"], "cluster_list_len", "{at_rr2:#}");
    let at_rr3 = show(&lab, "rr3", &["routes", "10.250.1.0/24"]);
    assert!(
        at_rr3["paths"].as_array().is_some_and(|p| !p.is_empty()),
        "upstream has it: {at_rr3:#}"
    );

    // And back: FRR -> rr2 -> rr1 -> BIRD.
    let b = lab.wait(20, "FRR's route at BIRD", || {
        let o = lab.birdc("bird", &bird, "show route all 10.250.2.0/24");
        o.contains("BGP.originator_id").then_some(o)
    });
    assert!(b.contains("BGP.originator_id: 10.253.0.5"), "{b}");
    assert!(b.contains("BGP.cluster_list: 10.253.0.1 10.253.0.2"), "{b}");

    // rr1 stops (SIGTERM): BIRD's route goes, over both its paths to rr2
    // (mesh and upstream).
    lab.stop("meshrr-rr1");
    lab.wait(30, "BIRD's route withdrawn at FRR", || {
        frr_route(&lab, &frr, "ipv4", "10.250.1.0/24")
            .is_none()
            .then_some(())
    });
    let groups = show(&lab, "rr2", &["groups"]);
    assert!(
        groups["groups"].as_array().is_some_and(|g| g.len() == 3),
        "{groups:#}"
    );
}
