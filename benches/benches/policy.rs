//! Policy benchmarks: a realistic 10-term export policy (prefix lists,
//! communities, AS_PATH length, one AS_PATH regular expression late in
//! the chain) over 1M IPv4 paths shaped like a full table (50k distinct
//! attribute sets from `table_updates`: typical reflected attributes,
//! public-table prefix lengths).
//!
//! Variants, to see what the time goes to:
//! - `export_10_terms`: the whole policy;
//! - `export_9_terms_no_regex`: the same without the regex term;
//! - `regex_only`: a chain of just the regex term;
//! - `empty_chain`: `Chain::accept_all()`, the loop and route building.
//!
//! Run: `cargo bench -p meshrr-benches --bench policy`.

use std::{
    hint::black_box,
    net::{IpAddr, Ipv4Addr},
};

use bgp_wire::Update;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use meshrr_benches::table_updates;
use policy::{Chain, EvalCtx, Outcome, Policies, Route, Source};

const PATHS: usize = 1_000_000;

const BOGONS: &str = r#"["0.0.0.0/8 orlonger", "10.0.0.0/8 orlonger", "100.64.0.0/10 orlonger",
    "127.0.0.0/8 orlonger", "169.254.0.0/16 orlonger", "172.16.0.0/12 orlonger",
    "192.0.2.0/24 orlonger", "192.168.0.0/16 orlonger", "198.18.0.0/15 orlonger",
    "198.51.100.0/24 orlonger", "203.0.113.0/24 orlonger", "224.0.0.0/3 orlonger"]"#;

/// The export policy; `regex` false leaves out the AS_PATH regex term.
fn policy_text(regex: bool) -> String {
    let regex_term = if regex {
        r#"
    - name: bad-transit
      match: {as_path: ["(^| )(6451[2-9]|64666)( |$)"]}
      action: reject"#
    } else {
        ""
    };
    format!(
        r#"
EXPORT:
  default: accept
  terms:
    - name: bogons
      match: {{prefix: {BOGONS}}}
      action: reject
    - name: too-specific
      match: {{prefix: ["0.0.0.0/0 ge 25 le 32", "::/0 ge 65 le 128"]}}
      action: reject
    - name: blackhole
      match: {{community: ["65000:666", "blackhole"]}}
      action: reject
    - name: regional-only
      match: {{community: ["65000:101"]}}
      action: reject
    - name: deprefer
      match: {{community: ["65000:102", "65000:103"]}}
      set: {{local_pref: 20}}
      action: next-term
    - name: peer-only
      match: {{community: ["65001:*", "*:65281"]}}
      action: reject
    - name: long-paths
      match: {{as_path_length: {{gt: 8}}}}
      action: reject
    - name: customers
      match: {{community: ["65000:200"], as_path_length: {{le: 2}}}}
      set: {{local_pref: 200}}
      action: accept{regex_term}
    - name: rest
      match: {{family: ipv4-unicast}}
      action: accept
REGEX:
  terms:{regex_term}
"#
    )
}

fn chain(regex: bool, names: &[&str]) -> Chain {
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&policy_text(regex)).expect("yaml");
    let p = Policies::from_yaml(&v).expect("policy");
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    p.chain(&names).expect("chain")
}

const CTX: EvalCtx = EvalCtx {
    local_as: 65000,
    local_addr: None,
};
const NEIGHBOR: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 77));

/// Evaluates `chain` on every path; returns (accepted, modified, rejected).
fn run(chain: &Chain, updates: &[Update]) -> (usize, usize, usize) {
    let (mut acc, mut modi, mut rej) = (0, 0, 0);
    for u in updates {
        let next_hop = IpAddr::V4(u.attrs.next_hop().unwrap_or(Ipv4Addr::UNSPECIFIED));
        for n in &u.nlri {
            let route = Route {
                prefix: n.prefix,
                next_hop,
                attrs: &u.attrs,
                neighbor: NEIGHBOR,
                group: "MESHRR-CLIENTS",
                source: Source::Client,
            };
            match black_box(chain.eval(black_box(&route), &CTX)) {
                Outcome::Accept => acc += 1,
                Outcome::Modified { .. } => modi += 1,
                Outcome::Reject => rej += 1,
            }
        }
    }
    (acc, modi, rej)
}

fn export(c: &mut Criterion) {
    let updates = table_updates(PATHS, 50_000, 7);
    let variants = [
        ("export_10_terms", chain(true, &["EXPORT"])),
        ("export_9_terms_no_regex", chain(false, &["EXPORT"])),
        ("regex_only", chain(true, &["REGEX"])),
        ("empty_chain", Chain::accept_all()),
    ];
    for (name, ch) in &variants {
        let (a, m, r) = run(ch, &updates);
        eprintln!("policy {name}: {a} accepted unchanged, {m} modified, {r} rejected");
    }
    let mut g = c.benchmark_group("policy");
    g.sample_size(10);
    g.throughput(Throughput::Elements(PATHS as u64));
    for (name, ch) in &variants {
        g.bench_function(*name, |b| b.iter(|| run(ch, &updates)));
    }
    g.finish();
}

criterion_group!(benches, export);
criterion_main!(benches);
