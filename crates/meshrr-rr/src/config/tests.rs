use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr, SocketAddr},
};

use bgp_wire::Family;
use ipnet::IpNet;

use super::*;

/// An environment made of these pairs only.
fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

fn pod_env() -> impl Fn(&str) -> Option<String> {
    env(&[("POD_IP", "10.1.2.3")])
}

fn load(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_yaml(text, &env(vars))
}

fn ok(text: &str) -> Config {
    match load(text, &[("POD_IP", "10.1.2.3")]) {
        Ok(c) => c,
        Err(e) => panic!("expected a valid config, got:\n{e}\n--- for:\n{text}"),
    }
}

/// The fields in error, in order.
fn fields(text: &str, vars: &[(&str, &str)]) -> Vec<String> {
    match load(text, vars) {
        Ok(c) => panic!("expected errors, got {c:?}\n--- for:\n{text}"),
        Err(e) => {
            assert!(!e.errors.is_empty());
            e.errors.into_iter().map(|e| e.field).collect()
        }
    }
}

fn errs(text: &str) -> Vec<String> {
    fields(text, &[("POD_IP", "10.1.2.3")])
}

fn the_error(text: &str, vars: &[(&str, &str)]) -> FieldError {
    let e = load(text, vars).expect_err("expected an error");
    assert_eq!(e.errors.len(), 1, "expected one error, got:\n{e}");
    e.errors.into_iter().next().expect("one error")
}

fn net(s: &str) -> IpNet {
    s.parse().expect("test prefix")
}

fn nets(list: &[&str]) -> Vec<IpNet> {
    list.iter().map(|s| net(s)).collect()
}

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("test socket address")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

/// The v0.2 example from the upstream reference, verbatim.
const UPSTREAM_V02: &str = r#"
asn: "65000"            # string; asdot like "65000.1" also appears
mode: ipv4rr            # ipv4rr (route reflector) | evpnrs (EVPN route server)
bgpgroups:
  - name: MESHRR-MESH
    type: mesh          # case-insensitive: mesh | subtractive
    source:
      sourcetype: dns   # only dns existed
      hostname: meshrr  # short name uses the resolver search path
  - name: MESHRR-CLIENTS
    type: subtractive
    prefixes: [0.0.0.0/0]
    # asranges: [65001-65535]   # route-server mode: allowed peer ASNs
  - name: MESHRR-UPSTREAM
    type: mesh
    source: {sourcetype: dns, hostname: meshrr.core.svc.cluster.local}
    max_peers: 2
"#;

#[test]
fn upstream_v02_example_loads_unchanged() {
    let c = Config::from_yaml(UPSTREAM_V02, &pod_env()).expect("valid");
    let pod = Ipv4Addr::new(10, 1, 2, 3);
    let expected = Config {
        asn: 65000,
        mode: Mode::Ipv4Rr,
        router_id: pod,
        cluster_id: pod,
        pod_ip: Some(IpAddr::V4(pod)),
        listen: vec![sa("0.0.0.0:179"), sa("[::]:179")],
        admin: sa("127.0.0.1:9179"),
        families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
        timers: Timers {
            hold_time: 90,
            keepalive: 30,
            connect_retry: 30,
        },
        update_seconds: 5,
        log_format: LogFormat::Human,
        groups: vec![
            Group {
                name: "MESHRR-MESH".into(),
                kind: GroupKind::Mesh {
                    source: Source::Dns {
                        hostname: "meshrr".into(),
                        port: 179,
                    },
                    max_peers: None,
                    replace_after: 60,
                },
                import: vec![],
                export: vec![],
            },
            Group {
                name: "MESHRR-CLIENTS".into(),
                kind: GroupKind::Subtractive {
                    prefixes: nets(&["0.0.0.0/0"]),
                    cluster_id: pod,
                    client_to_client: true,
                },
                import: vec![],
                export: vec![],
            },
            Group {
                name: "MESHRR-UPSTREAM".into(),
                kind: GroupKind::Mesh {
                    source: Source::Dns {
                        hostname: "meshrr.core.svc.cluster.local".into(),
                        port: 179,
                    },
                    max_peers: Some(2),
                    replace_after: 60,
                },
                import: vec![],
                export: vec![],
            },
        ],
        policies: super::Policies::none(),
    };
    assert_eq!(c, expected);
    assert!(c.static_peers().is_empty());
}

#[test]
fn upstream_asranges_and_type_case_are_accepted() {
    let c = ok(r#"
asn: "65000.1"
bgpgroups:
  - name: A
    type: MESH
    source: {sourcetype: DNS, hostname: meshrr}
  - name: B
    type: Subtractive
    prefixes: [10.0.0.0/8, "fd00::/8"]
    asranges: [65001-65535]
"#);
    assert_eq!(c.asn, 65000 * 65536 + 1);
    assert_eq!(c.mode, Mode::Ipv4Rr, "mode defaults to ipv4rr");
    assert!(matches!(c.groups[0].kind, GroupKind::Mesh { .. }));
    assert_eq!(
        c.groups[1].kind,
        GroupKind::Subtractive {
            prefixes: nets(&["10.0.0.0/8", "fd00::/8"]),
            cluster_id: Ipv4Addr::new(10, 1, 2, 3),
            client_to_client: true,
        }
    );
}

#[test]
fn asn_forms() {
    let asn = |v: &str| load(&format!("asn: {v}\n"), &[("POD_IP", "10.1.2.3")]).map(|c| c.asn);
    assert_eq!(asn("65000").ok(), Some(65000));
    assert_eq!(asn("\"65000\"").ok(), Some(65000));
    assert_eq!(asn("\"1.10\"").ok(), Some(65546));
    assert_eq!(asn("\"0.10\"").ok(), Some(10));
    assert_eq!(asn("\"65535.65535\"").ok(), Some(u32::MAX));
    assert_eq!(asn("4294967295").ok(), Some(u32::MAX));
    assert_eq!(asn("\" 4200000000 \"").ok(), Some(4_200_000_000));
    for bad in [
        "0",
        "\"0\"",
        "\"0.0\"",
        "4294967296",
        "\"4294967296\"",
        "\"99999999999999999999999\"",
        "-1",
        "\"1.65536\"",
        "\"65536.0\"",
        "\"1.\"",
        "\".5\"",
        "\"1.2.3\"",
        "\"a.b\"",
        "\"AS65000\"",
        "\"\"",
        "1.10", // unquoted: a YAML float, 1.1
        "[65000]",
        "true",
        "23456",
    ] {
        let e = asn(bad).expect_err(bad);
        assert_eq!(e.errors.len(), 1, "{bad}: {e}");
        assert_eq!(e.errors[0].field, "asn", "{bad}: {e}");
    }
    // Missing altogether.
    let e = the_error("mode: ipv4rr\n", &[("POD_IP", "10.1.2.3")]);
    assert_eq!(e.field, "asn");
    assert!(e.message.contains("not set"), "{e}");
}

#[test]
fn env_autonomous_system_overrides_asn() {
    let c = load(
        "asn: 65000\n",
        &[("POD_IP", "10.1.2.3"), ("AUTONOMOUS_SYSTEM", "64512")],
    )
    .unwrap();
    assert_eq!(c.asn, 64512);
    let c = load(
        "asn: 65000\n",
        &[("POD_IP", "10.1.2.3"), ("AUTONOMOUS_SYSTEM", "2.5")],
    )
    .unwrap();
    assert_eq!(c.asn, 2 * 65536 + 5);
    // The file need not give asn at all when the environment does; and the
    // file's value is not looked at.
    let c = load(
        "{}",
        &[("POD_IP", "10.1.2.3"), ("AUTONOMOUS_SYSTEM", "65001")],
    )
    .unwrap();
    assert_eq!(c.asn, 65001);
    let c = load(
        "asn: bogus\n",
        &[("POD_IP", "10.1.2.3"), ("AUTONOMOUS_SYSTEM", "65001")],
    )
    .unwrap();
    assert_eq!(c.asn, 65001);
    // An empty variable counts as unset.
    let c = load(
        "asn: 65000\n",
        &[("POD_IP", "10.1.2.3"), ("AUTONOMOUS_SYSTEM", "")],
    )
    .unwrap();
    assert_eq!(c.asn, 65000);
    // A bad override is an error on asn that names the variable.
    let e = the_error(
        "asn: 65000\n",
        &[("POD_IP", "10.1.2.3"), ("AUTONOMOUS_SYSTEM", "x")],
    );
    assert_eq!(e.field, "asn");
    assert!(e.message.contains("AUTONOMOUS_SYSTEM"), "{e}");
}

#[test]
fn evpnrs_is_rejected_from_file_and_env() {
    let e = the_error("asn: 65000\nmode: evpnrs\n", &[("POD_IP", "10.1.2.3")]);
    assert_eq!(
        e.to_string(),
        "mode: evpnrs (EVPN route server) is not supported yet"
    );

    let e = the_error(
        "asn: 65000\n",
        &[("POD_IP", "10.1.2.3"), ("MESHRR_MODE", "evpnrs")],
    );
    assert_eq!(e.field, "mode");
    assert!(
        e.to_string()
            .starts_with("mode: evpnrs (EVPN route server) is not supported yet"),
        "{e}"
    );
    assert!(e.message.contains("MESHRR_MODE"), "{e}");

    // The environment wins over the file both ways.
    let c = load(
        "asn: 65000\nmode: evpnrs\n",
        &[("POD_IP", "10.1.2.3"), ("MESHRR_MODE", "ipv4rr")],
    )
    .unwrap();
    assert_eq!(c.mode, Mode::Ipv4Rr);

    let e = the_error("asn: 65000\nmode: ipv6rr\n", &[("POD_IP", "10.1.2.3")]);
    assert_eq!(e.field, "mode");
    assert_eq!(ok("asn: 65000\nmode: IPv4RR\n").mode, Mode::Ipv4Rr);
}

#[test]
fn env_update_seconds() {
    assert_eq!(ok("asn: 1\n").update_seconds, 5);
    assert_eq!(ok("asn: 1\nupdate_seconds: 30\n").update_seconds, 30);
    assert_eq!(ok("asn: 1\nupdate_seconds: \"7\"\n").update_seconds, 7);
    let c = load(
        "asn: 1\nupdate_seconds: 30\n",
        &[("POD_IP", "10.1.2.3"), ("UPDATE_SECONDS", "12")],
    )
    .unwrap();
    assert_eq!(c.update_seconds, 12);
    for bad in ["0", "-3", "x", "1.5", "86401"] {
        let e = the_error(
            "asn: 1\n",
            &[("POD_IP", "10.1.2.3"), ("UPDATE_SECONDS", bad)],
        );
        assert_eq!(e.field, "update_seconds", "{bad}");
        assert!(e.message.contains("UPDATE_SECONDS"), "{e}");
    }
    for bad in ["0", "-3", "x", "1.5", "86401", "[1]"] {
        assert_eq!(
            errs(&format!("asn: 1\nupdate_seconds: {bad}\n")),
            ["update_seconds"],
            "{bad}"
        );
    }
}

#[test]
fn pod_ip_gives_router_and_cluster_id() {
    let c = ok("asn: 1\n");
    assert_eq!(c.router_id, Ipv4Addr::new(10, 1, 2, 3));
    assert_eq!(c.cluster_id, Ipv4Addr::new(10, 1, 2, 3));
    assert_eq!(c.pod_ip, Some(ip("10.1.2.3")));

    // No POD_IP, or an IPv6 one: router_id must be given.
    for vars in [&[][..], &[("POD_IP", "fd00::5")][..]] {
        let e = the_error("asn: 1\n", vars);
        assert_eq!(
            e.to_string(),
            "router_id: not set and POD_IP is not an IPv4 address"
        );
    }
    // Given explicitly, with an IPv6 pod address.
    let c = load("asn: 1\nrouter_id: 192.0.2.1\n", &[("POD_IP", "fd00::5")]).unwrap();
    assert_eq!(c.router_id, Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(c.cluster_id, Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(c.pod_ip, Some(ip("fd00::5")));
    // Without POD_IP at all.
    let c = load("asn: 1\nrouter_id: 192.0.2.1\ncluster_id: 192.0.2.9\n", &[]).unwrap();
    assert_eq!(c.pod_ip, None);
    assert_eq!(c.cluster_id, Ipv4Addr::new(192, 0, 2, 9));

    // A malformed POD_IP is an error of its own.
    assert_eq!(
        fields("asn: 1\n", &[("POD_IP", "10.1.2")]),
        ["POD_IP", "router_id"]
    );
    assert_eq!(
        fields("asn: 1\nrouter_id: 192.0.2.1\n", &[("POD_IP", "nope")]),
        ["POD_IP"]
    );
    assert_eq!(errs("asn: 1\nrouter_id: 0.0.0.0\n"), ["router_id"]);
    assert_eq!(errs("asn: 1\nrouter_id: \"fd00::1\"\n"), ["router_id"]);
    assert_eq!(errs("asn: 1\ncluster_id: 10.0.0\n"), ["cluster_id"]);
}

#[test]
fn extensions_parse() {
    let c = ok(r#"
asn: 4200000001
router_id: 192.0.2.1
cluster_id: 192.0.2.100
listen: ["192.0.2.1:179", "[2001:db8::1]:1179"]
admin: "[::1]:9000"
families: [ipv6-unicast]
timers: {hold_time: 9, connect_retry: 5}
update_seconds: 60
log: {format: JSON}
policies:
  from-core: {terms: [{action: accept}]}
  to-core-1: {terms: [{action: next-policy}]}
  to-core-2: {default: accept}
bgpgroups:
  - name: core
    type: mesh
    source: {sourcetype: kubernetes, service: meshrr-core, namespace: meshrr, port: 1179}
    import: from-core
    export: [to-core-1, to-core-2]
  - name: region
    type: mesh
    source: {sourcetype: kubernetes, service: meshrr}
  - name: fixed
    type: mesh
    source:
      sourcetype: static
      port: 1179
      peers: ["10.0.0.2", "10.0.0.3:2179", "[fd00::1]:179", "fd00::2", "[fd00::3]"]
  - name: dns6
    type: mesh
    source: {sourcetype: dns, hostname: "rr.example.net.", port: 11179}
    max_peers: 1
  - name: clients
    type: subtractive
    prefixes: [10.0.0.0/8, 192.0.2.7]
    cluster_id: 198.51.100.1
    client_to_client: false
"#);
    assert_eq!(c.asn, 4_200_000_001);
    assert_eq!(c.router_id, Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(c.cluster_id, Ipv4Addr::new(192, 0, 2, 100));
    assert_eq!(c.listen, [sa("192.0.2.1:179"), sa("[2001:db8::1]:1179")]);
    assert_eq!(c.admin, sa("[::1]:9000"));
    assert_eq!(c.families, [Family::IPV6_UNICAST]);
    assert_eq!(
        c.timers,
        Timers {
            hold_time: 9,
            keepalive: 3,
            connect_retry: 5
        },
        "keepalive defaults to a third of the hold time"
    );
    assert_eq!(c.update_seconds, 60);
    assert_eq!(c.log_format, LogFormat::Json);
    assert_eq!(c.groups.len(), 5);

    assert_eq!(
        c.groups[0],
        Group {
            name: "core".into(),
            kind: GroupKind::Mesh {
                source: Source::Kubernetes {
                    service: "meshrr-core".into(),
                    namespace: "meshrr".into(),
                    port: 1179
                },
                max_peers: None,
                replace_after: 60
            },
            import: vec!["from-core".into()],
            export: vec!["to-core-1".into(), "to-core-2".into()],
        }
    );
    assert_eq!(
        c.groups[1].kind,
        GroupKind::Mesh {
            source: Source::Kubernetes {
                service: "meshrr".into(),
                namespace: "default".into(),
                port: 179
            },
            max_peers: None,
            replace_after: 60
        }
    );
    let fixed = vec![
        sa("10.0.0.2:1179"),
        sa("10.0.0.3:2179"),
        sa("[fd00::1]:179"),
        sa("[fd00::2]:1179"),
        sa("[fd00::3]:1179"),
    ];
    assert_eq!(
        c.groups[2].kind,
        GroupKind::Mesh {
            source: Source::Static {
                peers: fixed.clone()
            },
            max_peers: None,
            replace_after: 60
        }
    );
    assert_eq!(
        c.groups[3].kind,
        GroupKind::Mesh {
            source: Source::Dns {
                hostname: "rr.example.net.".into(),
                port: 11179
            },
            max_peers: Some(1),
            replace_after: 60
        }
    );
    assert_eq!(
        c.groups[4].kind,
        GroupKind::Subtractive {
            prefixes: nets(&["10.0.0.0/8", "192.0.2.7/32"]),
            cluster_id: Ipv4Addr::new(198, 51, 100, 1),
            client_to_client: false,
        }
    );
    assert_eq!(c.static_peers(), fixed);
}

#[test]
fn static_peers_across_groups() {
    let c = ok(r#"
asn: 1
bgpgroups:
  - {name: a, type: mesh, source: {sourcetype: static, peers: ["10.0.0.1", "10.0.0.2:1179"]}}
  - {name: b, type: mesh, source: {sourcetype: dns, hostname: x}}
  - {name: c, type: mesh, source: {sourcetype: static, peers: "fd00::9"}}
  - {name: d, type: subtractive, prefixes: 10.0.0.0/24}
"#);
    assert_eq!(
        c.static_peers(),
        [sa("10.0.0.1:179"), sa("10.0.0.2:1179"), sa("[fd00::9]:179")]
    );
    // What the discovery loop does with them.
    let GroupKind::Subtractive { prefixes, .. } = &c.groups[3].kind else {
        panic!("subtractive")
    };
    let exclude: Vec<IpAddr> = c.static_peers().iter().map(SocketAddr::ip).collect();
    assert_eq!(
        subtract(prefixes, &exclude),
        nets(&[
            "10.0.0.0/32",
            "10.0.0.3/32",
            "10.0.0.4/30",
            "10.0.0.8/29",
            "10.0.0.16/28",
            "10.0.0.32/27",
            "10.0.0.64/26",
            "10.0.0.128/25"
        ])
    );
}

#[test]
fn unknown_keys_are_named() {
    let e = load(
        r#"
asn: 1
colour: blue
bgpgroups:
  - name: MESH
    type: mesh
    sorce: {sourcetype: dns, hostname: meshrr}
  - name: C
    type: subtractive
    prefixes: [10.0.0.0/8]
    prefix: [10.0.0.0/8]
  - name: S
    type: mesh
    source: {sourcetype: dns, hostname: meshrr, hostnme: x}
timers: {hold: 9}
log: {format: json, level: debug}
"#,
        &[("POD_IP", "10.1.2.3")],
    )
    .expect_err("unknown keys");
    let shown: Vec<String> = e.errors.iter().map(ToString::to_string).collect();
    for want in [
        "colour: unknown field",
        "bgpgroups[0].sorce: unknown field",
        "bgpgroups[1].prefix: unknown field",
        "bgpgroups[2].source.hostnme: unknown field",
        "timers.hold: unknown field",
        "log.level: unknown field",
    ] {
        assert!(
            shown.iter().any(|s| s == want),
            "missing {want:?} in {shown:#?}"
        );
    }
    // And the mesh group whose source was misspelt has no source.
    assert!(shown
        .iter()
        .any(|s| s.starts_with("bgpgroups[0].source: not set")));
    assert_eq!(shown.len(), 7, "{shown:#?}");
}

#[test]
fn bad_configs_name_their_fields() {
    let g = |body: &str| format!("asn: 1\nbgpgroups:\n{body}");
    let cases: Vec<(String, Vec<&str>)> = vec![
        (g("  - 42\n"), vec!["bgpgroups[0]"]),
        ("asn: 1\nbgpgroups: {name: x}\n".into(), vec!["bgpgroups"]),
        (g("  - {type: mesh, source: {sourcetype: dns, hostname: a}}\n"), vec!["bgpgroups[0].name"]),
        (g("  - {name: \" \", type: mesh, source: {sourcetype: dns, hostname: a}}\n"), vec!["bgpgroups[0].name"]),
        (g("  - {name: a, source: {sourcetype: dns, hostname: a}}\n"), vec!["bgpgroups[0].type"]),
        (g("  - {name: a, type: ring, source: {sourcetype: dns, hostname: a}}\n"), vec!["bgpgroups[0].type"]),
        (g("  - {name: a, type: mesh}\n"), vec!["bgpgroups[0].source"]),
        (g("  - {name: a, type: mesh, source: dns}\n"), vec!["bgpgroups[0].source"]),
        (g("  - {name: a, type: mesh, source: {hostname: a}}\n"), vec!["bgpgroups[0].source.sourcetype"]),
        (g("  - {name: a, type: mesh, source: {sourcetype: ldap}}\n"), vec!["bgpgroups[0].source.sourcetype"]),
        (g("  - {name: a, type: mesh, source: {sourcetype: dns}}\n"), vec!["bgpgroups[0].source.hostname"]),
        (g("  - {name: a, type: mesh, source: {sourcetype: dns, hostname: \"bad name\"}}\n"), vec!["bgpgroups[0].source.hostname"]),
        (g("  - {name: a, type: mesh, source: {sourcetype: dns, hostname: a, port: 0}}\n"), vec!["bgpgroups[0].source.port"]),
        (g("  - {name: a, type: mesh, source: {sourcetype: dns, hostname: a, port: 65536}}\n"), vec!["bgpgroups[0].source.port"]),
        (g("  - {name: a, type: mesh, source: {sourcetype: dns, hostname: a, service: b}}\n"), vec!["bgpgroups[0].source.service"]),
        (g("  - {name: a, type: mesh, source: {sourcetype: kubernetes}}\n"), vec!["bgpgroups[0].source.service"]),
        (g("  - {name: a, type: mesh, source: {sourcetype: kubernetes, service: Meshrr}}\n"), vec!["bgpgroups[0].source.service"]),
        (g("  - {name: a, type: mesh, source: {sourcetype: kubernetes, service: m, namespace: \"-x\"}}\n"), vec!["bgpgroups[0].source.namespace"]),
        (g("  - {name: a, type: mesh, source: {sourcetype: static}}\n"), vec!["bgpgroups[0].source.peers"]),
        (g("  - {name: a, type: mesh, source: {sourcetype: static, peers: []}}\n"), vec!["bgpgroups[0].source.peers"]),
        (g("  - {name: a, type: mesh, source: {sourcetype: static, peers: [10.0.0.1, 10.0.0.300, \"0.0.0.0\"]}}\n"), vec!["bgpgroups[0].source.peers[1]", "bgpgroups[0].source.peers[2]"]),
        (g("  - {name: a, type: mesh, source: {sourcetype: static, peers: [10.0.0.1, \"10.0.0.1:1179\"]}}\n"), vec!["bgpgroups[0].source.peers[1]"]),
        (g("  - {name: a, type: mesh, source: {sourcetype: static, peers: [\"10.0.0.1:0\"]}}\n"), vec!["bgpgroups[0].source.peers[0]"]),
        (g("  - {name: a, type: mesh, source: {sourcetype: dns, hostname: a}, max_peers: 0}\n"), vec!["bgpgroups[0].max_peers"]),
        (g("  - {name: a, type: mesh, source: {sourcetype: dns, hostname: a}, max_peers: two}\n"), vec!["bgpgroups[0].max_peers"]),
        (g("  - {name: a, type: mesh, source: {sourcetype: dns, hostname: a}, prefixes: [10.0.0.0/8]}\n"), vec!["bgpgroups[0].prefixes"]),
        (g("  - {name: a, type: mesh, source: {sourcetype: dns, hostname: a}, client_to_client: false}\n"), vec!["bgpgroups[0].client_to_client"]),
        (g("  - {name: a, type: subtractive}\n"), vec!["bgpgroups[0].prefixes"]),
        (g("  - {name: a, type: subtractive, prefixes: []}\n"), vec!["bgpgroups[0].prefixes"]),
        (g("  - {name: a, type: subtractive, prefixes: [10.0.0.0/8, 10.0.0.0/33, \"fd00::/8\", 10.1.0.1/16]}\n"), vec!["bgpgroups[0].prefixes[1]", "bgpgroups[0].prefixes[3]"]),
        (g("  - {name: a, type: subtractive, prefixes: [{net: 10.0.0.0/8}]}\n"), vec!["bgpgroups[0].prefixes[0]"]),
        (g("  - {name: a, type: subtractive, prefixes: [10.0.0.0/8], max_peers: 2}\n"), vec!["bgpgroups[0].max_peers"]),
        (g("  - {name: a, type: subtractive, prefixes: [10.0.0.0/8], source: {sourcetype: dns, hostname: a}}\n"), vec!["bgpgroups[0].source"]),
        (g("  - {name: a, type: subtractive, prefixes: [10.0.0.0/8], cluster_id: 1}\n"), vec!["bgpgroups[0].cluster_id"]),
        (g("  - {name: a, type: subtractive, prefixes: [10.0.0.0/8], client_to_client: \"no\"}\n"), vec!["bgpgroups[0].client_to_client"]),
        (g("  - {name: a, type: subtractive, prefixes: [10.0.0.0/8], import: [ok, \"\"]}\n"), vec!["bgpgroups[0].import[1]", "bgpgroups[0].import[0]"]),
        (g("  - {name: a, type: subtractive, prefixes: [10.0.0.0/8], export: {x: y}}\n"), vec!["bgpgroups[0].export"]),
        ("asn: 1\nlisten: [\"0.0.0.0\", \"[::]:179\", \"[::]:179\", \"1.2.3.4:0\"]\n".into(), vec!["listen[0]", "listen[2]", "listen[3]"]),
        ("asn: 1\nadmin: localhost:9179\n".into(), vec!["admin"]),
        ("asn: 1\nfamilies: [ipv4-unicast, l2vpn-evpn, \"25/70\", ipv4-unicast]\n".into(), vec!["families[1]", "families[2]", "families[3]"]),
        ("asn: 1\nfamilies: []\n".into(), vec!["families"]),
        ("asn: 1\ntimers: {hold_time: 2}\n".into(), vec!["timers.hold_time"]),
        ("asn: 1\ntimers: {hold_time: 70000}\n".into(), vec!["timers.hold_time"]),
        ("asn: 1\ntimers: {hold_time: 30, keepalive: 30}\n".into(), vec!["timers.keepalive"]),
        ("asn: 1\ntimers: {hold_time: 0, keepalive: 10}\n".into(), vec!["timers.keepalive"]),
        ("asn: 1\ntimers: {hold_time: 9, keepalive: 0}\n".into(), vec!["timers.keepalive"]),
        ("asn: 1\ntimers: {keepalive: 90}\n".into(), vec!["timers.keepalive"]),
        ("asn: 1\ntimers: {connect_retry: 0}\n".into(), vec!["timers.connect_retry"]),
        ("asn: 1\ntimers: 90\n".into(), vec!["timers"]),
        ("asn: 1\nlog: {format: xml}\n".into(), vec!["log.format"]),
        ("asn: 1\nlog: json\n".into(), vec!["log"]),
        ("asn: 1\nmode: !evpnrs x\n".into(), vec!["mode"]),
        ("- asn\n".into(), vec!["(document)"]),
        ("asn: [1\n".into(), vec!["(document)"]),
        ("asn: 1\nasn: 2\n".into(), vec!["(document)"]),
    ];
    for (text, want) in cases {
        assert_eq!(errs(&text), want, "for:\n{text}");
    }
}

#[test]
fn valid_timer_edges() {
    let t = |s: &str| ok(&format!("asn: 1\ntimers: {s}\n")).timers;
    assert_eq!(
        t("{hold_time: 0}"),
        Timers {
            hold_time: 0,
            keepalive: 0,
            connect_retry: 30
        }
    );
    assert_eq!(t("{hold_time: 0, keepalive: 0}").hold_time, 0);
    assert_eq!(
        t("{hold_time: 3}"),
        Timers {
            hold_time: 3,
            keepalive: 1,
            connect_retry: 30
        }
    );
    assert_eq!(t("{hold_time: 240, keepalive: 239}").keepalive, 239);
    assert_eq!(
        t("{keepalive: 10}"),
        Timers {
            hold_time: 90,
            keepalive: 10,
            connect_retry: 30
        }
    );
    assert_eq!(
        t("{hold_time: 65535, connect_retry: 65535}").keepalive,
        21845
    );
    assert_eq!(t("{}"), Timers::default());
}

#[test]
fn duplicate_group_name_is_reported_on_the_second() {
    let e = load(
        r#"
asn: 1
bgpgroups:
  - {name: A, type: mesh, source: {sourcetype: dns, hostname: a}}
  - {name: B, type: subtractive, prefixes: [10.0.0.0/8]}
  - {name: A, type: subtractive, prefixes: [11.0.0.0/8]}
  - {name: a, type: subtractive, prefixes: [12.0.0.0/8]}
"#,
        &[("POD_IP", "10.1.2.3")],
    )
    .expect_err("duplicate");
    assert_eq!(e.errors.len(), 1, "{e}");
    assert_eq!(e.errors[0].field, "bgpgroups[2].name");
    assert!(e.errors[0].message.contains("bgpgroups[0]"), "{e}");
}

#[test]
fn static_peer_in_two_groups_is_reported() {
    assert_eq!(
        errs(
            r#"
asn: 1
bgpgroups:
  - {name: a, type: mesh, source: {sourcetype: static, peers: ["10.0.0.1"]}}
  - {name: b, type: mesh, source: {sourcetype: static, peers: ["10.0.0.2", "10.0.0.1:1179"]}}
"#
        ),
        ["bgpgroups[1].source.peers[1]"]
    );
}

#[test]
fn every_error_is_reported() {
    let text = r#"
asn: "1.70000"
mode: evpnrs
listen: ["nowhere"]
families: [ipv4-flowspec]
timers: {hold_time: 1}
update_seconds: 0
bgpgroups:
  - name: MESH
    type: mesh
  - name: CLIENTS
    type: subtractive
    prefixes: [0.0.0.0/0, "fd00::/129"]
  - name: MESH
    type: Subtractive
    prefixes: [10.0.0.0/8]
    sorce: x
"#;
    let e = load(text, &[]).expect_err("many errors");
    let got: Vec<&str> = e.errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        got,
        [
            "asn",
            "mode",
            "router_id",
            "listen[0]",
            "families[0]",
            "timers.hold_time",
            "update_seconds",
            "bgpgroups[0].source",
            "bgpgroups[1].prefixes[1]",
            "bgpgroups[2].name",
            "bgpgroups[2].sorce",
        ]
    );
    // Display: one line per error, each "field: message".
    let shown = e.to_string();
    assert_eq!(shown.lines().count(), got.len());
    for (line, err) in shown.lines().zip(&e.errors) {
        assert_eq!(line, format!("{}: {}", err.field, err.message));
    }
    assert!(shown.contains("mode: evpnrs (EVPN route server) is not supported yet"));
}

#[test]
fn empty_file_needs_only_asn_and_router_id() {
    assert_eq!(fields("", &[]), ["asn", "router_id"]);
    let c = load(
        "",
        &[("POD_IP", "10.1.2.3"), ("AUTONOMOUS_SYSTEM", "65000")],
    )
    .unwrap();
    assert!(c.groups.is_empty());
    assert_eq!(c.listen, [sa("0.0.0.0:179"), sa("[::]:179")]);
}

#[test]
fn yaml_merge_keys_work() {
    let c = ok(r#"
asn: 1
bgpgroups:
  - &base {name: a, type: mesh, source: {sourcetype: dns, hostname: a}, max_peers: 3}
  - <<: *base
    name: b
"#);
    assert_eq!(c.groups[1].name, "b");
    assert_eq!(c.groups[1].kind, c.groups[0].kind);
    assert_eq!(
        c.groups[1].kind,
        GroupKind::Mesh {
            source: Source::Dns {
                hostname: "a".into(),
                port: 179
            },
            max_peers: Some(3),
            replace_after: 60
        }
    );
}

#[test]
fn load_reads_files_and_reports_io_errors() {
    let missing = std::env::temp_dir().join(format!("meshrr-no-such-{}.yml", std::process::id()));
    let e = Config::load(&missing).expect_err("missing file");
    assert_eq!(e.errors.len(), 1);
    assert_eq!(e.errors[0].field, missing.display().to_string());

    // A file that needs nothing from the environment (unless the test
    // runner's environment overrides asn or mode, which it should not).
    let path = std::env::temp_dir().join(format!("meshrr-config-{}.yml", std::process::id()));
    std::fs::write(&path, "asn: 65000\nrouter_id: 192.0.2.1\n").unwrap();
    let r = Config::load(&path);
    std::fs::remove_file(&path).unwrap();
    let c = r.expect("valid file");
    assert_eq!(c.router_id, Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(c.mode, Mode::Ipv4Rr);
}

#[test]
fn builtin_default() {
    let c = Config::builtin(&pod_env());
    assert_eq!(c.asn, 65000);
    assert_eq!(c.mode, Mode::Ipv4Rr);
    assert_eq!(c.router_id, Ipv4Addr::new(10, 1, 2, 3));
    assert_eq!(c.cluster_id, Ipv4Addr::new(10, 1, 2, 3));
    assert_eq!(c.pod_ip, Some(ip("10.1.2.3")));
    assert_eq!(c.listen, [sa("0.0.0.0:1179"), sa("[::]:1179")]);

    // It is the upstream default with both address families of clients,
    // on the unprivileged port.
    let from_yaml = Config::from_yaml(
        r#"
asn: "65000"
mode: ipv4rr
listen: ["0.0.0.0:1179", "[::]:1179"]
bgpgroups:
  - name: MESHRR-MESH
    type: mesh
    source: {sourcetype: dns, hostname: meshrr}
  - name: MESHRR-CLIENTS
    type: subtractive
    prefixes: [0.0.0.0/0, "::/0"]
"#,
        &pod_env(),
    )
    .unwrap();
    assert_eq!(c, from_yaml);

    let c = Config::builtin(&env(&[]));
    assert_eq!(c.router_id, Ipv4Addr::LOCALHOST);
    assert_eq!(c.cluster_id, Ipv4Addr::LOCALHOST);
    assert_eq!(c.pod_ip, None);
    let GroupKind::Subtractive { cluster_id, .. } = &c.groups[1].kind else {
        panic!("subtractive")
    };
    assert_eq!(*cluster_id, Ipv4Addr::LOCALHOST);

    let c = Config::builtin(&env(&[("POD_IP", "fd00::7")]));
    assert_eq!(c.router_id, Ipv4Addr::LOCALHOST);
    assert_eq!(c.pod_ip, Some(ip("fd00::7")));
}

#[test]
fn subtract_v4_single_address() {
    assert_eq!(
        subtract(&nets(&["10.0.0.0/30"]), &[ip("10.0.0.1")]),
        nets(&["10.0.0.0/32", "10.0.0.2/31"])
    );
    assert_eq!(
        subtract(&nets(&["10.0.0.0/24"]), &[ip("10.0.0.0")]),
        nets(&[
            "10.0.0.1/32",
            "10.0.0.2/31",
            "10.0.0.4/30",
            "10.0.0.8/29",
            "10.0.0.16/28",
            "10.0.0.32/27",
            "10.0.0.64/26",
            "10.0.0.128/25"
        ])
    );
    assert_eq!(
        subtract(&nets(&["10.0.0.0/24"]), &[ip("10.0.0.255")]),
        nets(&[
            "10.0.0.0/25",
            "10.0.0.128/26",
            "10.0.0.192/27",
            "10.0.0.224/28",
            "10.0.0.240/29",
            "10.0.0.248/30",
            "10.0.0.252/31",
            "10.0.0.254/32"
        ])
    );
}

#[test]
fn subtract_v6() {
    assert_eq!(
        subtract(&nets(&["fd00::/126"]), &[ip("fd00::2")]),
        nets(&["fd00::/127", "fd00::3/128"])
    );
    // The whole space minus its last address.
    let all = subtract(
        &nets(&["::/0"]),
        &[ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")],
    );
    assert_eq!(all.len(), 128);
    assert_eq!(all[0], net("::/1"));
    assert_eq!(all[127], net("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/128"));
    // And its first.
    let all = subtract(&nets(&["::/0"]), &[ip("::")]);
    assert_eq!(all.len(), 128);
    assert_eq!(all[0], net("::1/128"));
    assert_eq!(all[127], net("8000::/1"));
}

#[test]
fn subtract_exclusion_outside_the_range() {
    let p = nets(&["10.0.0.0/24", "fd00::/64"]);
    assert_eq!(
        subtract(
            &p,
            &[
                ip("10.0.1.0"),
                ip("192.0.2.1"),
                ip("fd00:0:0:1::"),
                ip("::ffff:10.0.0.1")
            ]
        ),
        p
    );
    assert_eq!(subtract(&p, &[]), p);
}

#[test]
fn subtract_everything() {
    assert!(subtract(&nets(&["10.0.0.5/32"]), &[ip("10.0.0.5")]).is_empty());
    assert!(subtract(&nets(&["fd00::5/128"]), &[ip("fd00::5")]).is_empty());
    let all: Vec<IpAddr> = (0..4)
        .map(|i| IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)))
        .collect();
    assert!(subtract(&nets(&["10.0.0.0/30"]), &all).is_empty());
    assert!(subtract(&[], &all).is_empty());
}

#[test]
fn subtract_is_minimal_and_sorted() {
    // Whole IPv4 space minus one address: one block per bit.
    let v4 = subtract(&nets(&["0.0.0.0/0"]), &[ip("10.1.2.3")]);
    assert_eq!(v4.len(), 32);
    // Adjacent and overlapping inputs merge, duplicates vanish, families
    // come out IPv4 first.
    assert_eq!(
        subtract(
            &nets(&[
                "fd00::/64",
                "10.0.0.128/25",
                "10.0.0.0/25",
                "10.0.0.0/26",
                "10.0.0.0/25",
                "fd00:0:0:1::/64"
            ]),
            &[]
        ),
        nets(&["10.0.0.0/24", "fd00::/63"])
    );
    // Host bits in an input are ignored.
    assert_eq!(
        subtract(&[IpNet::new_assert(ip("10.0.0.7"), 30)], &[]),
        nets(&["10.0.0.4/30"])
    );
    // Mixed families and exclusions, overlapping the top of each space.
    assert_eq!(
        subtract(
            &nets(&[
                "255.255.255.252/30",
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffc/126"
            ]),
            &[
                ip("255.255.255.255"),
                ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffc")
            ]
        ),
        nets(&[
            "255.255.255.252/31",
            "255.255.255.254/32",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffd/128",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"
        ])
    );
}

/// Fewest CIDR blocks for a set of addresses inside 10.0.0.0/24, by halving:
/// a block wholly inside the set counts one, one wholly outside none, any
/// other the sum of its halves. Independent of the interval algorithm.
fn min_blocks(set: &[bool; 256], start: usize, size: usize) -> usize {
    let part = &set[start..start + size];
    if part.iter().all(|&b| b) {
        1
    } else if !part.iter().any(|&b| b) {
        0
    } else {
        min_blocks(set, start, size / 2) + min_blocks(set, start + size / 2, size / 2)
    }
}

#[test]
fn subtract_matches_brute_force() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..500 {
        let prefixes: Vec<IpNet> = (0..next() % 5)
            .map(|_| {
                let len = 24 + (next() % 9) as u8;
                let addr = Ipv4Addr::new(10, 0, 0, (next() % 256) as u8);
                IpNet::new_assert(IpAddr::V4(addr), len).trunc()
            })
            .collect();
        let exclude: Vec<IpAddr> = (0..next() % 12)
            .map(|_| {
                IpAddr::V4(Ipv4Addr::new(
                    10,
                    0,
                    (next() % 2) as u8,
                    (next() % 256) as u8,
                ))
            })
            .collect();

        let mut want = [false; 256];
        for p in &prefixes {
            for (i, w) in want.iter_mut().enumerate() {
                *w |= p.contains(&IpAddr::V4(Ipv4Addr::new(10, 0, 0, i as u8)));
            }
        }
        for x in &exclude {
            if let IpAddr::V4(a) = x {
                if a.octets()[..3] == [10, 0, 0] {
                    want[usize::from(a.octets()[3])] = false;
                }
            }
        }

        let got = subtract(&prefixes, &exclude);
        let mut covered = [0u8; 256];
        for p in &got {
            let IpNet::V4(n) = p else { panic!("v4 only") };
            assert_eq!(n.trunc(), *n, "{p} is not a network address");
            for (i, c) in covered.iter_mut().enumerate() {
                if n.contains(&Ipv4Addr::new(10, 0, 0, i as u8)) {
                    *c += 1;
                }
            }
        }
        for i in 0..256 {
            assert_eq!(
                covered[i],
                u8::from(want[i]),
                "10.0.0.{i}: {prefixes:?} - {exclude:?} = {got:?}"
            );
        }
        assert_eq!(
            got.len(),
            min_blocks(&want, 0, 256),
            "{prefixes:?} - {exclude:?} = {got:?}"
        );
        assert!(got.windows(2).all(|w| w[0] < w[1]), "sorted: {got:?}");
    }
}

#[test]
fn upstream_root_password_is_accepted_and_ignored() {
    let c = ok("asn: \"65000\"\nencrypted_root_pw: NOLOGIN\nbgpgroups: []\n");
    assert_eq!(c.asn, 65000);
}

#[test]
fn kubernetes_namespace_defaults_to_the_pods_own() {
    let text = "asn: \"65000\"\nbgpgroups:\n  - name: M\n    type: mesh\n    source: {sourcetype: kubernetes, service: meshrr}\n";
    let c = load(text, &[("POD_IP", "10.1.2.3"), ("POD_NAMESPACE", "meshrr")]).expect("config");
    let GroupKind::Mesh { source, .. } = &c.groups[0].kind else {
        panic!("not a mesh group: {:?}", c.groups[0]);
    };
    assert!(
        matches!(source, Source::Kubernetes { namespace, .. } if namespace == "meshrr"),
        "{source:?}"
    );
}

#[test]
fn listen_and_admin_from_the_environment() {
    let text = "asn: \"65000\"\nlisten: [\"0.0.0.0:179\"]\nbgpgroups: []\n";
    let c = load(
        text,
        &[
            ("POD_IP", "10.1.2.3"),
            ("MESHRR_LISTEN", "10.1.2.3:179, 192.0.2.1:179"),
            ("MESHRR_ADMIN", "10.1.2.3:9179"),
        ],
    )
    .expect("config");
    assert_eq!(c.listen, vec![sa("10.1.2.3:179"), sa("192.0.2.1:179")]);
    assert_eq!(c.admin, sa("10.1.2.3:9179"));
    let e = fields(
        text,
        &[("POD_IP", "10.1.2.3"), ("MESHRR_LISTEN", "10.1.2.3:x")],
    );
    assert_eq!(e, vec!["MESHRR_LISTEN (environment)".to_string()]);
}
