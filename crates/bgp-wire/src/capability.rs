//! Capabilities advertised in OPEN (RFC 5492), each with its own RFC.
//! Capabilities this crate does not know are kept as bytes.

use bytes::{BufMut, Bytes, BytesMut};

use crate::{error::OpenError, family::Family, reader::Reader};

/// Capability codes (IANA "Capability Codes").
pub mod code {
    /// RFC 4760
    pub const MULTIPROTOCOL: u8 = 1;
    /// RFC 2918
    pub const ROUTE_REFRESH: u8 = 2;
    /// RFC 8654
    pub const EXTENDED_MESSAGE: u8 = 6;
    /// RFC 4724
    pub const GRACEFUL_RESTART: u8 = 64;
    /// RFC 6793
    pub const FOUR_OCTET_AS: u8 = 65;
    /// RFC 7911
    pub const ADD_PATH: u8 = 69;
    /// RFC 7313
    pub const ENHANCED_ROUTE_REFRESH: u8 = 70;
    /// draft-walton-bgp-hostname-capability
    pub const FQDN: u8 = 73;
}

/// ADD-PATH Send/Receive field (RFC 7911 section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddPathMode {
    /// 1: able to receive multiple paths.
    Receive,
    /// 2: able to send multiple paths.
    Send,
    /// 3: both.
    Both,
}

/// One family entry of the ADD-PATH capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddPathFamily {
    /// AFI/SAFI.
    pub family: Family,
    /// Send/receive.
    pub mode: AddPathMode,
}

/// One family entry of the graceful restart capability (RFC 4724 section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GracefulRestartFamily {
    /// AFI/SAFI.
    pub family: Family,
    /// Flags for Address Family; bit 0x80 is Forwarding State.
    pub flags: u8,
}

/// Graceful restart capability (RFC 4724 section 3, RFC 8538).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GracefulRestart {
    /// Restart Flags (the 4 high bits: R = 0x8, N = 0x4 per RFC 8538).
    pub flags: u8,
    /// Restart Time in seconds (12 bits).
    pub time: u16,
    /// Families whose forwarding state is preserved.
    pub families: Vec<GracefulRestartFamily>,
}

/// A capability (RFC 5492 section 4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Multiprotocol extensions for one family (RFC 4760 section 8).
    Multiprotocol(Family),
    /// Route refresh (RFC 2918).
    RouteRefresh,
    /// Extended messages up to 65535 bytes (RFC 8654).
    ExtendedMessage,
    /// Graceful restart (RFC 4724).
    GracefulRestart(GracefulRestart),
    /// 4-octet AS number support, carrying our AS (RFC 6793).
    FourOctetAs(u32),
    /// ADD-PATH (RFC 7911).
    AddPath(Vec<AddPathFamily>),
    /// Enhanced route refresh (RFC 7313).
    EnhancedRouteRefresh,
    /// Hostname and domain name (draft-walton-bgp-hostname-capability).
    Fqdn {
        /// Host name.
        hostname: String,
        /// Domain name.
        domain: String,
    },
    /// Any other capability, kept as received.
    Unknown {
        /// Capability code.
        code: u8,
        /// Capability value.
        data: Bytes,
    },
}

impl Capability {
    /// The capability code.
    pub fn code(&self) -> u8 {
        match self {
            Capability::Multiprotocol(_) => code::MULTIPROTOCOL,
            Capability::RouteRefresh => code::ROUTE_REFRESH,
            Capability::ExtendedMessage => code::EXTENDED_MESSAGE,
            Capability::GracefulRestart(_) => code::GRACEFUL_RESTART,
            Capability::FourOctetAs(_) => code::FOUR_OCTET_AS,
            Capability::AddPath(_) => code::ADD_PATH,
            Capability::EnhancedRouteRefresh => code::ENHANCED_ROUTE_REFRESH,
            Capability::Fqdn { .. } => code::FQDN,
            Capability::Unknown { code, .. } => *code,
        }
    }

    /// Length of the capability value.
    pub(crate) fn value_len(&self) -> usize {
        match self {
            Capability::Multiprotocol(_) | Capability::FourOctetAs(_) => 4,
            Capability::RouteRefresh
            | Capability::ExtendedMessage
            | Capability::EnhancedRouteRefresh => 0,
            Capability::GracefulRestart(gr) => 2 + 4 * gr.families.len(),
            Capability::AddPath(fams) => 4 * fams.len(),
            Capability::Fqdn { hostname, domain } => 2 + hostname.len() + domain.len(),
            Capability::Unknown { data, .. } => data.len(),
        }
    }

    /// Writes code, length and value. The caller checked `value_len() <= 255`.
    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u8(self.code());
        out.put_u8(self.value_len() as u8);
        let fam = |out: &mut BytesMut, f: Family| {
            out.put_u16(f.afi.into());
            out.put_u8(f.safi.into());
        };
        match self {
            Capability::Multiprotocol(f) => {
                out.put_u16(f.afi.into());
                out.put_u8(0);
                out.put_u8(f.safi.into());
            }
            Capability::RouteRefresh
            | Capability::ExtendedMessage
            | Capability::EnhancedRouteRefresh => {}
            Capability::GracefulRestart(gr) => {
                out.put_u16(u16::from(gr.flags & 0xf0) << 8 | (gr.time & 0x0fff));
                for f in &gr.families {
                    fam(out, f.family);
                    out.put_u8(f.flags);
                }
            }
            Capability::FourOctetAs(asn) => out.put_u32(*asn),
            Capability::AddPath(fams) => {
                for f in fams {
                    fam(out, f.family);
                    out.put_u8(match f.mode {
                        AddPathMode::Receive => 1,
                        AddPathMode::Send => 2,
                        AddPathMode::Both => 3,
                    });
                }
            }
            Capability::Fqdn { hostname, domain } => {
                out.put_u8(hostname.len() as u8);
                out.put_slice(hostname.as_bytes());
                out.put_u8(domain.len() as u8);
                out.put_slice(domain.as_bytes());
            }
            Capability::Unknown { data, .. } => out.put_slice(data),
        }
    }

    /// Decodes one capability (code, length, value) from `r`.
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, OpenError> {
        let code = r.u8().map_err(|_| OpenError::BadParametersLength)?;
        let len = r.u8().map_err(|_| OpenError::BadParametersLength)?;
        let mut v = r
            .sub(len.into())
            .map_err(|_| OpenError::BadParametersLength)?;
        let bad = OpenError::MalformedCapability { code };
        let cap = match code {
            code::MULTIPROTOCOL if len == 4 => {
                let afi = v.u16().map_err(|_| bad.clone())?;
                let _reserved = v.u8().map_err(|_| bad.clone())?;
                let safi = v.u8().map_err(|_| bad.clone())?;
                Capability::Multiprotocol(Family::new(afi, safi))
            }
            code::ROUTE_REFRESH if len == 0 => Capability::RouteRefresh,
            code::EXTENDED_MESSAGE if len == 0 => Capability::ExtendedMessage,
            code::ENHANCED_ROUTE_REFRESH if len == 0 => Capability::EnhancedRouteRefresh,
            code::FOUR_OCTET_AS if len == 4 => {
                Capability::FourOctetAs(v.u32().map_err(|_| bad.clone())?)
            }
            code::GRACEFUL_RESTART if len >= 2 && (len - 2) % 4 == 0 => {
                let word = v.u16().map_err(|_| bad.clone())?;
                let mut families = Vec::with_capacity(v.remaining() / 4);
                while !v.is_empty() {
                    let (afi, safi, flags) = family_entry(&mut v).ok_or(bad.clone())?;
                    families.push(GracefulRestartFamily {
                        family: Family::new(afi, safi),
                        flags,
                    });
                }
                Capability::GracefulRestart(GracefulRestart {
                    flags: (word >> 8) as u8 & 0xf0,
                    time: word & 0x0fff,
                    families,
                })
            }
            code::ADD_PATH if len % 4 == 0 => {
                let mut fams = Vec::with_capacity(v.remaining() / 4);
                while !v.is_empty() {
                    let (afi, safi, mode) = family_entry(&mut v).ok_or(bad.clone())?;
                    let mode = match mode {
                        1 => AddPathMode::Receive,
                        2 => AddPathMode::Send,
                        3 => AddPathMode::Both,
                        _ => return Err(bad),
                    };
                    fams.push(AddPathFamily {
                        family: Family::new(afi, safi),
                        mode,
                    });
                }
                Capability::AddPath(fams)
            }
            code::FQDN => {
                let mut text = || -> Option<String> {
                    let n = v.u8().ok()?;
                    String::from_utf8(v.bytes(n.into()).ok()?.to_vec()).ok()
                };
                match (text(), text()) {
                    (Some(hostname), Some(domain)) if v.is_empty() => {
                        Capability::Fqdn { hostname, domain }
                    }
                    _ => return Err(bad),
                }
            }
            code::MULTIPROTOCOL
            | code::ROUTE_REFRESH
            | code::EXTENDED_MESSAGE
            | code::ENHANCED_ROUTE_REFRESH
            | code::FOUR_OCTET_AS
            | code::GRACEFUL_RESTART
            | code::ADD_PATH => return Err(bad),
            _ => Capability::Unknown {
                code,
                data: Bytes::copy_from_slice(v.rest()),
            },
        };
        Ok(cap)
    }
}

fn family_entry(v: &mut Reader<'_>) -> Option<(u16, u8, u8)> {
    Some((v.u16().ok()?, v.u8().ok()?, v.u8().ok()?))
}
