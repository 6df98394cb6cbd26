//! The RIB's event API: [`Input`]s in, [`ChangeSet`]s out. Both serialize,
//! so scenarios can be written down and replayed.

use bgp_wire::{
    attr::{code, NextHop},
    encode_reach, encode_withdraw, Attr, Context, EncodeError, Family, Nlri, PathAttributes, Reach,
    Update,
};
use bytes::BytesMut;
use serde::{Deserialize, Serialize};

use crate::peer::{PeerConfig, PeerId};

/// Something that happened to a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    /// A session reached Established; the peer gets the full table.
    PeerUp {
        /// The peer.
        peer: PeerId,
        /// Its identity and role.
        config: PeerConfig,
    },
    /// A session went down: all its paths go.
    PeerDown {
        /// The peer.
        peer: PeerId,
    },
    /// A decoded UPDATE.
    Update {
        /// The peer it came from.
        peer: PeerId,
        /// The message, with problem attributes already left out.
        update: Update,
        /// RFC 7606 treat-as-withdraw: every prefix in it is withdrawn.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        treat_as_withdraw: bool,
    },
    /// The peer asked for the family again (route refresh).
    RouteRefresh {
        /// The peer.
        peer: PeerId,
        /// The family to resend.
        family: Family,
    },
}

/// Who a change set is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Every member of an update group.
    Group(u32),
    /// One peer (its initial table or a route refresh).
    Peer(PeerId),
}

/// Prefixes announced with one attribute set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announce {
    /// The peer the best path came from: it must not get its own route
    /// back (RFC 4456 section 8; see [`ChangeSet::for_member`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<PeerId>,
    /// The source holds an earlier route from us for these prefixes, which
    /// it must be told to withdraw.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withdraw_at_source: bool,
    /// Next hop, unchanged from what was received.
    pub next_hop: NextHop,
    /// Attributes as sent: as received, plus ORIGINATOR_ID and CLUSTER_LIST
    /// on reflection.
    pub attrs: PathAttributes,
    /// The prefixes, sorted.
    pub nlri: Vec<Nlri>,
}

/// Prefixes withdrawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdraw {
    /// A peer that never had these routes from us (they were its own), so
    /// it is not told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub except: Option<PeerId>,
    /// The prefixes, sorted.
    pub nlri: Vec<Nlri>,
}

/// What one update group (or one peer) must be told about one family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeSet {
    /// The receivers.
    pub target: Target,
    /// The family.
    pub family: Family,
    /// Announcements, one batch per attribute set and source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub announce: Vec<Announce>,
    /// Withdrawals, one batch per peer left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub withdraw: Vec<Withdraw>,
    /// Follow with the End-of-RIB marker (after an initial table).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub end_of_rib: bool,
}

impl ChangeSet {
    /// The change set as member `peer` must see it. A route is never sent
    /// back to the peer it came from (RFC 4456 section 8): announcements of
    /// its own routes are dropped, or become withdrawals where it holds an
    /// earlier route from us; withdrawals of routes it never had from us are
    /// dropped. Everything else is the same for every member, so the daemon
    /// encodes it once.
    pub fn for_member(&self, peer: PeerId) -> ChangeSet {
        let mut out = self.clone();
        let mut back = Vec::new();
        out.announce.retain(|a| {
            if a.source != Some(peer) {
                return true;
            }
            if a.withdraw_at_source {
                back.extend_from_slice(&a.nlri);
            }
            false
        });
        out.withdraw.retain(|w| w.except != Some(peer));
        for w in &mut out.withdraw {
            w.except = None;
        }
        if !back.is_empty() {
            back.sort();
            out.withdraw.push(Withdraw {
                except: None,
                nlri: back,
            });
        }
        out
    }

    /// Every withdrawn prefix, over all batches.
    pub fn withdrawn(&self) -> impl Iterator<Item = &Nlri> {
        self.withdraw.iter().flat_map(|w| w.nlri.iter())
    }

    /// Number of prefixes announced or withdrawn.
    pub fn len(&self) -> usize {
        self.withdrawn().count() + self.announce.iter().map(|a| a.nlri.len()).sum::<usize>()
    }

    /// Nothing to say (and no End-of-RIB).
    pub fn is_empty(&self) -> bool {
        self.len() == 0 && !self.end_of_rib
    }

    /// Encodes the change set as UPDATE messages in `ctx`: withdrawals
    /// first, then each batch once, split at the message size, then the
    /// End-of-RIB marker if asked. Returns the number of messages.
    pub fn encode(&self, ctx: &Context, out: &mut BytesMut) -> Result<usize, EncodeError> {
        let mut n = 0;
        for w in &self.withdraw {
            n += encode_withdraw(ctx, self.family, &w.nlri, out)?;
        }
        for a in &self.announce {
            match a.next_hop {
                NextHop::Ipv4(nh) if self.family == Family::IPV4_UNICAST => {
                    let mut attrs = a.attrs.clone();
                    attrs.set(Attr::NextHop(nh));
                    n += encode_reach(ctx, &attrs, Reach::Ipv4(&a.nlri), out)?;
                }
                next_hop => {
                    debug_assert!(a.attrs.get(code::NEXT_HOP).is_none());
                    let reach = Reach::Mp {
                        family: self.family,
                        next_hop,
                        nlri: &a.nlri,
                    };
                    n += encode_reach(ctx, &a.attrs, reach, out)?;
                }
            }
        }
        if self.end_of_rib {
            Update::end_of_rib(self.family).encode(ctx, out)?;
            n += 1;
        }
        Ok(n)
    }
}
