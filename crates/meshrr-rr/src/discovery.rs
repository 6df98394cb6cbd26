//! Discovery: each mesh group's source says which RRs should be its peers;
//! [`select`] applies `max_peers` the way meshrr does (and replaces members
//! that stay down); the daemon's reconciler turns the difference into
//! sessions started and stopped.
//!
//! Sources: `static` (the config), `dns` (A and AAAA records of a headless
//! Service name, polled; the resolver's search path makes short names
//! work). A failed lookup (NXDOMAIN, SERVFAIL, timeout) keeps the last
//! known set. The `kubernetes` source is not written yet.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use hickory_resolver::{net::runtime::TokioRuntimeProvider, Resolver};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::{config::Source, state::Registry};

/// What a source found for a group.
#[derive(Debug)]
pub struct Found {
    /// The mesh group.
    pub group: String,
    /// The peers found, or why the lookup failed.
    pub peers: Result<Vec<SocketAddr>, String>,
}

/// Picks the members of a mesh group from what its source found.
///
/// Members still found stay, in their order; without `max_peers` every
/// candidate is a member. With `max_peers`: a member that is not healthy
/// gives up its slot when another candidate exists; free slots are filled
/// from the remaining candidates, chosen by `pick(n)` (an index below `n`,
/// random in the daemon). A healthy member is never dropped for a newcomer.
pub fn select(
    current: &[SocketAddr],
    found: &[SocketAddr],
    max_peers: Option<usize>,
    healthy: &dyn Fn(&SocketAddr) -> bool,
    pick: &mut dyn FnMut(usize) -> usize,
) -> Vec<SocketAddr> {
    let mut keep: Vec<SocketAddr> = current
        .iter()
        .filter(|c| found.contains(c))
        .copied()
        .collect();
    let Some(cap) = max_peers else {
        let mut all = keep;
        all.extend(found.iter().filter(|f| !current.contains(f)));
        return all;
    };
    let mut rest: Vec<SocketAddr> = found
        .iter()
        .filter(|f| !keep.contains(f))
        .copied()
        .collect();
    // Unhealthy members make room for candidates, one for one.
    let mut spare = rest.len();
    let mut dropped = Vec::new();
    keep.retain(|m| {
        if spare > 0 && !healthy(m) {
            spare -= 1;
            dropped.push(*m);
            false
        } else {
            true
        }
    });
    keep.truncate(cap);
    // Free slots: new candidates first, at random; then the members that
    // were dropped, in their order.
    while keep.len() < cap && !rest.is_empty() {
        let i = pick(rest.len()).min(rest.len() - 1);
        keep.push(rest.remove(i));
    }
    for d in dropped {
        if keep.len() < cap {
            keep.push(d);
        }
    }
    keep
}

/// Whether `ip` is one of this host's addresses (we never peer with
/// ourselves): only a local address can be bound.
pub fn is_local(ip: IpAddr) -> bool {
    std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

/// Starts the source of a mesh group; results go to `tx`.
pub fn spawn(
    group: String,
    source: Source,
    interval: Duration,
    exclude: Vec<IpAddr>,
    tx: mpsc::Sender<Found>,
    registry: Arc<Registry>,
) {
    tokio::spawn(async move {
        match source {
            Source::Static { peers } => {
                let peers = peers
                    .into_iter()
                    .filter(|p| !exclude.contains(&p.ip()) && !is_local(p.ip()))
                    .collect();
                let _ = tx
                    .send(Found {
                        group,
                        peers: Ok(peers),
                    })
                    .await;
            }
            Source::Dns { hostname, port } => {
                dns_loop(group, hostname, port, interval, exclude, tx, registry).await
            }
            Source::Kubernetes {
                service, namespace, ..
            } => {
                warn!(group = %group, %service, %namespace, "the kubernetes discovery source is not implemented yet");
                registry.discovery_error(&group, "kubernetes source not implemented".into());
            }
        }
    });
}

async fn dns_loop(
    group: String,
    hostname: String,
    port: u16,
    interval: Duration,
    exclude: Vec<IpAddr>,
    tx: mpsc::Sender<Found>,
    registry: Arc<Registry>,
) {
    let resolver = match Resolver::builder(TokioRuntimeProvider::default()).and_then(|b| b.build())
    {
        Ok(r) => r,
        Err(e) => {
            warn!(group = %group, error = %e, "cannot read the resolver configuration");
            registry.discovery_error(&group, format!("resolver: {e}"));
            return;
        }
    };
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // Always ask the server: pods come and go faster than TTLs.
        resolver.clear_cache();
        let peers = match resolver.lookup_ip(hostname.as_str()).await {
            Ok(found) => {
                let mut ips: Vec<IpAddr> = found
                    .iter()
                    .filter(|ip| !exclude.contains(ip) && !is_local(*ip))
                    .collect();
                ips.sort();
                ips.dedup();
                debug!(group = %group, %hostname, found = ?ips, "dns lookup");
                registry.discovery_ok(&group);
                Ok(ips
                    .into_iter()
                    .map(|ip| SocketAddr::new(ip, port))
                    .collect())
            }
            Err(e) => {
                warn!(group = %group, %hostname, error = %e, "dns lookup failed; keeping the last known peers");
                registry.discovery_error(&group, e.to_string());
                Err(e.to_string())
            }
        };
        if tx
            .send(Found {
                group: group.clone(),
                peers,
            })
            .await
            .is_err()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn a(n: u8) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, n], 179))
    }

    #[test]
    fn meshrr_semantics() {
        let mut first = |_n: usize| 0;
        // No cap: everything found, current order first.
        assert_eq!(
            select(&[a(2)], &[a(1), a(2), a(3)], None, &|_| true, &mut first),
            vec![a(2), a(1), a(3)]
        );
        // Cap 2: keep present members, fill from the rest.
        assert_eq!(
            select(&[a(3)], &[a(1), a(2), a(3)], Some(2), &|_| true, &mut first),
            vec![a(3), a(1)]
        );
        // A member gone from DNS is replaced.
        assert_eq!(
            select(&[a(1), a(2)], &[a(2), a(3)], Some(2), &|_| true, &mut first),
            vec![a(2), a(3)]
        );
        // An unhealthy member is replaced when a candidate exists...
        let down = |s: &SocketAddr| *s != a(1);
        assert_eq!(
            select(
                &[a(1), a(2)],
                &[a(1), a(2), a(3)],
                Some(2),
                &down,
                &mut first
            ),
            vec![a(2), a(3)]
        );
        // ...and kept when none does.
        assert_eq!(
            select(&[a(1), a(2)], &[a(1), a(2)], Some(2), &down, &mut first),
            vec![a(1), a(2)]
        );
    }

    proptest! {
        #[test]
        fn max_peers_is_respected_and_healthy_members_stay(
            current in proptest::collection::vec(1u8..12, 0..6),
            found in proptest::collection::vec(1u8..12, 0..10),
            cap in 1usize..5,
            unhealthy in proptest::collection::vec(1u8..12, 0..4),
            seed in any::<u64>(),
        ) {
            let dedup = |v: Vec<u8>| { let mut out: Vec<SocketAddr> = Vec::new(); for x in v { if !out.contains(&a(x)) { out.push(a(x)); } } out };
            let (current, found) = (dedup(current), dedup(found));
            let current: Vec<SocketAddr> = current.into_iter().take(cap).collect();
            let healthy = |s: &SocketAddr| !unhealthy.iter().any(|u| a(*u) == *s);
            let mut s = seed;
            let mut pick = |n: usize| { s = s.wrapping_mul(6364136223846793005).wrapping_add(1); (s >> 33) as usize % n };
            let out = select(&current, &found, Some(cap), &healthy, &mut pick);
            prop_assert!(out.len() <= cap);
            prop_assert_eq!(out.len(), cap.min(found.len()));
            for m in &out { prop_assert!(found.contains(m)); }
            let mut u = out.clone(); u.sort(); u.dedup(); prop_assert_eq!(u.len(), out.len());
            // A healthy member still found is never dropped.
            for c in &current {
                if found.contains(c) && healthy(c) {
                    prop_assert!(out.contains(c), "{:?} dropped", c);
                }
            }
        }
    }
}
