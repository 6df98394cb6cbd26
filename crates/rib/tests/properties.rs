//! Properties of the RIB as a whole: the outcome does not depend on the
//! order UPDATEs arrive in, and pending changes are coalesced per prefix.

use std::net::{IpAddr, Ipv4Addr};

use bgp_wire::{
    attr::{AsPath, Origin},
    Attr, Nlri, PathAttributes, Update,
};
use proptest::prelude::*;
use rib::{ChangeSet, Input, PeerConfig, PeerId, Rib, RibConfig, Role};

fn rib() -> Rib {
    let mut rib = Rib::new(RibConfig {
        router_id: Ipv4Addr::new(10, 0, 0, 1),
        local_as: 65000,
        cluster_ids: vec![],
        always_compare_med: false,
    });
    for n in 1..=5u32 {
        let addr = Ipv4Addr::new(10, 0, 0, 10 + n as u8);
        let role = if n == 5 {
            Role::NonClient
        } else {
            Role::Client {
                group: "c".into(),
                cluster_id: Ipv4Addr::new(10, 0, 0, 1),
                client_to_client: true,
            }
        };
        let config = PeerConfig {
            addr: IpAddr::V4(addr),
            router_id: addr,
            asn: 65000,
            role,
            export_policy: None,
            import_policy: None,
            group: String::new(),
            send: bgp_wire::Context::ibgp_4octet(),
        };
        rib.handle(Input::PeerUp {
            peer: PeerId(n),
            config,
        })
        .expect("up");
    }
    rib
}

/// LOCAL_PREF, AS_PATH length, MED, first ASN.
type Attrs = (u32, u8, u32, u32);

/// An announcement (or withdrawal, with `None`) of prefix `p` by `peer`.
fn update(peer: u32, p: u8, attrs: Option<Attrs>) -> Input {
    let nlri = vec![Nlri::new(format!("10.{p}.0.0/16").parse().expect("prefix"))];
    let update = match attrs {
        None => Update {
            withdrawn: nlri,
            ..Update::default()
        },
        Some((lp, len, med, nas)) => Update {
            withdrawn: vec![],
            attrs: PathAttributes::from_attrs([
                Attr::Origin(Origin::Igp),
                Attr::AsPath(AsPath::sequence((0..len).map(|i| nas + u32::from(i)))),
                Attr::NextHop(Ipv4Addr::new(192, 0, 2, peer as u8)),
                Attr::MultiExitDisc(med),
                Attr::LocalPref(lp),
            ]),
            nlri,
        },
    };
    Input::Update {
        peer: PeerId(peer),
        update,
        treat_as_withdraw: false,
    }
}

fn best_of(rib: &Rib, p: u8) -> Option<(PeerId, rib::AttrId)> {
    rib.paths(format!("10.{p}.0.0/16").parse().expect("prefix"))
        .first()
        .map(|x| (x.peer, x.attrs))
}

fn input() -> impl Strategy<Value = (u32, u8, Option<Attrs>)> {
    (
        1u32..=5,
        0u8..4,
        proptest::option::weighted(
            0.8,
            (
                prop_oneof![Just(100u32), Just(200u32)],
                0u8..3,
                0u32..3,
                prop_oneof![Just(65001u32), Just(65002u32)],
            ),
        ),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// The final table (best path per prefix, and what each client group
    /// was last told) does not depend on the order in which the peers'
    /// last words arrive.
    #[test]
    fn best_path_independent_of_arrival_order(
        inputs in proptest::collection::vec(input(), 1..30),
        seed in any::<u64>(),
    ) {
        // Keep only each (peer, prefix)'s last input: that is the state the
        // peers converge to, whatever the interleaving.
        let mut last = std::collections::BTreeMap::new();
        for (peer, p, a) in inputs {
            last.insert((peer, p), a);
        }
        let ordered: Vec<_> = last.into_iter().collect();
        let mut shuffled = ordered.clone();
        // A deterministic shuffle from the seed.
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            shuffled.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let (mut a, mut b) = (rib(), rib());
        for ((peer, p), attrs) in &ordered {
            a.step(update(*peer, *p, *attrs)).expect("update");
        }
        for ((peer, p), attrs) in &shuffled {
            b.step(update(*peer, *p, *attrs)).expect("update");
        }
        for p in 0..4 {
            let (x, y) = (best_of(&a, p), best_of(&b, p));
            prop_assert_eq!(x.map(|v| v.0), y.map(|v| v.0), "prefix {}", p);
        }
        prop_assert_eq!(a.path_count(), b.path_count());
        prop_assert_eq!(a.store().len(), b.store().len());
    }
}

#[test]
fn pending_changes_coalesce_per_prefix() {
    let mut rib = rib();
    let client_group = rib.group_of(PeerId(1)).expect("group");
    // Non-client 5 changes one prefix 100 times and announces 9 others;
    // nobody takes the changes in between.
    for i in 0..100u32 {
        rib.handle(update(5, 0, Some((100 + i, 1, 0, 65001))))
            .expect("update");
    }
    for p in 1..10u8 {
        rib.handle(update(5, p, Some((100, 1, 0, 65001))))
            .expect("update");
    }
    assert_eq!(rib.pending(client_group), 10, "one entry per prefix");
    // Taken in slices of 4: 4 + 4 + 2, the first prefix with its latest state.
    let mut sizes = Vec::new();
    let mut lp = None;
    loop {
        let sets: Vec<ChangeSet> = rib.take_changes(client_group, 4);
        if sets.is_empty() {
            break;
        }
        sizes.push(sets.iter().map(ChangeSet::len).sum::<usize>());
        for a in sets.iter().flat_map(|c| c.announce.iter()) {
            if a.nlri.iter().any(|n| n.prefix.to_string() == "10.0.0.0/16") {
                lp = a.attrs.local_pref();
            }
        }
    }
    assert_eq!(sizes, vec![4, 4, 2]);
    assert_eq!(lp, Some(199), "latest state wins");
    // Announced then withdrawn before being taken: nothing to say.
    rib.handle(update(5, 50, Some((100, 1, 0, 65001))))
        .expect("update");
    rib.handle(update(5, 50, None)).expect("update");
    assert_eq!(rib.pending(client_group), 1);
    assert!(rib.take_changes(client_group, usize::MAX).is_empty());
}

#[test]
fn change_sets_encode_to_valid_updates() {
    let mut rib = rib();
    for p in 0..4u8 {
        rib.handle(update(1, p, Some((100, 2, 0, 65001))))
            .expect("update");
    }
    rib.handle(update(1, 0, None)).expect("update");
    let group = rib.group_of(PeerId(5)).expect("group");
    let ctx = bgp_wire::Context::ibgp_4octet();
    for cs in rib.take_changes(group, usize::MAX) {
        let mut out = bytes::BytesMut::new();
        let n = cs.encode(&ctx, &mut out).expect("encodes");
        assert!(n >= 1);
        let mut at = 0;
        let mut announced = 0;
        while at < out.len() {
            let len = bgp_wire::frame(&out[at..], &ctx)
                .expect("header")
                .expect("whole");
            let d = bgp_wire::Message::decode(&out[at..at + len], &ctx).expect("decodes");
            assert!(d.problems.is_empty(), "{:?}", d.problems);
            if let bgp_wire::Message::Update(u) = d.message {
                announced += u.nlri.len();
                assert_eq!(
                    u.attrs.cluster_list().map(<[Ipv4Addr]>::len),
                    if u.nlri.is_empty() { None } else { Some(1) }
                );
            }
            at += len;
        }
        assert_eq!(announced, 3);
    }
}
