//! ROUTE-REFRESH message (RFC 2918) with the BoRR/EoRR subtypes of
//! enhanced route refresh (RFC 7313 section 3.2).

use bytes::{BufMut, Bytes, BytesMut};

use crate::{
    error::{DecodeError, RouteRefreshError},
    family::Family,
    reader::Reader,
};

/// The Message Subtype field (RFC 7313 section 3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteRefreshSubtype {
    /// 0: a normal route refresh request.
    Normal,
    /// 1: Beginning of Route Refresh.
    BeginningOfRefresh,
    /// 2: End of Route Refresh.
    EndOfRefresh,
    /// 3-255: reserved; RFC 7313 says to ignore the message.
    Reserved(u8),
}

impl From<u8> for RouteRefreshSubtype {
    fn from(v: u8) -> Self {
        match v {
            0 => Self::Normal,
            1 => Self::BeginningOfRefresh,
            2 => Self::EndOfRefresh,
            v => Self::Reserved(v),
        }
    }
}

impl From<RouteRefreshSubtype> for u8 {
    fn from(s: RouteRefreshSubtype) -> u8 {
        match s {
            RouteRefreshSubtype::Normal => 0,
            RouteRefreshSubtype::BeginningOfRefresh => 1,
            RouteRefreshSubtype::EndOfRefresh => 2,
            RouteRefreshSubtype::Reserved(v) => v,
        }
    }
}

/// A ROUTE-REFRESH message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteRefresh {
    /// The family to refresh.
    pub family: Family,
    /// Request, BoRR or EoRR.
    pub subtype: RouteRefreshSubtype,
}

impl RouteRefresh {
    /// Body length: AFI, subtype, SAFI.
    pub(crate) const BODY_LEN: usize = 4;

    pub(crate) fn decode(r: &mut Reader<'_>, whole: &[u8]) -> Result<Self, DecodeError> {
        let bad = || {
            let message = Bytes::copy_from_slice(whole);
            DecodeError::new(0, RouteRefreshError::InvalidLength { message })
        };
        if r.remaining() != Self::BODY_LEN {
            return Err(bad());
        }
        let afi = r.u16().map_err(|_| bad())?;
        let subtype = r.u8().map_err(|_| bad())?;
        let safi = r.u8().map_err(|_| bad())?;
        Ok(RouteRefresh {
            family: Family::new(afi, safi),
            subtype: subtype.into(),
        })
    }

    pub(crate) fn encode_body(&self, out: &mut BytesMut) {
        out.put_u16(self.family.afi.into());
        out.put_u8(self.subtype.into());
        out.put_u8(self.family.safi.into());
    }
}
