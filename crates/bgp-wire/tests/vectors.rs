//! Golden vectors: (bytes, message) pairs, each checked by decode and by
//! encode. Hex is written out field by field so a reader can check it
//! against the RFCs.

use std::net::{Ipv4Addr, Ipv6Addr};

use bgp_wire::{
    attr::{
        flags, Aggregator, AsPath, Community, ExtendedCommunity, LargeCommunity, MpReach,
        MpUnreach, NextHop, Origin, Segment, SegmentKind,
    },
    capability::{AddPathFamily, AddPathMode, GracefulRestart, GracefulRestartFamily},
    notification::CeaseSubcode,
    AddPathFamilies, Attr, Capability, Context, Family, Message, Nlri, Notification, Open,
    OptionalParameter, PathAttribute, PathAttributes, RouteRefresh, RouteRefreshSubtype, Update,
};
use bytes::Bytes;

fn unhex(s: &str) -> Vec<u8> {
    let clean: String = s.split_whitespace().collect();
    hex::decode(clean).expect("valid hex in vector")
}

fn nlri(s: &str) -> Nlri {
    Nlri::new(s.parse().expect("prefix"))
}

fn with_id(id: u32, s: &str) -> Nlri {
    Nlri {
        path_id: Some(id),
        ..nlri(s)
    }
}

fn pa(flags: u8, value: Attr) -> PathAttribute {
    PathAttribute { flags, value }
}

/// Decodes `hex` in `ctx` expecting `msg` and no problem, then encodes
/// `msg` expecting `hex`.
fn both_ways(hex: &str, ctx: Context, msg: Message) {
    let bytes = unhex(hex);
    let decoded = Message::decode(&bytes, &ctx).expect("vector decodes");
    assert_eq!(decoded.problems, vec![], "vector has problems");
    assert_eq!(decoded.message, msg, "decode");
    let encoded = msg.to_bytes(&ctx).expect("vector encodes");
    assert_eq!(hex::encode(&encoded), hex::encode(&bytes), "encode");
}

const MARKER: &str = "ffffffffffffffffffffffffffffffff";

#[test]
fn keepalive() {
    both_ways(
        &format!("{MARKER} 0013 04"),
        Context::default(),
        Message::Keepalive,
    );
}

#[test]
fn open_with_every_capability() {
    let hex = format!(
        "{MARKER} 0057 01
         04 5ba0 00b4 0afb0001 3a
         02 38
            01 04 0001 00 01
            01 04 0002 00 01
            02 00
            46 00
            41 04 fa56ea01
            40 06 8078 0001 01 80
            45 08 0001 01 03 0002 01 01
            06 00
            49 0a 05 72722d3031 03 6c6162
            80 00"
    );
    let caps = vec![
        Capability::Multiprotocol(Family::IPV4_UNICAST),
        Capability::Multiprotocol(Family::IPV6_UNICAST),
        Capability::RouteRefresh,
        Capability::EnhancedRouteRefresh,
        Capability::FourOctetAs(4_200_000_001),
        Capability::GracefulRestart(GracefulRestart {
            flags: 0x80,
            time: 120,
            families: vec![GracefulRestartFamily {
                family: Family::IPV4_UNICAST,
                flags: 0x80,
            }],
        }),
        Capability::AddPath(vec![
            AddPathFamily {
                family: Family::IPV4_UNICAST,
                mode: AddPathMode::Both,
            },
            AddPathFamily {
                family: Family::IPV6_UNICAST,
                mode: AddPathMode::Receive,
            },
        ]),
        Capability::ExtendedMessage,
        Capability::Fqdn {
            hostname: "rr-01".into(),
            domain: "lab".into(),
        },
        Capability::Unknown {
            code: 128,
            data: Bytes::new(),
        },
    ];
    let open = Open::new(4_200_000_001, 180, Ipv4Addr::new(10, 251, 0, 1), caps);
    assert_eq!(open.asn(), 4_200_000_001);
    assert_eq!(
        open.families(),
        vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]
    );
    both_ways(&hex, Context::default(), Message::Open(open));
}

#[test]
fn open_with_extended_optional_parameters() {
    // RFC 9072: length 255 then type 255 then a 2-byte length; each
    // parameter's length is 2 bytes too. Decoding accepts it even for
    // short parameters; our encoder uses it only when needed.
    let bytes = unhex(&format!(
        "{MARKER} 002b 01
         04 fde8 005a 0a000001 ff ff 000b
         02 0008 41 04 0000fde8 02 00"
    ));
    let d = Message::decode(&bytes, &Context::default()).expect("decodes");
    let Message::Open(open) = d.message else {
        panic!("not an OPEN")
    };
    assert_eq!(
        open.params,
        vec![OptionalParameter::Capabilities(vec![
            Capability::FourOctetAs(65000),
            Capability::RouteRefresh
        ])]
    );

    // 300 bytes of capabilities need the extended encoding.
    let caps: Vec<Capability> = (0..30)
        .map(|i| Capability::Unknown {
            code: 200 + i,
            data: Bytes::from(vec![i; 8]),
        })
        .collect();
    let big = Message::Open(Open::new(65000, 90, Ipv4Addr::new(10, 0, 0, 1), caps));
    let enc = big.to_bytes(&Context::default()).expect("encodes");
    assert_eq!(&enc[28..30], &[255, 255], "extended marker");
    assert_eq!(
        Message::decode(&enc, &Context::default())
            .expect("decodes")
            .message,
        big
    );
}

#[test]
fn update_with_every_ipv4_attribute() {
    let hex = format!(
        "{MARKER} 00a3 02
         0003 10 0a09
         0081
         40 01 01 00
         40 02 1a 02 02 0000fde9 fa56ea01 01 02 0000fdf2 0000fdf3 03 01 0000fc00
         40 03 04 0a000001
         80 04 04 00000064
         40 05 04 000000c8
         40 06 00
         c0 07 08 0000fde9 0a000002
         c0 08 08 fde80065 ffffff01
         80 09 04 0a000003
         80 0a 08 0a000004 0a000005
         c0 10 08 0002fde800000007
         c0 20 0c fa56ea01 00000001 00000002
         e0 63 03 010203
         10 0a01 19 c0000280"
    );
    let as_path = AsPath {
        segments: vec![
            Segment {
                kind: SegmentKind::Sequence,
                asns: vec![65001, 4_200_000_001],
            },
            Segment {
                kind: SegmentKind::Set,
                asns: vec![65010, 65011],
            },
            Segment {
                kind: SegmentKind::ConfedSequence,
                asns: vec![64512],
            },
        ],
    };
    assert_eq!(as_path.path_len(), 3);
    let attrs = PathAttributes::from_attrs([
        Attr::Origin(Origin::Igp),
        Attr::AsPath(as_path),
        Attr::NextHop(Ipv4Addr::new(10, 0, 0, 1)),
        Attr::MultiExitDisc(100),
        Attr::LocalPref(200),
        Attr::AtomicAggregate,
        Attr::Aggregator(Aggregator {
            asn: 65001,
            address: Ipv4Addr::new(10, 0, 0, 2),
        }),
        Attr::Communities(vec![Community::new(65000, 101), Community::NO_EXPORT]),
        Attr::OriginatorId(Ipv4Addr::new(10, 0, 0, 3)),
        Attr::ClusterList(vec![Ipv4Addr::new(10, 0, 0, 4), Ipv4Addr::new(10, 0, 0, 5)]),
        Attr::ExtendedCommunities(vec![ExtendedCommunity::route_target(65000, 7)]),
        Attr::LargeCommunities(vec![LargeCommunity {
            global: 4_200_000_001,
            local1: 1,
            local2: 2,
        }]),
        Attr::Unknown {
            code: 99,
            data: Bytes::from_static(&[1, 2, 3]),
        },
    ]);
    let mut attrs_vec: Vec<PathAttribute> = attrs.iter().cloned().collect();
    // An unknown optional transitive attribute is sent with Partial set.
    attrs_vec.last_mut().expect("attrs").flags = flags::OPTIONAL_TRANSITIVE | flags::PARTIAL;
    let update = Update {
        withdrawn: vec![nlri("10.9.0.0/16")],
        attrs: PathAttributes::from_vec(attrs_vec),
        nlri: vec![nlri("10.1.0.0/16"), nlri("192.0.2.128/25")],
    };
    both_ways(
        &hex,
        Context::ibgp_4octet(),
        Message::Update(update.clone()),
    );

    // The typed accessors see what was decoded.
    let a = &update.attrs;
    assert_eq!(a.local_pref(), Some(200));
    assert_eq!(a.communities().map(<[Community]>::len), Some(2));
    assert_eq!(a.cluster_list().map(<[Ipv4Addr]>::len), Some(2));
    assert_eq!(a.originator_id(), Some(Ipv4Addr::new(10, 0, 0, 3)));
    assert!(a.atomic_aggregate());
    assert_eq!(
        a.extended_communities().map(|c| c[0].to_string()),
        Some("rt:65000:7".into())
    );
}

#[test]
fn update_two_octet_session_with_as4_attributes() {
    let hex = format!(
        "{MARKER} 004d 02
         0000 0035
         40 01 01 02
         40 02 06 02 02 fde9 5ba0
         40 03 04 0a000001
         c0 07 06 5ba0 0a000002
         c0 11 0a 02 02 0000fde9 fa56ea01
         c0 12 08 fa56ea01 0a000002
         00"
    );
    let agg = |asn| Aggregator {
        asn,
        address: Ipv4Addr::new(10, 0, 0, 2),
    };
    let update = Update {
        withdrawn: vec![],
        attrs: PathAttributes::from_attrs([
            Attr::Origin(Origin::Incomplete),
            Attr::AsPath(AsPath::sequence([65001, 23456])),
            Attr::NextHop(Ipv4Addr::new(10, 0, 0, 1)),
            Attr::Aggregator(agg(23456)),
            Attr::As4Path(AsPath::sequence([65001, 4_200_000_001])),
            Attr::As4Aggregator(agg(4_200_000_001)),
        ]),
        nlri: vec![nlri("0.0.0.0/0")],
    };
    both_ways(&hex, Context::default(), Message::Update(update));
}

#[test]
fn update_ipv6_mp_reach_with_link_local_and_add_path() {
    let hex = format!(
        "{MARKER} 0066 02
         0000 004f
         90 0e 003d 0002 01 20
            20010db8000000000000000000000001 fe800000000000000000000000000001 00
            00000001 30 20010db80001
            00000002 40 20010db800020000
         40 01 01 00
         40 02 00
         40 05 04 00000064"
    );
    let ctx = Context {
        add_path: AddPathFamilies::only(Family::IPV6_UNICAST),
        ..Context::ibgp_4octet()
    };
    let reach = MpReach {
        family: Family::IPV6_UNICAST,
        next_hop: NextHop::Ipv6 {
            global: "2001:db8::1".parse::<Ipv6Addr>().expect("addr"),
            link_local: Some("fe80::1".parse().expect("addr")),
        },
        nlri: vec![with_id(1, "2001:db8:1::/48"), with_id(2, "2001:db8:2::/64")],
    };
    let update = Update {
        attrs: PathAttributes::from_vec(vec![
            pa(
                flags::OPTIONAL | flags::EXTENDED_LENGTH,
                Attr::MpReach(reach),
            ),
            pa(flags::WELL_KNOWN, Attr::Origin(Origin::Igp)),
            pa(flags::WELL_KNOWN, Attr::AsPath(AsPath::default())),
            pa(flags::WELL_KNOWN, Attr::LocalPref(100)),
        ]),
        ..Update::default()
    };
    assert!(update.has_reachable());
    both_ways(&hex, ctx, Message::Update(update));

    let hex = format!(
        "{MARKER} 0029 02 0000 0012
         90 0f 000e 0002 01 00000001 30 20010db80001"
    );
    let update = Update {
        attrs: PathAttributes::from_vec(vec![pa(
            flags::OPTIONAL | flags::EXTENDED_LENGTH,
            Attr::MpUnreach(MpUnreach {
                family: Family::IPV6_UNICAST,
                withdrawn: vec![with_id(1, "2001:db8:1::/48")],
            }),
        )]),
        ..Update::default()
    };
    both_ways(&hex, ctx, Message::Update(update));
}

#[test]
fn end_of_rib_for_every_family() {
    both_ways(
        &format!("{MARKER} 0017 02 0000 0000"),
        Context::default(),
        Message::Update(Update::end_of_rib(Family::IPV4_UNICAST)),
    );
    both_ways(
        &format!("{MARKER} 001d 02 0000 0006 80 0f 03 0002 01"),
        Context::default(),
        Message::Update(Update::end_of_rib(Family::IPV6_UNICAST)),
    );
    // EVPN (25/70) is not decoded into prefixes, yet its End-of-RIB is
    // recognised.
    let evpn = Family::new(25, 70);
    both_ways(
        &format!("{MARKER} 001d 02 0000 0006 80 0f 03 0019 46"),
        Context::default(),
        Message::Update(Update::end_of_rib(evpn)),
    );
    for f in [
        Family::IPV4_UNICAST,
        Family::IPV6_UNICAST,
        evpn,
        Family::new(1, 128),
    ] {
        assert_eq!(Update::end_of_rib(f).as_end_of_rib(), Some(f));
    }
    let not_eor = Update {
        withdrawn: vec![nlri("10.0.0.0/8")],
        ..Update::default()
    };
    assert_eq!(not_eor.as_end_of_rib(), None);
}

#[test]
fn notification_with_shutdown_communication() {
    let n = Notification::cease_with_message(CeaseSubcode::AdministrativeShutdown, "maint");
    assert_eq!(n.shutdown_communication(), Some("maint"));
    both_ways(
        &format!("{MARKER} 001b 03 06 02 05 6d61696e74"),
        Context::default(),
        Message::Notification(n),
    );
}

#[test]
fn route_refresh_subtypes() {
    for (sub, hex) in [
        (RouteRefreshSubtype::Normal, "0001 00 01"),
        (RouteRefreshSubtype::BeginningOfRefresh, "0002 01 01"),
        (RouteRefreshSubtype::EndOfRefresh, "0002 02 01"),
        (RouteRefreshSubtype::Reserved(9), "0001 09 01"),
    ] {
        let family = if hex.starts_with("0001") {
            Family::IPV4_UNICAST
        } else {
            Family::IPV6_UNICAST
        };
        both_ways(
            &format!("{MARKER} 0017 05 {hex}"),
            Context::default(),
            Message::RouteRefresh(RouteRefresh {
                family,
                subtype: sub,
            }),
        );
    }
}
