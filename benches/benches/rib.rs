//! RIB benchmarks:
//! - insert 1M IPv4 paths from one peer (~50k distinct attribute sets);
//! - 10 peers x 100k overlapping prefixes, then one full peer goes down;
//! - change-set generation for 10 update groups.
//!
//! Bytes per stored path are measured with a counting allocator (live
//! bytes after the load minus before) and printed once.
//!
//! Run: `cargo bench -p meshrr-benches --bench rib`.
// The counting allocator forwards to the system allocator.
#![allow(unsafe_code)]

use std::{
    alloc::{GlobalAlloc, Layout, System},
    hint::black_box,
    net::{IpAddr, Ipv4Addr},
    sync::atomic::{AtomicUsize, Ordering::Relaxed},
};

use bgp_wire::{Context, Update};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use meshrr_benches::table_updates;
use rib::{Input, PeerConfig, PeerId, Rib, RibConfig, Role};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Relaxed);
        ALLOCS.fetch_add(1, Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new, Relaxed);
        LIVE.fetch_sub(l.size(), Relaxed);
        ALLOCS.fetch_add(1, Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn cfg() -> RibConfig {
    RibConfig {
        router_id: Ipv4Addr::new(10, 0, 0, 1),
        local_as: 65000,
        cluster_ids: vec![],
        always_compare_med: false,
    }
}

fn client(n: u32, policy: Option<&str>) -> PeerConfig {
    let addr = Ipv4Addr::from(0x0a00_0100 + n);
    PeerConfig {
        addr: IpAddr::V4(addr),
        router_id: addr,
        asn: 65000,
        role: Role::Client {
            group: "clients".into(),
            cluster_id: Ipv4Addr::new(10, 0, 0, 1),
            client_to_client: true,
        },
        export_policy: policy.map(str::to_string),
        import_policy: None,
        group: String::new(),
        send: Context::ibgp_4octet(),
    }
}

fn up(rib: &mut Rib, n: u32, policy: Option<&str>) {
    rib.handle(Input::PeerUp {
        peer: PeerId(n),
        config: client(n, policy),
    })
    .expect("peer up");
}

fn load(rib: &mut Rib, peer: u32, updates: &[Update]) {
    for u in updates {
        let input = Input::Update {
            peer: PeerId(peer),
            update: u.clone(),
            treat_as_withdraw: false,
        };
        rib.handle(input).expect("update");
    }
}

/// Live bytes and allocations of a RIB holding 1M paths from one peer.
fn report_memory(updates: &[Update]) {
    let before = LIVE.load(Relaxed);
    let mut rib = Rib::new(cfg());
    up(&mut rib, 1, None);
    let inputs: Vec<Input> = updates
        .iter()
        .map(|u| Input::Update {
            peer: PeerId(1),
            update: u.clone(),
            treat_as_withdraw: false,
        })
        .collect();
    let allocs = ALLOCS.load(Relaxed);
    for i in inputs {
        rib.handle(i).expect("update");
    }
    let load_allocs = ALLOCS.load(Relaxed) - allocs;
    // Serve the group so pending sets are empty, as in steady state.
    for g in rib.group_ids() {
        black_box(rib.take_changes(g, usize::MAX));
    }
    let bytes = LIVE.load(Relaxed) - before;
    let paths = rib.path_count();
    eprintln!(
        "rib memory: {paths} paths, {} attribute sets, {bytes} live bytes = {:.1} bytes/path; \
         {load_allocs} allocations while handling the {} UPDATEs",
        rib.store().len(),
        bytes as f64 / paths as f64,
        updates.len()
    );
    drop(rib);
}

fn insert(c: &mut Criterion) {
    let updates = table_updates(1_000_000, 50_000, 7);
    report_memory(&updates);
    let mut g = c.benchmark_group("rib");
    g.sample_size(10);
    g.throughput(Throughput::Elements(1_000_000));
    g.bench_function("insert_1m_paths_one_peer", |b| {
        b.iter_batched(
            || {
                let mut rib = Rib::new(cfg());
                up(&mut rib, 1, None);
                (rib, updates.clone())
            },
            |(mut rib, updates)| {
                for u in updates {
                    let input = Input::Update {
                        peer: PeerId(1),
                        update: u,
                        treat_as_withdraw: false,
                    };
                    rib.handle(input).expect("update");
                }
                rib
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn churn(c: &mut Criterion) {
    // 10 peers, the same 100k prefixes each, each with its own attributes.
    let tables: Vec<Vec<Update>> = (0..10).map(|_| table_updates(100_000, 5_000, 11)).collect();
    let tables: Vec<Vec<Update>> = tables
        .into_iter()
        .enumerate()
        .map(|(p, t)| {
            t.into_iter()
                .map(|mut u| {
                    u.attrs.set(bgp_wire::Attr::MultiExitDisc(p as u32));
                    u
                })
                .collect()
        })
        .collect();
    let build = || {
        let mut rib = Rib::new(cfg());
        for p in 1..=10 {
            up(&mut rib, p, None);
        }
        for (p, t) in tables.iter().enumerate() {
            load(&mut rib, p as u32 + 1, t);
        }
        for g in rib.group_ids() {
            rib.take_changes(g, usize::MAX);
        }
        rib
    };
    let mut g = c.benchmark_group("rib");
    g.sample_size(10);
    g.throughput(Throughput::Elements(100_000));
    // Peer 1 has the lowest router id, so it holds every best path.
    g.bench_function("peer_down_10x100k_best_peer", |b| {
        b.iter_batched(
            build,
            |mut rib| {
                rib.handle(Input::PeerDown { peer: PeerId(1) })
                    .expect("down");
                rib
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn changes(c: &mut Criterion) {
    // One non-client source, ten client update groups (ten export
    // policies), 100k prefixes pending in each.
    let updates = table_updates(100_000, 5_000, 13);
    let build = || {
        let mut rib = Rib::new(cfg());
        let source = PeerConfig {
            role: Role::NonClient,
            ..client(1, None)
        };
        rib.handle(Input::PeerUp {
            peer: PeerId(1),
            config: source,
        })
        .expect("peer up");
        for n in 2..=11 {
            up(&mut rib, n, Some(&format!("policy-{n}")));
        }
        load(&mut rib, 1, &updates);
        rib
    };
    let mut g = c.benchmark_group("rib");
    g.sample_size(10);
    g.throughput(Throughput::Elements(10 * 100_000));
    g.bench_function("change_sets_10_groups_100k", |b| {
        b.iter_batched(
            build,
            |mut rib| {
                let mut n = 0;
                for grp in rib.group_ids() {
                    for cs in rib.take_changes(grp, usize::MAX) {
                        n += cs.len();
                    }
                }
                assert_eq!(n, 10 * 100_000);
                rib
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, insert, churn, changes);
criterion_main!(benches);
