//! The message header and framing (RFC 4271 section 4.1), and the
//! [`Message`] enum over all five message types.

use bytes::{BufMut, BytesMut};

use crate::{
    context::{Context, MAX_MESSAGE_LEN},
    error::{AttrProblem, DecodeError, EncodeError, HeaderError, Treatment},
    notification::Notification,
    open::Open,
    reader::Reader,
    route_refresh::RouteRefresh,
    update::Update,
};

/// Length of the fixed header: marker, length, type.
pub const HEADER_LEN: usize = 19;
const MARKER: [u8; 16] = [0xff; 16];

/// Message type codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// 1
    Open,
    /// 2
    Update,
    /// 3
    Notification,
    /// 4
    Keepalive,
    /// 5 (RFC 2918)
    RouteRefresh,
}

impl MessageType {
    fn from_wire(v: u8) -> Option<Self> {
        Some(match v {
            1 => Self::Open,
            2 => Self::Update,
            3 => Self::Notification,
            4 => Self::Keepalive,
            5 => Self::RouteRefresh,
            _ => return None,
        })
    }

    fn wire(self) -> u8 {
        match self {
            Self::Open => 1,
            Self::Update => 2,
            Self::Notification => 3,
            Self::Keepalive => 4,
            Self::RouteRefresh => 5,
        }
    }

    /// Smallest and largest valid length (RFC 4271 4.1, RFC 8654 section 3:
    /// OPEN and KEEPALIVE stay within 4096 bytes).
    fn length_range(self, ctx: &Context) -> (usize, usize) {
        let max = ctx.max_message_len();
        match self {
            Self::Open => (29, MAX_MESSAGE_LEN),
            Self::Update => (23, max),
            Self::Notification => (21, max),
            Self::Keepalive => (19, 19),
            Self::RouteRefresh => (23, max),
        }
    }
}

pub(crate) fn put_header(out: &mut BytesMut, length: usize, kind: MessageType) {
    out.put_slice(&MARKER);
    out.put_u16(length as u16);
    out.put_u8(kind.wire());
}

/// A BGP message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Message {
    /// OPEN
    Open(Open),
    /// UPDATE
    Update(Update),
    /// NOTIFICATION
    Notification(Notification),
    /// KEEPALIVE
    Keepalive,
    /// ROUTE-REFRESH
    RouteRefresh(RouteRefresh),
}

/// A decoded message and the RFC 7606 problems met in its attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The message. For an UPDATE, attributes with problems are left out.
    pub message: Message,
    /// Problems, in the order met; empty for a clean message.
    pub problems: Vec<AttrProblem>,
}

impl Decoded {
    /// The most severe treatment the problems call for, if any.
    pub fn treatment(&self) -> Option<Treatment> {
        self.problems.iter().map(|p| p.treatment).max()
    }
}

/// Checks the header at the start of `buf` and returns the length of the
/// first message once `buf` holds all of it (`Ok(None)`: read more).
pub fn frame(buf: &[u8], ctx: &Context) -> Result<Option<usize>, DecodeError> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    let length = header(buf, ctx)?.1;
    Ok((buf.len() >= length).then_some(length))
}

fn header(buf: &[u8], ctx: &Context) -> Result<(MessageType, usize), DecodeError> {
    if buf[..16] != MARKER {
        return Err(DecodeError::new(0, HeaderError::BadMarker));
    }
    let length = u16::from_be_bytes([buf[16], buf[17]]);
    let kind = MessageType::from_wire(buf[18]).ok_or(DecodeError::new(
        18,
        HeaderError::BadType { msg_type: buf[18] },
    ))?;
    let (min, max) = kind.length_range(ctx);
    if !(min..=max).contains(&usize::from(length)) {
        return Err(DecodeError::new(16, HeaderError::BadLength { length }));
    }
    Ok((kind, length.into()))
}

impl Message {
    /// Decodes exactly one message, which `buf` must hold entirely.
    pub fn decode(buf: &[u8], ctx: &Context) -> Result<Decoded, DecodeError> {
        if buf.len() < HEADER_LEN {
            let length = buf.len() as u16;
            return Err(DecodeError::new(0, HeaderError::BadLength { length }));
        }
        let (kind, length) = header(buf, ctx)?;
        if length != buf.len() {
            return Err(DecodeError::new(
                16,
                HeaderError::BadLength {
                    length: length as u16,
                },
            ));
        }
        let mut r = Reader::new(&buf[HEADER_LEN..], HEADER_LEN);
        let mut problems = Vec::new();
        let message = match kind {
            MessageType::Open => Message::Open(Open::decode(&mut r)?),
            MessageType::Update => Message::Update(Update::decode(&mut r, ctx, &mut problems)?),
            MessageType::Notification => Message::Notification(Notification::decode(&mut r)?),
            MessageType::Keepalive => Message::Keepalive,
            MessageType::RouteRefresh => Message::RouteRefresh(RouteRefresh::decode(&mut r, buf)?),
        };
        Ok(Decoded { message, problems })
    }

    /// The message type.
    pub fn kind(&self) -> MessageType {
        match self {
            Message::Open(_) => MessageType::Open,
            Message::Update(_) => MessageType::Update,
            Message::Notification(_) => MessageType::Notification,
            Message::Keepalive => MessageType::Keepalive,
            Message::RouteRefresh(_) => MessageType::RouteRefresh,
        }
    }

    /// Appends the encoded message to `out`.
    pub fn encode(&self, ctx: &Context, out: &mut BytesMut) -> Result<(), EncodeError> {
        let (body, max) = match self {
            Message::Update(u) => return u.encode(ctx, out),
            Message::Open(o) => (o.body_len(), MAX_MESSAGE_LEN),
            Message::Notification(n) => (n.body_len(), ctx.max_message_len()),
            Message::Keepalive => (0, MAX_MESSAGE_LEN),
            Message::RouteRefresh(_) => (RouteRefresh::BODY_LEN, MAX_MESSAGE_LEN),
        };
        let length = HEADER_LEN + body;
        if length > max {
            return Err(EncodeError::MessageTooLong { length, max });
        }
        out.reserve(length);
        put_header(out, length, self.kind());
        match self {
            Message::Open(o) => o.encode_body(out)?,
            Message::Notification(n) => n.encode_body(out),
            Message::RouteRefresh(r) => r.encode_body(out),
            Message::Keepalive | Message::Update(_) => {}
        }
        Ok(())
    }

    /// Encodes into a fresh buffer.
    pub fn to_bytes(&self, ctx: &Context) -> Result<BytesMut, EncodeError> {
        let mut out = BytesMut::new();
        self.encode(ctx, &mut out)?;
        Ok(out)
    }
}
