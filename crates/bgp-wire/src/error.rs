//! Typed decode and encode errors. Every [`DecodeError`] maps to the
//! NOTIFICATION that RFC 4271 section 6 requires; every per-attribute
//! problem carries its RFC 7606 treatment.

use std::fmt;

use bytes::Bytes;

use crate::{
    family::Family,
    notification::{
        HeaderSubcode, Notification, NotificationCode, OpenSubcode, RouteRefreshSubcode,
        UpdateSubcode,
    },
};

/// A message that cannot be used at all: the session must be reset with
/// the NOTIFICATION from [`DecodeError::notification`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset}: {kind}")]
pub struct DecodeError {
    /// Offset from the first byte of the message (the marker).
    pub offset: usize,
    /// What was wrong.
    pub kind: ErrorKind,
}

impl DecodeError {
    pub(crate) fn new(offset: usize, kind: impl Into<ErrorKind>) -> Self {
        DecodeError {
            offset,
            kind: kind.into(),
        }
    }

    /// The NOTIFICATION to send for this error (RFC 4271 section 6).
    pub fn notification(&self) -> Notification {
        let (code, data) = match &self.kind {
            ErrorKind::Header(e) => e.notification(),
            ErrorKind::Open(e) => e.notification(),
            ErrorKind::Update(e) => e.notification(),
            ErrorKind::RouteRefresh(RouteRefreshError::InvalidLength { message }) => (
                NotificationCode::RouteRefresh(RouteRefreshSubcode::InvalidMessageLength),
                message.clone(),
            ),
        };
        Notification { code, data }
    }
}

/// The part of the message that was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// The 19-byte header or a message's length.
    #[error("message header: {0}")]
    Header(#[from] HeaderError),
    /// An OPEN message.
    #[error("OPEN: {0}")]
    Open(#[from] OpenError),
    /// An UPDATE message, beyond what RFC 7606 lets us recover from.
    #[error("UPDATE: {0}")]
    Update(#[from] UpdateError),
    /// A ROUTE-REFRESH message.
    #[error("ROUTE-REFRESH: {0}")]
    RouteRefresh(#[from] RouteRefreshError),
}

/// Message header errors (RFC 4271 section 6.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The marker is not 16 bytes of ones.
    #[error("marker is not all ones")]
    BadMarker,
    /// The length field is out of range for the message type or context,
    /// or disagrees with the bytes given.
    #[error("bad message length {length}")]
    BadLength {
        /// The Length field as received.
        length: u16,
    },
    /// Unknown message type.
    #[error("bad message type {msg_type}")]
    BadType {
        /// The Type field as received.
        msg_type: u8,
    },
}

impl HeaderError {
    fn notification(&self) -> (NotificationCode, Bytes) {
        use HeaderSubcode::*;
        match *self {
            HeaderError::BadMarker => (
                NotificationCode::MessageHeader(ConnectionNotSynchronized),
                Bytes::new(),
            ),
            HeaderError::BadLength { length } => (
                NotificationCode::MessageHeader(BadMessageLength),
                Bytes::copy_from_slice(&length.to_be_bytes()),
            ),
            HeaderError::BadType { msg_type } => (
                NotificationCode::MessageHeader(BadMessageType),
                Bytes::copy_from_slice(&[msg_type]),
            ),
        }
    }
}

/// OPEN message errors (RFC 4271 section 6.2, RFC 5492, RFC 9072).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// A field or parameter runs past the end of the message.
    #[error("truncated")]
    Truncated,
    /// Version other than 4.
    #[error("unsupported version {version}")]
    UnsupportedVersion {
        /// Version as received.
        version: u8,
    },
    /// Hold time of 1 or 2 seconds.
    #[error("unacceptable hold time {hold_time}")]
    UnacceptableHoldTime {
        /// Hold time as received.
        hold_time: u16,
    },
    /// BGP Identifier 0.0.0.0 (RFC 6286 section 2.1).
    #[error("BGP identifier is zero")]
    BadBgpIdentifier,
    /// Optional parameter lengths disagree with the message.
    #[error("optional parameters length is inconsistent")]
    BadParametersLength,
    /// A known capability with a value of the wrong size or content.
    #[error("malformed capability {code}")]
    MalformedCapability {
        /// Capability code.
        code: u8,
    },
}

impl OpenError {
    fn notification(&self) -> (NotificationCode, Bytes) {
        use OpenSubcode::*;
        match *self {
            OpenError::UnsupportedVersion { .. } => (
                NotificationCode::Open(UnsupportedVersionNumber),
                Bytes::from_static(&[0, 4]),
            ),
            OpenError::UnacceptableHoldTime { .. } => {
                (NotificationCode::Open(UnacceptableHoldTime), Bytes::new())
            }
            OpenError::BadBgpIdentifier => (NotificationCode::Open(BadBgpIdentifier), Bytes::new()),
            OpenError::Truncated
            | OpenError::BadParametersLength
            | OpenError::MalformedCapability { .. } => {
                (NotificationCode::Open(Unspecific), Bytes::new())
            }
        }
    }
}

/// UPDATE errors that leave no way to locate the NLRI, so the session
/// must be reset (RFC 7606 sections 3, 5.3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    /// Withdrawn Routes Length runs past the message.
    #[error("withdrawn routes length overruns the message")]
    WithdrawnOverrun,
    /// Total Path Attribute Length runs past the message.
    #[error("total path attribute length overruns the message")]
    AttributesOverrun,
    /// A prefix in an NLRI field is malformed (length beyond the family's
    /// maximum, or running past the field).
    #[error("malformed {family} NLRI")]
    InvalidNetworkField {
        /// The family whose NLRI failed.
        family: Family,
    },
    /// MP_REACH_NLRI or MP_UNREACH_NLRI appears twice (RFC 7606 section 3 g).
    #[error("attribute {code} appears more than once")]
    DuplicateMpAttribute {
        /// 14 or 15.
        code: u8,
    },
    /// MP_REACH_NLRI or MP_UNREACH_NLRI is malformed, so its NLRI cannot
    /// be located (RFC 7606 section 7.11).
    #[error("malformed attribute {code}")]
    MalformedMpAttribute {
        /// 14 or 15.
        code: u8,
        /// The whole attribute, for the NOTIFICATION data.
        attribute: Bytes,
    },
    /// A well-known attribute this crate does not know (RFC 4271 6.3).
    #[error("unrecognized well-known attribute {code}")]
    UnrecognizedWellKnown {
        /// Type code.
        code: u8,
        /// The whole attribute, for the NOTIFICATION data.
        attribute: Bytes,
    },
}

impl UpdateError {
    fn notification(&self) -> (NotificationCode, Bytes) {
        use UpdateSubcode::*;
        match self {
            UpdateError::WithdrawnOverrun
            | UpdateError::AttributesOverrun
            | UpdateError::DuplicateMpAttribute { .. } => (
                NotificationCode::Update(MalformedAttributeList),
                Bytes::new(),
            ),
            UpdateError::InvalidNetworkField { .. } => {
                (NotificationCode::Update(InvalidNetworkField), Bytes::new())
            }
            UpdateError::MalformedMpAttribute { attribute, .. } => (
                NotificationCode::Update(OptionalAttributeError),
                attribute.clone(),
            ),
            UpdateError::UnrecognizedWellKnown { attribute, .. } => (
                NotificationCode::Update(UnrecognizedWellKnownAttribute),
                attribute.clone(),
            ),
        }
    }
}

/// ROUTE-REFRESH errors (RFC 7313 section 5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteRefreshError {
    /// Length other than 23 bytes.
    #[error("invalid message length {}", message.len())]
    InvalidLength {
        /// The complete message, for the NOTIFICATION data.
        message: Bytes,
    },
}

/// How to handle an UPDATE with a problem, mildest first (RFC 7606
/// section 2). `Ord` follows severity, so the treatment of an UPDATE is the
/// maximum over its problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Treatment {
    /// Drop the attribute and use the rest of the UPDATE.
    AttributeDiscard,
    /// Treat every prefix of the UPDATE, reachable or not, as withdrawn.
    TreatAsWithdraw,
    /// Drop the family's routes from this peer and stop using the family on
    /// the session (or reset it, if AFI/SAFI disable is not supported).
    AfiSafiDisable,
}

/// What was wrong with one path attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttrError {
    /// Optional or Transitive bit conflicts with the type code.
    Flags {
        /// The flags as received.
        flags: u8,
    },
    /// The length does not fit the type.
    Length {
        /// Attribute Length as received.
        length: u16,
    },
    /// The value is invalid for the type (for example ORIGIN 3).
    Value,
    /// A second occurrence of the attribute (RFC 7606 section 3 g).
    Duplicate,
    /// A well-known mandatory attribute is absent (RFC 7606 section 3 d).
    Missing,
    /// The attribute runs past the Total Path Attribute Length, or fewer
    /// bytes remain than an attribute header (RFC 7606 section 4).
    Overrun,
    /// An attribute that must not come from an external peer
    /// (RFC 7606 sections 7.5, 7.9, 7.10).
    FromExternalPeer,
}

impl fmt::Display for AttrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrError::Flags { flags } => write!(f, "conflicting flags {flags:#04x}"),
            AttrError::Length { length } => write!(f, "bad length {length}"),
            AttrError::Value => f.write_str("invalid value"),
            AttrError::Duplicate => f.write_str("duplicate"),
            AttrError::Missing => f.write_str("missing"),
            AttrError::Overrun => f.write_str("overruns the attribute section"),
            AttrError::FromExternalPeer => f.write_str("not accepted from an external peer"),
        }
    }
}

/// One attribute problem found while decoding an UPDATE, with its RFC 7606
/// treatment. Returned beside the message; the daemon applies the most
/// severe treatment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("attribute {type_code} at byte {offset}: {error} ({treatment:?})")]
pub struct AttrProblem {
    /// Offset of the attribute's flags byte (or of the attribute section
    /// for a missing attribute).
    pub offset: usize,
    /// The attribute's type code.
    pub type_code: u8,
    /// What was wrong.
    pub error: AttrError,
    /// What RFC 7606 says to do.
    pub treatment: Treatment,
    /// The family to disable, for [`Treatment::AfiSafiDisable`].
    pub family: Option<Family>,
    /// The attribute as received (flags, type, length, value); empty for a
    /// missing attribute.
    pub attribute: Bytes,
}

impl AttrProblem {
    /// The NOTIFICATION RFC 4271 section 6.3 would send for this problem,
    /// for a daemon that resets instead of applying the treatment.
    pub fn notification(&self) -> Notification {
        use crate::attr::code;
        use UpdateSubcode::*;
        let sub = match (self.error, self.type_code) {
            (AttrError::Flags { .. }, _) => AttributeFlagsError,
            (AttrError::Missing, _) => MissingWellKnownAttribute,
            (AttrError::Overrun | AttrError::Duplicate, _) => MalformedAttributeList,
            (_, code::ORIGIN) => InvalidOriginAttribute,
            (_, code::AS_PATH) => MalformedAsPath,
            (_, code::NEXT_HOP) => InvalidNextHopAttribute,
            (AttrError::Length { .. }, _) => AttributeLengthError,
            _ => OptionalAttributeError,
        };
        let data = match self.error {
            AttrError::Missing => Bytes::copy_from_slice(&[self.type_code]),
            AttrError::Overrun => Bytes::new(),
            _ => self.attribute.clone(),
        };
        Notification {
            code: NotificationCode::Update(sub),
            data,
        }
    }
}

/// A message that cannot be encoded in the given context.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The message would exceed the negotiated maximum length.
    #[error("message of {length} bytes exceeds the maximum of {max}")]
    MessageTooLong {
        /// Encoded length.
        length: usize,
        /// Maximum in this context.
        max: usize,
    },
    /// An attribute value longer than 65535 bytes.
    #[error("attribute {code} of {length} bytes is too long")]
    AttributeTooLong {
        /// Type code.
        code: u8,
        /// Value length.
        length: usize,
    },
    /// A capability value or optional parameter too long for its length field.
    #[error("OPEN optional parameter too long")]
    ParameterTooLong,
    /// The prefix belongs to another family than the one being encoded.
    #[error("prefix {prefix} is not {family}")]
    WrongFamily {
        /// The prefix.
        prefix: ipnet::IpNet,
        /// The family being encoded.
        family: Family,
    },
    /// The IPv4 unicast NLRI field needs a NEXT_HOP attribute.
    #[error("IPv4 unicast NLRI without NEXT_HOP")]
    MissingNextHop,
}

/// Text that does not parse as the value it should name (prefixes,
/// communities, AS paths and the like, in configs and scenario files).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {input:?}")]
pub struct ParseError {
    /// What was expected.
    pub what: &'static str,
    /// The text given.
    pub input: String,
}

impl ParseError {
    pub(crate) fn new(what: &'static str, input: &str) -> Self {
        ParseError {
            what,
            input: input.to_string(),
        }
    }
}
