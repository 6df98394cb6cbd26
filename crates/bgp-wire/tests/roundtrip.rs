//! Property tests: encode -> decode is the identity for arbitrary messages
//! in arbitrary contexts, and decoding arbitrary or mutated bytes never
//! panics.

use std::net::{Ipv4Addr, Ipv6Addr};

use bgp_wire::{
    attr::{
        self, flags, Aggregator, AsPath, Community, ExtendedCommunity, LargeCommunity, MpReach,
        MpUnreach, NextHop, Origin, Segment, SegmentKind,
    },
    capability::{AddPathFamily, AddPathMode, GracefulRestart, GracefulRestartFamily},
    AddPathFamilies, Attr, Capability, Context, Family, Message, Nlri, Notification,
    NotificationCode, Open, OptionalParameter, PathAttribute, PathAttributes, RouteRefresh, Update,
};
use bytes::Bytes;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::{collection::vec, prelude::*, sample::subsequence};

fn context() -> impl Strategy<Value = Context> {
    (any::<bool>(), 0u8..4, any::<bool>()).prop_map(|(four, ap, ext)| {
        let mut add_path = AddPathFamilies::NONE;
        if ap & 1 != 0 {
            add_path.insert(Family::IPV4_UNICAST);
        }
        if ap & 2 != 0 {
            add_path.insert(Family::IPV6_UNICAST);
        }
        Context {
            four_octet_as: four,
            add_path,
            extended_message: ext,
            ebgp: false,
        }
    })
}

fn nlri(family: Family, ctx: Context) -> impl Strategy<Value = Nlri> {
    let id = if ctx.add_path(family) {
        any::<u32>().prop_map(Some).boxed()
    } else {
        Just(None).boxed()
    };
    let prefix = if family == Family::IPV4_UNICAST {
        (any::<u32>(), 0u8..=32)
            .prop_map(|(a, l)| IpNet::V4(Ipv4Net::new(Ipv4Addr::from(a), l).expect("len").trunc()))
            .boxed()
    } else {
        (any::<u128>(), 0u8..=128)
            .prop_map(|(a, l)| IpNet::V6(Ipv6Net::new(Ipv6Addr::from(a), l).expect("len").trunc()))
            .boxed()
    };
    (id, prefix).prop_map(|(path_id, prefix)| Nlri { path_id, prefix })
}

fn asn(four: bool) -> BoxedStrategy<u32> {
    if four {
        any::<u32>().boxed()
    } else {
        (0u32..=65535).boxed()
    }
}

fn as_path(four: bool) -> impl Strategy<Value = AsPath> {
    let kind = prop_oneof![
        Just(SegmentKind::Sequence),
        Just(SegmentKind::Set),
        Just(SegmentKind::ConfedSequence),
        Just(SegmentKind::ConfedSet)
    ];
    vec(
        (kind, vec(asn(four), 1..12)).prop_map(|(kind, asns)| Segment { kind, asns }),
        0..4,
    )
    .prop_map(|segments| AsPath { segments })
}

/// Optional attributes (besides ORIGIN, AS_PATH, NEXT_HOP), each at most once.
fn optional_attrs(ctx: Context) -> impl Strategy<Value = Vec<Attr>> {
    let four = ctx.four_octet_as;
    let agg = |four| {
        (asn(four), any::<u32>()).prop_map(|(asn, a)| Aggregator {
            asn,
            address: a.into(),
        })
    };
    (
        any::<u32>(),
        any::<u32>(),
        agg(four),
        vec(any::<u32>().prop_map(Community), 1..8),
        any::<u32>(),
        vec(any::<u32>().prop_map(Ipv4Addr::from), 1..5),
        vec(any::<[u8; 8]>().prop_map(ExtendedCommunity), 1..4),
        as_path(true),
        agg(true),
        vec(
            any::<(u32, u32, u32)>().prop_map(|(g, a, b)| LargeCommunity {
                global: g,
                local1: a,
                local2: b,
            }),
            1..4,
        ),
        (100u8..=255, vec(any::<u8>(), 0..300)),
    )
        .prop_flat_map(
            move |(med, lp, ag, comms, oid, cl, ext, p4, ag4, large, (code, data))| {
                let code = if attr::category(code).is_some() || code == 14 || code == 15 {
                    250
                } else {
                    code
                };
                let all = vec![
                    Attr::MultiExitDisc(med),
                    Attr::LocalPref(lp),
                    Attr::AtomicAggregate,
                    Attr::Aggregator(ag),
                    Attr::Communities(comms),
                    Attr::OriginatorId(oid.into()),
                    Attr::ClusterList(cl),
                    Attr::ExtendedCommunities(ext),
                    Attr::As4Path(p4),
                    Attr::As4Aggregator(ag4),
                    Attr::LargeCommunities(large),
                    Attr::Unknown {
                        code,
                        data: Bytes::from(data),
                    },
                ];
                let n = all.len();
                subsequence(all, 0..=n)
            },
        )
}

/// Flags a decoder would report back for `value` (the Extended Length bit
/// follows the value's size, or is set at random when it need not be).
fn flags_for(value: &Attr, ctx: &Context, ext: bool, transitive_unknown: bool) -> u8 {
    let mut f = attr::category(value.code()).unwrap_or(if transitive_unknown {
        flags::OPTIONAL_TRANSITIVE | flags::PARTIAL
    } else {
        flags::OPTIONAL
    });
    if ext || value.value_len(ctx) > 255 {
        f |= flags::EXTENDED_LENGTH;
    }
    f
}

fn update(ctx: Context) -> impl Strategy<Value = Update> {
    let v4 = Family::IPV4_UNICAST;
    let v6 = Family::IPV6_UNICAST;
    let mp_reach = (
        any::<bool>(),
        any::<u128>(),
        proptest::option::of(any::<u128>()),
        vec(nlri(v6, ctx), 1..20),
        any::<u32>(),
        vec(nlri(v4, ctx), 1..20),
    )
        .prop_map(move |(six, g, ll, n6, a4, n4)| {
            if six {
                MpReach {
                    family: v6,
                    next_hop: NextHop::Ipv6 {
                        global: g.into(),
                        link_local: ll.map(Into::into),
                    },
                    nlri: n6,
                }
            } else {
                MpReach {
                    family: v4,
                    next_hop: NextHop::Ipv4(a4.into()),
                    nlri: n4,
                }
            }
        });
    let mp_unreach = (
        any::<bool>(),
        vec(nlri(v6, ctx), 0..20),
        vec(nlri(v4, ctx), 0..20),
    )
        .prop_map(move |(six, n6, n4)| {
            if six {
                MpUnreach {
                    family: v6,
                    withdrawn: n6,
                }
            } else {
                MpUnreach {
                    family: v4,
                    withdrawn: n4,
                }
            }
        });
    (
        vec(nlri(v4, ctx), 0..30),
        vec(nlri(v4, ctx), 0..30),
        any::<u8>()
            .prop_map(|o| [Origin::Igp, Origin::Egp, Origin::Incomplete][usize::from(o % 3)]),
        as_path(ctx.four_octet_as),
        any::<u32>(),
        optional_attrs(ctx),
        proptest::option::of(mp_reach),
        proptest::option::of(mp_unreach),
        any::<u64>(),
        any::<bool>(),
    )
        .prop_map(
            move |(withdrawn, nlri, origin, path, nh, opt, reach, unreach, bits, transitive)| {
                let mut values = vec![
                    Attr::Origin(origin),
                    Attr::AsPath(path),
                    Attr::NextHop(nh.into()),
                ];
                values.extend(opt);
                values.extend(reach.map(Attr::MpReach));
                values.extend(unreach.map(Attr::MpUnreach));
                // Any order: rotate by a random amount.
                let k = (bits % values.len() as u64) as usize;
                values.rotate_left(k);
                let list = values
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let f = flags_for(&v, &ctx, bits >> (8 + i) & 1 == 1, transitive);
                        PathAttribute { flags: f, value: v }
                    })
                    .collect();
                Update {
                    withdrawn,
                    attrs: PathAttributes::from_vec(list),
                    nlri,
                }
            },
        )
}

fn capability() -> impl Strategy<Value = Capability> {
    let family = (any::<u16>(), any::<u8>()).prop_map(|(a, s)| Family::new(a, s));
    let mode = prop_oneof![
        Just(AddPathMode::Receive),
        Just(AddPathMode::Send),
        Just(AddPathMode::Both)
    ];
    prop_oneof![
        family.clone().prop_map(Capability::Multiprotocol),
        Just(Capability::RouteRefresh),
        Just(Capability::ExtendedMessage),
        Just(Capability::EnhancedRouteRefresh),
        any::<u32>().prop_map(Capability::FourOctetAs),
        (
            any::<u8>(),
            0u16..4096,
            vec((family.clone(), any::<u8>()), 0..4)
        )
            .prop_map(|(f, t, fams)| {
                Capability::GracefulRestart(GracefulRestart {
                    flags: f & 0xf0,
                    time: t,
                    families: fams
                        .into_iter()
                        .map(|(family, flags)| GracefulRestartFamily { family, flags })
                        .collect(),
                })
            }),
        vec((family, mode), 0..4).prop_map(|v| Capability::AddPath(
            v.into_iter()
                .map(|(family, mode)| AddPathFamily { family, mode })
                .collect()
        )),
        ("[a-z0-9-]{0,20}", "[a-z0-9.]{0,20}")
            .prop_map(|(hostname, domain)| Capability::Fqdn { hostname, domain }),
        (128u8..=255, vec(any::<u8>(), 0..12)).prop_map(|(code, d)| Capability::Unknown {
            code,
            data: Bytes::from(d)
        }),
    ]
}

fn message(ctx: Context) -> impl Strategy<Value = Message> {
    let open = (
        any::<u16>(),
        any::<u16>(),
        1u32..,
        vec(
            prop_oneof![
                vec(capability(), 0..6).prop_map(OptionalParameter::Capabilities),
                (3u8..=254, vec(any::<u8>(), 0..8)).prop_map(|(kind, d)| {
                    OptionalParameter::Unknown {
                        kind,
                        data: Bytes::from(d),
                    }
                }),
            ],
            0..4,
        ),
    )
        .prop_filter("hold time 1 and 2 are invalid", |(_, h, _, _)| {
            *h != 1 && *h != 2
        })
        .prop_map(|(my_as, hold_time, id, params)| Open {
            my_as,
            hold_time,
            bgp_id: id.into(),
            params,
        });
    prop_oneof![
        open.prop_map(Message::Open),
        update(ctx).prop_map(Message::Update),
        (any::<u8>(), any::<u8>(), vec(any::<u8>(), 0..64)).prop_map(|(c, s, d)| {
            Message::Notification(Notification {
                code: NotificationCode::new(c, s),
                data: Bytes::from(d),
            })
        }),
        Just(Message::Keepalive),
        (any::<u16>(), any::<u8>(), any::<u8>()).prop_map(|(a, sub, s)| Message::RouteRefresh(
            RouteRefresh {
                family: Family::new(a, s),
                subtype: sub.into(),
            }
        )),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn encode_then_decode_is_identity((ctx, msg) in context().prop_flat_map(|c| (Just(c), message(c)))) {
        let Ok(bytes) = msg.to_bytes(&ctx) else {
            // Only size limits may refuse a generated message.
            let err = msg.to_bytes(&ctx).unwrap_err();
            prop_assert!(matches!(err, bgp_wire::EncodeError::MessageTooLong { .. }), "{err}");
            return Ok(());
        };
        let d = Message::decode(&bytes, &ctx).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(&d.problems, &vec![]);
        prop_assert_eq!(&d.message, &msg);
        // And the bytes are stable.
        prop_assert_eq!(d.message.to_bytes(&ctx).expect("re-encodes"), bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(ctx in context(), body in vec(any::<u8>(), 0..600), kind in 0u8..7) {
        // With a valid header, so decoding goes past the framing checks.
        let mut m = vec![0xff; 16];
        m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
        m.push(kind);
        m.extend_from_slice(&body);
        let _ = Message::decode(&m, &ctx);
        let _ = bgp_wire::frame(&m, &ctx);
        // And raw.
        let _ = Message::decode(&body, &ctx);
    }

    #[test]
    fn mutated_messages_never_panic(
        (ctx, msg) in context().prop_flat_map(|c| (Just(c), message(c))),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let Ok(bytes) = msg.to_bytes(&ctx) else { return Ok(()) };
        let mut bytes = bytes.to_vec();
        for (i, v) in flips {
            let at = i.index(bytes.len());
            // Keep the marker and length so the body is what gets judged.
            if at >= 18 {
                bytes[at] = v;
            }
        }
        if let Ok(d) = Message::decode(&bytes, &ctx) {
            // What decodes must encode again (unless it grew past the limit).
            let _ = d.message.to_bytes(&ctx);
        }
    }
}

#[cfg(feature = "serde")]
proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// The text form (serde) of an UPDATE reads back as the same UPDATE.
    /// (Consecutive AS_SEQUENCE segments read back as one: the text form
    /// does not mark where a sequence was split.)
    #[test]
    fn update_text_form_round_trips(u in context().prop_flat_map(update)) {
        let json = serde_json::to_string(&u).expect("serializes");
        let back: Update = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(format!("{e}: {json}")))?;
        prop_assert_eq!(serde_json::to_string(&back).expect("serializes"), json);
        prop_assert_eq!(&back.nlri, &u.nlri);
        prop_assert_eq!(&back.withdrawn, &u.withdrawn);
        let norm = |u: &Update| u.attrs.iter().map(|a| match &a.value {
            Attr::AsPath(p) | Attr::As4Path(p) => (a.flags, p.to_string()),
            v => (a.flags, format!("{v:?}")),
        }).collect::<Vec<_>>();
        prop_assert_eq!(norm(&back), norm(&u));
    }
}

#[cfg(feature = "serde")]
#[test]
fn update_text_form_is_readable() {
    let u: Update = serde_json::from_str(
        r#"{"attrs": [{"origin": "igp"}, {"as_path": "65001 {65002 65003}"}, {"next_hop": "192.0.2.1"},
            {"communities": ["65000:101"]}, {"large_communities": ["65000:1:2"]},
            {"extended_communities": ["rt:65000:7"]}, {"flags": 224, "unknown": {"code": 99, "data": [1]}}],
           "nlri": ["10.0.0.0/8", "10.1.0.0/16#3"]}"#,
    )
    .expect("parses");
    assert_eq!(u.attrs.as_path().map(AsPath::path_len), Some(2));
    assert_eq!(u.attrs.get(99).map(|a| a.flags), Some(0xe0));
    assert_eq!(u.nlri[1].path_id, Some(3));
    let json = serde_json::to_string(&u.attrs.get(1).expect("origin")).expect("serializes");
    assert_eq!(json, r#"{"origin":"igp"}"#);
}
