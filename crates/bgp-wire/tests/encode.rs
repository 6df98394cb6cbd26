//! Encoding: splitting large announcement and withdrawal sets at the
//! negotiated message size, and what a reflector must do with attribute
//! flags.

use std::net::{Ipv4Addr, Ipv6Addr};

use bgp_wire::{
    attr::{flags, AsPath, NextHop, Origin},
    encode_reach, encode_withdraw, frame, AddPathFamilies, Attr, Context, EncodeError, Family,
    Message, Nlri, PathAttribute, PathAttributes, Reach, Update,
};
use bytes::{Bytes, BytesMut};
use ipnet::IpNet;

fn v4(n: u32) -> Nlri {
    let addr = Ipv4Addr::from(0x0a00_0000 | (n << 8));
    Nlri::new(IpNet::new(addr.into(), 24).expect("prefix"))
}

fn v6(n: u32) -> Nlri {
    let addr = Ipv6Addr::from(0x2001_0db8_u128 << 96 | u128::from(n) << 64);
    Nlri::new(IpNet::new(addr.into(), 64).expect("prefix"))
}

fn attrs() -> PathAttributes {
    PathAttributes::from_attrs([
        Attr::Origin(Origin::Igp),
        Attr::AsPath(AsPath::sequence([65001, 65002, 65003, 65004])),
        Attr::NextHop(Ipv4Addr::new(192, 0, 2, 1)),
        Attr::LocalPref(100),
    ])
}

/// Splits `buf` into messages, decodes each and checks its size.
fn messages(buf: &[u8], ctx: &Context) -> Vec<Update> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        let len = frame(&buf[at..], ctx)
            .expect("valid header")
            .expect("whole message");
        assert!(len <= ctx.max_message_len());
        let d = Message::decode(&buf[at..at + len], ctx).expect("decodes");
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        match d.message {
            Message::Update(u) => out.push(u),
            other => panic!("not an UPDATE: {other:?}"),
        }
        at += len;
    }
    out
}

#[test]
fn ipv4_announcements_split_at_4096_and_at_65535() {
    let nlri: Vec<Nlri> = (0..5000).map(v4).collect();
    for (ctx, at_least) in [
        (Context::ibgp_4octet(), 5000 * 4 / 4096 + 1),
        (
            Context {
                extended_message: true,
                ..Context::ibgp_4octet()
            },
            1,
        ),
    ] {
        let mut buf = BytesMut::new();
        let n = encode_reach(&ctx, &attrs(), Reach::Ipv4(&nlri), &mut buf).expect("encodes");
        let ups = messages(&buf, &ctx);
        assert_eq!(ups.len(), n);
        assert!(n >= at_least, "{n} messages");
        let got: Vec<Nlri> = ups.iter().flat_map(|u| u.nlri.iter().copied()).collect();
        assert_eq!(got, nlri, "every prefix once, in order");
        assert!(ups.iter().all(|u| u.attrs == attrs()));
        // Every message but the last is full to within one prefix.
        let mut tmp = BytesMut::new();
        ups[0].encode(&ctx, &mut tmp).expect("re-encodes");
        if n > 1 {
            assert!(
                tmp.len() + 4 > ctx.max_message_len(),
                "first message only {} bytes",
                tmp.len()
            );
        }
    }
}

#[test]
fn ipv6_announcements_with_add_path_split() {
    let ctx = Context {
        add_path: AddPathFamilies::ALL,
        ..Context::ibgp_4octet()
    };
    let nlri: Vec<Nlri> = (0..3000)
        .map(|i| Nlri {
            path_id: Some(i % 3),
            ..v6(i)
        })
        .collect();
    let next_hop = NextHop::Ipv6 {
        global: "2001:db8::1".parse().expect("addr"),
        link_local: None,
    };
    let mut buf = BytesMut::new();
    let reach = Reach::Mp {
        family: Family::IPV6_UNICAST,
        next_hop,
        nlri: &nlri,
    };
    let n = encode_reach(&ctx, &attrs(), reach, &mut buf).expect("encodes");
    let ups = messages(&buf, &ctx);
    assert_eq!(ups.len(), n);
    assert!(n > 1);
    let mut got = Vec::new();
    for u in &ups {
        let mp = u.attrs.mp_reach().expect("MP_REACH in every message");
        assert_eq!(mp.next_hop, next_hop);
        got.extend_from_slice(&mp.nlri);
        assert_eq!(u.attrs.local_pref(), Some(100));
    }
    assert_eq!(got, nlri);
}

#[test]
fn withdrawals_split_for_both_families() {
    let ctx = Context::ibgp_4octet();
    for (family, nlri) in [
        (Family::IPV4_UNICAST, (0..4000).map(v4).collect::<Vec<_>>()),
        (Family::IPV6_UNICAST, (0..4000).map(v6).collect()),
    ] {
        let mut buf = BytesMut::new();
        let n = encode_withdraw(&ctx, family, &nlri, &mut buf).expect("encodes");
        let ups = messages(&buf, &ctx);
        assert_eq!(ups.len(), n);
        assert!(n > 1);
        let got: Vec<Nlri> = ups
            .iter()
            .flat_map(|u| match u.attrs.mp_unreach() {
                Some(m) => m.withdrawn.clone(),
                None => u.withdrawn.clone(),
            })
            .collect();
        assert_eq!(got, nlri, "{family}");
    }
}

#[test]
fn encode_rejects_what_cannot_be_sent() {
    let ctx = Context::ibgp_4octet();
    let mut buf = BytesMut::new();
    // A prefix of the wrong family.
    let err = encode_reach(&ctx, &attrs(), Reach::Ipv4(&[v6(1)]), &mut buf);
    assert!(matches!(err, Err(EncodeError::WrongFamily { .. })));
    // IPv4 NLRI without NEXT_HOP.
    let mut no_nh = attrs();
    no_nh.remove(3);
    let err = encode_reach(&ctx, &no_nh, Reach::Ipv4(&[v4(1)]), &mut buf);
    assert_eq!(err, Err(EncodeError::MissingNextHop));
    // Attributes that leave no room for a single prefix.
    let mut huge = attrs();
    huge.set(Attr::Unknown {
        code: 200,
        data: Bytes::from(vec![0; 4080]),
    });
    let err = encode_reach(&ctx, &huge, Reach::Ipv4(&[v4(1)]), &mut buf);
    assert!(matches!(err, Err(EncodeError::MessageTooLong { .. })));
    // One UPDATE holding more than fits.
    let u = Update {
        nlri: (0..2000).map(v4).collect(),
        attrs: attrs(),
        withdrawn: vec![],
    };
    assert!(matches!(
        u.encode(&ctx, &mut buf),
        Err(EncodeError::MessageTooLong { .. })
    ));
}

#[test]
fn unknown_transitive_attribute_gets_partial_and_non_transitive_is_stripped() {
    let ctx = Context::ibgp_4octet();
    let mut a = attrs();
    a.set(Attr::Unknown {
        code: 99,
        data: Bytes::from_static(b"xy"),
    });
    let mut list: Vec<PathAttribute> = a.iter().cloned().collect();
    list.push(PathAttribute {
        flags: flags::OPTIONAL,
        value: Attr::Unknown {
            code: 201,
            data: Bytes::from_static(b"z"),
        },
    });
    let mut a = PathAttributes::from_vec(list);
    let mut buf = BytesMut::new();
    a.get(99)
        .expect("present")
        .encode(&ctx, &mut buf)
        .expect("encodes");
    assert_eq!(
        &buf[..],
        &[0xe0, 99, 2, b'x', b'y'],
        "Partial bit set on pass-through"
    );
    a.strip_unknown_non_transitive();
    assert!(
        a.get(201).is_none(),
        "unknown non-transitive must not be passed on"
    );
    assert!(a.get(99).is_some());
}

#[test]
fn extended_length_kept_and_forced() {
    let ctx = Context::ibgp_4octet();
    // A received AS_PATH with Extended Length keeps it.
    let p = PathAttribute {
        flags: flags::WELL_KNOWN | flags::EXTENDED_LENGTH,
        value: Attr::AsPath(AsPath::sequence([1])),
    };
    let mut buf = BytesMut::new();
    p.encode(&ctx, &mut buf).expect("encodes");
    assert_eq!(&buf[..4], &[0x50, 2, 0, 6]);
    // A long value forces it.
    let p = PathAttribute::new(Attr::AsPath(AsPath::sequence(1..=100)));
    let mut buf = BytesMut::new();
    p.encode(&ctx, &mut buf).expect("encodes");
    assert_eq!(buf[0], 0x50);
    assert_eq!(u16::from_be_bytes([buf[2], buf[3]]) as usize, buf.len() - 4);
}
