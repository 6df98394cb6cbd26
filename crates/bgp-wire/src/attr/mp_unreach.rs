//! MP_UNREACH_NLRI, type 15 (RFC 4760 section 4). Too short to hold
//! AFI/SAFI: session reset; malformed NLRI: AFI/SAFI disable (RFC 7606
//! section 7.12). With no NLRI it is the End-of-RIB marker of its family
//! (RFC 4724 section 2).

use bytes::{BufMut, BytesMut};

use super::MpOutcome;
use crate::{
    context::Context,
    family::Family,
    nlri::{self, Nlri},
};

/// Withdrawn routes of one family.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MpUnreach {
    /// IPv4 or IPv6 unicast; other families stay opaque attributes.
    pub family: Family,
    /// The withdrawn prefixes.
    pub withdrawn: Vec<Nlri>,
}

impl MpUnreach {
    pub(crate) fn value_len(&self, ctx: &Context) -> usize {
        let ap = ctx.add_path(self.family);
        3 + self
            .withdrawn
            .iter()
            .map(|n| n.encoded_len(ap))
            .sum::<usize>()
    }

    pub(crate) fn encode_header(family: Family, out: &mut BytesMut) {
        out.put_u16(family.afi.into());
        out.put_u8(family.safi.into());
    }

    pub(crate) fn encode(&self, ctx: &Context, out: &mut BytesMut) {
        Self::encode_header(self.family, out);
        let ap = ctx.add_path(self.family);
        self.withdrawn.iter().for_each(|n| n.encode(ap, out));
    }

    pub(crate) fn decode(v: &[u8], ctx: &Context) -> MpOutcome<Self> {
        let Some(&[a0, a1, safi]) = v.first_chunk::<3>() else {
            return MpOutcome::Fatal;
        };
        let family = Family::new(u16::from_be_bytes([a0, a1]), safi);
        if !family.is_ip_unicast() {
            return MpOutcome::Opaque;
        }
        let mut out = Vec::new();
        match nlri::decode(&v[3..], family, ctx.add_path(family), &mut out) {
            Ok(()) => MpOutcome::Ok(MpUnreach {
                family,
                withdrawn: out,
            }),
            Err(_) => MpOutcome::BadNlri(family),
        }
    }
}
