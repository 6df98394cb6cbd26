//! Discovery: each mesh group's source says which RRs should be its peers;
//! [`select`] applies `max_peers` the way meshrr does (and replaces members
//! that stay down); the daemon's reconciler turns the difference into
//! sessions started and stopped.
//!
//! Sources: `static` (the config), `dns` (A and AAAA records of a headless
//! Service name, polled; the resolver's search path makes short names
//! work), and `kubernetes` (a watch of the Service's EndpointSlices,
//! ready endpoints only; in-cluster config or KUBECONFIG). A failed lookup
//! (NXDOMAIN, SERVFAIL, timeout, API errors) keeps the last known set.

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
                service,
                namespace,
                port,
            } => {
                kube_loop(group, service, namespace, port, exclude, tx, registry).await;
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

/// Watches the EndpointSlices of `service` and sends the ready addresses
/// after every change (once the initial list is complete). The watcher
/// re-lists on its own after a resourceVersion expiry (410 Gone) and
/// reconnects with backoff.
async fn kube_loop(
    group: String,
    service: String,
    namespace: String,
    port: u16,
    exclude: Vec<IpAddr>,
    tx: mpsc::Sender<Found>,
    registry: Arc<Registry>,
) {
    use futures_util::StreamExt;
    use k8s_openapi::api::discovery::v1::EndpointSlice;
    use kube::runtime::{watcher, WatchStreamExt};

    let client = loop {
        match kube::Client::try_default().await {
            Ok(c) => break c,
            Err(e) => {
                warn!(group = %group, error = %e, "no Kubernetes API configuration; retrying");
                registry.discovery_error(&group, format!("kubernetes client: {e}"));
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    };
    let api: kube::Api<EndpointSlice> = kube::Api::namespaced(client, &namespace);
    let cfg = watcher::Config::default().labels(&format!("kubernetes.io/service-name={service}"));
    let mut stream = watcher(api, cfg).default_backoff().boxed();
    // Ready addresses by slice name; the set being built during a re-list.
    let mut slices: std::collections::BTreeMap<String, Vec<IpAddr>> = Default::default();
    let mut relist: Option<std::collections::BTreeMap<String, Vec<IpAddr>>> = None;
    let ready = |s: &EndpointSlice| -> Vec<IpAddr> {
        s.endpoints
            .iter()
            .filter(|e| e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true))
            .flat_map(|e| e.addresses.iter().filter_map(|a| a.parse::<IpAddr>().ok()))
            .collect()
    };
    let name = |s: &EndpointSlice| s.metadata.name.clone().unwrap_or_default();
    while let Some(ev) = stream.next().await {
        let changed = match ev {
            Ok(watcher::Event::Init) => {
                relist = Some(Default::default());
                false
            }
            Ok(watcher::Event::InitApply(s)) => {
                if let Some(r) = relist.as_mut() {
                    r.insert(name(&s), ready(&s));
                }
                false
            }
            Ok(watcher::Event::InitDone) => {
                slices = relist.take().unwrap_or_default();
                true
            }
            Ok(watcher::Event::Apply(s)) => {
                slices.insert(name(&s), ready(&s));
                true
            }
            Ok(watcher::Event::Delete(s)) => {
                slices.remove(&name(&s));
                true
            }
            Err(e) => {
                warn!(group = %group, error = %e, "EndpointSlice watch error; keeping the last known peers");
                registry.discovery_error(&group, e.to_string());
                false
            }
        };
        if !changed {
            continue;
        }
        registry.discovery_ok(&group);
        let mut ips: Vec<IpAddr> = slices
            .values()
            .flatten()
            .copied()
            .filter(|ip| !exclude.contains(ip) && !is_local(*ip))
            .collect();
        ips.sort();
        ips.dedup();
        debug!(group = %group, %service, found = ?ips, "endpointslices");
        let peers = ips
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect();
        if tx
            .send(Found {
                group: group.clone(),
                peers: Ok(peers),
            })
            .await
            .is_err()
        {
            return;
        }
    }
}

#[cfg(test)]
mod kube_tests;

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

    proptest! {
        /// Range subtraction: the result and the excluded addresses are
        /// disjoint, together they cover the original prefixes, and no two
        /// result prefixes could be merged (minimal).
        #[test]
        fn subtraction_is_exact_and_minimal(
            nets in proptest::collection::vec((0u32..1024, 22u8..=32), 1..4),
            excl in proptest::collection::vec(0u32..1024, 0..12),
        ) {
            use ipnet::{IpNet, Ipv4Net};
            let base = 0x0a00_0000u32;
            let prefixes: Vec<IpNet> = nets
                .iter()
                .map(|&(a, l)| IpNet::V4(Ipv4Net::new(std::net::Ipv4Addr::from(base + a), l).expect("len").trunc()))
                .collect();
            let exclude: Vec<IpAddr> = excl.iter().map(|&a| IpAddr::V4(std::net::Ipv4Addr::from(base + a))).collect();
            let out = crate::config::subtract(&prefixes, &exclude);
            for a in 0..1024u32 {
                let ip = IpAddr::V4(std::net::Ipv4Addr::from(base + a));
                let in_orig = prefixes.iter().any(|p| p.contains(&ip));
                let excluded = exclude.contains(&ip);
                let covered = out.iter().filter(|p| p.contains(&ip)).count();
                prop_assert!(covered <= 1, "{} covered twice", ip);
                prop_assert_eq!(covered == 1, in_orig && !excluded, "{}", ip);
            }
            // Minimal: no prefix's sibling is also in the result.
            for p in &out {
                if let (IpNet::V4(p4), true) = (p, p.prefix_len() > 0) {
                    let bit = 1u32 << (32 - u32::from(p4.prefix_len()));
                    let sib = Ipv4Net::new(std::net::Ipv4Addr::from(u32::from(p4.network()) ^ bit), p4.prefix_len()).expect("len");
                    prop_assert!(!out.contains(&IpNet::V4(sib)), "{} and {} could merge", p, sib);
                }
            }
        }
    }
}
