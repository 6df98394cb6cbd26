//! NOTIFICATION message (RFC 4271 section 4.5) with every registered
//! error code and subcode (RFC 4271 6, RFC 4486, RFC 6608, RFC 7313,
//! RFC 8538, RFC 9234, RFC 9384) and the shutdown communication of
//! RFC 8203 / RFC 9003.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::{
    error::{DecodeError, HeaderError},
    reader::Reader,
};

macro_rules! subcodes {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $val:literal => $text:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vm])* $var,)*
            /// A subcode this crate does not know.
            Unknown(u8),
        }

        impl From<u8> for $name {
            fn from(v: u8) -> Self {
                match v {
                    $($val => $name::$var,)*
                    v => $name::Unknown(v),
                }
            }
        }

        impl From<$name> for u8 {
            fn from(s: $name) -> u8 {
                match s {
                    $($name::$var => $val,)*
                    $name::Unknown(v) => v,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $($name::$var => f.write_str($text),)*
                    $name::Unknown(v) => write!(f, "subcode {v}"),
                }
            }
        }
    };
}

subcodes!(
    /// Message Header Error subcodes (RFC 4271 6.1).
    HeaderSubcode {
        /// 0
        Unspecific = 0 => "unspecific",
        /// 1
        ConnectionNotSynchronized = 1 => "connection not synchronized",
        /// 2: data is the erroneous Length field
        BadMessageLength = 2 => "bad message length",
        /// 3: data is the erroneous Type field
        BadMessageType = 3 => "bad message type",
    }
);

subcodes!(
    /// OPEN Message Error subcodes (RFC 4271 6.2, RFC 5492, RFC 9234).
    OpenSubcode {
        /// 0
        Unspecific = 0 => "unspecific",
        /// 1: data is the largest supported version (2 octets)
        UnsupportedVersionNumber = 1 => "unsupported version number",
        /// 2
        BadPeerAs = 2 => "bad peer AS",
        /// 3
        BadBgpIdentifier = 3 => "bad BGP identifier",
        /// 4
        UnsupportedOptionalParameter = 4 => "unsupported optional parameter",
        /// 6
        UnacceptableHoldTime = 6 => "unacceptable hold time",
        /// 7 (RFC 5492): data lists the unsupported capabilities
        UnsupportedCapability = 7 => "unsupported capability",
        /// 11 (RFC 9234)
        RoleMismatch = 11 => "role mismatch",
    }
);

subcodes!(
    /// UPDATE Message Error subcodes (RFC 4271 6.3).
    UpdateSubcode {
        /// 0
        Unspecific = 0 => "unspecific",
        /// 1
        MalformedAttributeList = 1 => "malformed attribute list",
        /// 2: data is the unrecognized attribute
        UnrecognizedWellKnownAttribute = 2 => "unrecognized well-known attribute",
        /// 3: data is the missing attribute's type code
        MissingWellKnownAttribute = 3 => "missing well-known attribute",
        /// 4: data is the attribute
        AttributeFlagsError = 4 => "attribute flags error",
        /// 5: data is the attribute
        AttributeLengthError = 5 => "attribute length error",
        /// 6: data is the attribute
        InvalidOriginAttribute = 6 => "invalid ORIGIN attribute",
        /// 8: data is the attribute
        InvalidNextHopAttribute = 8 => "invalid NEXT_HOP attribute",
        /// 9: data is the attribute
        OptionalAttributeError = 9 => "optional attribute error",
        /// 10
        InvalidNetworkField = 10 => "invalid network field",
        /// 11
        MalformedAsPath = 11 => "malformed AS_PATH",
    }
);

subcodes!(
    /// Finite State Machine Error subcodes (RFC 6608).
    FsmSubcode {
        /// 0
        Unspecific = 0 => "unspecified error",
        /// 1
        UnexpectedInOpenSent = 1 => "unexpected message in OpenSent",
        /// 2
        UnexpectedInOpenConfirm = 2 => "unexpected message in OpenConfirm",
        /// 3
        UnexpectedInEstablished = 3 => "unexpected message in Established",
    }
);

subcodes!(
    /// Cease subcodes (RFC 4486, RFC 8538, RFC 9384).
    CeaseSubcode {
        /// 0
        Unspecific = 0 => "unspecific",
        /// 1: data may hold AFI, SAFI and the limit
        MaximumPrefixesReached = 1 => "maximum number of prefixes reached",
        /// 2: data may hold a shutdown communication (RFC 9003)
        AdministrativeShutdown = 2 => "administrative shutdown",
        /// 3
        PeerDeconfigured = 3 => "peer de-configured",
        /// 4: data may hold a shutdown communication (RFC 9003)
        AdministrativeReset = 4 => "administrative reset",
        /// 5
        ConnectionRejected = 5 => "connection rejected",
        /// 6
        OtherConfigurationChange = 6 => "other configuration change",
        /// 7
        ConnectionCollisionResolution = 7 => "connection collision resolution",
        /// 8
        OutOfResources = 8 => "out of resources",
        /// 9 (RFC 8538)
        HardReset = 9 => "hard reset",
        /// 10 (RFC 9384)
        BfdDown = 10 => "BFD down",
    }
);

subcodes!(
    /// ROUTE-REFRESH Message Error subcodes (RFC 7313 section 5).
    RouteRefreshSubcode {
        /// 0
        Reserved = 0 => "reserved",
        /// 1: data is the complete ROUTE-REFRESH message
        InvalidMessageLength = 1 => "invalid message length",
    }
);

/// Error code and subcode of a NOTIFICATION (RFC 4271 section 4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationCode {
    /// 1
    MessageHeader(HeaderSubcode),
    /// 2
    Open(OpenSubcode),
    /// 3
    Update(UpdateSubcode),
    /// 4, subcode 0
    HoldTimerExpired,
    /// 5
    Fsm(FsmSubcode),
    /// 6
    Cease(CeaseSubcode),
    /// 7 (RFC 7313)
    RouteRefresh(RouteRefreshSubcode),
    /// Any other code, or hold timer expired with a non-zero subcode.
    Unknown {
        /// Error code.
        code: u8,
        /// Error subcode.
        subcode: u8,
    },
}

impl NotificationCode {
    /// Builds the typed code from the wire values.
    pub fn new(code: u8, subcode: u8) -> Self {
        match (code, subcode) {
            (1, s) => Self::MessageHeader(s.into()),
            (2, s) => Self::Open(s.into()),
            (3, s) => Self::Update(s.into()),
            (4, 0) => Self::HoldTimerExpired,
            (5, s) => Self::Fsm(s.into()),
            (6, s) => Self::Cease(s.into()),
            (7, s) => Self::RouteRefresh(s.into()),
            (code, subcode) => Self::Unknown { code, subcode },
        }
    }

    /// The Error Code octet.
    pub fn code(self) -> u8 {
        match self {
            Self::MessageHeader(_) => 1,
            Self::Open(_) => 2,
            Self::Update(_) => 3,
            Self::HoldTimerExpired => 4,
            Self::Fsm(_) => 5,
            Self::Cease(_) => 6,
            Self::RouteRefresh(_) => 7,
            Self::Unknown { code, .. } => code,
        }
    }

    /// The Error Subcode octet.
    pub fn subcode(self) -> u8 {
        match self {
            Self::MessageHeader(s) => s.into(),
            Self::Open(s) => s.into(),
            Self::Update(s) => s.into(),
            Self::HoldTimerExpired => 0,
            Self::Fsm(s) => s.into(),
            Self::Cease(s) => s.into(),
            Self::RouteRefresh(s) => s.into(),
            Self::Unknown { subcode, .. } => subcode,
        }
    }
}

impl fmt::Display for NotificationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MessageHeader(s) => write!(f, "message header error: {s}"),
            Self::Open(s) => write!(f, "OPEN message error: {s}"),
            Self::Update(s) => write!(f, "UPDATE message error: {s}"),
            Self::HoldTimerExpired => f.write_str("hold timer expired"),
            Self::Fsm(s) => write!(f, "finite state machine error: {s}"),
            Self::Cease(s) => write!(f, "cease: {s}"),
            Self::RouteRefresh(s) => write!(f, "ROUTE-REFRESH message error: {s}"),
            Self::Unknown { code, subcode } => write!(f, "error code {code} subcode {subcode}"),
        }
    }
}

/// Longest shutdown communication (RFC 9003 section 2).
pub const MAX_SHUTDOWN_COMMUNICATION: usize = 255;

/// A NOTIFICATION message (RFC 4271 section 4.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Notification {
    /// Error code and subcode.
    pub code: NotificationCode,
    /// Data, as defined per code; empty for most.
    pub data: Bytes,
}

impl Notification {
    /// A NOTIFICATION with no data.
    pub fn new(code: NotificationCode) -> Self {
        Notification {
            code,
            data: Bytes::new(),
        }
    }

    /// Cease with a shutdown communication (RFC 9003): `subcode` should be
    /// administrative shutdown or reset. The message is cut to 255 bytes
    /// at a character boundary.
    pub fn cease_with_message(subcode: CeaseSubcode, message: &str) -> Self {
        let mut end = message.len().min(MAX_SHUTDOWN_COMMUNICATION);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let mut data = BytesMut::with_capacity(end + 1);
        data.put_u8(end as u8);
        data.put_slice(&message.as_bytes()[..end]);
        Notification {
            code: NotificationCode::Cease(subcode),
            data: data.freeze(),
        }
    }

    /// The shutdown communication of an administrative shutdown or reset
    /// (RFC 9003 section 2), if the data carries a well-formed one.
    pub fn shutdown_communication(&self) -> Option<&str> {
        match self.code {
            NotificationCode::Cease(
                CeaseSubcode::AdministrativeShutdown | CeaseSubcode::AdministrativeReset,
            ) => {
                let (&len, rest) = self.data.split_first()?;
                let text = rest.get(..len as usize)?;
                std::str::from_utf8(text).ok()
            }
            _ => None,
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.offset();
        let (code, subcode) = match (r.u8(), r.u8()) {
            (Ok(c), Ok(s)) => (c, s),
            _ => {
                let length = (r.remaining() + crate::message::HEADER_LEN) as u16;
                return Err(DecodeError::new(at, HeaderError::BadLength { length }));
            }
        };
        let data = Bytes::copy_from_slice(r.rest());
        Ok(Notification {
            code: NotificationCode::new(code, subcode),
            data,
        })
    }

    pub(crate) fn body_len(&self) -> usize {
        2 + self.data.len()
    }

    pub(crate) fn encode_body(&self, out: &mut BytesMut) {
        out.put_u8(self.code.code());
        out.put_u8(self.code.subcode());
        out.put_slice(&self.data);
    }
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(msg) = self.shutdown_communication() {
            write!(f, " ({msg:?})")?;
        } else if !self.data.is_empty() {
            write!(f, " ({} bytes of data)", self.data.len())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_subcode_pair_round_trips() {
        for code in 0..=255u8 {
            for sub in 0..=255u8 {
                let c = NotificationCode::new(code, sub);
                assert_eq!((c.code(), c.subcode()), (code, sub));
            }
        }
    }

    #[test]
    fn shutdown_communication() {
        let n = Notification::cease_with_message(CeaseSubcode::AdministrativeShutdown, "maint");
        assert_eq!(&n.data[..], b"\x05maint");
        assert_eq!(n.shutdown_communication(), Some("maint"));
        let long = "é".repeat(200);
        let n = Notification::cease_with_message(CeaseSubcode::AdministrativeReset, &long);
        assert_eq!(n.data[0], 254);
        assert_eq!(n.shutdown_communication().map(str::len), Some(254));
        let bad = Notification {
            code: NotificationCode::Cease(CeaseSubcode::AdministrativeShutdown),
            data: Bytes::from_static(b"\x09short"),
        };
        assert_eq!(bad.shutdown_communication(), None);
        assert_eq!(
            NotificationCode::new(6, 3).to_string(),
            "cease: peer de-configured"
        );
    }
}
