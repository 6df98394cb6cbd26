//! End to end: the 2regions-hrr example, built from the project's own
//! container image (deploy/Dockerfile, built by deploy/build-image.sh) and
//! real routers.
//!
//! Every RR is a container; every router (BIRD 2 and FRR, two per region) is
//! a network namespace plugged into the same Docker bridge, so each has an
//! address of its own. Two Docker networks:
//!
//! - `mesh` (10.231.0.0/24): the pod network. One network alias per RR
//!   group (`core`, `lothlorien`, `mirkwood`): Docker's embedded DNS then
//!   answers like a headless Service, and discovery is all the RRs have.
//! - `fabric` (10.232.0.0/24): where the physical routers live. Each
//!   regional RR also holds its redundancy group's stable service address
//!   here (10.232.0.21/22 in lothlorien, .31/.32 in mirkwood), as the
//!   LoadBalancer IP would in Kubernetes; a replacement RR takes over that
//!   address but gets a new pod address.
//!
//! Asserted on the routers: routes cross the hierarchy with ORIGINATOR_ID
//! and CLUSTER_LIST intact, 65000:101 stays in its region, 65000:102
//! arrives in the other region with local-preference 20; after kill -9 of a
//! regional RR the region keeps every route through the other one, and a
//! replacement with a new address is meshed and peered upstream by
//! discovery alone within two discovery intervals.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::Ipv4Addr,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use meshrr_tests::lab::{must, require, Lab};
use serde_json::Value;

const IMAGE: &str = "meshrr-rr:latest";
const LABEL: &str = "meshrr-e2e";
const MESH_NET: &str = "meshrr-e2e-mesh";
const FABRIC_NET: &str = "meshrr-e2e-fabric";
const FABRIC_BRIDGE: &str = "mre2efabric";
/// Discovery interval of every RR (the meshrr `UPDATE_SECONDS`).
const INTERVAL: u64 = 3;

fn docker(args: &[&str]) -> String {
    String::from_utf8_lossy(&must(Command::new("docker").args(args)).stdout).into_owned()
}

/// Removes this test's containers and networks (also those a crashed
/// earlier run left behind).
fn cleanup() {
    let ids = Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("label={LABEL}")])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if !ids.is_empty() {
        let mut args = vec!["rm", "-f"];
        args.extend(ids);
        let _ = Command::new("docker").args(args).output();
    }
    for n in [MESH_NET, FABRIC_NET] {
        let _ = Command::new("docker").args(["network", "rm", n]).output();
    }
}

/// The containers and networks of one run; removed on drop, after their
/// logs are kept in the lab directory for a failure message.
struct Cluster {
    dir: PathBuf,
    names: Vec<String>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for n in &self.names {
                if let Ok(o) = Command::new("docker")
                    .args(["logs", "--tail", "30", n])
                    .output()
                {
                    eprintln!(
                        "--- docker logs {n}\n{}{}",
                        String::from_utf8_lossy(&o.stdout),
                        String::from_utf8_lossy(&o.stderr)
                    );
                }
            }
        }
        cleanup();
    }
}

impl Cluster {
    /// Starts RR `name` on the mesh network at `pod_ip` with network alias
    /// `group`, and at `service_ip` on the fabric when given.
    fn rr(&mut self, name: &str, pod_ip: &str, group: &str, service_ip: Option<&str>, yaml: &str) {
        let dir = self.dir.join(name);
        std::fs::create_dir_all(&dir).expect("config dir");
        std::fs::write(dir.join("meshrr.yaml"), yaml).expect("config");
        let mount = format!("{}:/etc/meshrr:ro", dir.display());
        let (pod, interval) = (
            format!("POD_IP={pod_ip}"),
            format!("UPDATE_SECONDS={INTERVAL}"),
        );
        docker(&[
            "create",
            "--name",
            name,
            "--label",
            LABEL,
            "--network",
            MESH_NET,
            "--ip",
            pod_ip,
            "--network-alias",
            group,
            "-e",
            &pod,
            "-e",
            &interval,
            "-v",
            &mount,
            // As the Kubernetes manifests run it: no capability but
            // NET_BIND_SERVICE, read-only root, no privilege escalation.
            "--cap-drop",
            "ALL",
            "--cap-add",
            "NET_BIND_SERVICE",
            "--read-only",
            "--security-opt",
            "no-new-privileges",
            IMAGE,
        ]);
        if let Some(ip) = service_ip {
            docker(&["network", "connect", "--ip", ip, FABRIC_NET, name]);
        }
        docker(&["start", name]);
        self.names.push(name.to_string());
    }

    /// `meshrr-rr show WHAT --json` inside container `name`.
    fn show(&self, name: &str, what: &str) -> Value {
        let out = Command::new("docker")
            .args(["exec", name, "/meshrr-rr", "show", what, "--json"])
            .output()
            .expect("docker exec");
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    /// Addresses of the Established peers of `name` in `group`.
    fn established(&self, name: &str, group: &str) -> BTreeSet<String> {
        self.show(name, "neighbors")
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|n| n["group"] == group && n["state"] == "Established")
                    .filter_map(|n| n["address"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn core_config() -> String {
    r#"
asn: "65000"
mode: ipv4rr
listen: ["0.0.0.0:179"]
timers: {hold_time: 9, keepalive: 3, connect_retry: 1}
bgpgroups:
  - name: MESHRR-MESH
    type: mesh
    source: {sourcetype: dns, hostname: core}
  - name: MESHRR-CLIENTS
    type: subtractive
    prefixes: [10.231.0.0/24]
"#
    .to_string()
}

/// The regional config of the example: its own mesh, the routers as
/// clients, two of the core RRs upstream with the export policy.
fn region_config(region: &str) -> String {
    format!(
        r#"
asn: "65000"
mode: ipv4rr
listen: ["0.0.0.0:179"]
timers: {{hold_time: 9, keepalive: 3, connect_retry: 1}}
bgpgroups:
  - name: MESHRR-MESH
    type: mesh
    source: {{sourcetype: dns, hostname: {region}}}
  - name: MESHRR-CLIENTS
    type: subtractive
    prefixes: [10.232.0.0/24]
  - name: MESHRR-UPSTREAM
    type: mesh
    source: {{sourcetype: dns, hostname: core}}
    max_peers: 2
    export: [UPSTREAM-EXPORT]
policies:
  UPSTREAM-EXPORT:
    default: accept
    terms:
      - name: regional-only
        match: {{community: ["65000:101"]}}
        action: reject
      - name: deprefer-elsewhere
        match: {{community: ["65000:102"]}}
        set: {{local_pref: 20}}
        action: next-term
"#
    )
}

/// A physical router of the example.
struct Router {
    name: &'static str,
    region: &'static str,
    addr: Ipv4Addr,
    /// Second octet of the prefixes it originates: 10.N.1.0/24 (no
    /// community), 10.N.101.0/24 (65000:101), 10.N.102.0/24 (65000:102).
    net: u8,
    bird: bool,
}

const ROUTERS: [Router; 4] = [
    Router {
        name: "lbird",
        region: "lothlorien",
        addr: Ipv4Addr::new(10, 232, 0, 101),
        net: 101,
        bird: true,
    },
    Router {
        name: "lfrr",
        region: "lothlorien",
        addr: Ipv4Addr::new(10, 232, 0, 102),
        net: 102,
        bird: false,
    },
    Router {
        name: "mbird",
        region: "mirkwood",
        addr: Ipv4Addr::new(10, 232, 0, 201),
        net: 201,
        bird: true,
    },
    Router {
        name: "mfrr",
        region: "mirkwood",
        addr: Ipv4Addr::new(10, 232, 0, 202),
        net: 202,
        bird: false,
    },
];

/// The service addresses of a region's two RRs.
fn service_ips(region: &str) -> [&'static str; 2] {
    if region == "lothlorien" {
        ["10.232.0.21", "10.232.0.22"]
    } else {
        ["10.232.0.31", "10.232.0.32"]
    }
}

fn own_prefixes(r: &Router) -> [(String, Option<&'static str>); 3] {
    [
        (format!("10.{}.1.0/24", r.net), None),
        (format!("10.{}.101.0/24", r.net), Some("65000:101")),
        (format!("10.{}.102.0/24", r.net), Some("65000:102")),
    ]
}

fn bird_config(r: &Router) -> String {
    let [a, b] = service_ips(r.region);
    let statics: String = own_prefixes(r)
        .iter()
        .map(|(p, c)| match c {
            None => format!("  route {p} blackhole;\n"),
            Some(c) => {
                let (x, y) = c.split_once(':').expect("community");
                format!("  route {p} blackhole {{ bgp_community.add(({x},{y})); }};\n")
            }
        })
        .collect();
    let session = |name: &str, peer: &str| {
        format!(
            "protocol bgp {name} {{ local {} as 65000; neighbor {peer} as 65000;\n  \
             hold time 9; keepalive time 3; connect retry time 2; error wait time 1, 5;\n  \
             ipv4 {{ import all; export where source = RTS_STATIC; }}; }}\n",
            r.addr
        )
    };
    format!(
        "router id {};\nprotocol device {{ }}\nprotocol direct {{ ipv4; interface \"eth0\"; }}\n\
         protocol static mine {{ ipv4;\n{statics}}}\n{}{}",
        r.addr,
        session("rra", a),
        session("rrb", b)
    )
}

fn frr_config(r: &Router) -> String {
    let mut s = format!(
        "frr defaults traditional\nrouter bgp 65000\n bgp router-id {}\n no bgp network import-check\n",
        r.addr
    );
    for ip in service_ips(r.region) {
        s += &format!(" neighbor {ip} remote-as 65000\n neighbor {ip} timers 3 9\n neighbor {ip} timers connect 2\n");
    }
    s += " address-family ipv4 unicast\n";
    for ip in service_ips(r.region) {
        s += &format!("  neighbor {ip} send-community all\n");
    }
    for (p, c) in own_prefixes(r) {
        match c {
            None => s += &format!("  network {p}\n"),
            Some(c) => s += &format!("  network {p} route-map C{}\n", &c[6..]),
        }
    }
    s += " exit-address-family\n";
    for c in ["101", "102"] {
        s += &format!("route-map C{c} permit 10\n set community 65000:{c}\n");
    }
    s
}

/// A best route as a router holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Held {
    local_pref: u32,
    communities: Vec<String>,
    originator: String,
    cluster_list: Vec<String>,
}

/// The BGP routes router `r` holds (best path per prefix), without its own.
fn table(lab: &Lab, r: &Router, ctl: &Path) -> BTreeMap<String, Held> {
    let own: BTreeSet<String> = own_prefixes(r).into_iter().map(|(p, _)| p).collect();
    let mut t = BTreeMap::new();
    if r.bird {
        let out = lab.birdc(r.name, ctl, "show route all primary");
        let mut cur: Option<(String, Held)> = None;
        let mut flush = |cur: &mut Option<(String, Held)>| {
            if let Some((p, h)) = cur.take() {
                if !own.contains(&p) {
                    t.insert(p, h);
                }
            }
        };
        for line in out.lines() {
            if !line.starts_with(char::is_whitespace) && line.contains(" unicast [") {
                flush(&mut cur);
                if !line.contains("[rra ") && !line.contains("[rrb ") {
                    continue;
                }
                let p = line.split_whitespace().next().unwrap_or_default();
                cur = Some((
                    p.to_string(),
                    Held {
                        local_pref: 0,
                        communities: vec![],
                        originator: String::new(),
                        cluster_list: vec![],
                    },
                ));
                continue;
            }
            let Some((_, h)) = cur.as_mut() else { continue };
            let l = line.trim();
            if let Some(v) = l.strip_prefix("BGP.local_pref:") {
                h.local_pref = v.trim().parse().unwrap_or(0);
            } else if let Some(v) = l.strip_prefix("BGP.community:") {
                h.communities = v
                    .split_whitespace()
                    .map(|c| c.trim_matches(|x| x == '(' || x == ')').replace(',', ":"))
                    .collect();
            } else if let Some(v) = l.strip_prefix("BGP.originator_id:") {
                h.originator = v.trim().to_string();
            } else if let Some(v) = l.strip_prefix("BGP.cluster_list:") {
                h.cluster_list = v.split_whitespace().map(str::to_string).collect();
            }
        }
        flush(&mut cur);
    } else {
        let all: Value =
            serde_json::from_str(&lab.vtysh(r.name, ctl, &["show bgp ipv4 unicast json"]))
                .unwrap_or(Value::Null);
        let prefixes: Vec<String> = all["routes"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        for p in prefixes.into_iter().filter(|p| !own.contains(p)) {
            let d: Value = serde_json::from_str(&lab.vtysh(
                r.name,
                ctl,
                &[&format!("show bgp ipv4 unicast {p} json")],
            ))
            .unwrap_or(Value::Null);
            let Some(best) = d["paths"]
                .as_array()
                .and_then(|a| a.iter().find(|x| x["bestpath"]["overall"] == true))
            else {
                continue;
            };
            let s = |v: &Value| v.as_str().map(str::to_string).unwrap_or_default();
            t.insert(
                p,
                Held {
                    local_pref: best["locPrf"].as_u64().unwrap_or(0) as u32,
                    communities: best["community"]["string"]
                        .as_str()
                        .map(|c| c.split_whitespace().map(str::to_string).collect())
                        .unwrap_or_default(),
                    originator: s(&best["originatorId"]),
                    cluster_list: best["clusterList"]["list"]
                        .as_array()
                        .map(|a| a.iter().map(s).collect())
                        .unwrap_or_default(),
                },
            );
        }
    }
    t
}

/// What router `r` must hold: every other router's prefixes, minus the
/// other region's 65000:101, with local-preference 20 on the other
/// region's 65000:102. The cluster list is checked apart (which RR of a
/// group carried a route is the decision process's choice).
fn expected(r: &Router) -> BTreeMap<String, (u32, Vec<String>, String)> {
    let mut t = BTreeMap::new();
    for o in ROUTERS.iter().filter(|o| o.name != r.name) {
        let same = o.region == r.region;
        for (p, c) in own_prefixes(o) {
            if !same && c == Some("65000:101") {
                continue;
            }
            let lp = if !same && c == Some("65000:102") {
                20
            } else {
                100
            };
            let comms = c.map(|c| vec![c.to_string()]).unwrap_or_default();
            t.insert(p, (lp, comms, o.addr.to_string()));
        }
    }
    t
}

/// Checks one router's table against [`expected`] and the hierarchy:
/// a route from the own region went through one of its RRs (one cluster
/// id), a route from the other region through the other region's RR, a
/// core RR and one of this region's RRs (three, newest first).
fn check(
    r: &Router,
    t: &BTreeMap<String, Held>,
    clusters: &BTreeMap<&str, BTreeSet<String>>,
) -> Result<(), String> {
    let want = expected(r);
    let got: BTreeMap<String, (u32, Vec<String>, String)> = t
        .iter()
        .map(|(p, h)| {
            (
                p.clone(),
                (h.local_pref, h.communities.clone(), h.originator.clone()),
            )
        })
        .collect();
    if got != want {
        return Err(format!("{}: table\n got {got:?}\nwant {want:?}", r.name));
    }
    for (p, h) in t {
        let from = ROUTERS
            .iter()
            .find(|o| o.addr.to_string() == h.originator)
            .ok_or_else(|| format!("{}: {p} from unknown originator", r.name))?;
        let path: Vec<&str> = if from.region == r.region {
            vec![r.region]
        } else {
            vec![r.region, "core", from.region]
        };
        let ok = h.cluster_list.len() == path.len()
            && h.cluster_list
                .iter()
                .zip(&path)
                .all(|(id, g)| clusters[g].contains(id));
        if !ok {
            return Err(format!(
                "{}: {p} CLUSTER_LIST {:?} is not a path {path:?} ({clusters:?})",
                r.name, h.cluster_list
            ));
        }
    }
    Ok(())
}

/// The router's own view of its sessions, for failure messages.
fn sessions(lab: &Lab, r: &Router, ctl: &Path) -> String {
    if r.bird {
        lab.birdc(r.name, ctl, "show protocols")
    } else {
        lab.vtysh(r.name, ctl, &["show bgp summary"])
    }
}

/// State of lothlorien FRR's session to the service address 10.232.0.21.
fn frr_state(lab: &Lab, vty: &Path) -> String {
    let v: Value =
        serde_json::from_str(&lab.vtysh("lfrr", vty, &["show bgp neighbors 10.232.0.21 json"]))
            .unwrap_or(Value::Null);
    v["10.232.0.21"]["bgpState"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn pod_ips(names: &[(&str, &str)]) -> BTreeSet<String> {
    names.iter().map(|(_, ip)| ip.to_string()).collect()
}

#[test]
fn two_regions_hrr_from_the_image() {
    require("docker");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // The image, from deploy/build-image.sh (scripts/test.sh has built it
    // already; then this is quick).
    // Without cargo's test environment, which would make that inner cargo
    // rebuild everything from scratch.
    let mut build = Command::new(root.join("deploy/build-image.sh"));
    build.env_clear();
    for k in ["PATH", "HOME", "USER", "TMPDIR"] {
        if let Some(v) = std::env::var_os(k) {
            build.env(k, v);
        }
    }
    let st = build.arg(IMAGE).status().expect("deploy/build-image.sh");
    assert!(st.success(), "deploy/build-image.sh failed");
    let size: u64 = docker(&["image", "inspect", "-f", "{{.Size}}", IMAGE])
        .trim()
        .parse()
        .expect("size");
    assert!(size <= 15 << 20, "image is {size} bytes, over 15 MiB");
    let user = docker(&["image", "inspect", "-f", "{{.Config.User}}", IMAGE]);
    assert_eq!(user.trim(), "65532:65532", "the image runs as non-root");

    cleanup();
    docker(&[
        "network",
        "create",
        "--subnet",
        "10.231.0.0/24",
        "--label",
        LABEL,
        MESH_NET,
    ]);
    docker(&[
        "network",
        "create",
        "--subnet",
        "10.232.0.0/24",
        "--label",
        LABEL,
        "-o",
        &format!("com.docker.network.bridge.name={FABRIC_BRIDGE}"),
        FABRIC_NET,
    ]);
    let mut lab = Lab::new(231, &[]);
    let mut c = Cluster {
        dir: lab.dir.join("rr"),
        names: vec![],
    };

    let cores = [
        ("core-0", "10.231.0.11"),
        ("core-1", "10.231.0.12"),
        ("core-2", "10.231.0.13"),
    ];
    for (n, ip) in cores {
        c.rr(n, ip, "core", None, &core_config());
    }
    let mut loth = vec![("loth-a", "10.231.0.21"), ("loth-b", "10.231.0.22")];
    let mirk = [("mirk-a", "10.231.0.31"), ("mirk-b", "10.231.0.32")];
    for ((n, ip), svc) in loth.iter().zip(service_ips("lothlorien")) {
        c.rr(n, ip, "lothlorien", Some(svc), &region_config("lothlorien"));
    }
    for ((n, ip), svc) in mirk.iter().zip(service_ips("mirkwood")) {
        c.rr(n, ip, "mirkwood", Some(svc), &region_config("mirkwood"));
    }

    let mut ctl = BTreeMap::new();
    for r in &ROUTERS {
        lab.attach(r.name, FABRIC_BRIDGE, r.addr, 24);
        let h = if r.bird {
            lab.bird(r.name, &bird_config(r))
        } else {
            lab.frr(r.name, &frr_config(r))
        };
        ctl.insert(r.name, h);
    }

    let clusters = |loth: &[(&str, &str)]| -> BTreeMap<&'static str, BTreeSet<String>> {
        BTreeMap::from([
            ("core", pod_ips(&cores)),
            ("lothlorien", pod_ips(loth)),
            ("mirkwood", pod_ips(&mirk)),
        ])
    };
    let converged = |lab: &Lab, loth: &[(&str, &str)], what: &str, secs: u64| {
        let cl = clusters(loth);
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let r: Result<(), String> = ROUTERS
                .iter()
                .try_for_each(|r| check(r, &table(lab, r, &ctl[r.name]), &cl));
            let Err(last) = r else { return };
            if Instant::now() >= deadline {
                let status: String = ROUTERS
                    .iter()
                    .map(|r| {
                        format!(
                            "--- {} sessions\n{}\n",
                            r.name,
                            sessions(lab, r, &ctl[r.name])
                        )
                    })
                    .collect();
                panic!(
                    "{what}: routers did not converge in {secs}s: {last}\n{status}{}",
                    lab.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    };

    // 1. The hierarchy forms by discovery, and every router's table is
    // exactly the expected one.
    converged(&lab, &loth, "initial", 90);
    for (n, _) in cores {
        let routes = c.show(n, "routes").to_string();
        for r in &ROUTERS {
            assert!(
                !routes.contains(&format!("10.{}.101.0/24", r.net)),
                "a 65000:101 route reached {n}"
            );
        }
    }

    // 2. kill -9 one regional RR: the region keeps every route through the
    // other one (routers' sessions to the dead RR time out first).
    docker(&["kill", "-s", "KILL", "loth-a"]);
    lab.wait(30, "lothlorien routers notice the dead RR", || {
        let bird = lab.birdc("lbird", &ctl["lbird"], "show protocols rra");
        (!bird.contains("Established") && frr_state(&lab, &ctl["lfrr"]) != "Established")
            .then_some(())
    });
    loth.retain(|(n, _)| *n != "loth-a");
    converged(&lab, &loth, "after kill -9 of loth-a", 30);

    // 3. A replacement with a new pod address takes the service address.
    docker(&["rm", "-f", "loth-a"]);
    let started = Instant::now();
    c.rr(
        "loth-a2",
        "10.231.0.41",
        "lothlorien",
        Some("10.232.0.21"),
        &region_config("lothlorien"),
    );
    let limit = Duration::from_secs(2 * INTERVAL + 3);
    let meshed = lab.wait(60, "loth-b meshes with the replacement", || {
        c.established("loth-b", "MESHRR-MESH")
            .contains("10.231.0.41")
            .then(|| started.elapsed())
    });
    let upstream = lab.wait(60, "the replacement peers with two core RRs", || {
        (c.established("loth-a2", "MESHRR-UPSTREAM").len() == 2).then(|| started.elapsed())
    });
    eprintln!("replacement: mesh in {meshed:?}, upstream in {upstream:?} (limit {limit:?})");
    assert!(
        meshed <= limit && upstream <= limit,
        "sessions re-formed in {meshed:?}/{upstream:?}, over two discovery intervals ({limit:?})"
    );
    loth.push(("loth-a2", "10.231.0.41"));
    lab.wait(30, "routers re-peer with the service address", || {
        let bird = lab.birdc("lbird", &ctl["lbird"], "show protocols rra");
        (bird.contains("Established") && frr_state(&lab, &ctl["lfrr"]) == "Established")
            .then_some(())
    });
    converged(&lab, &loth, "after the replacement", 30);
    // The replacement itself carries the region's routes upstream.
    let routes = c.show("loth-a2", "routes").to_string();
    assert!(
        routes.contains("10.101.1.0/24"),
        "replacement has no routes: {routes}"
    );

    // 4. SIGTERM (docker stop): a clean exit after telling the routers.
    docker(&["stop", "-t", "20", "loth-b"]);
    let code = docker(&["inspect", "-f", "{{.State.ExitCode}}", "loth-b"]);
    assert_eq!(code.trim(), "0", "exit status after SIGTERM");
    lab.wait(10, "BIRD reports the administrative shutdown", || {
        lab.birdc("lbird", &ctl["lbird"], "show protocols all rrb")
            .contains("Administrative shutdown")
            .then_some(())
    });
    drop(c);
}
