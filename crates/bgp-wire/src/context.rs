//! What the two speakers negotiated, carried explicitly into every decode
//! and encode (RFC 6793 4-octet AS, RFC 7911 ADD-PATH, RFC 8654 extended
//! messages).

use crate::{
    capability::{AddPathMode, Capability},
    family::Family,
    open::Open,
};

/// Largest BGP message without RFC 8654 (RFC 4271 section 4.1).
pub const MAX_MESSAGE_LEN: usize = 4096;
/// Largest BGP message once extended messages are negotiated (RFC 8654).
pub const MAX_EXTENDED_MESSAGE_LEN: usize = 65535;

/// Families whose NLRI carry an ADD-PATH path identifier (RFC 7911
/// section 3) in one direction of a session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AddPathFamilies(u8);

impl AddPathFamilies {
    /// No family carries path identifiers.
    pub const NONE: Self = Self(0);
    /// IPv4 and IPv6 unicast both carry path identifiers.
    pub const ALL: Self = Self(0b11);

    fn bit(family: Family) -> u8 {
        match family {
            Family::IPV4_UNICAST => 0b01,
            Family::IPV6_UNICAST => 0b10,
            _ => 0,
        }
    }

    /// Whether `family` carries path identifiers.
    pub fn contains(self, family: Family) -> bool {
        self.0 & Self::bit(family) != 0
    }

    /// Adds `family` (only IPv4 and IPv6 unicast are tracked).
    pub fn insert(&mut self, family: Family) {
        self.0 |= Self::bit(family);
    }

    /// A set holding just `family`.
    pub fn only(family: Family) -> Self {
        Self(Self::bit(family))
    }
}

/// The negotiated encoding of one direction of a session.
///
/// A session keeps two: the receive context (what the peer may send us)
/// and the send context. They differ only in ADD-PATH, which is negotiated
/// per direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Context {
    /// AS numbers are 4 octets in AS_PATH and AGGREGATOR (RFC 6793).
    pub four_octet_as: bool,
    /// Families whose NLRI carry path identifiers (RFC 7911).
    pub add_path: AddPathFamilies,
    /// Messages other than OPEN and KEEPALIVE may be up to 65535 bytes (RFC 8654).
    pub extended_message: bool,
    /// The peer is external: LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST
    /// received from it are discarded (RFC 7606 sections 7.5, 7.9, 7.10).
    pub ebgp: bool,
}

impl Default for Context {
    /// What holds before OPENs are exchanged: 2-octet AS, no ADD-PATH,
    /// 4096-byte messages, internal peer.
    fn default() -> Self {
        Context {
            four_octet_as: false,
            add_path: AddPathFamilies::NONE,
            extended_message: false,
            ebgp: false,
        }
    }
}

impl Context {
    /// The context of a modern iBGP session: 4-octet AS, no ADD-PATH,
    /// standard message size.
    pub fn ibgp_4octet() -> Self {
        Context {
            four_octet_as: true,
            ..Context::default()
        }
    }

    /// Largest message this context allows for UPDATE, NOTIFICATION and
    /// ROUTE-REFRESH.
    pub fn max_message_len(&self) -> usize {
        if self.extended_message {
            MAX_EXTENDED_MESSAGE_LEN
        } else {
            MAX_MESSAGE_LEN
        }
    }

    /// Whether NLRI of `family` carry a path identifier in this direction.
    pub fn add_path(&self, family: Family) -> bool {
        self.add_path.contains(family)
    }

    /// Derives the (receive, send) contexts from the OPEN we sent and the
    /// OPEN we received (RFC 5492 capability intersection).
    pub fn negotiate(sent: &Open, received: &Open, ebgp: bool) -> (Context, Context) {
        let both = |f: fn(&Capability) -> bool| {
            sent.capabilities().any(f) && received.capabilities().any(f)
        };
        let four_octet_as = both(|c| matches!(c, Capability::FourOctetAs(_)));
        let extended_message = both(|c| matches!(c, Capability::ExtendedMessage));
        let mut rx = AddPathFamilies::NONE;
        let mut tx = AddPathFamilies::NONE;
        for ours in sent.add_path() {
            for theirs in received.add_path() {
                if ours.family != theirs.family {
                    continue;
                }
                if ours.mode.receives() && theirs.mode.sends() {
                    rx.insert(ours.family);
                }
                if ours.mode.sends() && theirs.mode.receives() {
                    tx.insert(ours.family);
                }
            }
        }
        let base = Context {
            four_octet_as,
            extended_message,
            ebgp,
            add_path: rx,
        };
        (
            base,
            Context {
                add_path: tx,
                ..base
            },
        )
    }
}

impl AddPathMode {
    /// The speaker can receive multiple paths.
    pub fn receives(self) -> bool {
        matches!(self, AddPathMode::Receive | AddPathMode::Both)
    }

    /// The speaker can send multiple paths.
    pub fn sends(self) -> bool {
        matches!(self, AddPathMode::Send | AddPathMode::Both)
    }
}
