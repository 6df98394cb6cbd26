//! One client session of the harness: established (OPEN and KEEPALIVE
//! both ways) before anything is timed, then a reader task that keeps the
//! session's table exactly and a writer task that sends what it is given
//! and a KEEPALIVE every 20 s.
//!
//! The table is two bitsets over the universe of fed prefixes: held, and
//! held in the churned version (MED [`CHURN_MED`]). A route for a prefix
//! nobody fed, for one of the session's own prefixes (a client gets nothing
//! back that it sent), with another next hop than its feeder's address, or
//! the churn marker on a prefix that was not churned, is an error that
//! stays counted. The table is exact when the held and churned counts are
//! those expected and no error was ever seen.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use bgp_wire::{capability::Capability, frame, Context, Family, Message, Nlri, Open, Update};
use bytes::{Bytes, BytesMut};
use ipnet::IpNet;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        tcp::{OwnedReadHalf, OwnedWriteHalf},
        TcpSocket,
    },
    sync::mpsc,
};

use crate::feed::{addr, v6_next_hop, Universe, ASN, CHURN_MED};

/// Hold time we offer (the target's keepalives are ignored; ours go every
/// 20 s).
const HOLD: u16 = 90;

/// Bytes the reader asks the socket for at a time.
const READ_CHUNK: usize = 1 << 17;

/// An established session.
#[derive(Debug)]
pub struct Session {
    rd: OwnedReadHalf,
    wr: OwnedWriteHalf,
    rx: Context,
    tx: Context,
    /// Bytes read after the target's KEEPALIVE.
    buf: BytesMut,
}

/// Connects from `local` to `to` and exchanges OPEN and KEEPALIVE.
pub async fn establish(
    local: Ipv4Addr,
    to: SocketAddr,
    families: &[Family],
    within: Duration,
) -> Result<Session, String> {
    tokio::time::timeout(within, establish_inner(local, to, families))
        .await
        .map_err(|_| format!("{local}: session not established within {within:?}"))?
        .map_err(|e| format!("{local}: {e}"))
}

async fn establish_inner(
    local: Ipv4Addr,
    to: SocketAddr,
    families: &[Family],
) -> Result<Session, String> {
    let s = TcpSocket::new_v4().map_err(|e| e.to_string())?;
    s.bind(SocketAddr::new(IpAddr::V4(local), 0))
        .map_err(|e| format!("bind: {e}"))?;
    let st = s.connect(to).await.map_err(|e| format!("connect: {e}"))?;
    st.set_nodelay(true).map_err(|e| e.to_string())?;
    let (mut rd, mut wr) = st.into_split();
    let mut caps: Vec<Capability> = families
        .iter()
        .map(|f| Capability::Multiprotocol(*f))
        .collect();
    caps.push(Capability::FourOctetAs(ASN));
    let open = Open::new(ASN, HOLD, local, caps);
    let plain = Context::default();
    let bytes = Message::Open(open.clone())
        .to_bytes(&plain)
        .map_err(|e| e.to_string())?;
    wr.write_all(&bytes).await.map_err(|e| e.to_string())?;
    let mut buf = BytesMut::with_capacity(1 << 16);
    let theirs = match read_message(&mut rd, &mut buf, &plain).await? {
        Message::Open(o) => o,
        other => return Err(format!("expected OPEN, got {other:?}")),
    };
    let (rx, tx) = Context::negotiate(&open, &theirs, false);
    let ka = Message::Keepalive
        .to_bytes(&tx)
        .map_err(|e| e.to_string())?;
    wr.write_all(&ka).await.map_err(|e| e.to_string())?;
    match read_message(&mut rd, &mut buf, &rx).await? {
        Message::Keepalive => {}
        other => return Err(format!("expected KEEPALIVE, got {other:?}")),
    }
    Ok(Session {
        rd,
        wr,
        rx,
        tx,
        buf,
    })
}

async fn read_message(
    rd: &mut OwnedReadHalf,
    buf: &mut BytesMut,
    ctx: &Context,
) -> Result<Message, String> {
    loop {
        if let Some(len) = frame(buf, ctx).map_err(|e| e.to_string())? {
            let m = buf.split_to(len);
            return match Message::decode(&m, ctx).map_err(|e| e.to_string())?.message {
                Message::Notification(n) => Err(format!("NOTIFICATION {n:?}")),
                m => Ok(m),
            };
        }
        match rd.read_buf(buf).await {
            Ok(0) => return Err("closed by the target".into()),
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// What a session's table should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Want {
    /// Prefixes held.
    pub held: u32,
    /// Of those, held in the churned version.
    pub churned: u32,
}

/// A session's table and counters, shared by its reader task and the
/// harness.
#[derive(Debug)]
pub struct Table {
    /// Feeder index of this session, if it feeds: its own prefixes must
    /// never come back.
    own: Option<usize>,
    held: Vec<u64>,
    churned: Vec<u64>,
    held_n: u32,
    churned_n: u32,
    want: Want,
    /// Routes for prefixes nobody fed.
    pub unknown: u64,
    /// Own routes received.
    pub own_received: u64,
    /// Routes with another next hop than their feeder's address.
    pub wrong_next_hop: u64,
    /// The churn marker on a prefix not churned.
    pub wrong_marker: u64,
    /// UPDATEs that did not decode or had RFC 7606 problems.
    pub malformed: u64,
    /// Withdrawals of prefixes not held (allowed, counted).
    pub stray_withdrawals: u64,
    /// UPDATE messages received (End-of-RIB included).
    pub messages: u64,
    /// Announced or withdrawn prefixes received.
    pub route_updates: u64,
    /// Families whose End-of-RIB arrived.
    pub eor: Vec<Family>,
    /// When the last UPDATE arrived.
    pub last_update: Option<Instant>,
    /// Since when the table is exact, if it is.
    pub exact_since: Option<Instant>,
    /// Why the session ended, if it did.
    pub closed: Option<String>,
}

impl Table {
    /// An empty table over `universe` for feeder `own` (or a pure
    /// receiver), wanting the full table minus its own prefixes.
    pub fn new(universe: &Universe, own: Option<usize>) -> Self {
        let words = universe.len().div_ceil(64);
        let mut t = Table {
            own,
            held: vec![0; words],
            churned: vec![0; words],
            held_n: 0,
            churned_n: 0,
            want: Want {
                held: 0,
                churned: 0,
            },
            unknown: 0,
            own_received: 0,
            wrong_next_hop: 0,
            wrong_marker: 0,
            malformed: 0,
            stray_withdrawals: 0,
            messages: 0,
            route_updates: 0,
            eor: Vec::new(),
            last_update: None,
            exact_since: None,
            closed: None,
        };
        t.set_want(
            Want {
                held: universe.len() as u32 - own.map_or(0, |f| universe.range(f).len() as u32),
                churned: 0,
            },
            Instant::now(),
        );
        t
    }

    /// The churned prefixes this session should end up holding.
    pub fn want_churned(universe: &Universe, own: Option<usize>) -> u32 {
        universe.churned_total() - own.map_or(0, |f| universe.churned_of(f))
    }

    /// Sets what the table should be.
    pub fn set_want(&mut self, want: Want, now: Instant) {
        self.want = want;
        self.recheck(now);
    }

    /// Errors seen so far.
    pub fn errors(&self) -> u64 {
        self.unknown + self.own_received + self.wrong_next_hop + self.wrong_marker + self.malformed
    }

    /// Whether the table is exactly the expected one.
    pub fn exact(&self) -> bool {
        self.held_n == self.want.held
            && self.churned_n == self.want.churned
            && self.errors() == 0
            && self.closed.is_none()
    }

    /// Prefixes held.
    pub fn held(&self) -> u32 {
        self.held_n
    }

    /// What is wrong, for a report.
    pub fn describe(&self) -> String {
        format!(
            "holds {} of {} prefixes, {} of {} churned; errors: {} unknown, {} own, {} wrong next hop, {} wrong marker, {} malformed{}",
            self.held_n,
            self.want.held,
            self.churned_n,
            self.want.churned,
            self.unknown,
            self.own_received,
            self.wrong_next_hop,
            self.wrong_marker,
            self.malformed,
            self.closed
                .as_ref()
                .map(|c| format!("; session ended: {c}"))
                .unwrap_or_default()
        )
    }

    fn recheck(&mut self, now: Instant) {
        match (self.exact(), self.exact_since) {
            (true, None) => self.exact_since = Some(now),
            (false, Some(_)) => self.exact_since = None,
            _ => {}
        }
    }

    fn bit(v: &[u64], i: u32) -> bool {
        v[i as usize / 64] >> (i % 64) & 1 != 0
    }

    fn set_bit(v: &mut [u64], i: u32, on: bool) {
        let w = &mut v[i as usize / 64];
        if on {
            *w |= 1 << (i % 64);
        } else {
            *w &= !(1 << (i % 64));
        }
    }

    /// The index of `p`, if it is a prefix this session may hold.
    fn slot(&mut self, u: &Universe, p: &IpNet, announce: bool) -> Option<u32> {
        let Some(i) = u.index(p) else {
            if announce {
                self.unknown += 1;
            } else {
                self.stray_withdrawals += 1;
            }
            return None;
        };
        if self.own == Some(u.feeder(i)) {
            if announce {
                self.own_received += 1;
            } else {
                self.stray_withdrawals += 1;
            }
            return None;
        }
        Some(i)
    }

    fn withdraw(&mut self, u: &Universe, n: &Nlri) {
        self.route_updates += 1;
        let Some(i) = self.slot(u, &n.prefix, false) else {
            return;
        };
        if Self::bit(&self.held, i) {
            Self::set_bit(&mut self.held, i, false);
            self.held_n -= 1;
        } else {
            self.stray_withdrawals += 1;
        }
        if Self::bit(&self.churned, i) {
            Self::set_bit(&mut self.churned, i, false);
            self.churned_n -= 1;
        }
    }

    fn announce(&mut self, u: &Universe, n: &Nlri, nh: Option<IpAddr>, marked: bool) {
        self.route_updates += 1;
        let Some(i) = self.slot(u, &n.prefix, true) else {
            return;
        };
        let feeder = addr(u.feeder(i));
        let want_nh = match n.prefix {
            IpNet::V4(_) => IpAddr::V4(feeder),
            IpNet::V6(_) => IpAddr::V6(v6_next_hop(feeder)),
        };
        if nh != Some(want_nh) {
            self.wrong_next_hop += 1;
        }
        if marked && !u.is_churned(i) {
            self.wrong_marker += 1;
        }
        if !Self::bit(&self.held, i) {
            Self::set_bit(&mut self.held, i, true);
            self.held_n += 1;
        }
        match (marked, Self::bit(&self.churned, i)) {
            (true, false) => {
                Self::set_bit(&mut self.churned, i, true);
                self.churned_n += 1;
            }
            (false, true) => {
                Self::set_bit(&mut self.churned, i, false);
                self.churned_n -= 1;
            }
            _ => {}
        }
    }

    fn apply(&mut self, u: &Universe, up: &Update, now: Instant) {
        self.messages += 1;
        self.last_update = Some(now);
        if let Some(f) = up.as_end_of_rib() {
            if !self.eor.contains(&f) {
                self.eor.push(f);
            }
            return;
        }
        for n in &up.withdrawn {
            self.withdraw(u, n);
        }
        if let Some(m) = up.attrs.mp_unreach() {
            for n in &m.withdrawn {
                self.withdraw(u, n);
            }
        }
        let marked = up.attrs.med() == Some(CHURN_MED);
        let nh = up.attrs.next_hop().map(IpAddr::V4);
        for n in &up.nlri {
            self.announce(u, n, nh, marked);
        }
        if let Some(m) = up.attrs.mp_reach() {
            for n in &m.nlri {
                self.announce(u, n, Some(m.next_hop.addr()), marked);
            }
        }
    }
}

/// The harness's handle on one session.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Its table.
    pub table: Arc<Mutex<Table>>,
    /// Messages to send (already encoded).
    pub send: mpsc::UnboundedSender<Bytes>,
}

impl Peer {
    /// Locks the table (never across an await).
    pub fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Starts the reader and writer tasks of an established session; the
/// writer's first KEEPALIVE goes after `first_keepalive` (spread over
/// sessions so that a thousand do not fire at once).
pub fn run(
    s: Session,
    universe: Arc<Universe>,
    own: Option<usize>,
    first_keepalive: Duration,
    tasks: &mut tokio::task::JoinSet<()>,
) -> Peer {
    let table = Arc::new(Mutex::new(Table::new(&universe, own)));
    let (send, recv) = mpsc::unbounded_channel();
    tasks.spawn(reader(s.rd, s.buf, s.rx, table.clone(), universe));
    tasks.spawn(writer(s.wr, s.tx, recv, first_keepalive));
    Peer { table, send }
}

async fn reader(
    mut rd: OwnedReadHalf,
    mut buf: BytesMut,
    ctx: Context,
    table: Arc<Mutex<Table>>,
    universe: Arc<Universe>,
) {
    let why = loop {
        {
            let now = Instant::now();
            let mut t = table.lock().unwrap_or_else(|e| e.into_inner());
            let mut ended = None;
            loop {
                match frame(&buf, &ctx) {
                    Ok(Some(len)) => {
                        let m = buf.split_to(len);
                        match Message::decode(&m, &ctx) {
                            Ok(d) => {
                                if !d.problems.is_empty() {
                                    t.malformed += 1;
                                }
                                match d.message {
                                    Message::Update(u) => t.apply(&universe, &u, now),
                                    Message::Notification(n) => {
                                        ended = Some(format!("NOTIFICATION {n:?}"));
                                        break;
                                    }
                                    _ => {}
                                }
                            }
                            Err(e) => {
                                t.malformed += 1;
                                ended = Some(format!("undecodable message: {e}"));
                                break;
                            }
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        ended = Some(format!("bad framing: {e}"));
                        break;
                    }
                }
            }
            if let Some(e) = ended {
                break e;
            }
            t.recheck(now);
        }
        // Read in large chunks (a full BytesMut would grow by 64 bytes).
        if buf.capacity() - buf.len() < READ_CHUNK / 2 {
            buf.reserve(READ_CHUNK);
        }
        match rd.read_buf(&mut buf).await {
            Ok(0) => break "closed by the target".to_string(),
            Ok(_) => {}
            Err(e) => break e.to_string(),
        }
    };
    let mut t = table.lock().unwrap_or_else(|e| e.into_inner());
    t.closed = Some(why);
    t.recheck(Instant::now());
}

async fn writer(
    mut wr: OwnedWriteHalf,
    ctx: Context,
    mut recv: mpsc::UnboundedReceiver<Bytes>,
    first_keepalive: Duration,
) {
    let Ok(ka) = Message::Keepalive.to_bytes(&ctx) else {
        return;
    };
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + first_keepalive,
        Duration::from_secs(20),
    );
    loop {
        tokio::select! {
            m = recv.recv() => match m {
                Some(b) => {
                    if wr.write_all(&b).await.is_err() {
                        return;
                    }
                }
                None => return,
            },
            _ = tick.tick() => {
                if wr.write_all(&ka).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use bgp_wire::{Attr, PathAttributes};

    use super::*;
    use crate::feed::{encode, generated};

    fn update(nlri: &[Nlri], nh: Ipv4Addr, med: Option<u32>) -> Update {
        let mut attrs = PathAttributes::from_attrs([Attr::NextHop(nh)]);
        if let Some(m) = med {
            attrs.set(Attr::MultiExitDisc(m));
        }
        Update {
            withdrawn: Vec::new(),
            attrs,
            nlri: nlri.to_vec(),
        }
    }

    #[test]
    fn table_is_exact_only_for_the_expected_routes() {
        let groups = generated(2, 10);
        let theirs: Vec<Nlri> = groups[1].iter().flat_map(|g| g.nlri.clone()).collect();
        let mine: Vec<Nlri> = groups[0].iter().flat_map(|g| g.nlri.clone()).collect();
        let feeds = encode(groups, 50).expect("encodes");
        let u = &feeds.universe;
        let now = Instant::now();

        // Feeder 0 wants feeder 1's 10 prefixes.
        let mut t = Table::new(u, Some(0));
        assert!(!t.exact());
        t.apply(u, &update(&theirs[..4], addr(1), None), now);
        assert!(!t.exact());
        t.apply(u, &update(&theirs[4..], addr(1), None), now);
        assert!(t.exact(), "{}", t.describe());
        // A repeated announcement changes nothing; a withdrawal does.
        t.apply(u, &update(&theirs[..1], addr(1), None), now);
        assert!(t.exact());
        let w = Update {
            withdrawn: theirs[..2].to_vec(),
            ..Update::default()
        };
        t.apply(u, &w, now);
        assert_eq!(t.held(), 8);
        assert!(!t.exact());
        t.apply(u, &update(&theirs[..2], addr(1), None), now);
        assert!(t.exact());

        // The churn: half of feeder 1's prefixes come back marked.
        t.set_want(
            Want {
                held: 10,
                churned: Table::want_churned(u, Some(0)),
            },
            now,
        );
        assert_eq!(Table::want_churned(u, Some(0)), 5);
        assert!(!t.exact());
        let churned: Vec<Nlri> = theirs
            .iter()
            .copied()
            .filter(|n| u.is_churned(u.index(&n.prefix).unwrap()))
            .collect();
        t.apply(u, &update(&churned, addr(1), Some(CHURN_MED)), now);
        assert!(t.exact(), "{}", t.describe());
        // Announced again unmarked: no longer the churned version.
        t.apply(u, &update(&churned[..1], addr(1), None), now);
        assert!(!t.exact());
        t.apply(u, &update(&churned[..1], addr(1), Some(CHURN_MED)), now);
        assert!(t.exact());

        // Each kind of wrong route is an error for good.
        let mut own = Table::new(u, Some(0));
        own.apply(u, &update(&mine[..1], addr(0), None), now);
        assert_eq!(own.own_received, 1);
        let mut nh = Table::new(u, None);
        nh.apply(u, &update(&theirs[..1], addr(0), None), now);
        assert_eq!(nh.wrong_next_hop, 1);
        let mut mark = Table::new(u, None);
        let plain = theirs
            .iter()
            .copied()
            .find(|n| !u.is_churned(u.index(&n.prefix).unwrap()))
            .unwrap();
        mark.apply(u, &update(&[plain], addr(1), Some(CHURN_MED)), now);
        assert_eq!(mark.wrong_marker, 1);
        let mut unknown = Table::new(u, None);
        let stray = Nlri::new("203.0.113.0/24".parse().unwrap());
        unknown.apply(u, &update(&[stray], addr(1), None), now);
        assert_eq!(unknown.unknown, 1);
        for t in [own, nh, mark, unknown] {
            assert!(t.errors() == 1 && !t.exact());
        }
    }
}
