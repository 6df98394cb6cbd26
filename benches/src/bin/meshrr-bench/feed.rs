//! What the feeders announce, from the deterministic generator or from an
//! MRT dump: encoded once per feeder (the initial table, and the churn of
//! S4), and the universe of prefixes every receiver's table is checked
//! against.
//!
//! Prefixes are numbered feeder by feeder, so feeder `f` owns one
//! contiguous range of indices; a receiver's table is then a bitset over
//! the universe, exact and small (125 KB per million prefixes).

use std::{
    collections::{BTreeMap, HashSet},
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    sync::Arc,
};

use bgp_wire::{
    attr::{code, AsPath, Community, NextHop, Origin, SegmentKind},
    encode_reach, encode_withdraw, Attr, Context, Family, Nlri, PathAttributes, Reach, Update,
};
use bytes::{Bytes, BytesMut};
use ipnet::IpNet;
use meshrr_benches::{v4_prefixes, Gen};

/// The AS of the targets and of every session.
pub const ASN: u32 = 65000;

/// MULTI_EXIT_DISC of the routes re-announced by the churn of S4: a
/// receiver holds the churned version of a prefix when it carries this.
pub const CHURN_MED: u32 = 4_242_424;

/// The address of session `n`: 127.0.x.y, unique for n < 64 000, never
/// 127.0.0.1 (the target) and never .0/.1/.255 of a /24.
pub fn addr(n: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, (n / 250) as u8, (n % 250 + 2) as u8)
}

/// The next hop of feeder `a`'s IPv6 routes: `a` inside fd00::/96. Not its
/// IPv4-mapped address: BIRD stores IPv4 addresses in that form and refuses
/// `::ffff:a.b.c.d` as an IPv4 next hop for IPv6 ("mismatched address
/// family").
pub fn v6_next_hop(a: Ipv4Addr) -> Ipv6Addr {
    Ipv6Addr::from(0xfd00u128 << 112 | u128::from(a.to_bits()))
}

/// Most sessions `addr` can tell apart.
pub const MAX_SESSIONS: usize = 250 * 256;

/// Prefixes announced with the same attributes (without NEXT_HOP, which
/// is the feeder's own address).
#[derive(Debug, Clone)]
pub struct Group {
    /// Attributes, NEXT_HOP left out.
    pub attrs: PathAttributes,
    /// Prefixes, IPv4 and IPv6 alike.
    pub nlri: Vec<Nlri>,
}

/// The generated table of `feeders` feeders with `n` prefixes each:
/// public-table prefix lengths in unicast space, distinct across feeders,
/// 20 prefixes per attribute set.
pub fn generated(feeders: usize, n: usize) -> Vec<Vec<Group>> {
    let mut seen = HashSet::new();
    (0..feeders)
        .map(|f| generated_one(f, n, &mut seen))
        .collect()
}

fn generated_one(f: usize, n: usize, seen: &mut HashSet<ipnet::Ipv4Net>) -> Vec<Group> {
    let mut g = Gen::new(1000 + f as u64);
    let mut all = Vec::with_capacity(n);
    while all.len() < n {
        let p = v4_prefixes(&mut g, 1)[0];
        // Unicast space only: first octet 1..=100 (BIRD refuses 0/8, 127/8
        // and multicast as bogus).
        let IpAddr::V4(a) = p.prefix.addr() else {
            continue;
        };
        let o = a.octets();
        let Ok(net) = ipnet::Ipv4Net::new(
            Ipv4Addr::new(1 + o[0] % 100, o[1], o[2], o[3]),
            p.prefix.prefix_len().max(12),
        ) else {
            continue;
        };
        let net = net.trunc();
        if seen.insert(net) {
            all.push(Nlri::new(net.into()));
        }
    }
    // AS paths use private ASNs below our own 65000 (BIRD drops a path
    // holding its own AS as a loop).
    all.chunks(20)
        .enumerate()
        .map(|(i, chunk)| {
            let path: Vec<u32> = (0..(2 + i % 5) as u32)
                .map(|k| 64512 + ((i as u32 * 7 + k) % 480))
                .collect();
            Group {
                attrs: PathAttributes::from_attrs([
                    Attr::Origin(Origin::Igp),
                    Attr::AsPath(AsPath::sequence(path)),
                    Attr::LocalPref(100),
                    Attr::Communities(vec![Community::new(65000, (i % 300) as u16)]),
                ]),
                nlri: chunk.to_vec(),
            }
        })
        .collect()
}

/// How much of an MRT dump was used.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct MrtUse {
    /// Routes read (one per prefix).
    pub read: usize,
    /// Routes fed.
    pub used: usize,
    /// Routes left out, by reason.
    pub dropped: BTreeMap<&'static str, usize>,
}

/// Cleans the attributes of a dumped route into what an iBGP route
/// reflector client sends: no NEXT_HOP (set per feeder), no ORIGINATOR_ID,
/// CLUSTER_LIST, AS4_PATH or AS4_AGGREGATOR (4-octet sessions), no unknown
/// non-transitive attributes, LOCAL_PREF 100 when missing. Errs, naming
/// why, for a route a target would refuse.
pub fn sanitize(prefix: &IpNet, mut a: PathAttributes) -> Result<PathAttributes, &'static str> {
    match prefix {
        IpNet::V4(p) => {
            let o = p.addr().octets()[0];
            if p.prefix_len() == 0 || o == 0 || o == 127 || o >= 224 {
                return Err("IPv4 prefix not in unicast space");
            }
        }
        IpNet::V6(p) => {
            if p.prefix_len() < 3 || p.addr().segments()[0] & 0xe000 != 0x2000 {
                return Err("IPv6 prefix outside 2000::/3");
            }
        }
    }
    for c in [
        code::NEXT_HOP,
        code::MP_REACH_NLRI,
        code::MP_UNREACH_NLRI,
        code::ORIGINATOR_ID,
        code::CLUSTER_LIST,
        code::AS4_PATH,
        code::AS4_AGGREGATOR,
    ] {
        a.remove(c);
    }
    a.strip_unknown_non_transitive();
    if a.origin().is_none() {
        a.set(Attr::Origin(Origin::Igp));
    }
    match a.as_path() {
        None => a.set(Attr::AsPath(AsPath::default())),
        Some(p) if p.contains(ASN) => return Err("AS path holds the targets' AS (a loop)"),
        Some(p)
            if p.segments.iter().any(|s| {
                matches!(s.kind, SegmentKind::ConfedSequence | SegmentKind::ConfedSet)
            }) =>
        {
            return Err("AS path has confederation segments")
        }
        Some(_) => {}
    }
    if a.local_pref().is_none() {
        a.set(Attr::LocalPref(100));
    }
    if a.med() == Some(CHURN_MED) {
        a.set(Attr::MultiExitDisc(CHURN_MED - 1));
    }
    // Header, the two length fields, NEXT_HOP or an IPv6 MP_REACH_NLRI
    // header, and one /128 must fit in 4096 bytes.
    let ctx = Context::ibgp_4octet();
    if bgp_wire::HEADER_LEN + 4 + a.encoded_len(&ctx) + 4 + 5 + 16 + 17 > bgp_wire::MAX_MESSAGE_LEN
    {
        return Err("attributes too long for a 4096-byte UPDATE");
    }
    Ok(a)
}

/// Splits a dump's routes over `feeders` feeders, each a contiguous share
/// of the table in file order (at most `per_feeder` each), grouped by
/// attributes.
pub fn from_mrt(
    routes: Vec<crate::mrt::Route>,
    feeders: usize,
    per_feeder: Option<usize>,
) -> Result<(Vec<Vec<Group>>, MrtUse), String> {
    let mut used = MrtUse {
        read: routes.len(),
        ..MrtUse::default()
    };
    let mut kept = Vec::with_capacity(routes.len());
    for r in routes {
        match sanitize(&r.prefix, r.attrs) {
            Ok(a) => kept.push((r.prefix, a)),
            Err(why) => *used.dropped.entry(why).or_default() += 1,
        }
    }
    if kept.len() < feeders {
        return Err(format!(
            "the dump has {} usable prefixes, fewer than the {feeders} feeders",
            kept.len()
        ));
    }
    let mut per = kept.len().div_ceil(feeders);
    if let Some(n) = per_feeder {
        per = per.min(n.max(1));
    }
    let mut out = Vec::with_capacity(feeders);
    let mut it = kept.into_iter();
    for _ in 0..feeders {
        let mut groups: Vec<Group> = Vec::new();
        let mut index: hashbrown::HashMap<PathAttributes, usize> = hashbrown::HashMap::new();
        for (p, a) in it.by_ref().take(per) {
            used.used += 1;
            let i = *index.entry(a.clone()).or_insert_with(|| {
                groups.push(Group {
                    attrs: a,
                    nlri: Vec::new(),
                });
                groups.len() - 1
            });
            groups[i].nlri.push(Nlri::new(p));
        }
        out.push(groups);
    }
    let rest = it.count();
    if rest > 0 {
        used.dropped.insert("beyond --prefixes per feeder", rest);
    }
    Ok((out, used))
}

/// Every prefix fed, numbered feeder by feeder.
#[derive(Debug, Default)]
pub struct Universe {
    v4: hashbrown::HashMap<u64, u32>,
    v6: hashbrown::HashMap<(u128, u8), u32>,
    /// `starts[f]..starts[f + 1]` are feeder `f`'s indices.
    starts: Vec<u32>,
    /// Prefixes re-announced by the churn (bitset).
    churned: Vec<u64>,
    churned_per_feeder: Vec<u32>,
}

impl Universe {
    /// The index of `p`, if any feeder announces it.
    pub fn index(&self, p: &IpNet) -> Option<u32> {
        match p {
            IpNet::V4(n) => self
                .v4
                .get(&(u64::from(n.network().to_bits()) << 8 | u64::from(n.prefix_len())))
                .copied(),
            IpNet::V6(n) => self
                .v6
                .get(&(n.network().to_bits(), n.prefix_len()))
                .copied(),
        }
    }

    fn insert(&mut self, p: &IpNet) -> Option<u32> {
        let i = self.len() as u32;
        let fresh = match p {
            IpNet::V4(n) => self
                .v4
                .insert(
                    u64::from(n.network().to_bits()) << 8 | u64::from(n.prefix_len()),
                    i,
                )
                .is_none(),
            IpNet::V6(n) => self
                .v6
                .insert((n.network().to_bits(), n.prefix_len()), i)
                .is_none(),
        };
        fresh.then_some(i)
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// Whether any prefix is IPv6.
    pub fn has_v6(&self) -> bool {
        !self.v6.is_empty()
    }

    /// The feeder announcing prefix `i`.
    pub fn feeder(&self, i: u32) -> usize {
        self.starts.partition_point(|&s| s <= i) - 1
    }

    /// Feeder `f`'s indices.
    pub fn range(&self, f: usize) -> std::ops::Range<u32> {
        self.starts[f]..self.starts[f + 1]
    }

    /// Whether the churn re-announces prefix `i`.
    pub fn is_churned(&self, i: u32) -> bool {
        self.churned
            .get(i as usize / 64)
            .is_some_and(|w| w >> (i % 64) & 1 != 0)
    }

    /// Prefixes of feeder `f` the churn re-announces.
    pub fn churned_of(&self, f: usize) -> u32 {
        self.churned_per_feeder[f]
    }

    /// Prefixes the churn re-announces, over all feeders.
    pub fn churned_total(&self) -> u32 {
        self.churned_per_feeder.iter().sum()
    }
}

/// One feeder's messages.
#[derive(Debug, Clone)]
pub struct Feed {
    /// The initial table and End-of-RIB for each family.
    pub initial: Bytes,
    /// Withdrawal of the churned prefixes, then their re-announcement with
    /// MULTI_EXIT_DISC [`CHURN_MED`].
    pub churn: Bytes,
    /// Prefixes in the initial table.
    pub prefixes: usize,
}

/// Everything fed, and the universe the receivers check against.
#[derive(Debug)]
pub struct Feeds {
    /// One per feeder, feeder `f` at address `addr(f)`.
    pub feeds: Vec<Feed>,
    /// Every prefix.
    pub universe: Arc<Universe>,
}

impl Feeds {
    /// Families the sessions negotiate: IPv4 unicast always, IPv6 unicast
    /// when something is IPv6.
    pub fn families(&self) -> Vec<Family> {
        let mut f = vec![Family::IPV4_UNICAST];
        if self.universe.has_v6() {
            f.push(Family::IPV6_UNICAST);
        }
        f
    }

    /// Prefixes over all feeders.
    pub fn total(&self) -> usize {
        self.universe.len()
    }
}

fn encode_group(
    ctx: &Context,
    attrs: &PathAttributes,
    nlri: &[Nlri],
    nh: Ipv4Addr,
    out: &mut BytesMut,
) -> Result<(), String> {
    let (v4, v6): (Vec<Nlri>, Vec<Nlri>) = nlri
        .iter()
        .partition(|n| n.family() == Family::IPV4_UNICAST);
    if !v4.is_empty() {
        let mut a = attrs.clone();
        a.set(Attr::NextHop(nh));
        encode_reach(ctx, &a, Reach::Ipv4(&v4), out).map_err(|e| e.to_string())?;
    }
    if !v6.is_empty() {
        let mut a = attrs.clone();
        a.remove(code::NEXT_HOP);
        let next_hop = NextHop::Ipv6 {
            global: v6_next_hop(nh),
            link_local: None,
        };
        encode_reach(
            ctx,
            &a,
            Reach::Mp {
                family: Family::IPV6_UNICAST,
                next_hop,
                nlri: &v6,
            },
            out,
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Encodes every feeder's table (next hop: the feeder's address, for IPv6
/// [`v6_next_hop`]) and its churn: prefix `j` of a feeder is
/// churned when `j * churn_pct % 100 < churn_pct`. A prefix announced by two
/// feeders is kept by the first only.
pub fn encode(groups: Vec<Vec<Group>>, churn_pct: u32) -> Result<Feeds, String> {
    let ctx = Context::ibgp_4octet();
    let mut universe = Universe::default();
    let mut feeds = Vec::with_capacity(groups.len());
    let mut churned: Vec<u32> = Vec::new();
    for (f, gs) in groups.into_iter().enumerate() {
        let nh = addr(f);
        universe.starts.push(universe.len() as u32);
        let mut initial = BytesMut::new();
        let mut reannounce = BytesMut::new();
        let (mut w4, mut w6) = (Vec::new(), Vec::new());
        let mut j = 0u64;
        let mut n_churned = 0;
        for g in gs {
            let mut nlri = Vec::with_capacity(g.nlri.len());
            let mut churn = Vec::new();
            for n in g.nlri {
                let Some(i) = universe.insert(&n.prefix) else {
                    continue;
                };
                nlri.push(n);
                if j * u64::from(churn_pct) % 100 < u64::from(churn_pct) {
                    churned.push(i);
                    churn.push(n);
                    n_churned += 1;
                    match n.prefix {
                        IpNet::V4(_) => w4.push(n),
                        IpNet::V6(_) => w6.push(n),
                    }
                }
                j += 1;
            }
            encode_group(&ctx, &g.attrs, &nlri, nh, &mut initial)?;
            if !churn.is_empty() {
                let mut a = g.attrs.clone();
                a.set(Attr::MultiExitDisc(CHURN_MED));
                encode_group(&ctx, &a, &churn, nh, &mut reannounce)?;
            }
        }
        let enc = |r: Result<(), bgp_wire::EncodeError>| r.map_err(|e| e.to_string());
        enc(Update::end_of_rib(Family::IPV4_UNICAST).encode(&ctx, &mut initial))?;
        let mut churn = BytesMut::new();
        encode_withdraw(&ctx, Family::IPV4_UNICAST, &w4, &mut churn).map_err(|e| e.to_string())?;
        encode_withdraw(&ctx, Family::IPV6_UNICAST, &w6, &mut churn).map_err(|e| e.to_string())?;
        churn.extend_from_slice(&reannounce);
        feeds.push(Feed {
            initial: initial.freeze(),
            churn: churn.freeze(),
            prefixes: j as usize,
        });
        universe.churned_per_feeder.push(n_churned);
    }
    universe.starts.push(universe.len() as u32);
    universe.churned = vec![0; universe.len().div_ceil(64)];
    for i in churned {
        universe.churned[i as usize / 64] |= 1 << (i % 64);
    }
    // IPv6 End-of-RIB, once we know whether anything is IPv6.
    if universe.has_v6() {
        let mut eor = BytesMut::new();
        Update::end_of_rib(Family::IPV6_UNICAST)
            .encode(&ctx, &mut eor)
            .map_err(|e| e.to_string())?;
        for f in &mut feeds {
            let mut b = BytesMut::from(&f.initial[..]);
            b.extend_from_slice(&eor);
            f.initial = b.freeze();
        }
    }
    Ok(Feeds {
        feeds,
        universe: Arc::new(universe),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn universe_ranges_and_churn() {
        let f = encode(generated(3, 100), 10).expect("encodes");
        assert_eq!(f.total(), 300);
        assert_eq!(f.universe.range(1), 100..200);
        assert_eq!(f.universe.feeder(0), 0);
        assert_eq!(f.universe.feeder(150), 1);
        assert_eq!(f.universe.feeder(299), 2);
        assert_eq!(f.universe.churned_total(), 30);
        assert!(f.universe.is_churned(0) && f.universe.is_churned(110));
        assert!(!f.universe.is_churned(1));
        assert_eq!(f.families(), vec![Family::IPV4_UNICAST]);
    }

    #[test]
    fn sanitize_cleans_and_refuses() {
        let p: IpNet = "10.0.0.0/8".parse().unwrap();
        let a = PathAttributes::from_attrs([
            Attr::AsPath(AsPath::sequence([64500])),
            Attr::NextHop(Ipv4Addr::new(192, 0, 2, 1)),
            Attr::OriginatorId(Ipv4Addr::new(1, 1, 1, 1)),
            Attr::As4Path(AsPath::sequence([64500])),
        ]);
        let s = sanitize(&p, a).expect("usable");
        assert_eq!(
            s,
            PathAttributes::from_attrs([
                Attr::Origin(Origin::Igp),
                Attr::AsPath(AsPath::sequence([64500])),
                Attr::LocalPref(100),
            ])
        );
        let looped = PathAttributes::from_attrs([Attr::AsPath(AsPath::sequence([1, ASN]))]);
        assert!(sanitize(&p, looped).is_err());
        assert!(sanitize(&"127.0.0.0/8".parse().unwrap(), PathAttributes::new()).is_err());
        assert!(sanitize(&"fe80::/64".parse().unwrap(), PathAttributes::new()).is_err());
    }
}
