//! Interned attribute sets. A full table holds about a million paths but
//! far fewer distinct attribute sets; each set is stored once, with its
//! decision-process keys computed once, and paths refer to it by a 4-byte
//! [`AttrId`].

use std::hash::BuildHasher;
use std::net::Ipv4Addr;

use bgp_wire::{
    attr::{code, NextHop, Origin},
    PathAttributes,
};
use hashbrown::{DefaultHashBuilder, HashTable};

/// A route's attributes as stored: the received path attributes without
/// NEXT_HOP, MP_REACH_NLRI and MP_UNREACH_NLRI (the next hop is kept
/// apart, the NLRI are the table's keys).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteAttrs {
    /// Next hop, from NEXT_HOP or MP_REACH_NLRI.
    pub next_hop: NextHop,
    /// Every other attribute, in received order with received flags.
    pub attrs: PathAttributes,
}

/// The decision-process inputs of an attribute set (RFC 4271 9.1.2.2,
/// RFC 4456 section 9), computed at interning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keys {
    /// LOCAL_PREF, 100 when absent.
    pub local_pref: u32,
    /// AS_PATH length (sets count 1, confederation segments 0).
    pub as_path_len: u32,
    /// ORIGIN, INCOMPLETE when absent.
    pub origin: Origin,
    /// MULTI_EXIT_DISC, 0 when absent (RFC 4271 9.1.2.2 c).
    pub med: u32,
    /// First AS of the path; `None` for a route from our own AS.
    pub neighbor_as: Option<u32>,
    /// ORIGINATOR_ID, if present.
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST length.
    pub cluster_list_len: u32,
}

/// Default LOCAL_PREF for routes without one.
pub const DEFAULT_LOCAL_PREF: u32 = 100;

impl Keys {
    fn of(a: &PathAttributes) -> Self {
        Keys {
            local_pref: a.local_pref().unwrap_or(DEFAULT_LOCAL_PREF),
            as_path_len: a.as_path().map_or(0, |p| p.path_len() as u32),
            origin: a.origin().unwrap_or(Origin::Incomplete),
            med: a.med().unwrap_or(0),
            neighbor_as: a.as_path().and_then(|p| p.first_asn()),
            originator_id: a.originator_id(),
            cluster_list_len: a.cluster_list().map_or(0, |c| c.len() as u32),
        }
    }
}

impl RouteAttrs {
    /// Splits the next hop out of received attributes: the MP_REACH_NLRI
    /// next hop if given, else NEXT_HOP. `None` when there is neither.
    pub fn from_received(mut attrs: PathAttributes, mp_next_hop: Option<NextHop>) -> Option<Self> {
        let nh = attrs.remove(code::NEXT_HOP).and_then(|a| match a.value {
            bgp_wire::Attr::NextHop(n) => Some(NextHop::Ipv4(n)),
            _ => None,
        });
        attrs.remove(code::MP_REACH_NLRI);
        attrs.remove(code::MP_UNREACH_NLRI);
        Some(RouteAttrs {
            next_hop: mp_next_hop.or(nh)?,
            attrs,
        })
    }
}

/// Index of an interned attribute set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttrId(pub u32);

#[derive(Debug)]
struct Slot {
    attrs: RouteAttrs,
    keys: Keys,
    hash: u64,
    refs: u32,
}

/// The interning store: every distinct [`RouteAttrs`] once, reference
/// counted by the paths that use it.
#[derive(Debug, Default)]
pub struct AttrStore {
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl AttrStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn hash(&self, a: &RouteAttrs) -> u64 {
        self.hasher.hash_one(a)
    }

    /// Looks `attrs` up; returns its id without taking a reference, if
    /// present.
    pub fn find(&self, attrs: &RouteAttrs) -> Option<AttrId> {
        let hash = self.hash(attrs);
        self.index
            .find(hash, |&i| {
                self.slots[i as usize]
                    .as_ref()
                    .is_some_and(|s| s.attrs == *attrs)
            })
            .map(|&i| AttrId(i))
    }

    /// The id of `attrs`, storing it if new, with one more reference.
    pub fn intern(&mut self, attrs: RouteAttrs) -> AttrId {
        let hash = self.hash(&attrs);
        let slots = &self.slots;
        if let Some(&i) = self.index.find(hash, |&i| {
            slots[i as usize].as_ref().is_some_and(|s| s.attrs == attrs)
        }) {
            if let Some(s) = self.slots[i as usize].as_mut() {
                s.refs += 1;
            }
            return AttrId(i);
        }
        let keys = Keys::of(&attrs.attrs);
        let slot = Slot {
            attrs,
            keys,
            hash,
            refs: 1,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(slot);
                i
            }
            None => {
                self.slots.push(Some(slot));
                (self.slots.len() - 1) as u32
            }
        };
        let slots = &self.slots;
        self.index.insert_unique(hash, i, |&j| {
            slots[j as usize].as_ref().map_or(0, |s| s.hash)
        });
        AttrId(i)
    }

    /// One more reference to an existing set.
    pub fn retain(&mut self, id: AttrId) {
        if let Some(s) = self.slots.get_mut(id.0 as usize).and_then(Option::as_mut) {
            s.refs += 1;
        }
    }

    /// Drops a reference; the set is freed with its last one.
    pub fn release(&mut self, id: AttrId) {
        let Some(s) = self.slots.get_mut(id.0 as usize).and_then(Option::as_mut) else {
            return;
        };
        s.refs -= 1;
        if s.refs > 0 {
            return;
        }
        let hash = s.hash;
        if let Ok(e) = self.index.find_entry(hash, |&i| i == id.0) {
            e.remove();
        }
        self.slots[id.0 as usize] = None;
        self.free.push(id.0);
    }

    /// The attribute set of `id`.
    ///
    /// Ids come from [`AttrStore::intern`] and stay valid while referenced;
    /// a stale id is a bug in the caller.
    pub fn get(&self, id: AttrId) -> &RouteAttrs {
        &self.slot(id).attrs
    }

    /// The decision keys of `id`.
    pub fn keys(&self, id: AttrId) -> &Keys {
        &self.slot(id).keys
    }

    fn slot(&self, id: AttrId) -> &Slot {
        match self.slots.get(id.0 as usize) {
            Some(Some(s)) => s,
            _ => panic!("stale attribute id {}", id.0),
        }
    }

    /// Distinct attribute sets stored.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// No attribute set stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use bgp_wire::{attr::AsPath, Attr};

    use super::*;

    fn attrs(lp: u32) -> RouteAttrs {
        RouteAttrs {
            next_hop: NextHop::Ipv4(Ipv4Addr::new(192, 0, 2, 1)),
            attrs: PathAttributes::from_attrs([
                Attr::Origin(Origin::Igp),
                Attr::AsPath(AsPath::sequence([65001, 65002])),
                Attr::LocalPref(lp),
            ]),
        }
    }

    #[test]
    fn interns_once_and_frees_with_the_last_reference() {
        let mut s = AttrStore::new();
        let a = s.intern(attrs(100));
        let b = s.intern(attrs(100));
        let c = s.intern(attrs(200));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(s.len(), 2);
        assert_eq!(s.keys(c).local_pref, 200);
        assert_eq!(s.keys(a).as_path_len, 2);
        assert_eq!(s.keys(a).neighbor_as, Some(65001));
        s.release(a);
        assert_eq!(s.find(&attrs(100)), Some(a), "one reference left");
        s.release(b);
        assert_eq!(s.find(&attrs(100)), None);
        assert_eq!(s.len(), 1);
        // The freed slot is reused.
        let d = s.intern(attrs(300));
        assert_eq!(d, a);
        assert_eq!(s.get(d), &attrs(300));
    }
}
