//! Malformed input: RFC 7606 treatments for attribute problems, and the
//! NOTIFICATION (RFC 4271 section 6) for everything that resets a session.

use bgp_wire::{
    notification::{HeaderSubcode, OpenSubcode, RouteRefreshSubcode, UpdateSubcode},
    AttrError, Context, DecodeError, Decoded, ErrorKind, Family, Message, NotificationCode,
    Treatment, Update, UpdateError,
};

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s.split_whitespace().collect::<String>()).expect("hex")
}

/// An UPDATE with the given withdrawn, attribute and NLRI fields; lengths
/// are computed.
fn update(withdrawn: &str, attrs: &str, nlri: &str) -> Vec<u8> {
    let (w, a, n) = (unhex(withdrawn), unhex(attrs), unhex(nlri));
    let len = 19 + 2 + w.len() + 2 + a.len() + n.len();
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&(len as u16).to_be_bytes());
    m.push(2);
    m.extend_from_slice(&(w.len() as u16).to_be_bytes());
    m.extend(w);
    m.extend_from_slice(&(a.len() as u16).to_be_bytes());
    m.extend(a);
    m.extend(n);
    m
}

fn message(kind: u8, body: &str) -> Vec<u8> {
    let b = unhex(body);
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&((19 + b.len()) as u16).to_be_bytes());
    m.push(kind);
    m.extend(b);
    m
}

const ORIGIN: &str = "40 01 01 00";
const AS_PATH: &str = "40 02 04 02 01 fde9";
const NEXT_HOP: &str = "40 03 04 0a000001";
const NLRI: &str = "18 0a0001";

fn decode(bytes: &[u8], ctx: &Context) -> Decoded {
    Message::decode(bytes, ctx).expect("recoverable per RFC 7606")
}

fn fatal(bytes: &[u8], ctx: &Context) -> DecodeError {
    Message::decode(bytes, ctx).expect_err("must reset the session")
}

fn the_update(d: &Decoded) -> &Update {
    match &d.message {
        Message::Update(u) => u,
        other => panic!("not an UPDATE: {other:?}"),
    }
}

/// One problem with the given code, error and treatment; the NLRI are
/// still there so the daemon can withdraw them.
fn one_problem(d: &Decoded, code: u8, error: AttrError, treatment: Treatment) {
    assert_eq!(d.problems.len(), 1, "{:?}", d.problems);
    let p = &d.problems[0];
    assert_eq!(
        (p.type_code, p.error, p.treatment),
        (code, error, treatment)
    );
    assert_eq!(d.treatment(), Some(treatment));
    assert_eq!(
        the_update(d).nlri.len(),
        1,
        "NLRI must survive to be withdrawn"
    );
}

#[test]
fn clean_update_has_no_problem() {
    let d = decode(
        &update("", &format!("{ORIGIN} {AS_PATH} {NEXT_HOP}"), NLRI),
        &Context::ibgp_4octet().with_two_octet(),
    );
    assert!(d.problems.is_empty());
    assert_eq!(d.treatment(), None);
}

trait TwoOctet {
    fn with_two_octet(self) -> Self;
}
impl TwoOctet for Context {
    fn with_two_octet(self) -> Self {
        Context {
            four_octet_as: false,
            ..self
        }
    }
}

#[test]
fn bad_origin_value_is_treat_as_withdraw() {
    let ctx = Context::default();
    let d = decode(
        &update("", &format!("40 01 01 03 {AS_PATH} {NEXT_HOP}"), NLRI),
        &ctx,
    );
    one_problem(&d, 1, AttrError::Value, Treatment::TreatAsWithdraw);
    let n = d.problems[0].notification();
    assert_eq!(
        n.code,
        NotificationCode::Update(UpdateSubcode::InvalidOriginAttribute)
    );
    assert_eq!(
        &n.data[..],
        &unhex("40 01 01 03")[..],
        "data is the attribute"
    );
}

#[test]
fn attribute_flags_conflict_is_treat_as_withdraw() {
    // ORIGIN marked optional.
    let d = decode(
        &update("", &format!("c0 01 01 00 {AS_PATH} {NEXT_HOP}"), NLRI),
        &Context::default(),
    );
    one_problem(
        &d,
        1,
        AttrError::Flags { flags: 0xc0 },
        Treatment::TreatAsWithdraw,
    );
    assert_eq!(
        d.problems[0].notification().code,
        NotificationCode::Update(UpdateSubcode::AttributeFlagsError)
    );
}

#[test]
fn bad_lengths_per_attribute() {
    let ctx = Context::default();
    let base = format!("{ORIGIN} {AS_PATH} {NEXT_HOP}");
    for (attr, code, treatment) in [
        ("80 04 03 000001", 4, Treatment::TreatAsWithdraw), // MED
        ("40 05 02 0001", 5, Treatment::TreatAsWithdraw),   // LOCAL_PREF
        ("40 06 01 00", 6, Treatment::AttributeDiscard),    // ATOMIC_AGGREGATE
        ("c0 07 05 0001000000", 7, Treatment::AttributeDiscard), // AGGREGATOR
        ("c0 08 03 000001", 8, Treatment::TreatAsWithdraw), // COMMUNITIES
        ("c0 08 00", 8, Treatment::TreatAsWithdraw),        // COMMUNITIES, empty
        ("80 09 05 0000000001", 9, Treatment::TreatAsWithdraw), // ORIGINATOR_ID
        ("80 0a 03 000001", 10, Treatment::TreatAsWithdraw), // CLUSTER_LIST
        ("c0 10 07 00000000000000", 16, Treatment::TreatAsWithdraw), // EXT COMMUNITIES
        ("c0 11 03 020100", 17, Treatment::AttributeDiscard), // AS4_PATH
        ("c0 12 06 000000010000", 18, Treatment::AttributeDiscard), // AS4_AGGREGATOR
        (
            "c0 20 0b 0000000000000000000000",
            32,
            Treatment::TreatAsWithdraw,
        ), // LARGE
    ] {
        let d = decode(&update("", &format!("{base} {attr}"), NLRI), &ctx);
        assert_eq!(d.problems.len(), 1, "attr {code}: {:?}", d.problems);
        let p = &d.problems[0];
        assert_eq!((p.type_code, p.treatment), (code, treatment), "attr {code}");
        assert!(
            the_update(&d).attrs.get(code).is_none(),
            "attr {code} must be dropped"
        );
        assert_eq!(&p.attribute[..], &unhex(attr)[..]);
    }
    // NEXT_HOP of 5 bytes.
    let d = decode(
        &update("", &format!("{ORIGIN} {AS_PATH} 40 03 05 0a00000100"), NLRI),
        &ctx,
    );
    one_problem(
        &d,
        3,
        AttrError::Length { length: 5 },
        Treatment::TreatAsWithdraw,
    );
    assert_eq!(
        d.problems[0].notification().code,
        NotificationCode::Update(UpdateSubcode::InvalidNextHopAttribute)
    );
}

#[test]
fn malformed_as_path_is_treat_as_withdraw() {
    let ctx = Context::default();
    for bad in [
        "40 02 04 05 01 fde9",
        "40 02 02 02 00",
        "40 02 05 02 02 fde9 00",
    ] {
        let d = decode(
            &update("", &format!("{ORIGIN} {bad} {NEXT_HOP}"), NLRI),
            &ctx,
        );
        assert_eq!(d.problems.len(), 1, "{bad}");
        assert_eq!(d.problems[0].type_code, 2);
        assert_eq!(d.treatment(), Some(Treatment::TreatAsWithdraw));
        assert_eq!(
            d.problems[0].notification().code,
            NotificationCode::Update(UpdateSubcode::MalformedAsPath)
        );
    }
}

#[test]
fn duplicate_attribute_keeps_the_first() {
    let d = decode(
        &update(
            "",
            &format!("{ORIGIN} {AS_PATH} {NEXT_HOP} c0 08 04 fde80001 c0 08 04 fde80002"),
            NLRI,
        ),
        &Context::default(),
    );
    one_problem(&d, 8, AttrError::Duplicate, Treatment::AttributeDiscard);
    let comms = the_update(&d).attrs.communities().expect("first kept");
    assert_eq!(comms[0].to_string(), "65000:1");
}

#[test]
fn missing_well_known_attribute() {
    let ctx = Context::default();
    let d = decode(&update("", &format!("{ORIGIN} {NEXT_HOP}"), NLRI), &ctx);
    one_problem(&d, 2, AttrError::Missing, Treatment::TreatAsWithdraw);
    let n = d.problems[0].notification();
    assert_eq!(
        n.code,
        NotificationCode::Update(UpdateSubcode::MissingWellKnownAttribute)
    );
    assert_eq!(&n.data[..], &[2]);
    // Without NLRI nothing is mandatory.
    let d = decode(&update("", ORIGIN, ""), &ctx);
    assert!(d.problems.is_empty());
    // NEXT_HOP is needed only for the NLRI field, not for MP_REACH.
    let mp = "90 0e 001a 0002 01 10 20010db8000000000000000000000001 00 20 20010db8";
    let d = decode(&update("", &format!("{mp} {ORIGIN} {AS_PATH}"), ""), &ctx);
    assert!(d.problems.is_empty(), "{:?}", d.problems);
}

#[test]
fn attribute_overrunning_the_section_is_treat_as_withdraw() {
    // COMMUNITIES claims 8 bytes, 4 remain: RFC 7606 section 4.
    let ctx = Context::default();
    let d = decode(
        &update(
            "",
            &format!("{ORIGIN} {AS_PATH} {NEXT_HOP} c0 08 08 fde80001"),
            NLRI,
        ),
        &ctx,
    );
    one_problem(&d, 8, AttrError::Overrun, Treatment::TreatAsWithdraw);
    // Two stray bytes: not even an attribute header.
    let d = decode(
        &update("", &format!("{ORIGIN} {AS_PATH} {NEXT_HOP} c0"), NLRI),
        &ctx,
    );
    assert_eq!(d.problems[0].error, AttrError::Overrun);
    assert_eq!(the_update(&d).nlri.len(), 1);
}

#[test]
fn attributes_from_an_external_peer_are_discarded() {
    let ctx = Context {
        ebgp: true,
        ..Context::default()
    };
    for attr in [
        "40 05 04 00000064",
        "80 09 04 0a000001",
        "80 0a 04 0a000001",
    ] {
        let d = decode(
            &update("", &format!("{ORIGIN} {AS_PATH} {NEXT_HOP} {attr}"), NLRI),
            &ctx,
        );
        assert_eq!(d.problems.len(), 1);
        assert_eq!(d.problems[0].error, AttrError::FromExternalPeer);
        assert_eq!(d.treatment(), Some(Treatment::AttributeDiscard));
    }
}

#[test]
fn mp_reach_errors() {
    let ctx = Context::default();
    // Next hop of 5 bytes for IPv6: the NLRI cannot be located.
    let bad_nh = "80 0e 0b 0002 01 05 0000000000 00 00";
    let e = fatal(
        &update("", &format!("{bad_nh} {ORIGIN} {AS_PATH}"), ""),
        &ctx,
    );
    assert!(matches!(
        e.kind,
        ErrorKind::Update(UpdateError::MalformedMpAttribute { code: 14, .. })
    ));
    let n = e.notification();
    assert_eq!(
        n.code,
        NotificationCode::Update(UpdateSubcode::OptionalAttributeError)
    );
    assert_eq!(&n.data[..], &unhex(bad_nh)[..]);

    // A /129: AFI/SAFI disable for IPv6, the IPv4 NLRI stays usable.
    let bad_nlri = "80 0e 18 0002 01 10 20010db8000000000000000000000001 00 81 20";
    let d = decode(
        &update(
            "",
            &format!("{bad_nlri} {ORIGIN} {AS_PATH} {NEXT_HOP}"),
            NLRI,
        ),
        &ctx,
    );
    assert_eq!(d.treatment(), Some(Treatment::AfiSafiDisable));
    assert_eq!(d.problems[0].family, Some(Family::IPV6_UNICAST));
    assert_eq!(the_update(&d).nlri.len(), 1);

    // MP_UNREACH shorter than AFI/SAFI.
    let e = fatal(&update("", "80 0f 02 0002", ""), &ctx);
    assert!(matches!(
        e.kind,
        ErrorKind::Update(UpdateError::MalformedMpAttribute { code: 15, .. })
    ));

    // MP_REACH twice: session reset, Malformed Attribute List.
    let mp = "80 0e 1a 0002 01 10 20010db8000000000000000000000001 00 20 20010db8";
    let e = fatal(&update("", &format!("{mp} {mp}"), ""), &ctx);
    assert!(matches!(
        e.kind,
        ErrorKind::Update(UpdateError::DuplicateMpAttribute { code: 14 })
    ));
    assert_eq!(
        e.notification().code,
        NotificationCode::Update(UpdateSubcode::MalformedAttributeList)
    );

    // Flags wrong on MP_UNREACH: also a reset.
    assert!(Message::decode(&update("", "40 0f 03 0002 01", ""), &ctx).is_err());

    // Other families stay opaque and pass.
    let d = decode(&update("", "80 0e 05 0019 46 00 00", ""), &ctx);
    assert!(d.problems.is_empty());
}

#[test]
fn unrecognized_well_known_attribute_resets() {
    let e = fatal(
        &update("", &format!("{ORIGIN} 40 63 01 00"), ""),
        &Context::default(),
    );
    let n = e.notification();
    assert_eq!(
        n.code,
        NotificationCode::Update(UpdateSubcode::UnrecognizedWellKnownAttribute)
    );
    assert_eq!(&n.data[..], &unhex("40 63 01 00")[..]);
}

#[test]
fn field_length_errors_reset() {
    let ctx = Context::default();
    // Withdrawn Routes Length beyond the message.
    let mut m = update("", "", "");
    m[19..21].copy_from_slice(&[0, 9]);
    let e = fatal(&m, &ctx);
    assert_eq!(e.kind, ErrorKind::Update(UpdateError::WithdrawnOverrun));
    assert_eq!(e.offset, 19);
    assert_eq!(
        e.notification().code,
        NotificationCode::Update(UpdateSubcode::MalformedAttributeList)
    );
    // Total Path Attribute Length beyond the message.
    let mut m = update("", ORIGIN, "");
    m[21..23].copy_from_slice(&[0, 200]);
    assert_eq!(
        fatal(&m, &ctx).kind,
        ErrorKind::Update(UpdateError::AttributesOverrun)
    );
    // A /33 in the NLRI field, and one running past the end.
    for nlri in ["21 0a000001 00", "18 0a00"] {
        let e = fatal(
            &update("", &format!("{ORIGIN} {AS_PATH} {NEXT_HOP}"), nlri),
            &ctx,
        );
        assert_eq!(
            e.notification().code,
            NotificationCode::Update(UpdateSubcode::InvalidNetworkField)
        );
    }
    // ... and in the withdrawn routes.
    let e = fatal(&update("21 0a00000100", "", ""), &ctx);
    assert!(matches!(
        e.kind,
        ErrorKind::Update(UpdateError::InvalidNetworkField { .. })
    ));
}

#[test]
fn header_errors() {
    let ctx = Context::default();
    let mut m = message(4, "");
    m[3] = 0;
    let e = fatal(&m, &ctx);
    assert_eq!(
        e.notification().code,
        NotificationCode::MessageHeader(HeaderSubcode::ConnectionNotSynchronized)
    );

    // KEEPALIVE of 20 bytes; the data is the bad length.
    let e = fatal(&message(4, "00"), &ctx);
    let n = e.notification();
    assert_eq!(
        n.code,
        NotificationCode::MessageHeader(HeaderSubcode::BadMessageLength)
    );
    assert_eq!(&n.data[..], &[0, 20]);

    // Type 9.
    let n = fatal(&message(9, ""), &ctx).notification();
    assert_eq!(
        n.code,
        NotificationCode::MessageHeader(HeaderSubcode::BadMessageType)
    );
    assert_eq!(&n.data[..], &[9]);

    // 5000 bytes: too long without RFC 8654, fine with it; OPEN never.
    let big = update(
        "",
        &format!("{ORIGIN} {AS_PATH} {NEXT_HOP}"),
        &"20 0a000001 ".repeat(995),
    );
    assert!(big.len() > 4096);
    assert_eq!(
        fatal(&big, &ctx).notification().code,
        NotificationCode::MessageHeader(HeaderSubcode::BadMessageLength)
    );
    let ext = Context {
        extended_message: true,
        ..ctx
    };
    assert_eq!(the_update(&decode(&big, &ext)).nlri.len(), 995);
    let open = message(
        1,
        &format!("04 fde8 00b4 0a000001 00 {}", "00".repeat(4100)),
    );
    assert!(Message::decode(&open, &ext).is_err());

    // Framing says "read more" until the message is whole.
    assert_eq!(bgp_wire::frame(&big[..100], &ext), Ok(None));
    assert_eq!(bgp_wire::frame(&big, &ext), Ok(Some(big.len())));
}

#[test]
fn open_errors() {
    let ctx = Context::default();
    let open = |body: &str| fatal(&message(1, body), &ctx).notification();
    let n = open("03 fde8 00b4 0a000001 00");
    assert_eq!(
        n.code,
        NotificationCode::Open(OpenSubcode::UnsupportedVersionNumber)
    );
    assert_eq!(&n.data[..], &[0, 4]);
    assert_eq!(
        open("04 fde8 0002 0a000001 00").code,
        NotificationCode::Open(OpenSubcode::UnacceptableHoldTime)
    );
    assert_eq!(
        open("04 fde8 00b4 00000000 00").code,
        NotificationCode::Open(OpenSubcode::BadBgpIdentifier)
    );
    // Optional parameters length says 4, 2 bytes follow.
    assert_eq!(
        open("04 fde8 00b4 0a000001 04 0200").code,
        NotificationCode::Open(OpenSubcode::Unspecific)
    );
    // A 4-octet AS capability of 3 bytes.
    assert_eq!(
        open("04 fde8 00b4 0a000001 05 02 03 41 01 00").code,
        NotificationCode::Open(OpenSubcode::Unspecific)
    );
}

#[test]
fn route_refresh_of_wrong_length() {
    let m = message(5, "0001 00 01 00");
    let n = fatal(&m, &Context::default()).notification();
    assert_eq!(
        n.code,
        NotificationCode::RouteRefresh(RouteRefreshSubcode::InvalidMessageLength)
    );
    assert_eq!(&n.data[..], &m[..], "data is the whole message");
}
