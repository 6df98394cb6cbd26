//! Path attributes (RFC 4271 section 4.3 and 5), one file per attribute,
//! with the RFC 7606 treatment of each malformation.
//!
//! Attributes keep their wire order and their received flags, so a route
//! reflector re-encodes what it received byte for byte: Partial bits set by
//! earlier speakers survive, and so does a sender's choice of the Extended
//! Length bit. Attributes this crate does not know are kept opaque; on
//! encode an unknown optional transitive attribute gets the Partial bit
//! (RFC 4271 section 5).

mod aggregator;
mod as_path;
mod atomic_aggregate;
mod cluster_list;
mod communities;
mod extended_communities;
mod large_communities;
mod local_pref;
mod med;
mod mp_reach;
mod mp_unreach;
mod next_hop;
mod origin;
mod originator_id;

use std::net::Ipv4Addr;

use bytes::{BufMut, Bytes, BytesMut};

pub use self::{
    aggregator::Aggregator,
    as_path::{AsPath, Segment, SegmentKind},
    communities::Community,
    extended_communities::ExtendedCommunity,
    large_communities::LargeCommunity,
    mp_reach::{MpReach, NextHop},
    mp_unreach::MpUnreach,
    origin::Origin,
};
use crate::{
    context::Context,
    error::{AttrError, AttrProblem, DecodeError, EncodeError, Treatment, UpdateError},
    family::Family,
    reader::Reader,
};

/// Attribute type codes (IANA "BGP Path Attributes").
pub mod code {
    /// RFC 4271
    pub const ORIGIN: u8 = 1;
    /// RFC 4271
    pub const AS_PATH: u8 = 2;
    /// RFC 4271
    pub const NEXT_HOP: u8 = 3;
    /// RFC 4271
    pub const MULTI_EXIT_DISC: u8 = 4;
    /// RFC 4271
    pub const LOCAL_PREF: u8 = 5;
    /// RFC 4271
    pub const ATOMIC_AGGREGATE: u8 = 6;
    /// RFC 4271
    pub const AGGREGATOR: u8 = 7;
    /// RFC 1997
    pub const COMMUNITIES: u8 = 8;
    /// RFC 4456
    pub const ORIGINATOR_ID: u8 = 9;
    /// RFC 4456
    pub const CLUSTER_LIST: u8 = 10;
    /// RFC 4760
    pub const MP_REACH_NLRI: u8 = 14;
    /// RFC 4760
    pub const MP_UNREACH_NLRI: u8 = 15;
    /// RFC 4360
    pub const EXTENDED_COMMUNITIES: u8 = 16;
    /// RFC 6793
    pub const AS4_PATH: u8 = 17;
    /// RFC 6793
    pub const AS4_AGGREGATOR: u8 = 18;
    /// RFC 8092
    pub const LARGE_COMMUNITIES: u8 = 32;
}

/// Attribute flag bits (RFC 4271 section 4.3).
pub mod flags {
    /// Optional (1) or well-known (0).
    pub const OPTIONAL: u8 = 0x80;
    /// Transitive (1) or non-transitive (0).
    pub const TRANSITIVE: u8 = 0x40;
    /// The attribute passed a speaker that did not know it.
    pub const PARTIAL: u8 = 0x20;
    /// Two-byte Attribute Length.
    pub const EXTENDED_LENGTH: u8 = 0x10;
    /// Well-known (always transitive).
    pub const WELL_KNOWN: u8 = TRANSITIVE;
    /// Optional transitive.
    pub const OPTIONAL_TRANSITIVE: u8 = OPTIONAL | TRANSITIVE;
}

/// The value of a path attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Attr {
    /// 1
    Origin(Origin),
    /// 2
    AsPath(AsPath),
    /// 3
    NextHop(Ipv4Addr),
    /// 4
    MultiExitDisc(u32),
    /// 5
    LocalPref(u32),
    /// 6
    AtomicAggregate,
    /// 7
    Aggregator(Aggregator),
    /// 8
    Communities(Vec<Community>),
    /// 9
    OriginatorId(Ipv4Addr),
    /// 10
    ClusterList(Vec<Ipv4Addr>),
    /// 14, IPv4 and IPv6 unicast
    MpReach(MpReach),
    /// 15, IPv4 and IPv6 unicast
    MpUnreach(MpUnreach),
    /// 16
    ExtendedCommunities(Vec<ExtendedCommunity>),
    /// 17
    As4Path(AsPath),
    /// 18
    As4Aggregator(Aggregator),
    /// 32
    LargeCommunities(Vec<LargeCommunity>),
    /// Any other attribute (and MP_REACH/MP_UNREACH of other families),
    /// value kept as received.
    Unknown {
        /// Type code.
        code: u8,
        /// Value.
        data: Bytes,
    },
}

impl Attr {
    /// The type code.
    pub fn code(&self) -> u8 {
        match self {
            Attr::Origin(_) => code::ORIGIN,
            Attr::AsPath(_) => code::AS_PATH,
            Attr::NextHop(_) => code::NEXT_HOP,
            Attr::MultiExitDisc(_) => code::MULTI_EXIT_DISC,
            Attr::LocalPref(_) => code::LOCAL_PREF,
            Attr::AtomicAggregate => code::ATOMIC_AGGREGATE,
            Attr::Aggregator(_) => code::AGGREGATOR,
            Attr::Communities(_) => code::COMMUNITIES,
            Attr::OriginatorId(_) => code::ORIGINATOR_ID,
            Attr::ClusterList(_) => code::CLUSTER_LIST,
            Attr::MpReach(_) => code::MP_REACH_NLRI,
            Attr::MpUnreach(_) => code::MP_UNREACH_NLRI,
            Attr::ExtendedCommunities(_) => code::EXTENDED_COMMUNITIES,
            Attr::As4Path(_) => code::AS4_PATH,
            Attr::As4Aggregator(_) => code::AS4_AGGREGATOR,
            Attr::LargeCommunities(_) => code::LARGE_COMMUNITIES,
            Attr::Unknown { code, .. } => *code,
        }
    }

    /// Length of the encoded value in `ctx`.
    pub fn value_len(&self, ctx: &Context) -> usize {
        match self {
            Attr::Origin(_) => 1,
            Attr::AsPath(p) => p.value_len(ctx.four_octet_as),
            Attr::As4Path(p) => p.value_len(true),
            Attr::NextHop(_) | Attr::MultiExitDisc(_) | Attr::LocalPref(_) => 4,
            Attr::OriginatorId(_) => 4,
            Attr::AtomicAggregate => 0,
            Attr::Aggregator(_) => Aggregator::value_len(ctx.four_octet_as),
            Attr::As4Aggregator(_) => 8,
            Attr::Communities(c) => 4 * c.len(),
            Attr::ClusterList(c) => 4 * c.len(),
            Attr::MpReach(m) => m.value_len(ctx),
            Attr::MpUnreach(m) => m.value_len(ctx),
            Attr::ExtendedCommunities(c) => 8 * c.len(),
            Attr::LargeCommunities(c) => 12 * c.len(),
            Attr::Unknown { data, .. } => data.len(),
        }
    }

    fn encode_value(&self, ctx: &Context, out: &mut BytesMut) {
        match self {
            Attr::Origin(o) => out.put_u8(o.value()),
            Attr::AsPath(p) => p.encode(ctx.four_octet_as, out),
            Attr::As4Path(p) => p.encode(true, out),
            Attr::NextHop(a) | Attr::OriginatorId(a) => out.put_slice(&a.octets()),
            Attr::MultiExitDisc(v) | Attr::LocalPref(v) => out.put_u32(*v),
            Attr::AtomicAggregate => {}
            Attr::Aggregator(a) => a.encode(ctx.four_octet_as, out),
            Attr::As4Aggregator(a) => a.encode(true, out),
            Attr::Communities(c) => c.iter().for_each(|c| out.put_u32(c.0)),
            Attr::ClusterList(c) => c.iter().for_each(|a| out.put_slice(&a.octets())),
            Attr::MpReach(m) => m.encode(ctx, out),
            Attr::MpUnreach(m) => m.encode(ctx, out),
            Attr::ExtendedCommunities(c) => c.iter().for_each(|c| out.put_slice(&c.0)),
            Attr::LargeCommunities(c) => c.iter().for_each(|c| {
                out.put_u32(c.global);
                out.put_u32(c.local1);
                out.put_u32(c.local2);
            }),
            Attr::Unknown { data, .. } => out.put_slice(data),
        }
    }
}

/// The Optional and Transitive bits a known type code must carry.
pub fn category(code: u8) -> Option<u8> {
    use code::*;
    Some(match code {
        ORIGIN | AS_PATH | NEXT_HOP | LOCAL_PREF | ATOMIC_AGGREGATE => flags::WELL_KNOWN,
        AGGREGATOR | COMMUNITIES | EXTENDED_COMMUNITIES | AS4_PATH | AS4_AGGREGATOR
        | LARGE_COMMUNITIES => flags::OPTIONAL_TRANSITIVE,
        MULTI_EXIT_DISC | ORIGINATOR_ID | CLUSTER_LIST | MP_REACH_NLRI | MP_UNREACH_NLRI => {
            flags::OPTIONAL
        }
        _ => return None,
    })
}

/// The RFC 7606 treatment of a malformed attribute of type `code`
/// (sections 3 and 7; RFC 6793 section 6 for AS4_*; RFC 8092 for large
/// communities). MP_REACH/MP_UNREACH are handled apart: their errors reset
/// the session or disable the family.
pub fn treatment(code: u8, error: AttrError) -> Treatment {
    use code::*;
    match (error, code) {
        (AttrError::Duplicate | AttrError::FromExternalPeer, _) => Treatment::AttributeDiscard,
        (AttrError::Missing | AttrError::Overrun, _) => Treatment::TreatAsWithdraw,
        (_, ATOMIC_AGGREGATE | AGGREGATOR | AS4_PATH | AS4_AGGREGATOR) => {
            Treatment::AttributeDiscard
        }
        _ => Treatment::TreatAsWithdraw,
    }
}

/// A path attribute with its flags.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PathAttribute {
    /// Flags as received (or the type's defaults); on encode the Extended
    /// Length bit is also set whenever the value needs it.
    pub flags: u8,
    /// The value.
    pub value: Attr,
}

impl PathAttribute {
    /// An attribute with the flags its type calls for. Unknown attributes
    /// get optional transitive.
    pub fn new(value: Attr) -> Self {
        let flags = category(value.code()).unwrap_or(flags::OPTIONAL_TRANSITIVE);
        PathAttribute { flags, value }
    }

    /// Whether a speaker that does not know this attribute passes it on.
    pub fn is_transitive(&self) -> bool {
        self.flags & flags::TRANSITIVE != 0
    }

    /// The flags to send: Partial added to an unknown optional transitive
    /// attribute, Extended Length when the value needs it.
    fn wire_flags(&self, len: usize) -> u8 {
        let mut f = self.flags & !flags::EXTENDED_LENGTH;
        if matches!(self.value, Attr::Unknown { .. })
            && f & flags::OPTIONAL_TRANSITIVE == flags::OPTIONAL_TRANSITIVE
        {
            f |= flags::PARTIAL;
        }
        if len > 255 || self.flags & flags::EXTENDED_LENGTH != 0 {
            f |= flags::EXTENDED_LENGTH;
        }
        f
    }

    /// Bytes this attribute takes on the wire, header included.
    pub fn encoded_len(&self, ctx: &Context) -> usize {
        let len = self.value.value_len(ctx);
        let hdr = if self.wire_flags(len) & flags::EXTENDED_LENGTH != 0 {
            4
        } else {
            3
        };
        hdr + len
    }

    /// Writes flags, type, length and value.
    pub fn encode(&self, ctx: &Context, out: &mut BytesMut) -> Result<(), EncodeError> {
        let len = self.value.value_len(ctx);
        let code = self.value.code();
        if len > usize::from(u16::MAX) {
            return Err(EncodeError::AttributeTooLong { code, length: len });
        }
        let f = self.wire_flags(len);
        out.reserve(4 + len);
        out.put_u8(f);
        out.put_u8(code);
        if f & flags::EXTENDED_LENGTH != 0 {
            out.put_u16(len as u16);
        } else {
            out.put_u8(len as u8);
        }
        self.value.encode_value(ctx, out);
        Ok(())
    }
}

/// The path attributes of an UPDATE, in wire order, each type at most once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PathAttributes {
    list: Vec<PathAttribute>,
}

macro_rules! getter {
    ($(#[$m:meta])* $name:ident, $var:ident, $ty:ty, |$v:ident| $out:expr) => {
        $(#[$m])*
        pub fn $name(&self) -> Option<$ty> {
            self.list.iter().find_map(|a| match &a.value {
                Attr::$var($v) => Some($out),
                _ => None,
            })
        }
    };
}

impl PathAttributes {
    /// No attributes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Attributes in the given order (duplicates are the caller's problem).
    pub fn from_vec(list: Vec<PathAttribute>) -> Self {
        PathAttributes { list }
    }

    /// Attributes with type-default flags, sorted by type code.
    pub fn from_attrs(attrs: impl IntoIterator<Item = Attr>) -> Self {
        let mut list: Vec<PathAttribute> = attrs.into_iter().map(PathAttribute::new).collect();
        list.sort_by_key(|a| a.value.code());
        PathAttributes { list }
    }

    /// The attributes in order.
    pub fn iter(&self) -> impl Iterator<Item = &PathAttribute> {
        self.list.iter()
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// No attributes at all.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The attribute of type `code`.
    pub fn get(&self, code: u8) -> Option<&PathAttribute> {
        self.list.iter().find(|a| a.value.code() == code)
    }

    /// Sets `value`, keeping the flags of an attribute of the same type
    /// already present; a new attribute goes before the first one with a
    /// higher type code.
    pub fn set(&mut self, value: Attr) {
        let code = value.code();
        if let Some(a) = self.list.iter_mut().find(|a| a.value.code() == code) {
            a.value = value;
        } else {
            let at = self
                .list
                .iter()
                .position(|a| a.value.code() > code)
                .unwrap_or(self.list.len());
            self.list.insert(at, PathAttribute::new(value));
        }
    }

    /// Removes and returns the attribute of type `code`.
    pub fn remove(&mut self, code: u8) -> Option<PathAttribute> {
        let at = self.list.iter().position(|a| a.value.code() == code)?;
        Some(self.list.remove(at))
    }

    /// Drops unknown optional non-transitive attributes, which a speaker
    /// must not pass on (RFC 4271 section 5).
    pub fn strip_unknown_non_transitive(&mut self) {
        self.list
            .retain(|a| !matches!(a.value, Attr::Unknown { .. }) || a.is_transitive());
    }

    getter!(/// ORIGIN
        origin, Origin, Origin, |v| *v);
    getter!(/// AS_PATH
        as_path, AsPath, &AsPath, |v| v);
    getter!(/// NEXT_HOP
        next_hop, NextHop, Ipv4Addr, |v| *v);
    getter!(/// MULTI_EXIT_DISC
        med, MultiExitDisc, u32, |v| *v);
    getter!(/// LOCAL_PREF
        local_pref, LocalPref, u32, |v| *v);
    getter!(/// AGGREGATOR
        aggregator, Aggregator, &Aggregator, |v| v);
    getter!(/// COMMUNITIES
        communities, Communities, &[Community], |v| v.as_slice());
    getter!(/// ORIGINATOR_ID
        originator_id, OriginatorId, Ipv4Addr, |v| *v);
    getter!(/// CLUSTER_LIST
        cluster_list, ClusterList, &[Ipv4Addr], |v| v.as_slice());
    getter!(/// MP_REACH_NLRI (IPv4/IPv6 unicast)
        mp_reach, MpReach, &MpReach, |v| v);
    getter!(/// MP_UNREACH_NLRI (IPv4/IPv6 unicast)
        mp_unreach, MpUnreach, &MpUnreach, |v| v);
    getter!(/// EXTENDED_COMMUNITIES
        extended_communities, ExtendedCommunities, &[ExtendedCommunity], |v| v.as_slice());
    getter!(/// AS4_PATH
        as4_path, As4Path, &AsPath, |v| v);
    getter!(/// LARGE_COMMUNITY
        large_communities, LargeCommunities, &[LargeCommunity], |v| v.as_slice());

    /// ATOMIC_AGGREGATE is present.
    pub fn atomic_aggregate(&self) -> bool {
        self.get(code::ATOMIC_AGGREGATE).is_some()
    }

    /// Total encoded length in `ctx`.
    pub fn encoded_len(&self, ctx: &Context) -> usize {
        self.list.iter().map(|a| a.encoded_len(ctx)).sum()
    }

    /// Writes every attribute in order.
    pub fn encode(&self, ctx: &Context, out: &mut BytesMut) -> Result<(), EncodeError> {
        self.list.iter().try_for_each(|a| a.encode(ctx, out))
    }

    /// Decodes the path attribute section `r`, collecting RFC 7606
    /// problems; `Err` only where no treatment short of a reset applies.
    pub(crate) fn decode(
        mut r: Reader<'_>,
        ctx: &Context,
        problems: &mut Vec<AttrProblem>,
    ) -> Result<Self, DecodeError> {
        let section = r.rest();
        let base = r.offset();
        let mut list = Vec::with_capacity(8);
        let mut seen = [0u64; 4];
        while !r.is_empty() {
            let at = r.offset();
            let header = (r.u8(), r.u8());
            let (Ok(fl), Ok(code)) = header else {
                problems.push(overrun(at, 0));
                break;
            };
            let len = if fl & flags::EXTENDED_LENGTH != 0 {
                r.u16()
            } else {
                r.u8().map(u16::from)
            };
            let Ok(len) = len else {
                problems.push(overrun(at, code));
                break;
            };
            let Ok(v) = r.sub(len.into()) else {
                problems.push(overrun(at, code));
                break;
            };
            let raw = &section[at - base..r.offset() - base];
            let problem = |error: AttrError| AttrProblem {
                offset: at,
                type_code: code,
                error,
                treatment: treatment(code, error),
                family: None,
                attribute: Bytes::copy_from_slice(raw),
            };
            let mp = code == code::MP_REACH_NLRI || code == code::MP_UNREACH_NLRI;
            let fatal_mp = || {
                let attribute = Bytes::copy_from_slice(raw);
                DecodeError::new(at, UpdateError::MalformedMpAttribute { code, attribute })
            };
            let (word, bit) = (usize::from(code / 64), code % 64);
            if seen[word] & (1 << bit) != 0 {
                if mp {
                    return Err(DecodeError::new(
                        at,
                        UpdateError::DuplicateMpAttribute { code },
                    ));
                }
                problems.push(problem(AttrError::Duplicate));
                continue;
            }
            seen[word] |= 1 << bit;

            let category = category(code);
            if let Some(expected) = category {
                if fl & flags::OPTIONAL_TRANSITIVE != expected {
                    if mp {
                        return Err(fatal_mp());
                    }
                    problems.push(problem(AttrError::Flags { flags: fl }));
                    continue;
                }
            } else if fl & flags::OPTIONAL == 0 {
                let attribute = Bytes::copy_from_slice(raw);
                return Err(DecodeError::new(
                    at,
                    UpdateError::UnrecognizedWellKnown { code, attribute },
                ));
            }
            if ctx.ebgp
                && matches!(
                    code,
                    code::LOCAL_PREF | code::ORIGINATOR_ID | code::CLUSTER_LIST
                )
            {
                problems.push(problem(AttrError::FromExternalPeer));
                continue;
            }
            let value = v.rest();
            let decoded = match code {
                code::ORIGIN => Origin::decode(value).map(Attr::Origin),
                code::AS_PATH => AsPath::decode(value, ctx.four_octet_as).map(Attr::AsPath),
                code::NEXT_HOP => next_hop::decode(value).map(Attr::NextHop),
                code::MULTI_EXIT_DISC => med::decode(value).map(Attr::MultiExitDisc),
                code::LOCAL_PREF => local_pref::decode(value).map(Attr::LocalPref),
                code::ATOMIC_AGGREGATE => {
                    atomic_aggregate::decode(value).map(|()| Attr::AtomicAggregate)
                }
                code::AGGREGATOR => {
                    Aggregator::decode(value, ctx.four_octet_as).map(Attr::Aggregator)
                }
                code::COMMUNITIES => communities::decode(value).map(Attr::Communities),
                code::ORIGINATOR_ID => originator_id::decode(value).map(Attr::OriginatorId),
                code::CLUSTER_LIST => cluster_list::decode(value).map(Attr::ClusterList),
                code::EXTENDED_COMMUNITIES => {
                    extended_communities::decode(value).map(Attr::ExtendedCommunities)
                }
                code::AS4_PATH => AsPath::decode(value, true).map(Attr::As4Path),
                code::AS4_AGGREGATOR => Aggregator::decode(value, true).map(Attr::As4Aggregator),
                code::LARGE_COMMUNITIES => {
                    large_communities::decode(value).map(Attr::LargeCommunities)
                }
                code::MP_REACH_NLRI | code::MP_UNREACH_NLRI => {
                    let outcome = if code == code::MP_REACH_NLRI {
                        MpReach::decode(value, ctx).map(Attr::MpReach)
                    } else {
                        MpUnreach::decode(value, ctx).map(Attr::MpUnreach)
                    };
                    match outcome {
                        MpOutcome::Ok(a) => Ok(a),
                        MpOutcome::Opaque => Ok(Attr::Unknown {
                            code,
                            data: Bytes::copy_from_slice(value),
                        }),
                        MpOutcome::Fatal => return Err(fatal_mp()),
                        MpOutcome::BadNlri(family) => {
                            problems.push(AttrProblem {
                                treatment: Treatment::AfiSafiDisable,
                                family: Some(family),
                                ..problem(AttrError::Value)
                            });
                            continue;
                        }
                    }
                }
                _ => Ok(Attr::Unknown {
                    code,
                    data: Bytes::copy_from_slice(value),
                }),
            };
            match decoded {
                Ok(value) => list.push(PathAttribute { flags: fl, value }),
                Err(e) => problems.push(problem(e)),
            }
        }
        Ok(PathAttributes { list })
    }
}

fn overrun(offset: usize, type_code: u8) -> AttrProblem {
    AttrProblem {
        offset,
        type_code,
        error: AttrError::Overrun,
        treatment: Treatment::TreatAsWithdraw,
        family: None,
        attribute: Bytes::new(),
    }
}

/// Result of decoding an MP_REACH/MP_UNREACH value.
pub(crate) enum MpOutcome<T> {
    Ok(T),
    /// A family other than IPv4/IPv6 unicast: kept as an opaque attribute.
    Opaque,
    /// The NLRI cannot be located: session reset.
    Fatal,
    /// The NLRI of this family is malformed: AFI/SAFI disable.
    BadNlri(Family),
}

impl<T> MpOutcome<T> {
    fn map<U>(self, f: impl FnOnce(T) -> U) -> MpOutcome<U> {
        match self {
            MpOutcome::Ok(t) => MpOutcome::Ok(f(t)),
            MpOutcome::Opaque => MpOutcome::Opaque,
            MpOutcome::Fatal => MpOutcome::Fatal,
            MpOutcome::BadNlri(fam) => MpOutcome::BadNlri(fam),
        }
    }
}

/// A 4-byte value, or a length error.
fn exact4(v: &[u8]) -> Result<[u8; 4], AttrError> {
    v.try_into().map_err(|_| AttrError::Length {
        length: v.len() as u16,
    })
}
