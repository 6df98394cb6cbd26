//! The RIB's event API: [`Input`]s in, [`ChangeSet`]s out. Both serialize,
//! so scenarios can be written down and replayed.

use bgp_wire::{
    attr::{code, NextHop},
    encode_reach, encode_withdraw, Attr, Context, EncodeError, Family, Nlri, PathAttributes, Reach,
    Update,
};
use bytes::{Bytes, BytesMut};
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

/// One batch of a change set, encoded (see [`ChangeSet::encode_parts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The member this part is not for.
    pub skip: Option<PeerId>,
    /// Its UPDATE messages.
    pub bytes: Bytes,
    /// How many messages `bytes` holds.
    pub messages: usize,
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
        out.announce.retain(|a| a.source != Some(peer));
        out.withdraw.retain(|w| w.except != Some(peer));
        for w in &mut out.withdraw {
            w.except = None;
        }
        let back = self.back(peer);
        if !back.is_empty() {
            out.withdraw.push(Withdraw {
                except: None,
                nlri: back,
            });
        }
        out
    }

    /// What `peer` must withdraw: its routes we had passed on, now replaced
    /// by its own (sorted; empty for most members).
    fn back(&self, peer: PeerId) -> Vec<Nlri> {
        let mut back: Vec<Nlri> = self
            .announce
            .iter()
            .filter(|a| a.source == Some(peer) && a.withdraw_at_source)
            .flat_map(|a| a.nlri.iter().copied())
            .collect();
        back.sort();
        back
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
            n += self.encode_announce(a, ctx, out)?;
        }
        if self.end_of_rib {
            Update::end_of_rib(self.family).encode(ctx, out)?;
            n += 1;
        }
        Ok(n)
    }

    fn encode_announce(
        &self,
        a: &Announce,
        ctx: &Context,
        out: &mut BytesMut,
    ) -> Result<usize, EncodeError> {
        match a.next_hop {
            NextHop::Ipv4(nh) if self.family == Family::IPV4_UNICAST => {
                let mut attrs = a.attrs.clone();
                attrs.set(Attr::NextHop(nh));
                encode_reach(ctx, &attrs, Reach::Ipv4(&a.nlri), out)
            }
            next_hop => {
                debug_assert!(a.attrs.get(code::NEXT_HOP).is_none());
                let reach = Reach::Mp {
                    family: self.family,
                    next_hop,
                    nlri: &a.nlri,
                };
                encode_reach(ctx, &a.attrs, reach, out)
            }
        }
    }

    /// Encodes a group's change set once for all its members: every batch
    /// becomes a [`Part`] that names the one member it is not for (the
    /// source of an announcement, the `except` of a withdrawal). What
    /// [`ChangeSet::for_member`]`(p)` would encode is
    /// [`ChangeSet::encode_back`]`(p)` followed by the parts not skipped
    /// for `p`, message for message (in another order only between
    /// withdrawals of disjoint prefixes). No per-member copy of the change
    /// set is made.
    pub fn encode_parts(&self, ctx: &Context) -> Result<Vec<Part>, EncodeError> {
        let mut parts = Vec::with_capacity(self.withdraw.len() + self.announce.len() + 1);
        let mut out = BytesMut::new();
        for w in &self.withdraw {
            let messages = encode_withdraw(ctx, self.family, &w.nlri, &mut out)?;
            parts.push(Part {
                skip: w.except,
                bytes: out.split().freeze(),
                messages,
            });
        }
        for a in &self.announce {
            let messages = self.encode_announce(a, ctx, &mut out)?;
            parts.push(Part {
                skip: a.source,
                bytes: out.split().freeze(),
                messages,
            });
        }
        if self.end_of_rib {
            Update::end_of_rib(self.family).encode(ctx, &mut out)?;
            parts.push(Part {
                skip: None,
                bytes: out.split().freeze(),
                messages: 1,
            });
        }
        Ok(parts)
    }

    /// The withdrawals only `peer` gets: its routes we had passed on and
    /// that are now replaced by its own (see [`ChangeSet::for_member`]).
    /// Returns the number of messages (0: nothing for `peer`).
    pub fn encode_back(
        &self,
        peer: PeerId,
        ctx: &Context,
        out: &mut BytesMut,
    ) -> Result<usize, EncodeError> {
        let back = self.back(peer);
        if back.is_empty() {
            return Ok(0);
        }
        encode_withdraw(ctx, self.family, &back, out)
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use bgp_wire::{
        attr::{AsPath, Origin},
        PathAttribute,
    };

    use super::*;

    /// The messages of an encoded stream, sorted.
    fn messages(mut b: &[u8]) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        while !b.is_empty() {
            let len = usize::from(u16::from_be_bytes([b[16], b[17]]));
            v.push(b[..len].to_vec());
            b = &b[len..];
        }
        v.sort();
        v
    }

    fn announce(source: u32, back: bool, prefixes: &[&str], med: u32) -> Announce {
        Announce {
            source: Some(PeerId(source)),
            withdraw_at_source: back,
            next_hop: NextHop::Ipv4(Ipv4Addr::new(10, 0, 0, source as u8)),
            attrs: PathAttributes::from_vec(vec![
                PathAttribute::new(Attr::Origin(Origin::Igp)),
                PathAttribute::new(Attr::AsPath("64512 64513".parse::<AsPath>().expect("path"))),
                PathAttribute::new(Attr::LocalPref(100)),
                PathAttribute::new(Attr::MultiExitDisc(med)),
            ]),
            nlri: prefixes
                .iter()
                .map(|p| Nlri::new(p.parse().expect("prefix")))
                .collect(),
        }
    }

    #[test]
    fn shared_parts_equal_per_member_encoding() {
        let cs = ChangeSet {
            target: Target::Group(0),
            family: Family::IPV4_UNICAST,
            announce: vec![
                announce(1, true, &["10.1.0.0/16", "10.2.0.0/16"], 1),
                announce(1, false, &["10.3.0.0/16"], 2),
                announce(2, false, &["10.4.0.0/16"], 3),
                announce(3, true, &["10.5.0.0/16"], 4),
            ],
            withdraw: vec![
                Withdraw {
                    except: None,
                    nlri: vec![Nlri::new("10.9.0.0/16".parse().expect("prefix"))],
                },
                Withdraw {
                    except: Some(PeerId(2)),
                    nlri: vec![Nlri::new("10.8.0.0/16".parse().expect("prefix"))],
                },
            ],
            end_of_rib: true,
        };
        let ctx = Context::ibgp_4octet();
        let parts = cs.encode_parts(&ctx).expect("parts");
        for p in [1, 2, 3, 4].map(PeerId) {
            let mut want = BytesMut::new();
            cs.for_member(p).encode(&ctx, &mut want).expect("encode");
            let mut got = BytesMut::new();
            let mut n = cs.encode_back(p, &ctx, &mut got).expect("back");
            for part in parts.iter().filter(|x| x.skip != Some(p)) {
                got.extend_from_slice(&part.bytes);
                n += part.messages;
            }
            let (want, got) = (messages(&want), messages(&got));
            assert_eq!(got, want, "member {p:?}");
            assert_eq!(n, got.len(), "message count for {p:?}");
        }
    }
}
