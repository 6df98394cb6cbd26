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
    Open,
};
use ipnet::IpNet;
use tokio::{net::TcpListener, sync::mpsc};
use tracing::{info, warn};

use crate::{
    config::{subtract, Config, GroupKind, Source},
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

struct Peers {
    next_id: u32,
    /// Sessions by peer address.
    by_addr: HashMap<IpAddr, SessionHandle>,
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

    let peers = Arc::new(tokio::sync::Mutex::new(Peers {
        next_id: 1,
        by_addr: HashMap::new(),
    }));

    // Mesh groups: static sources are peers we connect to. DNS and
    // Kubernetes discovery are not implemented yet.
    let mut explicit: Vec<IpAddr> = Vec::new();
    for g in &cfg.groups {
        if let GroupKind::Mesh { source, max_peers } = &g.kind {
            match source {
                Source::Static { peers: list } => {
                    let limit = max_peers.unwrap_or(usize::MAX);
                    for addr in list
                        .iter()
                        .filter(|a| {
                            Some(a.ip()) != cfg.pod_ip && a.ip() != IpAddr::V4(cfg.router_id)
                        })
                        .take(limit)
                    {
                        explicit.push(addr.ip());
                        let mut p = peers.lock().await;
                        let id = rib::PeerId(p.next_id);
                        p.next_id += 1;
                        let spec = SessionSpec {
                            id,
                            remote: *addr,
                            group: g.name.clone(),
                            role: rib::Role::NonClient,
                            export_policy: g.export.first().cloned(),
                            active: true,
                            fsm: fsm_config(&cfg),
                            max_backoff: cfg.timers.connect_retry.max(1),
                        };
                        registry.add(id, addr.ip(), &g.name, &spec.role);
                        let h = session::spawn(
                            spec,
                            None,
                            reflector.clone(),
                            registry.clone(),
                            shutdown.clone(),
                        );
                        p.by_addr.insert(addr.ip(), h);
                    }
                }
                other => {
                    warn!(group = %g.name, source = ?other, "discovery source not implemented yet: the group has no peers")
                }
            }
        }
    }
    // Subtractive groups: their prefixes minus every explicit peer.
    let mut ranges = Vec::new();
    for g in &cfg.groups {
        if let GroupKind::Subtractive { prefixes, .. } = &g.kind {
            let mut excl = explicit.clone();
            excl.extend(cfg.pod_ip);
            ranges.push((g.name.clone(), subtract(prefixes, &excl)));
        }
    }
    if let Ok(mut r) = daemon.ranges.lock() {
        *r = ranges;
    }

    for l in listeners {
        let (daemon, peers, shutdown) = (daemon.clone(), peers.clone(), shutdown.clone());
        tokio::spawn(accept_loop(l, daemon, peers, shutdown));
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
    daemon: Daemon,
    peers: Arc<tokio::sync::Mutex<Peers>>,
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
        let ip = canonical(from.ip());
        let mut p = peers.lock().await;
        if let Some(h) = p.by_addr.get(&ip) {
            if h.incoming.send(stream).await.is_ok() {
                continue;
            }
            // The old session is gone: fall through and start a new one.
            p.by_addr.remove(&ip);
            continue;
        }
        let group = daemon.ranges.lock().ok().and_then(|r| {
            r.iter()
                .find(|(_, nets)| nets.iter().any(|n| n.contains(&ip)))
                .map(|(g, _)| g.clone())
        });
        let Some(group) = group else {
            warn!(peer = %from, "connection refused: not a configured peer nor in a client range");
            daemon.registry.refused();
            drop(p);
            tokio::spawn(session::reject(stream, CeaseSubcode::ConnectionRejected));
            continue;
        };
        let Some(g) = daemon.config.groups.iter().find(|g| g.name == group) else {
            continue;
        };
        let GroupKind::Subtractive {
            cluster_id,
            client_to_client,
            ..
        } = &g.kind
        else {
            continue;
        };
        let id = rib::PeerId(p.next_id);
        p.next_id += 1;
        let role = rib::Role::Client {
            group: g.name.clone(),
            cluster_id: *cluster_id,
            client_to_client: *client_to_client,
        };
        info!(peer = %from, group = %g.name, "client connected");
        let spec = SessionSpec {
            id,
            remote: SocketAddr::new(ip, from.port()),
            group: g.name.clone(),
            role,
            export_policy: g.export.first().cloned(),
            active: false,
            fsm: fsm_config(&daemon.config),
            max_backoff: 1,
        };
        daemon.registry.add(id, ip, &g.name, &spec.role);
        let h = session::spawn(
            spec,
            Some(stream),
            daemon.reflector.clone(),
            daemon.registry.clone(),
            shutdown.clone(),
        );
        p.by_addr.insert(ip, h);
        // Forget the handle when the session ends (its channel closes).
        let peers2 = peers.clone();
        let closed = p.by_addr.get(&ip).map(|h| h.incoming.clone());
        drop(p);
        if let Some(c) = closed {
            tokio::spawn(async move {
                c.closed().await;
                let mut p = peers2.lock().await;
                if p.by_addr
                    .get(&ip)
                    .is_some_and(|h| h.incoming.same_channel(&c))
                {
                    p.by_addr.remove(&ip);
                }
            });
        }
    }
}

/// An IPv4-mapped IPv6 address as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}
