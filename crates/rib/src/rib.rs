//! The RIB: applies [`Input`]s, runs the decision process for the touched
//! prefixes only, applies the RFC 4456 reflection rules and keeps, per
//! update group, the set of prefixes whose advertised state changed.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::Ipv4Addr,
};

use bgp_wire::{attr::NextHop, Attr, Family, Nlri, Update};
use hashbrown::HashMap;
use ipnet::{Ipv4Net, Ipv6Net};

use crate::{
    attrs::{AttrId, AttrStore, RouteAttrs},
    decision::{self, Candidate},
    event::{Announce, ChangeSet, Input, Target, Withdraw},
    peer::{PeerConfig, PeerId, RibConfig, Role},
    policy::{Policy, Verdict},
    table::{Key, Path, PathList, Pending, Tables},
};

/// Inputs the RIB refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RibError {
    /// An input names a peer that is not up.
    #[error("peer {0:?} is not up")]
    UnknownPeer(PeerId),
    /// PeerUp for a peer that is already up.
    #[error("peer {0:?} is already up")]
    DuplicatePeer(PeerId),
}

/// Counters, for the admin API and the tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Routes dropped because ORIGINATOR_ID is our router id
    /// (RFC 4456 section 8).
    pub originator_loops: u64,
    /// Routes dropped because CLUSTER_LIST holds one of our cluster ids.
    pub cluster_loops: u64,
    /// External routes dropped because AS_PATH holds our AS.
    pub as_path_loops: u64,
    /// Prefixes withdrawn by RFC 7606 treat-as-withdraw.
    pub treated_as_withdraw: u64,
    /// Announcements without any next hop, ignored.
    pub missing_next_hop: u64,
}

/// Peers that share a role, an export policy and an encoding; one change
/// set is produced for all of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct GroupKey {
    role: Role,
    export_policy: Option<String>,
    send: bgp_wire::Context,
}

#[derive(Debug)]
struct Group {
    key: GroupKey,
    members: BTreeSet<PeerId>,
    pending: Pending,
}

/// What an update group is sent for a prefix: the best path's attributes
/// and source, or nothing.
type Exported = Option<(AttrId, PeerId)>;

/// Routing state: tables, interned attributes, peers, update groups.
#[derive(Debug)]
pub struct Rib {
    cfg: RibConfig,
    store: AttrStore,
    tables: Tables,
    peers: HashMap<PeerId, (PeerConfig, u32)>,
    groups: Vec<Option<Group>>,
    group_index: HashMap<GroupKey, u32>,
    scratch: Vec<Candidate>,
    stats: Stats,
    policy: Option<Box<dyn Policy>>,
}

/// Attributes a batch goes out with: a stored set, or one an export policy
/// rewrote (index into the change set's rewrites).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum OutAttrs {
    Stored(AttrId),
    Rewritten(usize),
}

impl Rib {
    /// An empty RIB.
    pub fn new(cfg: RibConfig) -> Self {
        Rib {
            cfg,
            store: AttrStore::new(),
            tables: Tables::default(),
            peers: HashMap::new(),
            groups: Vec::new(),
            group_index: HashMap::new(),
            scratch: Vec::new(),
            stats: Stats::default(),
            policy: None,
        }
    }

    /// Sets the policy that judges import and export policy names.
    pub fn set_policy(&mut self, policy: Box<dyn Policy>) {
        self.policy = Some(policy);
    }

    /// Counters so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The interned attribute sets.
    pub fn store(&self) -> &AttrStore {
        &self.store
    }

    /// Prefixes held per family (IPv4, IPv6).
    pub fn prefix_count(&self) -> (usize, usize) {
        (self.tables.v4.len(), self.tables.v6.len())
    }

    /// Paths held, over both families.
    pub fn path_count(&self) -> usize {
        let n = |l: &PathList| l.as_slice().len();
        self.tables.v4.values().map(n).sum::<usize>()
            + self.tables.v6.values().map(n).sum::<usize>()
    }

    /// The paths of `prefix`, best first.
    pub fn paths(&self, prefix: ipnet::IpNet) -> &[Path] {
        let list = match prefix {
            ipnet::IpNet::V4(p) => self.tables.v4.get(&p),
            ipnet::IpNet::V6(p) => self.tables.v6.get(&p),
        };
        list.map_or(&[], PathList::as_slice)
    }

    /// The configuration of a peer that is up.
    pub fn peer(&self, peer: PeerId) -> Option<&PeerConfig> {
        self.peers.get(&peer).map(|(c, _)| c)
    }

    /// Paths held per peer (a full scan; for the admin API).
    pub fn paths_per_peer(&self) -> BTreeMap<PeerId, usize> {
        let mut out = BTreeMap::new();
        for l in self.tables.v4.values() {
            for p in l.as_slice() {
                *out.entry(p.peer).or_insert(0) += 1;
            }
        }
        for l in self.tables.v6.values() {
            for p in l.as_slice() {
                *out.entry(p.peer).or_insert(0) += 1;
            }
        }
        out
    }

    /// Every path of `prefix`, best first, each with the decision step at
    /// which it lost to the best (`None` for the best itself).
    pub fn explain(
        &self,
        prefix: ipnet::IpNet,
    ) -> Vec<(Path, &RouteAttrs, Option<decision::Step>)> {
        let paths = self.paths(prefix);
        let cand = |p: &Path| {
            self.peers.get(&p.peer).map(|(pc, _)| Candidate {
                keys: *self.store.keys(p.attrs),
                ebgp: !pc.is_ibgp(),
                peer_router_id: pc.router_id,
                peer_addr: pc.addr,
                path_id: p.path_id,
            })
        };
        let best = paths.first().and_then(cand);
        paths
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let step = match (i, best, cand(p)) {
                    (0, _, _) => None,
                    (_, Some(b), Some(c)) => {
                        Some(decision::compare(&b, &c, self.cfg.always_compare_med).1)
                    }
                    _ => None,
                };
                (*p, self.store.get(p.attrs), step)
            })
            .collect()
    }

    /// Prefixes of both families (for listings), in no particular order.
    pub fn prefixes(&self) -> impl Iterator<Item = ipnet::IpNet> + '_ {
        self.tables
            .v4
            .keys()
            .map(|k| ipnet::IpNet::V4(*k))
            .chain(self.tables.v6.keys().map(|k| ipnet::IpNet::V6(*k)))
    }

    /// The update group of `peer`.
    pub fn group_of(&self, peer: PeerId) -> Option<u32> {
        self.peers.get(&peer).map(|(_, g)| *g)
    }

    /// Members of update group `group`.
    pub fn members(&self, group: u32) -> Vec<PeerId> {
        self.group(group)
            .map(|g| g.members.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Ids of the update groups that exist.
    pub fn group_ids(&self) -> Vec<u32> {
        (0..self.groups.len() as u32)
            .filter(|&g| self.group(g).is_some())
            .collect()
    }

    /// Prefixes waiting to be taken for `group`.
    pub fn pending(&self, group: u32) -> usize {
        self.group(group).map_or(0, |g| g.pending.len())
    }

    fn group(&self, id: u32) -> Option<&Group> {
        self.groups.get(id as usize).and_then(Option::as_ref)
    }

    fn is_ours(&self, cluster: Ipv4Addr) -> bool {
        cluster == self.cfg.router_id
            || self.cfg.cluster_ids.contains(&cluster)
            || self.peers.values().any(
                |(p, _)| matches!(p.role, Role::Client { cluster_id, .. } if cluster_id == cluster),
            )
    }

    /// Applies one input. Returns the change sets addressed to a single
    /// peer (initial table, route refresh); group changes wait in the
    /// groups' pending sets for [`Rib::take_changes`].
    pub fn handle(&mut self, input: Input) -> Result<Vec<ChangeSet>, RibError> {
        match input {
            Input::PeerUp { peer, config } => self.peer_up(peer, config),
            Input::PeerDown { peer } => self.peer_down(peer).map(|()| Vec::new()),
            Input::Update {
                peer,
                update,
                treat_as_withdraw,
            } => self
                .update(peer, update, treat_as_withdraw)
                .map(|()| Vec::new()),
            Input::RouteRefresh { peer, family } => {
                let group = self.group_of(peer).ok_or(RibError::UnknownPeer(peer))?;
                let mut out = Vec::new();
                self.dump(peer, group, family, false, &mut out);
                Ok(out)
            }
        }
    }

    /// [`Rib::handle`], then every group's pending changes: what a test or a
    /// replay wants after each input.
    pub fn step(&mut self, input: Input) -> Result<Vec<ChangeSet>, RibError> {
        let mut out = self.handle(input)?;
        for g in self.group_ids() {
            out.extend(self.take_changes(g, usize::MAX));
        }
        Ok(out)
    }

    fn peer_up(&mut self, peer: PeerId, config: PeerConfig) -> Result<Vec<ChangeSet>, RibError> {
        if self.peers.contains_key(&peer) {
            return Err(RibError::DuplicatePeer(peer));
        }
        let key = GroupKey {
            role: config.role.clone(),
            export_policy: config.export_policy.clone(),
            send: config.send,
        };
        let group = match self.group_index.get(&key) {
            Some(&g) => g,
            None => {
                let g = Group {
                    key: key.clone(),
                    members: BTreeSet::new(),
                    pending: Pending::default(),
                };
                let id = match self.groups.iter().position(Option::is_none) {
                    Some(i) => {
                        self.groups[i] = Some(g);
                        i as u32
                    }
                    None => {
                        self.groups.push(Some(g));
                        (self.groups.len() - 1) as u32
                    }
                };
                self.group_index.insert(key, id);
                id
            }
        };
        if let Some(g) = self.groups[group as usize].as_mut() {
            g.members.insert(peer);
        }
        self.peers.insert(peer, (config, group));
        let mut out = Vec::new();
        for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
            self.dump(peer, group, family, true, &mut out);
        }
        Ok(out)
    }

    fn peer_down(&mut self, peer: PeerId) -> Result<(), RibError> {
        let group = self.group_of(peer).ok_or(RibError::UnknownPeer(peer))?;
        self.withdraw_peer::<Ipv4Net>(peer);
        self.withdraw_peer::<Ipv6Net>(peer);
        self.peers.remove(&peer);
        let empty = match self.groups[group as usize].as_mut() {
            Some(g) => {
                g.members.remove(&peer);
                g.members.is_empty()
            }
            None => false,
        };
        if empty {
            if let Some(g) = self.groups[group as usize].take() {
                self.group_index.remove(&g.key);
            }
        }
        Ok(())
    }

    fn withdraw_peer<K: Key>(&mut self, peer: PeerId) {
        let gone: Vec<(K, u32)> = K::table(&self.tables)
            .iter()
            .flat_map(|(k, l)| {
                l.as_slice()
                    .iter()
                    .filter(|p| p.peer == peer)
                    .map(move |p| (*k, p.path_id))
            })
            .collect();
        for (k, id) in gone {
            self.set_path(k, peer, id, None);
        }
    }

    fn update(&mut self, peer: PeerId, update: Update, withdraw_all: bool) -> Result<(), RibError> {
        let (cfg, _) = self.peers.get(&peer).ok_or(RibError::UnknownPeer(peer))?;
        let ebgp = !cfg.is_ibgp();
        let Update {
            withdrawn,
            mut attrs,
            nlri,
        } = update;
        for n in &withdrawn {
            self.withdraw(peer, n);
        }
        if let Some(Attr::MpUnreach(m)) = attrs
            .remove(bgp_wire::attr::code::MP_UNREACH_NLRI)
            .map(|a| a.value)
        {
            for n in &m.withdrawn {
                self.withdraw(peer, n);
            }
        }
        let mp = match attrs
            .remove(bgp_wire::attr::code::MP_REACH_NLRI)
            .map(|a| a.value)
        {
            Some(Attr::MpReach(m)) => Some(m),
            _ => None,
        };
        let reachable = nlri.len() + mp.as_ref().map_or(0, |m| m.nlri.len());
        if reachable == 0 {
            return Ok(());
        }
        let drop_all = withdraw_all || self.loops(&attrs, ebgp);
        if withdraw_all {
            self.stats.treated_as_withdraw += reachable as u64;
        }
        let groups: [(Vec<Nlri>, Option<NextHop>); 2] = [
            (nlri, None),
            match mp {
                Some(m) => (m.nlri, Some(m.next_hop)),
                None => (Vec::new(), None),
            },
        ];
        for (prefixes, mp_nh) in groups {
            if prefixes.is_empty() {
                continue;
            }
            if drop_all {
                prefixes.iter().for_each(|n| self.withdraw(peer, n));
                continue;
            }
            let Some(ra) = RouteAttrs::from_received(attrs.clone(), mp_nh) else {
                self.stats.missing_next_hop += prefixes.len() as u64;
                prefixes.iter().for_each(|n| self.withdraw(peer, n));
                continue;
            };
            let import = match (&self.policy, self.peers.get(&peer)) {
                (Some(_), Some((pc, _))) => pc.import_policy.clone(),
                _ => None,
            };
            let Some(name) = import else {
                // No import policy: one set for every prefix.
                let id = self.store.intern(ra);
                for (i, n) in prefixes.iter().enumerate() {
                    if i > 0 {
                        self.store.retain(id);
                    }
                    self.announce(peer, n, id);
                }
                continue;
            };
            let mut base: Option<AttrId> = None;
            for n in &prefixes {
                let verdict = match (&self.policy, self.peers.get(&peer)) {
                    (Some(p), Some((pc, _))) => p.import(&name, pc, n.prefix, &ra),
                    _ => Verdict::Accept,
                };
                match verdict {
                    Verdict::Reject => self.withdraw(peer, n),
                    Verdict::Accept => {
                        let id = match base {
                            Some(b) => {
                                self.store.retain(b);
                                b
                            }
                            None => *base.insert(self.store.intern(ra.clone())),
                        };
                        self.announce(peer, n, id);
                    }
                    Verdict::Rewrite(rw) => {
                        let id = self.store.intern(rw);
                        self.announce(peer, n, id);
                    }
                }
            }
        }
        Ok(())
    }

    /// RFC 4456 section 8 loop checks, and the AS_PATH check for external
    /// routes (RFC 4271 9.1.2).
    fn loops(&mut self, attrs: &bgp_wire::PathAttributes, ebgp: bool) -> bool {
        if attrs.originator_id() == Some(self.cfg.router_id) {
            self.stats.originator_loops += 1;
            return true;
        }
        if attrs
            .cluster_list()
            .is_some_and(|cl| cl.iter().any(|&c| self.is_ours(c)))
        {
            self.stats.cluster_loops += 1;
            return true;
        }
        if ebgp
            && attrs
                .as_path()
                .is_some_and(|p| p.contains(self.cfg.local_as))
        {
            self.stats.as_path_loops += 1;
            return true;
        }
        false
    }

    fn withdraw(&mut self, peer: PeerId, n: &Nlri) {
        let id = n.path_id.unwrap_or(0);
        match n.prefix {
            ipnet::IpNet::V4(p) => self.set_path(p, peer, id, None),
            ipnet::IpNet::V6(p) => self.set_path(p, peer, id, None),
        }
    }

    fn announce(&mut self, peer: PeerId, n: &Nlri, attrs: AttrId) {
        let id = n.path_id.unwrap_or(0);
        match n.prefix {
            ipnet::IpNet::V4(p) => self.set_path(p, peer, id, Some(attrs)),
            ipnet::IpNet::V6(p) => self.set_path(p, peer, id, Some(attrs)),
        }
    }

    /// Sets (or removes, with `None`) the path of `peer`/`path_id` for
    /// `key`, reruns the decision for it, and marks the update groups whose
    /// view changed. Takes over one reference to `attrs`.
    fn set_path<K: Key>(&mut self, key: K, peer: PeerId, path_id: u32, attrs: Option<AttrId>) {
        let table = K::table_mut(&mut self.tables);
        let same = |p: &Path| p.peer == peer && p.path_id == path_id;
        let (old_best, new_best) = match (table.get_mut(&key), attrs) {
            // The common cases of a full table: a new prefix, or the only
            // path of a prefix replaced or withdrawn. No allocation.
            (None, None) => return,
            (None, Some(a)) => {
                let p = Path {
                    peer,
                    path_id,
                    attrs: a,
                };
                table.insert(key, PathList::One(p));
                (None, Some(p))
            }
            (Some(PathList::One(p)), Some(a)) if same(p) => {
                let old = *p;
                p.attrs = a;
                self.store.release(old.attrs);
                (Some(old), Some(*p))
            }
            (Some(PathList::One(p)), None) if same(p) => {
                let old = *p;
                table.remove(&key);
                self.store.release(old.attrs);
                (Some(old), None)
            }
            (Some(PathList::One(p)), None) => {
                let _ = p;
                return;
            }
            (Some(list), attrs) => {
                let old_best = list.best();
                let mut paths = match std::mem::replace(list, PathList::One(old_best)) {
                    PathList::One(p) => vec![p],
                    PathList::Many(v) => *v,
                };
                match (paths.iter().position(same), attrs) {
                    (Some(i), Some(a)) => {
                        let old = std::mem::replace(&mut paths[i].attrs, a);
                        self.store.release(old);
                    }
                    (Some(i), None) => {
                        let old = paths.swap_remove(i);
                        self.store.release(old.attrs);
                    }
                    (None, Some(a)) => paths.push(Path {
                        peer,
                        path_id,
                        attrs: a,
                    }),
                    (None, None) => {}
                }
                if paths.len() > 1 {
                    self.scratch.clear();
                    for p in &paths {
                        let (pc, _) = &self.peers[&p.peer];
                        self.scratch.push(Candidate {
                            keys: *self.store.keys(p.attrs),
                            ebgp: !pc.is_ibgp(),
                            peer_router_id: pc.router_id,
                            peer_addr: pc.addr,
                            path_id: p.path_id,
                        });
                    }
                    if let Some(b) = decision::select(&self.scratch, self.cfg.always_compare_med) {
                        paths.swap(0, b);
                    }
                }
                let new_best = paths.first().copied();
                match PathList::from_vec(paths) {
                    Some(l) => *list = l,
                    None => {
                        table.remove(&key);
                    }
                }
                (Some(old_best), new_best)
            }
        };
        if old_best != new_best {
            self.mark::<K>(key, old_best, new_best);
        }
    }

    /// What `group` is sent for a best path (RFC 4456 section 8): from a
    /// client to all clients (unless client-to-client reflection is off in
    /// the source's own group) and non-clients; from a non-client to
    /// clients only; from an external peer to every internal peer; never to
    /// external peers yet.
    fn exported(&self, best: Option<Path>, group: &GroupKey) -> Exported {
        let best = best?;
        let (src, _) = self.peers.get(&best.peer)?;
        exported_from(best, &src.role, group)
    }

    fn mark<K: Key>(&mut self, key: K, old: Option<Path>, new: Option<Path>) {
        // Look the sources up once, not once per group.
        let peers = &self.peers;
        let source = |p: Option<Path>| p.and_then(|p| Some((p, &peers.get(&p.peer)?.0.role)));
        let (old, new) = (source(old), source(new));
        for g in self.groups.iter_mut().flatten() {
            let before = old.and_then(|(p, r)| exported_from(p, r, &g.key));
            let after = new.and_then(|(p, r)| exported_from(p, r, &g.key));
            if before != after {
                // The first change since the group was last served records
                // what it had then.
                K::pending(&mut g.pending)
                    .entry(key)
                    .or_insert(before.map(|(_, src)| src));
            }
        }
    }

    /// Takes up to `limit` pending prefixes of `group` and returns what its
    /// members must be sent: the current state of each prefix, however many
    /// times it changed since (latest state wins).
    pub fn take_changes(&mut self, group: u32, limit: usize) -> Vec<ChangeSet> {
        let mut out = Vec::with_capacity(2);
        let taken4 = self.take_pending::<Ipv4Net>(group, limit);
        let taken6 = self.take_pending::<Ipv6Net>(group, limit.saturating_sub(taken4.len()));
        let target = Target::Group(group);
        out.extend(self.changes(group, target, taken4));
        out.extend(self.changes(group, target, taken6));
        out
    }

    fn take_pending<K: Key>(&mut self, group: u32, limit: usize) -> Vec<(K, Option<PeerId>)> {
        let Some(g) = self.groups.get_mut(group as usize).and_then(Option::as_mut) else {
            return Vec::new();
        };
        let set = K::pending(&mut g.pending);
        if set.len() <= limit {
            let all: Vec<_> = set.drain().collect();
            // Give back the room a burst (a full table) took.
            if set.capacity() > 4096 {
                *set = hashbrown::HashMap::new();
            }
            return all;
        }
        let keys: Vec<K> = set.keys().take(limit).copied().collect();
        keys.into_iter()
            .filter_map(|k| set.remove(&k).map(|prev| (k, prev)))
            .collect()
    }

    /// The change set telling `target` (of `group`) the current state of
    /// `keys`, each with the source of what the group had before (`None`:
    /// nothing).
    fn changes<K: Key>(
        &self,
        group: u32,
        target: Target,
        keys: Vec<(K, Option<PeerId>)>,
    ) -> Option<ChangeSet> {
        if keys.is_empty() {
            return None;
        }
        let g = self.group(group)?;
        let mut batches: BTreeMap<(OutAttrs, PeerId, bool), Vec<Nlri>> = BTreeMap::new();
        let mut withdraw: BTreeMap<Option<PeerId>, Vec<Nlri>> = BTreeMap::new();
        // Each distinct rewrite is kept once and shared by its prefixes.
        let mut rewrites: Vec<RouteAttrs> = Vec::new();
        let mut rewrite_index: HashMap<RouteAttrs, usize> = HashMap::new();
        let table = K::table(&self.tables);
        for (k, prev) in keys {
            let best = table.get(&k).map(PathList::best);
            let nlri = Nlri::new(k.into());
            let out = self.exported(best, &g.key).and_then(|(a, src)| {
                let (Some(policy), Some(name)) = (&self.policy, &g.key.export_policy) else {
                    return Some((OutAttrs::Stored(a), src));
                };
                let from = &self.peers.get(&src)?.0;
                match policy.export(name, &g.key.role, from, k.into(), self.store.get(a)) {
                    Verdict::Reject => None,
                    Verdict::Accept => Some((OutAttrs::Stored(a), src)),
                    Verdict::Rewrite(rw) => {
                        let i = *rewrite_index.entry(rw.clone()).or_insert_with(|| {
                            rewrites.push(rw);
                            rewrites.len() - 1
                        });
                        Some((OutAttrs::Rewritten(i), src))
                    }
                }
            });
            match (out, prev) {
                (Some((a, src)), prev) => {
                    let at_source = prev.is_some_and(|p| p != src);
                    batches.entry((a, src, at_source)).or_default().push(nlri);
                }
                // Announced and withdrawn again before the group was served.
                (None, None) => {}
                // Everyone but the source of the old route had it.
                (None, Some(old_src)) => withdraw.entry(Some(old_src)).or_default().push(nlri),
            }
        }
        let withdraw = withdraw
            .into_iter()
            .map(|(except, mut nlri)| {
                nlri.sort();
                Withdraw { except, nlri }
            })
            .collect();
        let cs = ChangeSet {
            target,
            family: K::FAMILY,
            announce: self.batches(batches, &rewrites, &g.key),
            withdraw,
            end_of_rib: false,
        };
        (!cs.is_empty()).then_some(cs)
    }

    /// Builds announcements, rewriting each attribute set once per batch for
    /// reflection: ORIGINATOR_ID set if absent, our CLUSTER_ID prepended
    /// (the source's client-group cluster id for a route from a client,
    /// else the receiving client group's). Routes from external peers go
    /// out unchanged. Batches are ordered by their first prefix.
    fn batches(
        &self,
        batches: BTreeMap<(OutAttrs, PeerId, bool), Vec<Nlri>>,
        rewrites: &[RouteAttrs],
        dst: &GroupKey,
    ) -> Vec<Announce> {
        let mut out: Vec<Announce> = batches
            .into_iter()
            .filter_map(|((attrs, src, withdraw_at_source), mut nlri)| {
                let (sp, _) = self.peers.get(&src)?;
                let ra = match attrs {
                    OutAttrs::Stored(id) => self.store.get(id),
                    OutAttrs::Rewritten(i) => rewrites.get(i)?,
                };
                let mut a = ra.attrs.clone();
                let cluster = match (&sp.role, &dst.role) {
                    (Role::Ebgp, _) => None,
                    (Role::Client { cluster_id, .. }, _) => Some(*cluster_id),
                    (_, Role::Client { cluster_id, .. }) => Some(*cluster_id),
                    _ => Some(self.cfg.router_id),
                };
                if let Some(cid) = cluster {
                    if a.originator_id().is_none() {
                        a.set(Attr::OriginatorId(sp.router_id));
                    }
                    let mut list = vec![cid];
                    list.extend_from_slice(a.cluster_list().unwrap_or(&[]));
                    a.set(Attr::ClusterList(list));
                }
                nlri.sort();
                Some(Announce {
                    source: Some(src),
                    withdraw_at_source,
                    next_hop: ra.next_hop,
                    attrs: a,
                    nlri,
                })
            })
            .collect();
        out.sort_by(|x, y| x.nlri.first().cmp(&y.nlri.first()));
        out
    }

    /// The whole table of `family` as `group` would be sent it, addressed
    /// to `peer` (initial advertisement or route refresh).
    fn dump(
        &self,
        peer: PeerId,
        group: u32,
        family: Family,
        end_of_rib: bool,
        out: &mut Vec<ChangeSet>,
    ) {
        let cs = if family == Family::IPV4_UNICAST {
            self.dump_family::<Ipv4Net>(peer, group)
        } else if family == Family::IPV6_UNICAST {
            self.dump_family::<Ipv6Net>(peer, group)
        } else {
            None
        };
        let mut cs = cs.unwrap_or(ChangeSet {
            target: Target::Peer(peer),
            family,
            announce: Vec::new(),
            withdraw: Vec::new(),
            end_of_rib: false,
        });
        // A full table has nothing to withdraw, and the peer's own routes
        // are not sent back to it.
        cs.withdraw.clear();
        cs.announce.retain(|a| a.source != Some(peer));
        cs.end_of_rib = end_of_rib;
        if !cs.is_empty() {
            out.push(cs);
        }
    }

    fn dump_family<K: Key>(&self, peer: PeerId, group: u32) -> Option<ChangeSet> {
        let g = self.group(group)?;
        let keys: Vec<(K, Option<PeerId>)> = K::table(&self.tables)
            .iter()
            .filter(|(_, l)| self.exported(Some(l.best()), &g.key).is_some())
            .map(|(k, _)| (*k, None))
            .collect();
        self.changes(group, Target::Peer(peer), keys)
    }
}

/// Whether a best path from a peer of role `src` goes to `group`
/// (RFC 4456 section 8), and if so what the group is sent.
fn exported_from(best: Path, src: &Role, group: &GroupKey) -> Exported {
    let ok = match (src, &group.role) {
        (_, Role::Ebgp) => false,
        (Role::Ebgp, _) => true,
        (
            Role::Client {
                group: sg,
                client_to_client,
                ..
            },
            Role::Client { group: dg, .. },
        ) => sg != dg || *client_to_client,
        (Role::Client { .. }, Role::NonClient) => true,
        (Role::NonClient, Role::Client { .. }) => true,
        (Role::NonClient, Role::NonClient) => false,
    };
    ok.then_some((best.attrs, best.peer))
}
