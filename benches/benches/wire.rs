//! bgp-wire decode and encode of realistic UPDATEs:
//! (a) IPv4, typical attributes, 1 prefix per UPDATE;
//! (b) the same attributes with ~500 IPv4 prefixes in one UPDATE;
//! (c) IPv6 MP_REACH_NLRI with many prefixes.
//!
//! Run: `cargo bench -p meshrr-benches --bench wire`. Throughput is in
//! prefixes (elements); bytes per message are printed once per workload.

use std::hint::black_box;

use bgp_wire::{encode_reach, Context, Family, Message, Reach};
use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use meshrr_benches::{ipv4_packed, ipv4_single, ipv6_packed, Workload};

fn describe(name: &str, w: &Workload) {
    eprintln!(
        "{name}: {} messages, {} prefixes, {} bytes ({:.1} bytes/prefix)",
        w.frames.len(),
        w.prefixes,
        w.bytes.len(),
        w.bytes.len() as f64 / w.prefixes as f64
    );
}

fn decode_all(w: &Workload, ctx: &Context) -> usize {
    let mut n = 0;
    for &(at, len) in &w.frames {
        let d = Message::decode(black_box(&w.bytes[at..at + len]), ctx).expect("valid");
        if let Message::Update(u) = d.message {
            n += u.nlri.len() + u.attrs.mp_reach().map_or(0, |m| m.nlri.len());
        }
    }
    n
}

fn decode(c: &mut Criterion) {
    let ctx = Context::ibgp_4octet();
    let a = ipv4_single(1000, &ctx);
    let b = ipv4_packed(500, &ctx);
    let c6 = ipv6_packed(400, &ctx);
    describe("a ipv4 1 prefix/update", &a);
    describe("b ipv4 500 prefixes/update", &b);
    describe("c ipv6 mp_reach", &c6);
    let mut g = c.benchmark_group("decode");
    for (name, w) in [
        ("a_ipv4_single", &a),
        ("b_ipv4_500", &b),
        ("c_ipv6_mp", &c6),
    ] {
        g.throughput(Throughput::Elements(w.prefixes as u64));
        g.bench_function(name, |bench| {
            bench.iter(|| assert_eq!(decode_all(w, &ctx), w.prefixes))
        });
    }
    g.finish();
}

fn encode(c: &mut Criterion) {
    let ctx = Context::ibgp_4octet();
    let mut g = c.benchmark_group("encode");
    // Decode once; encode the typed messages back.
    let decoded = |w: &Workload| -> Vec<Message> {
        w.frames
            .iter()
            .map(|&(at, len)| {
                Message::decode(&w.bytes[at..at + len], &ctx)
                    .expect("valid")
                    .message
            })
            .collect()
    };
    let a = ipv4_single(1000, &ctx);
    let a_msgs = decoded(&a);
    let mut out = BytesMut::with_capacity(a.bytes.len());
    g.throughput(Throughput::Elements(a.prefixes as u64));
    g.bench_function("a_ipv4_single", |bench| {
        bench.iter(|| {
            out.clear();
            for m in &a_msgs {
                m.encode(&ctx, &mut out).expect("fits");
            }
            assert_eq!(out.len(), a.bytes.len());
        })
    });
    // (b) and (c) through the splitting encoder, as the reflector uses it:
    // attributes once, NLRI packed to the message size.
    for (name, w) in [
        ("b_ipv4_500", ipv4_packed(500, &ctx)),
        ("c_ipv6_mp", ipv6_packed(400, &ctx)),
    ] {
        let Message::Update(u) = &decoded(&w)[0] else {
            unreachable!("an UPDATE")
        };
        let attrs = u.attrs.clone();
        let all: Vec<_> = decoded(&w)
            .into_iter()
            .flat_map(|m| match m {
                Message::Update(u) => {
                    let mp = u
                        .attrs
                        .mp_reach()
                        .map(|m| m.nlri.clone())
                        .unwrap_or_default();
                    u.nlri.into_iter().chain(mp).collect::<Vec<_>>()
                }
                _ => Vec::new(),
            })
            .collect();
        let reach = match u.attrs.mp_reach() {
            Some(mp) => Reach::Mp {
                family: Family::IPV6_UNICAST,
                next_hop: mp.next_hop,
                nlri: &all,
            },
            None => Reach::Ipv4(&all),
        };
        let mut out = BytesMut::with_capacity(w.bytes.len());
        g.throughput(Throughput::Elements(w.prefixes as u64));
        g.bench_function(name, |bench| {
            bench.iter(|| {
                out.clear();
                encode_reach(&ctx, &attrs, reach, &mut out).expect("fits");
                assert_eq!(out.len(), w.bytes.len());
            })
        });
    }
    g.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
