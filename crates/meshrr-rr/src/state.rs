//! State shared with the admin API: what each session is doing, and the
//! shutdown signal. Sessions write here on state changes and per UPDATE;
//! the admin API reads. Routing state is not here: it lives in the
//! reflector task alone.

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr},
    sync::{
        atomic::{AtomicU64, Ordering::Relaxed},
        Mutex,
    },
};

use serde::Serialize;
use tokio::sync::watch;

use crate::fsm::{Negotiated, State};

/// One neighbor as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Neighbor {
    /// Peer number.
    pub id: u32,
    /// Address.
    pub address: IpAddr,
    /// Group name.
    pub group: String,
    /// client, non-client or ebgp.
    pub role: &'static str,
    /// FSM state.
    pub state: State,
    /// Unix time of the last state change.
    pub since: u64,
    /// The peer's BGP identifier, once known.
    pub router_id: Option<Ipv4Addr>,
    /// Negotiated hold time.
    pub hold_time: Option<u16>,
    /// Negotiated capabilities, by name.
    pub capabilities: Vec<String>,
    /// Families in use.
    pub families: Vec<String>,
    /// UPDATEs received.
    pub updates_in: u64,
    /// UPDATE messages sent.
    pub updates_out: u64,
    /// The last error or NOTIFICATION, if any.
    pub last_error: Option<String>,
}

/// Counters of the daemon for /metrics.
#[derive(Debug, Default)]
pub struct Counters {
    /// Connections refused before OPEN processing.
    pub refused: AtomicU64,
    /// Messages waiting in the reflector's queue (sampled).
    pub reflector_queue: AtomicU64,
    /// Prefixes announced or withdrawn to peers.
    pub prefixes_out: AtomicU64,
}

/// What discovery did for one mesh group.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Discovery {
    /// Unix time of the last successful lookup.
    pub last_ok: Option<u64>,
    /// Failed lookups so far.
    pub errors: u64,
    /// The last failure.
    pub last_error: Option<String>,
    /// Peers added so far.
    pub added: u64,
    /// Peers removed so far.
    pub removed: u64,
    /// The members in force.
    pub members: Vec<String>,
}

/// Sessions by peer number.
#[derive(Debug, Default)]
pub struct Registry {
    neighbors: Mutex<BTreeMap<u32, Neighbor>>,
    discovery: Mutex<BTreeMap<String, Discovery>>,
    /// Daemon-wide counters.
    pub counters: Counters,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Registry {
    fn with(&self, id: rib::PeerId, f: impl FnOnce(&mut Neighbor)) {
        if let Ok(mut m) = self.neighbors.lock() {
            if let Some(n) = m.get_mut(&id.0) {
                f(n);
            }
        }
    }

    /// Adds a neighbor in Idle.
    pub fn add(&self, id: rib::PeerId, address: IpAddr, group: &str, role: &rib::Role) {
        let role = match role {
            rib::Role::Client { .. } => "client",
            rib::Role::NonClient => "non-client",
            rib::Role::Ebgp => "ebgp",
        };
        let n = Neighbor {
            id: id.0,
            address,
            group: group.to_string(),
            role,
            state: State::Idle,
            since: now(),
            router_id: None,
            hold_time: None,
            capabilities: Vec::new(),
            families: Vec::new(),
            updates_in: 0,
            updates_out: 0,
            last_error: None,
        };
        if let Ok(mut m) = self.neighbors.lock() {
            m.insert(id.0, n);
        }
    }

    /// Removes a neighbor whose session ended.
    pub fn remove(&self, id: rib::PeerId) {
        if let Ok(mut m) = self.neighbors.lock() {
            m.remove(&id.0);
        }
    }

    /// Records a state change.
    pub fn set_state(&self, id: rib::PeerId, state: State) {
        self.with(id, |n| {
            if n.state != state {
                n.state = state;
                n.since = now();
            }
        });
    }

    /// Records the peer's identifier.
    pub fn set_router_id(&self, id: rib::PeerId, rid: Ipv4Addr) {
        self.with(id, |n| n.router_id = Some(rid));
    }

    /// Records what was negotiated.
    pub fn set_established(&self, id: rib::PeerId, neg: &Negotiated) {
        self.with(id, |n| {
            n.router_id = Some(neg.remote.bgp_id);
            n.hold_time = Some(neg.hold_time);
            n.families = neg.families.iter().map(ToString::to_string).collect();
            let mut caps = Vec::new();
            if neg.rx.four_octet_as {
                caps.push("4-octet-as".to_string());
            }
            if neg.rx.extended_message {
                caps.push("extended-message".to_string());
            }
            if neg.route_refresh {
                caps.push("route-refresh".to_string());
            }
            if neg.enhanced_route_refresh {
                caps.push("enhanced-route-refresh".to_string());
            }
            if neg.rx.add_path != bgp_wire::AddPathFamilies::NONE {
                caps.push("add-path-receive".to_string());
            }
            if neg.tx.add_path != bgp_wire::AddPathFamilies::NONE {
                caps.push("add-path-send".to_string());
            }
            n.capabilities = caps;
        });
    }

    /// Records an error.
    pub fn set_error(&self, id: rib::PeerId, e: String) {
        self.with(id, |n| n.last_error = Some(e));
    }

    /// Counts an UPDATE received.
    pub fn count_update_in(&self, id: rib::PeerId) {
        self.with(id, |n| n.updates_in += 1);
    }

    /// Counts UPDATEs sent.
    pub fn count_updates_out(&self, id: rib::PeerId, k: u64) {
        self.with(id, |n| n.updates_out += k);
    }

    /// A snapshot of every neighbor.
    pub fn snapshot(&self) -> Vec<Neighbor> {
        self.neighbors
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    fn with_group(&self, group: &str, f: impl FnOnce(&mut Discovery)) {
        if let Ok(mut m) = self.discovery.lock() {
            f(m.entry(group.to_string()).or_default());
        }
    }

    /// A lookup for `group` succeeded.
    pub fn discovery_ok(&self, group: &str) {
        self.with_group(group, |d| d.last_ok = Some(now()));
    }

    /// A lookup for `group` failed.
    pub fn discovery_error(&self, group: &str, e: String) {
        self.with_group(group, |d| {
            d.errors += 1;
            d.last_error = Some(e);
        });
    }

    /// The members of `group` changed.
    pub fn discovery_members(&self, group: &str, members: Vec<String>, added: u64, removed: u64) {
        self.with_group(group, |d| {
            d.members = members;
            d.added += added;
            d.removed += removed;
        });
    }

    /// Discovery state of every mesh group.
    pub fn discovery(&self) -> BTreeMap<String, Discovery> {
        self.discovery.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Counts a refused connection.
    pub fn refused(&self) {
        self.counters.refused.fetch_add(1, Relaxed);
    }
}

/// The shutdown signal: a message that, once set, tells every task to
/// stop (sessions send it in their Cease NOTIFICATION, RFC 8203).
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<Option<String>>);

impl Shutdown {
    /// A signal and its trigger.
    pub fn new() -> (watch::Sender<Option<String>>, Shutdown) {
        let (tx, rx) = watch::channel(None);
        (tx, Shutdown(rx))
    }

    /// Waits until shutdown is requested.
    pub async fn changed(&mut self) {
        while self.0.borrow().is_none() {
            if self.0.changed().await.is_err() {
                return;
            }
        }
    }

    /// The shutdown message.
    pub fn message(&self) -> String {
        self.0.borrow().clone().unwrap_or_default()
    }
}
