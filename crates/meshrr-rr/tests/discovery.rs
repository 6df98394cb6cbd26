//! DNS discovery against a real DNS server (dnsmasq, answering like a
//! Kubernetes headless Service): three meshrr-rr instances find each other
//! and form a full mesh; one dies and is replaced by an instance with a new
//! address; the others follow within two discovery intervals, with no
//! restart and no route lost for the clients of the survivors; a failed
//! lookup keeps the last known peers.

use std::{
    fs,
    time::{Duration, Instant},
};

use meshrr_tests::lab::{require, Lab};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_meshrr-rr");
/// `update_seconds` of every instance.
const INTERVAL: u64 = 1;

fn show(lab: &Lab, host: &str, what: &[&str]) -> Value {
    lab.show(BIN, host, what)
}

/// Addresses of the Established mesh peers of `host`.
fn mesh_peers(lab: &Lab, host: &str) -> Vec<String> {
    let mut v: Vec<String> = show(lab, host, &["neighbors"])
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|n| n["group"] == "MESHRR-MESH" && n["state"] == "Established")
                .filter_map(|n| n["address"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn rr_config() -> String {
    format!(
        r#"
asn: "65000"
mode: ipv4rr
update_seconds: {INTERVAL}
admin: "127.0.0.1:9179"
timers: {{hold_time: 9, keepalive: 3, connect_retry: 1}}
bgpgroups:
  - name: MESHRR-MESH
    type: mesh
    source: {{sourcetype: dns, hostname: meshrr}}
  - name: MESHRR-CLIENTS
    type: subtractive
    prefixes: [10.254.0.0/24]
"#
    )
}

fn start_rr(lab: &mut Lab, host: &str) {
    let pod_ip = lab.host(host).v4.to_string();
    lab.meshrr(BIN, host, &rr_config(), &[("POD_IP", &pod_ip)]);
}

fn hosts_file(lab: &Lab, rrs: &[&str]) -> String {
    let mut s = String::new();
    for r in rrs {
        let h = lab.host(r);
        s += &format!(
            "{} meshrr.default.svc.cluster.local\n{} meshrr.default.svc.cluster.local\n",
            h.v4, h.v6
        );
    }
    s
}

#[test]
fn dns_mesh_forms_and_heals() {
    require("dnsmasq");
    let mut lab = Lab::new(254, &["dns", "rr1", "rr2", "rr3", "rr4", "bird", "frr"]);
    let hosts = lab.dir.join("k8s.hosts");
    fs::write(&hosts, hosts_file(&lab, &["rr1", "rr2", "rr3"])).expect("hosts");
    let pid = lab.dir.join("dnsmasq.pid");
    let dns_ip = lab.host("dns").v4.to_string();
    lab.spawn(
        "dns",
        "dnsmasq",
        "dnsmasq",
        &[
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--no-poll",
            "--bind-interfaces",
            &format!("--listen-address={dns_ip}"),
            "--port=53",
            &format!("--addn-hosts={}", hosts.display()),
            "--local=/cluster.local/",
            "--local-ttl=1",
            &format!("--pid-file={}", pid.display()),
            "--user=root",
            "--group=root",
            "--log-queries",
        ],
    );
    let resolv = format!("nameserver {dns_ip}\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n");
    for rr in ["rr1", "rr2", "rr3", "rr4"] {
        lab.resolv_conf(rr, &resolv);
    }
    for rr in ["rr1", "rr2", "rr3"] {
        start_rr(&mut lab, rr);
    }
    // Full mesh over IPv4 and IPv6: every instance has 4 mesh sessions.
    let ip = |h: &str, lab: &Lab| (lab.host(h).v4.to_string(), lab.host(h).v6.to_string());
    lab.wait(30, "the DNS-discovered full mesh", || {
        ["rr1", "rr2", "rr3"]
            .iter()
            .all(|r| mesh_peers(&lab, r).len() == 4)
            .then_some(())
    });
    let (r2v4, r2v6) = ip("rr2", &lab);
    let (r3v4, _) = ip("rr3", &lab);
    let peers1 = mesh_peers(&lab, "rr1");
    assert!(
        peers1.contains(&r2v4) && peers1.contains(&r2v6) && peers1.contains(&r3v4),
        "{peers1:?}"
    );

    // Clients: BIRD at rr1, FRR at rr2; BIRD's route reaches FRR over the mesh.
    let _bird = lab.bird(
        "bird",
        r#"
router id 10.254.0.6;
protocol device { }
protocol direct { ipv4; interface "eth0"; }
protocol static s4 { ipv4; route 10.99.1.0/24 blackhole; }
protocol bgp up { local 10.254.0.6 as 65000; neighbor 10.254.0.2 as 65000; hold time 9;
  ipv4 { import all; export all; }; }
"#,
    );
    let frr = lab.frr(
        "frr",
        "frr defaults traditional
router bgp 65000
 bgp router-id 10.254.0.7
 no bgp network import-check
 neighbor 10.254.0.3 remote-as 65000
 neighbor 10.254.0.3 timers 3 9
",
    );
    let at_frr = |lab: &Lab| {
        lab.vtysh("frr", &frr, &["show bgp ipv4 unicast 10.99.1.0/24 json"])
            .contains("\"paths\"")
    };
    lab.wait(30, "BIRD's route at FRR", || at_frr(&lab).then_some(()));

    // rr3 dies; a new instance rr4 with a new address takes its place in DNS.
    lab.stop("meshrr-rr3");
    fs::write(&hosts, hosts_file(&lab, &["rr1", "rr2", "rr4"])).expect("hosts");
    let _ = std::process::Command::new("kill")
        .arg("-HUP")
        .arg(fs::read_to_string(&pid).expect("dnsmasq pid").trim())
        .status();
    start_rr(&mut lab, "rr4");
    let (r4v4, r4v6) = ip("rr4", &lab);
    let t0 = Instant::now();
    let mut lost = false;
    let expect1 = {
        let mut v = vec![r2v4.clone(), r2v6.clone(), r4v4.clone(), r4v6.clone()];
        v.sort();
        v
    };
    lab.wait(30, "rr1 and rr2 meshing with rr4 instead of rr3", || {
        lost |= !at_frr(&lab);
        (mesh_peers(&lab, "rr1") == expect1 && mesh_peers(&lab, "rr2").len() == 4).then_some(())
    });
    let took = t0.elapsed();
    assert!(!lost, "FRR lost BIRD's route while the mesh healed");
    // Discovery noticed within two intervals; allow the sessions a few
    // seconds on top to come up.
    assert!(
        took < Duration::from_secs(2 * INTERVAL + 5),
        "healing took {took:?}"
    );
    let groups = show(&lab, "rr1", &["groups"]);
    let g = &groups["groups"][0]["detail"]["discovery"];
    assert!(
        g["removed"].as_u64().unwrap_or(0) >= 2 && g["added"].as_u64().unwrap_or(0) >= 6,
        "{groups:#}"
    );
    let mesh = &groups["groups"][0];
    assert!(
        !mesh["members"].to_string().contains(&r3v4),
        "rr3 still a member: {groups:#}"
    );
    assert!(
        !g["members"].to_string().contains(&r3v4),
        "rr3 still selected: {groups:#}"
    );
    // rr1's client range excludes every mesh peer.
    let allowed = groups["groups"][1]["detail"]["allowed"].to_string();
    assert!(!allowed.contains(&format!("\"{r2v4}/32\"")), "{allowed}");

    // The DNS name disappears (NXDOMAIN): the last known peers stay.
    fs::write(&hosts, "").expect("hosts");
    let _ = std::process::Command::new("kill")
        .arg("-HUP")
        .arg(fs::read_to_string(&pid).expect("dnsmasq pid").trim())
        .status();
    std::thread::sleep(Duration::from_secs(3 * INTERVAL + 1));
    assert_eq!(
        mesh_peers(&lab, "rr1"),
        expect1,
        "peers dropped on a failed lookup"
    );
    let metrics = lab.admin_get("rr1", "/metrics");
    let errors: u64 = metrics
        .lines()
        .find(|l| l.starts_with("meshrr_discovery_errors_total{group=\"MESHRR-MESH\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(errors >= 2, "failed lookups not counted:\n{metrics}");
    assert!(at_frr(&lab), "route lost after the failed lookups");
}
