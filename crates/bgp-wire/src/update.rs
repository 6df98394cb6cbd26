//! UPDATE message (RFC 4271 section 4.3) with End-of-RIB (RFC 4724
//! section 2), and an encoder that splits announcements and withdrawals
//! over as many UPDATEs as the negotiated message size needs.

use bytes::{BufMut, BytesMut};

use crate::{
    attr::{code, flags, Attr, MpReach, MpUnreach, NextHop, PathAttributes},
    context::Context,
    error::{AttrError, AttrProblem, DecodeError, EncodeError, Treatment, UpdateError},
    family::Family,
    message::{put_header, MessageType, HEADER_LEN},
    nlri::{self, Nlri},
    reader::Reader,
};

/// An UPDATE message. IPv6 (and any MP) routes live in the MP_REACH_NLRI /
/// MP_UNREACH_NLRI attributes inside `attrs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Update {
    /// Withdrawn Routes: IPv4 unicast prefixes no longer reachable.
    pub withdrawn: Vec<Nlri>,
    /// Path attributes in wire order.
    pub attrs: PathAttributes,
    /// NLRI: IPv4 unicast prefixes reachable with `attrs`.
    pub nlri: Vec<Nlri>,
}

impl Update {
    /// The End-of-RIB marker of `family` (RFC 4724 section 2): an empty
    /// UPDATE for IPv4 unicast, otherwise an MP_UNREACH_NLRI with no NLRI.
    pub fn end_of_rib(family: Family) -> Self {
        if family == Family::IPV4_UNICAST {
            return Update::default();
        }
        let attr = if family.is_ip_unicast() {
            Attr::MpUnreach(MpUnreach {
                family,
                withdrawn: Vec::new(),
            })
        } else {
            let mut data = BytesMut::with_capacity(3);
            MpUnreach::encode_header(family, &mut data);
            Attr::Unknown {
                code: code::MP_UNREACH_NLRI,
                data: data.freeze(),
            }
        };
        Update {
            attrs: PathAttributes::from_attrs([attr]),
            ..Update::default()
        }
    }

    /// The family this UPDATE is the End-of-RIB marker of, for any family.
    pub fn as_end_of_rib(&self) -> Option<Family> {
        if !self.withdrawn.is_empty() || !self.nlri.is_empty() {
            return None;
        }
        let mut it = self.attrs.iter();
        match (it.next().map(|a| &a.value), it.next()) {
            (None, _) => Some(Family::IPV4_UNICAST),
            (Some(Attr::MpUnreach(m)), None) if m.withdrawn.is_empty() => Some(m.family),
            (
                Some(Attr::Unknown {
                    code: code::MP_UNREACH_NLRI,
                    data,
                }),
                None,
            ) if data.len() == 3 => {
                Some(Family::new(u16::from_be_bytes([data[0], data[1]]), data[2]))
            }
            _ => None,
        }
    }

    /// Whether the UPDATE announces any prefix (NLRI or MP_REACH_NLRI).
    pub fn has_reachable(&self) -> bool {
        !self.nlri.is_empty() || self.attrs.mp_reach().is_some_and(|m| !m.nlri.is_empty())
    }

    pub(crate) fn decode(
        r: &mut Reader<'_>,
        ctx: &Context,
        problems: &mut Vec<AttrProblem>,
    ) -> Result<Self, DecodeError> {
        let v4 = Family::IPV4_UNICAST;
        let ap = ctx.add_path(v4);
        let at = r.offset();
        let overrun = |e: UpdateError| DecodeError::new(at, e);
        let wlen = r
            .u16()
            .map_err(|_| overrun(UpdateError::WithdrawnOverrun))?;
        let wr = r
            .sub(wlen.into())
            .map_err(|_| overrun(UpdateError::WithdrawnOverrun))?;
        let field = |rd: &Reader<'_>, out: &mut Vec<Nlri>| {
            nlri::decode(rd.rest(), v4, ap, out).map_err(|b| {
                DecodeError::new(
                    rd.offset() + b.at,
                    UpdateError::InvalidNetworkField { family: v4 },
                )
            })
        };
        let mut withdrawn = Vec::new();
        field(&wr, &mut withdrawn)?;
        let at = r.offset();
        let alen = r
            .u16()
            .map_err(|_| DecodeError::new(at, UpdateError::AttributesOverrun))?;
        let ar = r
            .sub(alen.into())
            .map_err(|_| DecodeError::new(at, UpdateError::AttributesOverrun))?;
        let attrs_at = ar.offset();
        let attrs = PathAttributes::decode(ar, ctx, problems)?;
        let mut nlri = Vec::new();
        field(r, &mut nlri)?;
        let update = Update {
            withdrawn,
            attrs,
            nlri,
        };

        // RFC 7606 section 3 d: well-known mandatory attributes, needed only
        // when something is announced; NEXT_HOP only for the NLRI field
        // (RFC 4760 section 3).
        if update.has_reachable() {
            let mut need = [code::ORIGIN, code::AS_PATH, code::NEXT_HOP].as_slice();
            if update.nlri.is_empty() {
                need = &need[..2];
            }
            for &c in need {
                if update.attrs.get(c).is_none() && !problems.iter().any(|p| p.type_code == c) {
                    problems.push(AttrProblem {
                        offset: attrs_at,
                        type_code: c,
                        error: AttrError::Missing,
                        treatment: Treatment::TreatAsWithdraw,
                        family: None,
                        attribute: bytes::Bytes::new(),
                    });
                }
            }
        }
        Ok(update)
    }

    fn body_len(&self, ctx: &Context) -> usize {
        let ap = ctx.add_path(Family::IPV4_UNICAST);
        let nl = |v: &[Nlri]| v.iter().map(|n| n.encoded_len(ap)).sum::<usize>();
        4 + nl(&self.withdrawn) + self.attrs.encoded_len(ctx) + nl(&self.nlri)
    }

    /// Encodes this UPDATE as one message; fails if it does not fit.
    /// Use [`encode_reach`] and [`encode_withdraw`] to split large sets.
    pub fn encode(&self, ctx: &Context, out: &mut BytesMut) -> Result<(), EncodeError> {
        let body = self.body_len(ctx);
        let length = HEADER_LEN + body;
        check_len(length, ctx)?;
        let ap = ctx.add_path(Family::IPV4_UNICAST);
        out.reserve(length);
        put_header(out, length, MessageType::Update);
        let wd: usize = self.withdrawn.iter().map(|n| n.encoded_len(ap)).sum();
        out.put_u16(wd as u16);
        self.withdrawn.iter().for_each(|n| n.encode(ap, out));
        out.put_u16(self.attrs.encoded_len(ctx) as u16);
        self.attrs.encode(ctx, out)?;
        self.nlri.iter().for_each(|n| n.encode(ap, out));
        Ok(())
    }
}

fn check_len(length: usize, ctx: &Context) -> Result<(), EncodeError> {
    let max = ctx.max_message_len();
    if length > max {
        Err(EncodeError::MessageTooLong { length, max })
    } else {
        Ok(())
    }
}

/// Announced routes of one family, for [`encode_reach`].
#[derive(Debug, Clone, Copy)]
pub enum Reach<'a> {
    /// IPv4 unicast in the NLRI field; the next hop is the NEXT_HOP attribute.
    Ipv4(&'a [Nlri]),
    /// Any unicast family in MP_REACH_NLRI.
    Mp {
        /// IPv4 or IPv6 unicast.
        family: Family,
        /// Next hop for every prefix.
        next_hop: NextHop,
        /// The prefixes.
        nlri: &'a [Nlri],
    },
}

/// Splits `nlri` into runs whose encoding fits in `budget` bytes.
fn runs<'a>(
    nlri: &'a [Nlri],
    family: Family,
    add_path: bool,
    budget: usize,
    ctx: &Context,
    fixed: usize,
) -> impl Iterator<Item = Result<(&'a [Nlri], usize), EncodeError>> + 'a {
    let max = ctx.max_message_len();
    let mut rest = nlri;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut used = 0;
        let mut n = 0;
        for p in rest {
            if p.family() != family {
                return Some(Err(EncodeError::WrongFamily {
                    prefix: p.prefix,
                    family,
                }));
            }
            let l = p.encoded_len(add_path);
            if used + l > budget {
                break;
            }
            used += l;
            n += 1;
        }
        if n == 0 {
            let length = fixed + rest[0].encoded_len(add_path);
            return Some(Err(EncodeError::MessageTooLong { length, max }));
        }
        let (run, tail) = rest.split_at(n);
        rest = tail;
        Some(Ok((run, used)))
    })
}

/// Encodes `attrs` (without MP_REACH/MP_UNREACH, which are skipped) once
/// and announces `reach` in as many UPDATEs as the context's maximum
/// message size needs. Returns the number of messages written.
///
/// An MP_REACH_NLRI built here comes first, with the Extended Length bit.
pub fn encode_reach(
    ctx: &Context,
    attrs: &PathAttributes,
    reach: Reach<'_>,
    out: &mut BytesMut,
) -> Result<usize, EncodeError> {
    let mut abuf = BytesMut::with_capacity(attrs.encoded_len(ctx));
    for a in attrs.iter() {
        if !matches!(a.value.code(), code::MP_REACH_NLRI | code::MP_UNREACH_NLRI) {
            a.encode(ctx, &mut abuf)?;
        }
    }
    let max = ctx.max_message_len();
    let mut count = 0;
    match reach {
        Reach::Ipv4(nlri) => {
            if attrs.next_hop().is_none() && !nlri.is_empty() {
                return Err(EncodeError::MissingNextHop);
            }
            let fam = Family::IPV4_UNICAST;
            let ap = ctx.add_path(fam);
            let fixed = HEADER_LEN + 4 + abuf.len();
            let budget = max.saturating_sub(fixed);
            for run in runs(nlri, fam, ap, budget, ctx, fixed) {
                let (run, used) = run?;
                out.reserve(fixed + used);
                put_header(out, fixed + used, MessageType::Update);
                out.put_u16(0);
                out.put_u16(abuf.len() as u16);
                out.put_slice(&abuf);
                run.iter().for_each(|n| n.encode(ap, out));
                count += 1;
            }
        }
        Reach::Mp {
            family,
            next_hop,
            nlri,
        } => {
            let ap = ctx.add_path(family);
            let mp_hdr = MpReach::header_len(&next_hop);
            let fixed = HEADER_LEN + 4 + 4 + mp_hdr + abuf.len();
            let budget = max
                .saturating_sub(fixed)
                .min(usize::from(u16::MAX) - mp_hdr);
            for run in runs(nlri, family, ap, budget, ctx, fixed) {
                let (run, used) = run?;
                out.reserve(fixed + used);
                put_header(out, fixed + used, MessageType::Update);
                out.put_u16(0);
                out.put_u16((4 + mp_hdr + used + abuf.len()) as u16);
                out.put_u8(flags::OPTIONAL | flags::EXTENDED_LENGTH);
                out.put_u8(code::MP_REACH_NLRI);
                out.put_u16((mp_hdr + used) as u16);
                MpReach::encode_header(family, &next_hop, out);
                run.iter().for_each(|n| n.encode(ap, out));
                out.put_slice(&abuf);
                count += 1;
            }
        }
    }
    Ok(count)
}

/// Withdraws `nlri` of `family` in as many UPDATEs as needed: the Withdrawn
/// Routes field for IPv4 unicast, MP_UNREACH_NLRI otherwise. Returns the
/// number of messages written.
pub fn encode_withdraw(
    ctx: &Context,
    family: Family,
    nlri: &[Nlri],
    out: &mut BytesMut,
) -> Result<usize, EncodeError> {
    let max = ctx.max_message_len();
    let ap = ctx.add_path(family);
    let mut count = 0;
    if family == Family::IPV4_UNICAST {
        let fixed = HEADER_LEN + 4;
        for run in runs(nlri, family, ap, max - fixed, ctx, fixed) {
            let (run, used) = run?;
            out.reserve(fixed + used);
            put_header(out, fixed + used, MessageType::Update);
            out.put_u16(used as u16);
            run.iter().for_each(|n| n.encode(ap, out));
            out.put_u16(0);
            count += 1;
        }
    } else {
        let fixed = HEADER_LEN + 4 + 4 + 3;
        for run in runs(nlri, family, ap, max - fixed, ctx, fixed) {
            let (run, used) = run?;
            out.reserve(fixed + used);
            put_header(out, fixed + used, MessageType::Update);
            out.put_u16(0);
            out.put_u16((4 + 3 + used) as u16);
            out.put_u8(flags::OPTIONAL | flags::EXTENDED_LENGTH);
            out.put_u8(code::MP_UNREACH_NLRI);
            out.put_u16((3 + used) as u16);
            MpUnreach::encode_header(family, out);
            run.iter().for_each(|n| n.encode(ap, out));
            count += 1;
        }
    }
    Ok(count)
}
