//! The daemon: listeners, the sessions of each group, the reflector and
//! the admin API, wired together; and a clean stop on SIGTERM.
//!
//! ```text
//!  listener(s) ──accept──▶ allowed? ──no──▶ refused (logged, counted)
//!       │                    │yes
//!       │          known peer? ──yes──▶ its session (collision handling)
//!       │                    │no
//!       ▼                    ▼
//!   mesh/static peers:   new client session (subtractive group)
//!   sessions connect out
//! ```

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex},
    time::Duration,
};

use bgp_wire::{
    capability::{AddPathFamily, AddPathMode, Capability},
    notification::CeaseSubcode,
    Notification, NotificationCode, Open,
};
use ipnet::IpNet;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::mpsc,
};
use tracing::{info, warn};

use crate::{
    config::{subtract, Config, GroupKind},
    discovery::{self, Found},
    fsm::FsmConfig,
    reflector::{self, ToReflector},
    session::{self, SessionHandle, SessionSpec},
    state::{Registry, Shutdown},
};

/// Allowed client ranges, by subtractive group name.
pub type Ranges = Vec<(String, Vec<IpNet>)>;

/// Everything the admin API needs to see.
#[derive(Debug, Clone)]
pub struct Daemon {
    /// The configuration in force.
    pub config: Arc<Config>,
    /// Sessions.
    pub registry: Arc<Registry>,
    /// The reflector's inbox (for queries).
    pub reflector: mpsc::Sender<ToReflector>,
    /// Client ranges in force, per subtractive group.
    pub ranges: Arc<Mutex<Ranges>>,
    /// Addresses we listen on, once bound.
    pub listening: Arc<Mutex<Vec<SocketAddr>>>,
}

/// A session the manager started, by peer address.
#[derive(Debug)]
struct Entry {
    id: rib::PeerId,
    group: String,
    handle: SessionHandle,
    /// A client (subtractive group) rather than a mesh peer.
    client: bool,
}

/// Sessions, mesh membership and client ranges: the reconciler's state.
#[derive(Debug)]
pub struct Manager {
    cfg: Arc<Config>,
    next_id: u32,
    sessions: HashMap<IpAddr, Entry>,
    /// Selected members per mesh group, in order.
    members: HashMap<String, Vec<SocketAddr>>,
    reflector: mpsc::Sender<ToReflector>,
    registry: Arc<Registry>,
    shutdown: Shutdown,
    ranges: Arc<Mutex<Ranges>>,
    rng: u64,
}

/// The OPEN we send.
fn our_open(cfg: &Config) -> Open {
    let mut caps: Vec<Capability> = cfg
        .families
        .iter()
        .map(|f| Capability::Multiprotocol(*f))
        .collect();
    caps.push(Capability::RouteRefresh);
    caps.push(Capability::EnhancedRouteRefresh);
    caps.push(Capability::FourOctetAs(cfg.asn));
    caps.push(Capability::ExtendedMessage);
    // We take several paths per prefix from peers that offer them.
    let ap: Vec<AddPathFamily> = cfg
        .families
        .iter()
        .map(|f| AddPathFamily {
            family: *f,
            mode: AddPathMode::Receive,
        })
        .collect();
    caps.push(Capability::AddPath(ap));
    Open::new(cfg.asn, cfg.timers.hold_time, cfg.router_id, caps)
}

fn fsm_config(cfg: &Config) -> FsmConfig {
    FsmConfig {
        local: our_open(cfg),
        peer_as: cfg.asn,
        router_id: cfg.router_id,
        keepalive: cfg.timers.keepalive,
        connect_retry: cfg.timers.connect_retry,
        ebgp: false,
    }
}

/// Binds a listening socket; IPv6 sockets are IPv6-only so `0.0.0.0:179`
/// and `[::]:179` can both be bound.
fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let domain = if addr.is_ipv6() {
        socket2::Domain::IPV6
    } else {
        socket2::Domain::IPV4
    };
    let s = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    s.listen(1024)?;
    TcpListener::from_std(s.into())
}

/// Runs the daemon until SIGTERM/SIGINT or `stop` fires.
pub async fn run(cfg: Config) -> Result<(), String> {
    let cfg = Arc::new(cfg);
    let registry = Arc::new(Registry::default());
    let rib = rib::Rib::new(rib::RibConfig {
        router_id: cfg.router_id,
        local_as: cfg.asn,
        cluster_ids: vec![cfg.cluster_id],
        always_compare_med: false,
    });
    let mut rib = rib;
    rib.set_policy(Box::new(crate::policies::GroupPolicies::new(&cfg)?));
    let reflector = reflector::spawn(rib, registry.clone());
    let (stop_tx, shutdown) = Shutdown::new();

    let mut listeners = Vec::new();
    for addr in &cfg.listen {
        match bind(*addr) {
            Ok(l) => listeners.push(l),
            Err(e) => return Err(format!("listen {addr}: {e}")),
        }
    }
    let daemon = Daemon {
        config: cfg.clone(),
        registry: registry.clone(),
        reflector: reflector.clone(),
        ranges: Arc::new(Mutex::new(Vec::new())),
        listening: Arc::new(Mutex::new(
            listeners
                .iter()
                .filter_map(|l| l.local_addr().ok())
                .collect(),
        )),
    };
    let admin = crate::admin::bind(cfg.admin)
        .await
        .map_err(|e| format!("admin {}: {e}", cfg.admin))?;
    tokio::spawn(crate::admin::serve(admin, daemon.clone()));
    info!(
        router_id = %cfg.router_id, asn = cfg.asn, listen = ?daemon.listening.lock().map(|l| l.clone()).unwrap_or_default(),
        admin = %cfg.admin, "meshrr-rr started"
    );

    let manager = Arc::new(tokio::sync::Mutex::new(Manager {
        cfg: cfg.clone(),
        next_id: 1,
        sessions: HashMap::new(),
        members: HashMap::new(),
        reflector: reflector.clone(),
        registry: registry.clone(),
        shutdown: shutdown.clone(),
        ranges: daemon.ranges.clone(),
        rng: u64::from(u32::from(cfg.router_id)) | 1,
    }));
    manager.lock().await.recompute_ranges().await;

    // Each mesh group's source feeds the reconciler.
    let (found_tx, mut found_rx) = mpsc::channel::<Found>(64);
    let mut exclude: Vec<IpAddr> = vec![IpAddr::V4(cfg.router_id)];
    exclude.extend(cfg.pod_ip);
    for g in &cfg.groups {
        if let GroupKind::Mesh { source, .. } = &g.kind {
            let interval = Duration::from_secs(cfg.update_seconds.max(1));
            discovery::spawn(
                g.name.clone(),
                source.clone(),
                interval,
                exclude.clone(),
                found_tx.clone(),
                registry.clone(),
            );
        }
    }
    drop(found_tx);
    let mesh_groups = cfg
        .groups
        .iter()
        .filter(|g| matches!(g.kind, GroupKind::Mesh { .. }))
        .count();
    let (first_tx, mut first_rx) = tokio::sync::watch::channel(0usize);
    {
        let manager = manager.clone();
        let interval = Duration::from_secs(cfg.update_seconds.max(1));
        tokio::spawn(async move {
            let mut last: HashMap<String, Vec<SocketAddr>> = HashMap::new();
            let mut tick = tokio::time::interval(interval);
            loop {
                tokio::select! {
                    f = found_rx.recv() => match f {
                        Some(Found { group, peers: Ok(p) }) => {
                            last.insert(group.clone(), p.clone());
                            manager.lock().await.reconcile(&group, &p).await;
                            first_tx.send_replace(last.len());
                        }
                        // A failed lookup keeps the last known set.
                        Some(Found { peers: Err(_), .. }) => {}
                        None => std::future::pending::<()>().await,
                    },
                    // Health: members that stay down are replaced.
                    _ = tick.tick() => {
                        let mut m = manager.lock().await;
                        for (g, p) in &last {
                            m.reconcile(g, p).await;
                        }
                    }
                }
            }
        });
    }

    // Accept connections once every mesh group has been looked up (or two
    // intervals have passed), so that mesh peers are not first taken for
    // clients.
    let wait = Duration::from_secs(2 * cfg.update_seconds.max(1));
    let _ = tokio::time::timeout(wait, first_rx.wait_for(|n| *n >= mesh_groups)).await;
    for l in listeners {
        let (manager, shutdown) = (manager.clone(), shutdown.clone());
        tokio::spawn(accept_loop(l, manager, shutdown));
    }

    let msg = wait_for_signal().await;
    info!(reason = %msg, "shutting down: notifying peers");
    let _ = stop_tx.send(Some(msg));
    // Give sessions a moment to send their NOTIFICATIONs.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while tokio::time::Instant::now() < deadline {
        if registry
            .snapshot()
            .iter()
            .all(|n| n.state != crate::fsm::State::Established)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(())
}

async fn wait_for_signal() -> String {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return "signal handler unavailable".into(),
    };
    tokio::select! {
        _ = term.recv() => "meshrr-rr shutting down (SIGTERM)".into(),
        _ = tokio::signal::ctrl_c() => "meshrr-rr shutting down (SIGINT)".into(),
    }
}

async fn accept_loop(
    l: TcpListener,
    manager: Arc<tokio::sync::Mutex<Manager>>,
    mut shutdown: Shutdown,
) {
    let mut errors = 0u32;
    loop {
        let (stream, from) = tokio::select! {
            r = l.accept() => match r {
                Ok(x) => { errors = 0; x }
                Err(e) => {
                    // Back off on accept errors (too many open files...).
                    errors += 1;
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10 << errors.min(8))).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        manager.lock().await.accept(stream, from).await;
    }
}

impl Manager {
    fn new_id(&mut self) -> rib::PeerId {
        let id = rib::PeerId(self.next_id);
        self.next_id += 1;
        id
    }

    fn start(&mut self, spec: SessionSpec, first: Option<TcpStream>, client: bool) {
        let ip = spec.remote.ip();
        self.registry.add(spec.id, ip, &spec.group, &spec.role);
        let (id, group) = (spec.id, spec.group.clone());
        let handle = session::spawn(
            spec,
            first,
            self.reflector.clone(),
            self.registry.clone(),
            self.shutdown.clone(),
        );
        self.sessions.insert(
            ip,
            Entry {
                id,
                group,
                handle,
                client,
            },
        );
    }

    /// Forgets sessions that ended on their own.
    fn sweep(&mut self) {
        self.sessions.retain(|_, e| !e.handle.incoming.is_closed());
    }

    /// An incoming connection: to the peer's session, a new client
    /// session, or refused.
    async fn accept(&mut self, stream: TcpStream, from: SocketAddr) {
        self.sweep();
        let ip = canonical(from.ip());
        if let Some(e) = self.sessions.get(&ip) {
            if e.handle.incoming.send(stream).await.is_ok() {
                return;
            }
            self.sessions.remove(&ip);
            return;
        }
        let group = self.ranges.lock().ok().and_then(|r| {
            r.iter()
                .find(|(_, nets)| nets.iter().any(|n| n.contains(&ip)))
                .map(|(g, _)| g.clone())
        });
        let Some(group) = group else {
            warn!(peer = %from, "connection refused: not a configured peer nor in a client range");
            self.registry.refused();
            tokio::spawn(session::reject(stream, CeaseSubcode::ConnectionRejected));
            return;
        };
        let cfg = self.cfg.clone();
        let Some(g) = cfg.groups.iter().find(|g| g.name == group) else {
            return;
        };
        let GroupKind::Subtractive {
            cluster_id,
            client_to_client,
            ..
        } = &g.kind
        else {
            return;
        };
        let role = rib::Role::Client {
            group: g.name.clone(),
            cluster_id: *cluster_id,
            client_to_client: *client_to_client,
        };
        info!(peer = %from, group = %g.name, "client connected");
        let spec = SessionSpec {
            id: self.new_id(),
            remote: SocketAddr::new(ip, from.port()),
            group: g.name.clone(),
            role,
            export_policy: (!g.export.is_empty()).then(|| g.name.clone()),
            import_policy: (!g.import.is_empty()).then(|| g.name.clone()),
            active: false,
            wait_first: false,
            fsm: fsm_config(&cfg),
            max_backoff: 1,
        };
        self.start(spec, Some(stream), true);
    }

    /// Brings mesh group `group` in line with what its source found.
    async fn reconcile(&mut self, group: &str, found: &[SocketAddr]) {
        self.sweep();
        let cfg = self.cfg.clone();
        let Some(g) = cfg.groups.iter().find(|g| g.name == group) else {
            return;
        };
        let GroupKind::Mesh {
            max_peers,
            replace_after,
            ..
        } = &g.kind
        else {
            return;
        };
        let current = self.members.get(group).cloned().unwrap_or_default();
        let snapshot = self.registry.snapshot();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let sessions = &self.sessions;
        let healthy = |a: &SocketAddr| {
            let Some(e) = sessions.get(&a.ip()) else {
                return true;
            };
            snapshot.iter().find(|n| n.id == e.id.0).is_none_or(|n| {
                n.state == crate::fsm::State::Established
                    || now.saturating_sub(n.since) < *replace_after
            })
        };
        let mut rng = self.rng;
        let mut pick = |n: usize| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % n as u64) as usize
        };
        let selected = discovery::select(&current, found, *max_peers, &healthy, &mut pick);
        self.rng = rng;
        if selected == current {
            return;
        }
        let removed: Vec<SocketAddr> = current
            .iter()
            .filter(|c| !selected.contains(c))
            .copied()
            .collect();
        let added: Vec<SocketAddr> = selected
            .iter()
            .filter(|s| !current.contains(s))
            .copied()
            .collect();
        for r in &removed {
            info!(group = %group, peer = %r, "peer removed (no longer found, or down too long)");
            if let Some(e) = self.sessions.remove(&r.ip()) {
                let n = Notification::new(NotificationCode::Cease(CeaseSubcode::PeerDeconfigured));
                let _ = e.handle.stop.send(n).await;
            }
        }
        self.members.insert(group.to_string(), selected.clone());
        self.registry.discovery_members(
            group,
            selected.iter().map(ToString::to_string).collect(),
            added.len() as u64,
            removed.len() as u64,
        );
        // Client ranges shrink before the new peers connect.
        self.recompute_ranges().await;
        for a in &added {
            // A client session from the new peer's address ends: it is a
            // mesh peer now.
            if let Some(e) = self.sessions.remove(&a.ip()) {
                let _ = e
                    .handle
                    .stop
                    .send(Notification::new(NotificationCode::Cease(
                        CeaseSubcode::OtherConfigurationChange,
                    )))
                    .await;
            }
            info!(group = %group, peer = %a, "peer added");
            // The lower address waits for the higher one to connect, for up
            // to three connect-retry periods.
            let wait_first = local_addr_towards(*a).is_some_and(|l| l < a.ip());
            let mut fsm = fsm_config(&cfg);
            if wait_first {
                fsm.connect_retry = fsm.connect_retry.saturating_mul(3);
            }
            let spec = SessionSpec {
                id: self.new_id(),
                remote: *a,
                group: group.to_string(),
                role: rib::Role::NonClient,
                export_policy: (!g.export.is_empty()).then(|| g.name.clone()),
                import_policy: (!g.import.is_empty()).then(|| g.name.clone()),
                active: true,
                wait_first,
                fsm,
                max_backoff: cfg.timers.connect_retry.max(1),
            };
            self.start(spec, None, false);
        }
    }

    /// Client ranges: each subtractive group's prefixes minus every mesh
    /// member and our own address; clients now outside are closed.
    async fn recompute_ranges(&mut self) {
        let mut excl: Vec<IpAddr> = self
            .members
            .values()
            .flatten()
            .map(SocketAddr::ip)
            .collect();
        excl.extend(self.cfg.pod_ip);
        let mut ranges = Vec::new();
        for g in &self.cfg.groups {
            if let GroupKind::Subtractive { prefixes, .. } = &g.kind {
                ranges.push((g.name.clone(), subtract(prefixes, &excl)));
            }
        }
        let gone: Vec<IpAddr> = self
            .sessions
            .iter()
            .filter(|(ip, e)| {
                e.client
                    && !ranges
                        .iter()
                        .any(|(g, nets)| *g == e.group && nets.iter().any(|n| n.contains(*ip)))
            })
            .map(|(ip, _)| *ip)
            .collect();
        for ip in gone {
            if let Some(e) = self.sessions.remove(&ip) {
                info!(peer = %ip, group = %e.group, "client outside the group's ranges now: closing");
                let n = Notification::new(NotificationCode::Cease(
                    CeaseSubcode::OtherConfigurationChange,
                ));
                let _ = e.handle.stop.send(n).await;
            }
        }
        if let Ok(mut r) = self.ranges.lock() {
            *r = ranges;
        }
    }
}

/// The source address the kernel would use to reach `peer`.
fn local_addr_towards(peer: SocketAddr) -> Option<IpAddr> {
    let any: SocketAddr = if peer.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let s = std::net::UdpSocket::bind(any).ok()?;
    s.connect(peer).ok()?;
    s.local_addr().ok().map(|a| a.ip())
}

/// An IPv4-mapped IPv6 address as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}
