//! OPEN message (RFC 4271 section 4.2) with optional parameters in the
//! classic and the RFC 9072 extended encoding.

use std::net::Ipv4Addr;

use bytes::{BufMut, Bytes, BytesMut};

use crate::{
    capability::{AddPathFamily, Capability},
    error::{DecodeError, EncodeError, OpenError},
    family::Family,
    reader::Reader,
};

/// AS_TRANS, the 2-octet stand-in for a 4-octet AS (RFC 6793 section 9).
pub const AS_TRANS: u16 = 23456;

/// Optional parameter type for capabilities (RFC 5492).
const PARAM_CAPABILITIES: u8 = 2;
/// Non-Extended Optional Parameter Type marking RFC 9072 encoding.
const PARAM_EXTENDED: u8 = 255;

/// An OPEN optional parameter (RFC 4271 section 4.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OptionalParameter {
    /// Type 2: capabilities (RFC 5492). One parameter may hold several.
    Capabilities(Vec<Capability>),
    /// Any other parameter type (deprecated authentication, unknown).
    Unknown {
        /// Parameter type.
        kind: u8,
        /// Parameter value.
        data: Bytes,
    },
}

/// An OPEN message (RFC 4271 section 4.2). Version is always 4.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Open {
    /// My Autonomous System: the 2-octet AS or AS_TRANS.
    pub my_as: u16,
    /// Proposed hold time in seconds (0 or at least 3).
    pub hold_time: u16,
    /// BGP Identifier.
    pub bgp_id: Ipv4Addr,
    /// Optional parameters in the order received.
    pub params: Vec<OptionalParameter>,
}

impl Open {
    /// An OPEN carrying `capabilities` in one optional parameter; `asn` is
    /// put in My AS (or AS_TRANS) and, as it should be, in a 4-octet AS
    /// capability when the list has one.
    pub fn new(asn: u32, hold_time: u16, bgp_id: Ipv4Addr, capabilities: Vec<Capability>) -> Self {
        let my_as = u16::try_from(asn).unwrap_or(AS_TRANS);
        Open {
            my_as,
            hold_time,
            bgp_id,
            params: vec![OptionalParameter::Capabilities(capabilities)],
        }
    }

    /// Every capability, across all optional parameters.
    pub fn capabilities(&self) -> impl Iterator<Item = &Capability> {
        self.params.iter().flat_map(|p| match p {
            OptionalParameter::Capabilities(c) => c.as_slice(),
            OptionalParameter::Unknown { .. } => &[],
        })
    }

    /// The speaker's AS: from the 4-octet AS capability when present,
    /// otherwise My AS (RFC 6793 section 4.1).
    pub fn asn(&self) -> u32 {
        self.capabilities()
            .find_map(|c| match c {
                Capability::FourOctetAs(a) => Some(*a),
                _ => None,
            })
            .unwrap_or(self.my_as.into())
    }

    /// Families announced with the multiprotocol capability; a speaker
    /// announcing none supports IPv4 unicast only (RFC 4760 section 8).
    pub fn families(&self) -> Vec<Family> {
        let fams: Vec<Family> = self
            .capabilities()
            .filter_map(|c| match c {
                Capability::Multiprotocol(f) => Some(*f),
                _ => None,
            })
            .collect();
        if fams.is_empty() {
            vec![Family::IPV4_UNICAST]
        } else {
            fams
        }
    }

    /// Entries of the ADD-PATH capabilities.
    pub fn add_path(&self) -> impl Iterator<Item = &AddPathFamily> {
        self.capabilities().flat_map(|c| match c {
            Capability::AddPath(f) => f.as_slice(),
            _ => &[],
        })
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.offset();
        let err = |offset, e| DecodeError::new(offset, e);
        let short = |s: crate::reader::Short| err(s.offset, OpenError::Truncated);
        let version = r.u8().map_err(short)?;
        if version != 4 {
            return Err(err(at, OpenError::UnsupportedVersion { version }));
        }
        let my_as = r.u16().map_err(short)?;
        let hold_at = r.offset();
        let hold_time = r.u16().map_err(short)?;
        if hold_time == 1 || hold_time == 2 {
            return Err(err(hold_at, OpenError::UnacceptableHoldTime { hold_time }));
        }
        let id_at = r.offset();
        let bgp_id = r.ipv4().map_err(short)?;
        if bgp_id.is_unspecified() {
            return Err(err(id_at, OpenError::BadBgpIdentifier));
        }
        let len_at = r.offset();
        let bad_len = |_| err(len_at, OpenError::BadParametersLength);
        let mut opt_len = usize::from(r.u8().map_err(short)?);
        // RFC 9072: a Non-Extended Optional Parameter Type of 255 in the
        // first parameter marks the extended encoding.
        let extended = opt_len == 255 && r.rest().first() == Some(&PARAM_EXTENDED);
        if extended {
            let _ = r.u8().map_err(short)?;
            opt_len = usize::from(r.u16().map_err(short)?);
        }
        let mut p = r.sub(opt_len).map_err(bad_len)?;
        if !r.is_empty() {
            return Err(err(r.offset(), OpenError::BadParametersLength));
        }
        let mut params = Vec::new();
        while !p.is_empty() {
            let kind = p.u8().map_err(bad_len)?;
            let len = if extended {
                p.u16()
            } else {
                p.u8().map(u16::from)
            }
            .map_err(bad_len)?;
            let mut v = p.sub(len.into()).map_err(bad_len)?;
            if kind == PARAM_CAPABILITIES {
                let mut caps = Vec::new();
                while !v.is_empty() {
                    let cap_at = v.offset();
                    caps.push(Capability::decode(&mut v).map_err(|e| err(cap_at, e))?);
                }
                params.push(OptionalParameter::Capabilities(caps));
            } else {
                let data = Bytes::copy_from_slice(v.rest());
                params.push(OptionalParameter::Unknown { kind, data });
            }
        }
        Ok(Open {
            my_as,
            hold_time,
            bgp_id,
            params,
        })
    }

    fn param_value_len(p: &OptionalParameter) -> usize {
        match p {
            OptionalParameter::Capabilities(caps) => caps.iter().map(|c| 2 + c.value_len()).sum(),
            OptionalParameter::Unknown { data, .. } => data.len(),
        }
    }

    pub(crate) fn body_len(&self) -> usize {
        let (extended, params_len) = self.params_layout();
        10 + if extended { 3 } else { 0 } + params_len
    }

    /// Whether the RFC 9072 encoding is needed, and the parameters' length.
    fn params_layout(&self) -> (bool, usize) {
        let values: Vec<usize> = self.params.iter().map(Self::param_value_len).collect();
        let classic: usize = values.iter().map(|v| 2 + v).sum();
        if classic <= 255 && values.iter().all(|&v| v <= 255) {
            (false, classic)
        } else {
            (true, values.iter().map(|v| 3 + v).sum())
        }
    }

    pub(crate) fn encode_body(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        for p in &self.params {
            if let OptionalParameter::Capabilities(caps) = p {
                if caps.iter().any(|c| c.value_len() > 255) {
                    return Err(EncodeError::ParameterTooLong);
                }
            }
        }
        let (extended, params_len) = self.params_layout();
        if params_len > usize::from(u16::MAX) {
            return Err(EncodeError::ParameterTooLong);
        }
        out.put_u8(4);
        out.put_u16(self.my_as);
        out.put_u16(self.hold_time);
        out.put_slice(&self.bgp_id.octets());
        if extended {
            out.put_u8(255);
            out.put_u8(PARAM_EXTENDED);
            out.put_u16(params_len as u16);
        } else {
            out.put_u8(params_len as u8);
        }
        for p in &self.params {
            let len = Self::param_value_len(p);
            let kind = match p {
                OptionalParameter::Capabilities(_) => PARAM_CAPABILITIES,
                OptionalParameter::Unknown { kind, .. } => *kind,
            };
            out.put_u8(kind);
            if extended {
                out.put_u16(len as u16);
            } else {
                out.put_u8(len as u8);
            }
            match p {
                OptionalParameter::Capabilities(caps) => caps.iter().for_each(|c| c.encode(out)),
                OptionalParameter::Unknown { data, .. } => out.put_slice(data),
            }
        }
        Ok(())
    }
}
