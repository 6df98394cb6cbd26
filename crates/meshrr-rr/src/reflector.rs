//! The reflector task: the one owner of routing state. Sessions send it
//! what they learn over one bounded channel; it applies that to the
//! [`rib::Rib`] and sends each update group's changes, encoded once, to
//! every member's writer.
//!
//! ```text
//!  session 1 ─┐                         ┌─▶ writer 1
//!  session 2 ─┼─ToReflector─▶ reflector ─┼─▶ writer 2     (Bytes, shared)
//!  session n ─┘   (bounded)   owns Rib  └─▶ writer n
//!  admin API ──Query──────────▶ │
//! ```
//!
//! A group is served only when every member's writer has room, so a slow
//! member holds its group's changes back in the RIB, where they coalesce
//! per prefix, instead of letting queues grow.

use std::{collections::HashMap, sync::Arc, time::Duration};

use bgp_wire::{Context, Family, Message, RouteRefresh, RouteRefreshSubtype, Update};
use bytes::BytesMut;
use rib::{ChangeSet, Input, Part, PeerId, Rib, Target};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use crate::{
    fsm::Negotiated,
    session::{Out, WRITER_QUEUE},
    state::Registry,
};

/// Messages to the reflector.
#[derive(Debug)]
pub enum ToReflector {
    /// A session is Established.
    Up {
        /// The peer.
        peer: PeerId,
        /// Its identity and role.
        config: rib::PeerConfig,
        /// Its writer.
        writer: mpsc::Sender<Out>,
        /// What was negotiated.
        negotiated: Box<Negotiated>,
    },
    /// A session left Established.
    Down {
        /// The peer.
        peer: PeerId,
    },
    /// An UPDATE.
    Update {
        /// From whom.
        peer: PeerId,
        /// The message.
        update: Update,
        /// RFC 7606 treat-as-withdraw.
        treat_as_withdraw: bool,
    },
    /// A ROUTE-REFRESH from the peer.
    Refresh {
        /// From whom.
        peer: PeerId,
        /// The request.
        refresh: RouteRefresh,
    },
    /// A question from the admin API.
    Query(Query, oneshot::Sender<Value>),
}

/// Questions the admin API asks.
#[derive(Debug)]
pub enum Query {
    /// All paths of one prefix, or a listing of best paths.
    Routes(Option<ipnet::IpNet>),
    /// Update groups and their members.
    Groups,
    /// Paths held per peer.
    PrefixesPerPeer,
}

struct Member {
    writer: mpsc::Sender<Out>,
    ctx: Context,
    families: Vec<Family>,
    enhanced_refresh: bool,
}

/// Most prefixes taken from one group per round, so one big group does not
/// starve the others or the inbound queue.
const TAKE: usize = 20_000;

/// Starts the reflector; returns its inbound channel.
pub fn spawn(rib: Rib, registry: Arc<Registry>) -> mpsc::Sender<ToReflector> {
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(run(rib, rx, registry));
    tx
}

async fn run(mut rib: Rib, mut rx: mpsc::Receiver<ToReflector>, registry: Arc<Registry>) {
    let mut members: HashMap<PeerId, Member> = HashMap::new();
    loop {
        let waiting = rib.group_ids().iter().any(|&g| rib.pending(g) > 0);
        let first = if waiting {
            tokio::select! {
                m = rx.recv() => m,
                _ = tokio::time::sleep(Duration::from_millis(5)) => None,
            }
        } else {
            match rx.recv().await {
                Some(m) => Some(m),
                None => return,
            }
        };
        registry
            .counters
            .reflector_queue
            .store(rx.len() as u64, std::sync::atomic::Ordering::Relaxed);
        let mut batch: Vec<ToReflector> = first.into_iter().collect();
        while batch.len() < 4096 {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        for m in batch {
            handle(&mut rib, &mut members, &registry, m).await;
        }
        serve(&mut rib, &members, &registry);
    }
}

async fn handle(
    rib: &mut Rib,
    members: &mut HashMap<PeerId, Member>,
    registry: &Registry,
    m: ToReflector,
) {
    match m {
        ToReflector::Up {
            peer,
            config,
            writer,
            negotiated,
        } => {
            let member = Member {
                writer,
                ctx: negotiated.tx,
                families: negotiated.families.clone(),
                enhanced_refresh: negotiated.enhanced_route_refresh,
            };
            match rib.handle(Input::PeerUp { peer, config }) {
                Ok(dumps) => {
                    for cs in dumps.iter().filter(|c| member.families.contains(&c.family)) {
                        send_to(&member, peer, cs, registry).await;
                    }
                    // Families with nothing to send still get End-of-RIB.
                    members.insert(peer, member);
                }
                Err(e) => warn!(error = %e, "peer up refused"),
            }
        }
        ToReflector::Down { peer } => {
            members.remove(&peer);
            if let Err(e) = rib.handle(Input::PeerDown { peer }) {
                debug!(error = %e, "peer down");
            }
        }
        ToReflector::Update {
            peer,
            update,
            treat_as_withdraw,
        } => {
            if let Some(f) = update.as_end_of_rib() {
                debug!(peer = peer.0, family = %f, "End-of-RIB received");
                return;
            }
            if let Err(e) = rib.handle(Input::Update {
                peer,
                update,
                treat_as_withdraw,
            }) {
                debug!(error = %e, "update for a peer that is not up");
            }
        }
        ToReflector::Refresh { peer, refresh } => {
            if !matches!(refresh.subtype, RouteRefreshSubtype::Normal) {
                // BoRR/EoRR from the peer: the routes it resends replace
                // the old ones implicitly; stale ones are not swept yet.
                return;
            }
            let Some(member) = members.get(&peer) else {
                return;
            };
            let family = refresh.family;
            if !member.families.contains(&family) {
                return;
            }
            let enhanced = member.enhanced_refresh;
            let marker = |subtype| Message::RouteRefresh(RouteRefresh { family, subtype });
            if enhanced {
                send_msg(member, &marker(RouteRefreshSubtype::BeginningOfRefresh)).await;
            }
            if let Ok(sets) = rib.handle(Input::RouteRefresh { peer, family }) {
                for cs in &sets {
                    send_to(member, peer, cs, registry).await;
                }
            }
            if enhanced {
                send_msg(member, &marker(RouteRefreshSubtype::EndOfRefresh)).await;
            }
        }
        ToReflector::Query(q, reply) => {
            let _ = reply.send(answer(rib, q));
        }
    }
}

async fn send_msg(member: &Member, msg: &Message) {
    if let Ok(b) = msg.to_bytes(&member.ctx) {
        let _ = member.writer.send(Out::Bytes(b.freeze())).await;
    }
}

/// Sends a change set addressed to one peer (a table dump), waiting for
/// room in its writer.
async fn send_to(member: &Member, peer: PeerId, cs: &ChangeSet, registry: &Registry) {
    let mut out = BytesMut::new();
    match cs.for_member(peer).encode(&member.ctx, &mut out) {
        Ok(n) => {
            registry.count_updates_out(peer, n as u64);
            let _ = member.writer.send(Out::Bytes(out.freeze())).await;
        }
        Err(e) => warn!(peer = peer.0, error = %e, "cannot encode"),
    }
}

/// Serves every group whose members all have room.
fn serve(rib: &mut Rib, members: &HashMap<PeerId, Member>, registry: &Registry) {
    for g in rib.group_ids() {
        if rib.pending(g) == 0 {
            continue;
        }
        let ids = rib.members(g);
        // Served again only once every member's writer has (almost) caught
        // up: what is queued is shared, but a slow member would otherwise
        // keep many rounds alive.
        let room = ids.iter().all(|p| {
            members
                .get(p)
                .is_none_or(|m| m.writer.capacity() + 64 >= WRITER_QUEUE)
        });
        if !room {
            continue;
        }
        for cs in rib.take_changes(g, TAKE) {
            debug_assert!(matches!(cs.target, Target::Group(_)));
            // Encoded once per send context (members of a group normally
            // share one), then shared by every member.
            let mut encoded: Vec<(Context, Arc<[Part]>)> = Vec::new();
            for p in &ids {
                let Some(m) = members.get(p) else { continue };
                if !m.families.contains(&cs.family) {
                    continue;
                }
                let parts = match encoded.iter().find(|(c, _)| *c == m.ctx) {
                    Some((_, parts)) => parts.clone(),
                    None => match cs.encode_parts(&m.ctx) {
                        Ok(v) => {
                            let parts: Arc<[Part]> = v.into();
                            encoded.push((m.ctx, parts.clone()));
                            parts
                        }
                        Err(e) => {
                            warn!(group = g, error = %e, "cannot encode");
                            continue;
                        }
                    },
                };
                let mut first = BytesMut::new();
                let mut n = match cs.encode_back(*p, &m.ctx, &mut first) {
                    Ok(n) => n,
                    Err(e) => {
                        warn!(peer = p.0, error = %e, "cannot encode");
                        continue;
                    }
                };
                n += parts
                    .iter()
                    .filter(|x| x.skip != Some(*p))
                    .map(|x| x.messages)
                    .sum::<usize>();
                if n == 0 {
                    continue;
                }
                registry.count_updates_out(*p, n as u64);
                registry
                    .counters
                    .prefixes_out
                    .fetch_add(cs.len() as u64, std::sync::atomic::Ordering::Relaxed);
                let out = Out::Parts {
                    me: *p,
                    first: (!first.is_empty()).then(|| first.freeze()),
                    parts,
                };
                if m.writer.try_send(out).is_err() {
                    warn!(
                        peer = p.0,
                        "writer queue full or closed; changes dropped for this peer"
                    );
                }
            }
        }
    }
}

fn answer(rib: &Rib, q: Query) -> Value {
    match q {
        Query::Routes(Some(prefix)) => {
            let paths: Vec<Value> = rib
                .explain(prefix)
                .into_iter()
                .map(|(p, attrs, step)| {
                    let peer = rib.peer(p.peer);
                    json!({
                        "peer": p.peer.0,
                        "peer_address": peer.map(|c| c.addr.to_string()),
                        "path_id": p.path_id,
                        "best": step.is_none(),
                        "lost_at": step,
                        "next_hop": attrs.next_hop.to_string(),
                        "attrs": attrs.attrs,
                    })
                })
                .collect();
            json!({"prefix": prefix.to_string(), "paths": paths})
        }
        Query::Routes(None) => {
            let mut prefixes: Vec<ipnet::IpNet> = rib.prefixes().collect();
            prefixes.sort();
            let total = prefixes.len();
            let routes: Vec<Value> = prefixes
                .into_iter()
                .take(1000)
                .map(|p| {
                    let paths = rib.paths(p);
                    let best = paths.first().map(|b| rib.store().get(b.attrs));
                    json!({
                        "prefix": p.to_string(),
                        "paths": paths.len(),
                        "best_peer": paths.first().map(|b| b.peer.0),
                        "next_hop": best.map(|a| a.next_hop.to_string()),
                        "as_path": best.and_then(|a| a.attrs.as_path().map(ToString::to_string)),
                    })
                })
                .collect();
            json!({"total": total, "routes": routes})
        }
        Query::Groups => {
            let groups: Vec<Value> = rib
                .group_ids()
                .into_iter()
                .map(|g| {
                    json!({
                        "update_group": g,
                        "members": rib.members(g).iter().map(|p| p.0).collect::<Vec<_>>(),
                        "pending": rib.pending(g),
                    })
                })
                .collect();
            let (v4, v6) = rib.prefix_count();
            json!({"update_groups": groups, "prefixes": {"ipv4": v4, "ipv6": v6},
                   "paths": rib.path_count(), "attribute_sets": rib.store().len()})
        }
        Query::PrefixesPerPeer => {
            let m: serde_json::Map<String, Value> = rib
                .paths_per_peer()
                .into_iter()
                .map(|(p, n)| (p.0.to_string(), json!(n)))
                .collect();
            Value::Object(m)
        }
    }
}

/// Asks the reflector a question.
pub async fn ask(tx: &mpsc::Sender<ToReflector>, q: Query) -> Option<Value> {
    let (reply, rx) = oneshot::channel();
    tx.send(ToReflector::Query(q, reply)).await.ok()?;
    rx.await.ok()
}
