//! BGP-4 messages as Rust types: decode from bytes, encode to
//! [`bytes::BytesMut`]. No I/O.
//!
//! - Every message type of RFC 4271 plus ROUTE-REFRESH (RFC 2918, RFC 7313).
//! - Path attributes of RFC 4271, RFC 1997, RFC 4360, RFC 4456, RFC 4760,
//!   RFC 6793 and RFC 8092; unknown ones kept opaque for pass-through.
//! - Negotiated encoding travels in an explicit [`Context`] (4-octet AS,
//!   ADD-PATH per family, extended messages).
//! - Parse, then judge: [`Message::decode`] returns the message together with
//!   the per-attribute problems it met, each with its RFC 7606
//!   [`Treatment`]; only errors that leave no safe way on are a
//!   [`DecodeError`], and each of those maps to its NOTIFICATION.
//!
//! ```
//! use bgp_wire::{Context, Message};
//! let keepalive = [0xff; 16].iter().copied().chain([0, 19, 4]).collect::<Vec<u8>>();
//! let decoded = Message::decode(&keepalive, &Context::default()).unwrap();
//! assert_eq!(decoded.message, Message::Keepalive);
//! ```

pub mod attr;
pub mod capability;
mod context;
mod error;
mod family;
mod message;
mod nlri;
pub mod notification;
mod open;
mod reader;
mod route_refresh;
#[cfg(feature = "serde")]
mod serde_impls;
mod update;

pub use crate::{
    attr::{Attr, PathAttribute, PathAttributes},
    capability::Capability,
    context::{AddPathFamilies, Context, MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN},
    error::{
        AttrError, AttrProblem, DecodeError, EncodeError, ErrorKind, HeaderError, OpenError,
        ParseError, RouteRefreshError, Treatment, UpdateError,
    },
    family::{Afi, Family, Safi},
    message::{frame, Decoded, Message, MessageType, HEADER_LEN},
    nlri::Nlri,
    notification::{Notification, NotificationCode},
    open::{Open, OptionalParameter, AS_TRANS},
    route_refresh::{RouteRefresh, RouteRefreshSubtype},
    update::{encode_reach, encode_withdraw, Reach, Update},
};
