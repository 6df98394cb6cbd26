//! One BGP session: a task that drives the [`Fsm`], owns the timers and the
//! reading half of the connection, and a writer task per connection that
//! owns the writing half. UPDATEs go to the reflector task; what the
//! reflector sends comes straight to the writer.
//!
//! ```text
//!            incoming connections (collisions)
//!                      │
//!   TCP ──read──▶ session task ──ToReflector──▶ reflector task
//!                  │  FSM, timers                     │
//!                  ▼                                  ▼
//!               writer task ◀──────── Out (encoded UPDATEs, KEEPALIVEs)
//!                  │
//!   TCP ◀──write───┘
//! ```

use std::{net::SocketAddr, sync::Arc, time::Duration};

use bgp_wire::{
    frame, notification::CeaseSubcode, Context, Message, Notification, Treatment, Update,
};
use bytes::{Bytes, BytesMut};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        tcp::{OwnedReadHalf, OwnedWriteHalf},
        TcpStream,
    },
    sync::mpsc,
    time::{sleep_until, Instant},
};
use tracing::{debug, info, warn};

use crate::{
    fsm::{resolve_collision, Action, Event, Fsm, FsmConfig, State, Timer},
    reflector::ToReflector,
    state::{Registry, Shutdown},
};

/// What a writer task writes.
#[derive(Debug)]
pub enum Out {
    /// Encoded messages.
    Bytes(Bytes),
    /// A group's change set encoded once for all its members: `first`,
    /// then every part not skipped for `me`.
    Parts {
        /// This member.
        me: rib::PeerId,
        /// Messages for this member alone, sent before the parts.
        first: Option<Bytes>,
        /// The shared encoding.
        parts: std::sync::Arc<[rib::Part]>,
    },
    /// Flush and close the connection.
    Close,
}

/// Room in a writer's queue, in chunks of encoded messages.
pub const WRITER_QUEUE: usize = 256;

/// How a session is set up.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    /// The peer's number.
    pub id: rib::PeerId,
    /// Where the peer is.
    pub remote: SocketAddr,
    /// The group it belongs to, by name.
    pub group: String,
    /// Its role for the RIB.
    pub role: rib::Role,
    /// Export policy name (update groups split on it): the group's name
    /// when the group has export policies.
    pub export_policy: Option<String>,
    /// Import policy name: the group's name when it has import policies.
    pub import_policy: Option<String>,
    /// Connect out (mesh peers) rather than only wait for the peer.
    pub active: bool,
    /// For an active session: wait for the peer to connect first (the FSM's
    /// ConnectRetry timer then starts our own attempt). Of two meshrr-rr
    /// instances, the one with the lower address waits, so they do not
    /// dial each other at the same moment.
    pub wait_first: bool,
    /// FSM settings.
    pub fsm: FsmConfig,
    /// Retry slower after each failure, up to this many seconds.
    pub max_backoff: u16,
}

/// Handle kept by whoever spawned a session.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    /// Hands an incoming connection from the peer to the session.
    pub incoming: mpsc::Sender<TcpStream>,
    /// Ends the session with this NOTIFICATION (peer de-configured, client
    /// range withdrawn).
    pub stop: mpsc::Sender<Notification>,
}

/// Starts a session task; `first` is a connection the peer already opened.
pub fn spawn(
    spec: SessionSpec,
    first: Option<TcpStream>,
    reflector: mpsc::Sender<ToReflector>,
    registry: Arc<Registry>,
    shutdown: Shutdown,
) -> SessionHandle {
    let (in_tx, in_rx) = mpsc::channel(4);
    let (stop_tx, stop_rx) = mpsc::channel(1);
    let s = Session {
        spec,
        fsm: None,
        conn: None,
        pending: None,
        timers: [None; 3],
        reflector,
        registry,
        backoff: 0,
        wants_connect: false,
    };
    tokio::spawn(s.run(first, in_rx, stop_rx, shutdown));
    SessionHandle {
        incoming: in_tx,
        stop: stop_tx,
    }
}

/// An outgoing connection attempt.
type Connecting =
    std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<TcpStream>> + Send>>;

struct Conn {
    read: OwnedReadHalf,
    buf: BytesMut,
    writer: mpsc::Sender<Out>,
    /// Whether we opened it (for collision resolution).
    outgoing: bool,
}

struct Session {
    spec: SessionSpec,
    fsm: Option<Fsm>,
    conn: Option<Conn>,
    /// A second connection from the peer waiting for collision resolution.
    pending: Option<TcpStream>,
    timers: [Option<Instant>; 3],
    reflector: mpsc::Sender<ToReflector>,
    registry: Arc<Registry>,
    backoff: u16,
    /// The FSM asked for a connection.
    wants_connect: bool,
}

fn timer_index(t: Timer) -> usize {
    match t {
        Timer::ConnectRetry => 0,
        Timer::Hold => 1,
        Timer::Keepalive => 2,
    }
}

async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Reads until one whole message is buffered; returns its length.
async fn read_message(conn: &mut Conn, ctx: &Context) -> Result<usize, ReadError> {
    loop {
        match frame(&conn.buf, ctx) {
            Ok(Some(len)) => return Ok(len),
            Ok(None) => {}
            Err(e) => return Err(ReadError::Decode(e)),
        }
        match conn.read.read_buf(&mut conn.buf).await {
            Ok(0) => return Err(ReadError::Closed),
            Ok(_) => {}
            Err(e) => return Err(ReadError::Io(e)),
        }
    }
}

enum ReadError {
    Closed,
    Io(std::io::Error),
    Decode(bgp_wire::DecodeError),
}

/// Writes of shared parts are gathered up to this size.
const WRITE_CHUNK: usize = 64 * 1024;

async fn writer_task(mut w: OwnedWriteHalf, mut rx: mpsc::Receiver<Out>) {
    let mut buf = BytesMut::new();
    while let Some(out) = rx.recv().await {
        match out {
            Out::Bytes(b) => {
                if w.write_all(&b).await.is_err() {
                    return;
                }
            }
            Out::Parts { me, first, parts } => {
                if let Some(b) = first {
                    buf.extend_from_slice(&b);
                }
                for p in parts.iter().filter(|p| p.skip != Some(me)) {
                    if buf.len() + p.bytes.len() > WRITE_CHUNK && !buf.is_empty() {
                        if w.write_all(&buf).await.is_err() {
                            return;
                        }
                        buf.clear();
                    }
                    if p.bytes.len() >= WRITE_CHUNK {
                        if w.write_all(&p.bytes).await.is_err() {
                            return;
                        }
                    } else {
                        buf.extend_from_slice(&p.bytes);
                    }
                }
                if !buf.is_empty() {
                    if w.write_all(&buf).await.is_err() {
                        return;
                    }
                    buf.clear();
                }
                // A burst is over: give back what it took.
                if buf.capacity() > 4 * WRITE_CHUNK {
                    buf = BytesMut::new();
                }
            }
            Out::Close => break,
        }
    }
    let _ = w.shutdown().await;
}

fn start_conn(stream: TcpStream, outgoing: bool) -> Conn {
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    let (tx, rx) = mpsc::channel(WRITER_QUEUE);
    tokio::spawn(writer_task(write, rx));
    Conn {
        read,
        buf: BytesMut::with_capacity(8192),
        writer: tx,
        outgoing,
    }
}

impl Session {
    fn rx_ctx(&self) -> Context {
        self.fsm
            .as_ref()
            .and_then(|f| f.negotiated())
            .map_or_else(Context::default, |n| n.rx)
    }

    fn state(&self) -> State {
        self.fsm.as_ref().map_or(State::Idle, Fsm::state)
    }

    async fn run(
        mut self,
        first: Option<TcpStream>,
        mut incoming: mpsc::Receiver<TcpStream>,
        mut stop: mpsc::Receiver<Notification>,
        mut shutdown: Shutdown,
    ) {
        let id = self.spec.id;
        self.registry.set_state(id, State::Idle);
        self.fsm = Some(Fsm::new(self.spec.fsm.clone()));
        let start = if self.spec.active && first.is_none() && !self.spec.wait_first {
            Event::Start
        } else {
            Event::StartPassive
        };
        self.feed(start).await;
        if let Some(s) = first {
            self.conn = Some(start_conn(s, false));
            self.feed(Event::TcpConnected).await;
        }
        let mut connecting: Option<Connecting> = None;
        loop {
            // A connect requested by the FSM.
            if self.wants_connect && connecting.is_none() {
                self.wants_connect = false;
                let remote = self.spec.remote;
                connecting = Some(Box::pin(async move {
                    tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(remote))
                        .await
                        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
                }));
            }
            let ctx = self.rx_ctx();
            let [retry, hold, keep] = self.timers;
            tokio::select! {
                biased;
                _ = shutdown.changed() => {
                    let msg = shutdown.message();
                    let n = Notification::cease_with_message(CeaseSubcode::AdministrativeShutdown, &msg);
                    self.feed(Event::Stop(n)).await;
                    break;
                }
                Some(n) = stop.recv() => {
                    info!(peer = %self.spec.remote, reason = %n, "stopping session");
                    self.feed(Event::Stop(n)).await;
                    break;
                }
                res = async {
                    match self.conn.as_mut() {
                        Some(c) => read_message(c, &ctx).await,
                        None => std::future::pending().await,
                    }
                } => self.on_read(res, &ctx).await,
                res = async {
                    match connecting.as_mut() {
                        Some(f) => f.await,
                        None => std::future::pending().await,
                    }
                } => {
                    connecting = None;
                    match res {
                        Ok(s) if self.conn.is_none() && matches!(self.state(), State::Connect | State::Active) => {
                            debug!(peer = %self.spec.remote, "connected");
                            self.conn = Some(start_conn(s, true));
                            self.feed(Event::TcpConnected).await;
                        }
                        Ok(_) => {}
                        Err(e) => {
                            debug!(peer = %self.spec.remote, error = %e, "connect failed");
                            self.feed(Event::TcpFailed).await;
                        }
                    }
                }
                Some(s) = incoming.recv() => self.on_incoming(s, &mut connecting).await,
                _ = sleep_opt(retry) => { self.timers[0] = None; self.feed(Event::ConnectRetryExpired).await; }
                _ = sleep_opt(hold) => { self.timers[1] = None; self.feed(Event::HoldExpired).await; }
                _ = sleep_opt(keep) => { self.timers[2] = None; self.feed(Event::KeepaliveExpired).await; }
            }
            // Back in Idle after a failure: restart after a growing pause,
            // unless the peer is only ever passive and has no connection.
            if self.state() == State::Idle {
                connecting = None;
                self.backoff = (self.backoff.max(1) * 2).min(self.spec.max_backoff.max(1));
                if let Some(s) = self.pending.take() {
                    self.conn = Some(start_conn(s, false));
                    self.feed(Event::StartPassive).await;
                    self.feed(Event::TcpConnected).await;
                    continue;
                }
                if !self.spec.active {
                    // A client: the session ends with its connection; the
                    // peer reconnects as a new session.
                    break;
                }
                let pause = Duration::from_secs(u64::from(self.backoff));
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {
                        let ev = if self.spec.wait_first { Event::StartPassive } else { Event::Start };
                        self.feed(ev).await;
                    }
                    Some(s) = incoming.recv() => {
                        self.conn = Some(start_conn(s, false));
                        self.feed(Event::StartPassive).await;
                        self.feed(Event::TcpConnected).await;
                    }
                    _ = shutdown.changed() => break,
                    Some(_) = stop.recv() => break,
                }
            }
        }
        self.registry.remove(id);
    }

    async fn on_read(&mut self, res: Result<usize, ReadError>, ctx: &Context) {
        let len = match res {
            Ok(len) => len,
            Err(ReadError::Decode(e)) => {
                warn!(peer = %self.spec.remote, error = %e, "bad message header");
                self.registry
                    .set_error(self.spec.id, format!("received: {e}"));
                self.feed(Event::DecodeError(e)).await;
                return;
            }
            Err(ReadError::Closed) => {
                info!(peer = %self.spec.remote, "connection closed by peer");
                self.feed(Event::TcpFailed).await;
                return;
            }
            Err(ReadError::Io(e)) => {
                info!(peer = %self.spec.remote, error = %e, "connection failed");
                self.feed(Event::TcpFailed).await;
                return;
            }
        };
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let bytes = conn.buf.split_to(len).freeze();
        let decoded = match Message::decode(&bytes, ctx) {
            Ok(d) => d,
            Err(e) => {
                warn!(peer = %self.spec.remote, error = %e, "malformed message, resetting");
                self.registry
                    .set_error(self.spec.id, format!("received malformed message: {e}"));
                self.feed(Event::DecodeError(e)).await;
                return;
            }
        };
        let treatment = decoded.treatment();
        let problems = decoded.problems;
        match decoded.message {
            Message::Open(o) => {
                // A collision waiting for this OPEN?
                let remote_id = o.bgp_id;
                self.feed(Event::Open(o)).await;
                if self.state() == State::OpenConfirm {
                    self.registry.set_router_id(self.spec.id, remote_id);
                    self.resolve_pending(remote_id).await;
                }
            }
            Message::Keepalive => self.feed(Event::Keepalive).await,
            Message::Notification(n) => {
                info!(peer = %self.spec.remote, notification = %n, "peer sent NOTIFICATION");
                self.registry
                    .set_error(self.spec.id, format!("peer sent: {n}"));
                self.feed(Event::Notification(n)).await;
            }
            Message::RouteRefresh(rr) => {
                self.feed(Event::Update).await;
                if self.state() == State::Established {
                    let _ = self
                        .reflector
                        .send(ToReflector::Refresh {
                            peer: self.spec.id,
                            refresh: rr,
                        })
                        .await;
                }
            }
            Message::Update(u) => {
                self.feed(Event::Update).await;
                if self.state() != State::Established {
                    return;
                }
                self.registry.count_update_in(self.spec.id);
                for p in &problems {
                    warn!(peer = %self.spec.remote, problem = %p, "UPDATE problem (RFC 7606)");
                }
                match treatment {
                    Some(Treatment::AfiSafiDisable) => {
                        // AFI/SAFI disable is not implemented: RFC 7606 allows
                        // a session reset instead.
                        let n = problems.iter().map(|p| p.notification()).next();
                        self.registry.set_error(
                            self.spec.id,
                            "malformed MP_REACH/MP_UNREACH NLRI: session reset".into(),
                        );
                        if let Some(n) = n {
                            self.feed(Event::Stop(n)).await;
                        }
                    }
                    t => {
                        if let Some(t) = t {
                            self.registry.set_error(
                                self.spec.id,
                                format!("UPDATE problem handled as {t:?}"),
                            );
                        }
                        self.forward(u, t == Some(Treatment::TreatAsWithdraw)).await;
                    }
                }
            }
        }
    }

    async fn forward(&mut self, update: Update, treat_as_withdraw: bool) {
        let msg = ToReflector::Update {
            peer: self.spec.id,
            update,
            treat_as_withdraw,
        };
        // Bounded: a busy reflector slows the reading of this peer down.
        let _ = self.reflector.send(msg).await;
    }

    /// A second connection from the peer (RFC 4271 section 6.8).
    async fn on_incoming(&mut self, stream: TcpStream, connecting: &mut Option<Connecting>) {
        match self.state() {
            State::Idle | State::Connect | State::Active => {
                // Both sides may be dialling at once (mesh peers). Decide
                // now, the way RFC 4271 section 6.8 would decide later, with
                // the addresses standing in for the identifiers: the
                // connection opened by the higher address survives. Both
                // ends see the same two addresses, so they agree.
                let ours_wins = connecting.is_some()
                    && matches!((stream.local_addr(), stream.peer_addr()), (Ok(l), Ok(p)) if l.ip() > p.ip());
                if ours_wins {
                    reject(stream, CeaseSubcode::ConnectionCollisionResolution).await;
                    return;
                }
                *connecting = None;
                if let Some(c) = self.conn.take() {
                    let _ = c.writer.try_send(Out::Close);
                }
                if self.state() == State::Idle {
                    self.feed(Event::StartPassive).await;
                }
                self.conn = Some(start_conn(stream, false));
                self.feed(Event::TcpConnected).await;
            }
            State::OpenSent => {
                // Decide when the OPEN on our connection tells the peer's id.
                self.pending = Some(stream);
            }
            State::OpenConfirm => {
                self.pending = Some(stream);
                let remote = self
                    .fsm
                    .as_ref()
                    .and_then(|f| f.negotiated())
                    .map(|n| n.remote.bgp_id);
                if let Some(remote) = remote {
                    self.resolve_pending(remote).await;
                }
            }
            State::Established => {
                // The established connection wins.
                reject(stream, CeaseSubcode::ConnectionCollisionResolution).await;
            }
        }
    }

    async fn resolve_pending(&mut self, remote_id: std::net::Ipv4Addr) {
        let Some(stream) = self.pending.take() else {
            return;
        };
        let ours_outgoing = self.conn.as_ref().is_some_and(|c| c.outgoing);
        // The connection opened by the higher identifier survives.
        let keep_current = resolve_collision(self.spec.fsm.router_id, remote_id) == ours_outgoing;
        if keep_current {
            reject(stream, CeaseSubcode::ConnectionCollisionResolution).await;
        } else {
            info!(peer = %self.spec.remote, "connection collision: keeping the peer's connection");
            self.pending = Some(stream);
            self.feed(Event::CollisionDump).await;
        }
    }

    /// Feeds an event and carries out the actions.
    async fn feed(&mut self, event: Event) {
        let Some(fsm) = self.fsm.as_mut() else { return };
        let before = fsm.state();
        let actions = fsm.handle(event);
        let after = fsm.state();
        for a in actions {
            self.act(a).await;
        }
        if before != after {
            debug!(peer = %self.spec.remote, from = ?before, to = ?after, "state");
            self.registry.set_state(self.spec.id, after);
        }
    }

    async fn act(&mut self, action: Action) {
        match action {
            Action::Connect => self.wants_connect = true,
            Action::Disconnect => {
                if let Some(c) = self.conn.take() {
                    let _ = c.writer.send(Out::Close).await;
                }
            }
            Action::SendOpen => {
                let open = Message::Open(self.spec.fsm.local.clone());
                self.send(&open).await;
            }
            Action::SendKeepalive => self.send(&Message::Keepalive).await,
            Action::SendNotification(n) => {
                info!(peer = %self.spec.remote, notification = %n, "sending NOTIFICATION");
                self.registry.set_error(self.spec.id, format!("sent: {n}"));
                self.send(&Message::Notification(n)).await;
            }
            Action::StartTimer(t, secs) => {
                self.timers[timer_index(t)] =
                    Some(Instant::now() + Duration::from_secs(u64::from(secs)));
            }
            Action::StopTimer(t) => self.timers[timer_index(t)] = None,
            Action::Established(n) => {
                self.backoff = 0;
                let Some(conn) = self.conn.as_ref() else {
                    return;
                };
                info!(peer = %self.spec.remote, group = %self.spec.group, remote_id = %n.remote.bgp_id, "session established");
                self.registry.set_established(self.spec.id, &n);
                let config = rib::PeerConfig {
                    addr: self.spec.remote.ip(),
                    router_id: n.remote.bgp_id,
                    asn: n.remote.asn(),
                    role: self.spec.role.clone(),
                    export_policy: self.spec.export_policy.clone(),
                    import_policy: self.spec.import_policy.clone(),
                    group: self.spec.group.clone(),
                    send: n.tx,
                };
                let up = ToReflector::Up {
                    peer: self.spec.id,
                    config,
                    writer: conn.writer.clone(),
                    negotiated: n,
                };
                let _ = self.reflector.send(up).await;
            }
            Action::Down => {
                info!(peer = %self.spec.remote, "session down");
                let _ = self
                    .reflector
                    .send(ToReflector::Down { peer: self.spec.id })
                    .await;
            }
        }
    }

    async fn send(&mut self, msg: &Message) {
        let Some(conn) = self.conn.as_ref() else {
            return;
        };
        let ctx = self
            .fsm
            .as_ref()
            .and_then(|f| f.negotiated())
            .map_or_else(Context::default, |n| n.tx);
        match msg.to_bytes(&ctx) {
            Ok(b) => {
                let _ = conn.writer.send(Out::Bytes(b.freeze())).await;
            }
            Err(e) => warn!(peer = %self.spec.remote, error = %e, "cannot encode"),
        }
    }
}

/// Refuses a connection with a NOTIFICATION and closes it.
pub async fn reject(mut stream: TcpStream, sub: CeaseSubcode) {
    let n = Message::Notification(Notification::new(bgp_wire::NotificationCode::Cease(sub)));
    if let Ok(b) = n.to_bytes(&Context::default()) {
        let _ = tokio::time::timeout(Duration::from_secs(2), stream.write_all(&b)).await;
    }
    let _ = stream.shutdown().await;
}
