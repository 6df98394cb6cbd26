//! Per-family tables: each prefix holds the paths learned from each peer
//! (Adj-RIB-In) with the best one first (Loc-RIB).

use std::hash::Hash;

use bgp_wire::Family;
use hashbrown::HashMap;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::{attrs::AttrId, peer::PeerId};

/// One path: who sent it, under which ADD-PATH identifier, with which
/// attributes. 12 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Path {
    /// The peer it came from.
    pub peer: PeerId,
    /// ADD-PATH path identifier, 0 without ADD-PATH.
    pub path_id: u32,
    /// Interned attributes.
    pub attrs: AttrId,
}

/// The paths of one prefix, best first. One path is stored inline, as it
/// is for most prefixes of a full table; the enum is 16 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathList {
    /// A single path.
    One(Path),
    /// Two or more; the first is the best.
    #[allow(clippy::box_collection)] // a thin pointer keeps the enum at 16 bytes
    Many(Box<Vec<Path>>),
}

impl PathList {
    /// The paths, best first.
    pub fn as_slice(&self) -> &[Path] {
        match self {
            PathList::One(p) => std::slice::from_ref(p),
            PathList::Many(v) => v,
        }
    }

    /// The best path.
    pub fn best(&self) -> Path {
        self.as_slice()[0]
    }

    /// Rebuilds from a vector; `None` when it is empty.
    pub fn from_vec(mut v: Vec<Path>) -> Option<Self> {
        match v.len() {
            0 => None,
            1 => v.pop().map(PathList::One),
            _ => Some(PathList::Many(Box::new(v))),
        }
    }
}

const _: () = assert!(std::mem::size_of::<PathList>() == 16);

/// A prefix type the RIB keys a table by.
pub trait Key: Copy + Eq + Hash + Ord + std::fmt::Debug + Into<IpNet> {
    /// The family of this key type.
    const FAMILY: Family;
    /// The key for `net`, if it is of this family.
    fn from_net(net: IpNet) -> Option<Self>;
    /// This family's table.
    fn table(t: &Tables) -> &Table<Self>;
    /// This family's table, mutable.
    fn table_mut(t: &mut Tables) -> &mut Table<Self>;
    /// This family's pending changes in an update group.
    fn pending(p: &mut Pending) -> &mut HashMap<Self, Option<PeerId>>;
}

impl Key for Ipv4Net {
    const FAMILY: Family = Family::IPV4_UNICAST;
    fn from_net(net: IpNet) -> Option<Self> {
        match net {
            IpNet::V4(n) => Some(n),
            IpNet::V6(_) => None,
        }
    }
    fn table(t: &Tables) -> &Table<Self> {
        &t.v4
    }
    fn table_mut(t: &mut Tables) -> &mut Table<Self> {
        &mut t.v4
    }
    fn pending(p: &mut Pending) -> &mut HashMap<Self, Option<PeerId>> {
        &mut p.v4
    }
}

impl Key for Ipv6Net {
    const FAMILY: Family = Family::IPV6_UNICAST;
    fn from_net(net: IpNet) -> Option<Self> {
        match net {
            IpNet::V6(n) => Some(n),
            IpNet::V4(_) => None,
        }
    }
    fn table(t: &Tables) -> &Table<Self> {
        &t.v6
    }
    fn table_mut(t: &mut Tables) -> &mut Table<Self> {
        &mut t.v6
    }
    fn pending(p: &mut Pending) -> &mut HashMap<Self, Option<PeerId>> {
        &mut p.v6
    }
}

/// One family's table.
pub type Table<K> = HashMap<K, PathList>;

/// The IPv4 and IPv6 unicast tables.
#[derive(Debug, Default)]
pub struct Tables {
    /// IPv4 unicast.
    pub v4: Table<Ipv4Net>,
    /// IPv6 unicast.
    pub v6: Table<Ipv6Net>,
}

/// Prefixes whose advertised state changed for an update group and have
/// not been taken yet; each prefix once, whatever happened to it since.
/// The value is the source of what the group had been sent before the
/// first of those changes (`None`: nothing), which decides what the source
/// itself must be told.
#[derive(Debug, Default)]
pub struct Pending {
    /// IPv4 unicast.
    pub v4: HashMap<Ipv4Net, Option<PeerId>>,
    /// IPv6 unicast.
    pub v6: HashMap<Ipv6Net, Option<PeerId>>,
}

impl Pending {
    /// Number of pending prefixes.
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// Nothing pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
