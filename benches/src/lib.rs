//! Workload generators shared by the benchmarks: UPDATEs shaped like the
//! public Internet tables, built deterministically (no RNG crate, same
//! bytes every run).

use std::net::{Ipv4Addr, Ipv6Addr};

use bgp_wire::{
    attr::{AsPath, Community, NextHop, Origin},
    encode_reach, Attr, Context, Family, Nlri, PathAttributes, Reach,
};
use bytes::BytesMut;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// A small deterministic generator (xorshift64*).
#[derive(Debug, Clone)]
pub struct Gen(u64);

impl Gen {
    /// A generator from a seed (0 is replaced).
    pub fn new(seed: u64) -> Self {
        Gen(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// IPv4 prefix lengths in roughly the shares of the public table: most are
/// /24, then /22, /23, /21, /20 and a tail of shorter ones.
pub fn v4_prefix_len(g: &mut Gen) -> u8 {
    match g.below(100) {
        0..=59 => 24,
        60..=68 => 22,
        69..=76 => 23,
        77..=82 => 21,
        83..=87 => 20,
        88..=91 => 19,
        92..=94 => 18,
        95..=96 => 17,
        97..=98 => 16,
        _ => 8 + g.below(8) as u8,
    }
}

/// IPv6 prefix lengths: /48 dominates, then /32, /44, /40, /36, /29.
pub fn v6_prefix_len(g: &mut Gen) -> u8 {
    match g.below(100) {
        0..=54 => 48,
        55..=69 => 32,
        70..=77 => 44,
        78..=85 => 40,
        86..=91 => 36,
        92..=95 => 29,
        _ => 33 + g.below(31) as u8,
    }
}

/// `n` distinct-looking IPv4 prefixes.
pub fn v4_prefixes(g: &mut Gen, n: usize) -> Vec<Nlri> {
    (0..n)
        .map(|_| {
            let len = v4_prefix_len(g);
            let addr = Ipv4Addr::from((g.next_u64() >> 32) as u32 | 0x0100_0000);
            Nlri::new(IpNet::V4(
                Ipv4Net::new(addr, len).expect("len <= 32").trunc(),
            ))
        })
        .collect()
}

/// `n` IPv6 prefixes inside 2000::/3.
pub fn v6_prefixes(g: &mut Gen, n: usize) -> Vec<Nlri> {
    (0..n)
        .map(|_| {
            let len = v6_prefix_len(g);
            let bits = (u128::from(g.next_u64()) << 64 | u128::from(g.next_u64())) >> 3;
            let addr = Ipv6Addr::from(bits | 0x2000 << 112);
            Nlri::new(IpNet::V6(
                Ipv6Net::new(addr, len).expect("len <= 128").trunc(),
            ))
        })
        .collect()
}

/// Typical attributes of a reflected iBGP route: AS_PATH of 4 ASNs,
/// 3 communities, MED, LOCAL_PREF.
pub fn typical_attrs(g: &mut Gen) -> PathAttributes {
    let path: Vec<u32> = (0..4).map(|_| 64_512 + g.below(60_000) as u32).collect();
    let comms = (0..3)
        .map(|_| Community::new(65000, g.below(500) as u16))
        .collect();
    PathAttributes::from_attrs([
        Attr::Origin(Origin::Igp),
        Attr::AsPath(AsPath::sequence(path)),
        Attr::NextHop(Ipv4Addr::new(192, 0, 2, 1 + g.below(200) as u8)),
        Attr::MultiExitDisc(g.below(1000) as u32),
        Attr::LocalPref(100),
        Attr::Communities(comms),
    ])
}

/// A batch of encoded UPDATEs and what they carry.
#[derive(Debug, Clone)]
pub struct Workload {
    /// The messages, back to back.
    pub bytes: BytesMut,
    /// Where each message starts and how long it is.
    pub frames: Vec<(usize, usize)>,
    /// Prefixes over all messages.
    pub prefixes: usize,
}

fn frames_of(bytes: &[u8], ctx: &Context) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let len = bgp_wire::frame(&bytes[at..], ctx)
            .expect("valid")
            .expect("whole");
        out.push((at, len));
        at += len;
    }
    out
}

/// (a) `count` IPv4 UPDATEs of one prefix each, each with its own attributes.
pub fn ipv4_single(count: usize, ctx: &Context) -> Workload {
    let mut g = Gen::new(1);
    let mut bytes = BytesMut::new();
    for _ in 0..count {
        let attrs = typical_attrs(&mut g);
        let p = v4_prefixes(&mut g, 1);
        encode_reach(ctx, &attrs, Reach::Ipv4(&p), &mut bytes).expect("fits");
    }
    let frames = frames_of(&bytes, ctx);
    Workload {
        bytes,
        frames,
        prefixes: count,
    }
}

/// (b) One IPv4 UPDATE with `prefixes` prefixes sharing typical attributes.
pub fn ipv4_packed(prefixes: usize, ctx: &Context) -> Workload {
    let mut g = Gen::new(2);
    let attrs = typical_attrs(&mut g);
    let p = v4_prefixes(&mut g, prefixes);
    let mut bytes = BytesMut::new();
    encode_reach(ctx, &attrs, Reach::Ipv4(&p), &mut bytes).expect("fits");
    let frames = frames_of(&bytes, ctx);
    Workload {
        bytes,
        frames,
        prefixes,
    }
}

/// (c) IPv6 UPDATEs in MP_REACH_NLRI with `prefixes` prefixes in all.
pub fn ipv6_packed(prefixes: usize, ctx: &Context) -> Workload {
    let mut g = Gen::new(3);
    let attrs = typical_attrs(&mut g);
    let p = v6_prefixes(&mut g, prefixes);
    let next_hop = NextHop::Ipv6 {
        global: "2001:db8::1".parse().expect("addr"),
        link_local: None,
    };
    let reach = Reach::Mp {
        family: Family::IPV6_UNICAST,
        next_hop,
        nlri: &p,
    };
    let mut bytes = BytesMut::new();
    encode_reach(ctx, &attrs, reach, &mut bytes).expect("fits");
    let frames = frames_of(&bytes, ctx);
    Workload {
        bytes,
        frames,
        prefixes,
    }
}

/// UPDATEs announcing `prefixes` distinct IPv4 prefixes (realistic length
/// mix) over `attr_sets` distinct attribute sets, as one peer would send a
/// full table: consecutive prefixes share a set.
pub fn table_updates(prefixes: usize, attr_sets: usize, seed: u64) -> Vec<bgp_wire::Update> {
    let mut g = Gen::new(seed);
    let mut seen = std::collections::HashSet::with_capacity(prefixes);
    let mut all = Vec::with_capacity(prefixes);
    while all.len() < prefixes {
        let p = v4_prefixes(&mut g, 1)[0];
        if seen.insert(p.prefix) {
            all.push(p);
        }
    }
    let per = prefixes.div_ceil(attr_sets.max(1));
    all.chunks(per)
        .map(|chunk| {
            let attrs = typical_attrs(&mut g);
            bgp_wire::Update {
                withdrawn: Vec::new(),
                attrs,
                nlri: chunk.to_vec(),
            }
        })
        .collect()
}
