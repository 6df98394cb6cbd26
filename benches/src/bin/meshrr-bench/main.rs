//! meshrr-bench: a route reflector's real work is fan-out. This harness
//! opens client sessions to a target RR on loopback, has some of them
//! (the feeders) announce a table, and measures the time until every
//! session holds exactly the expected table, with the target's CPU seconds
//! and peak RSS. Targets: meshrr-rr and BIRD 2 (configured as an RR by the
//! harness), alternated in the same run.
//!
//! ```text
//! meshrr-bench [--scenario smoke|s1|s2|s3|s4] [--scale F] [--runs K]
//!              [--prefixes N] [--feeders F] [--receivers R] [--sessions N]
//!              [--churn PCT] [--idle-seconds S] [--quiet-ms MS] [--timeout S]
//!              [--mrt FILE] [--targets meshrr,bird] [--meshrr PATH] [--out DIR]
//!              [--pin[=H,T]] [--smoke-ci] [--mrt-print]
//! ```
//!
//! - smoke: 1 feeder, 20k prefixes, 3 receivers.
//! - s1: 1 feeder, 1M prefixes, 10 receivers.
//! - s2: 100 clients with 10k prefixes each; every client also receives
//!   (the 990k routes of the 99 others; nothing of its own comes back).
//! - s3: 1000 idle clients: established, End-of-RIB both ways, then the
//!   target's CPU seconds over `--idle-seconds` (10) at rest and its RSS.
//! - s4: s2, then `--churn` (10) % of every client's prefixes withdrawn and
//!   re-announced (with MED [`feed::CHURN_MED`] so the new version is
//!   visible); time until every table is the full churned table and quiet.
//!
//! `--scale F` multiplies the prefixes per feeder and the client count of
//! s2/s4 and s3 (smoke and s1 keep their receivers); the other size flags
//! set a number outright. Every session is checked, feeders included:
//! exact table (count over a bitset of the fed prefixes), next hop of each
//! route the feeder's address, nothing of its own, no unknown prefix. Each
//! phase ends when every table is exact and no UPDATE came for
//! `--quiet-ms` (500). Runs alternate the targets, in reversed order on
//! odd runs. `--mrt FILE` feeds an uncompressed TABLE_DUMP_V2 RIB dump
//! instead of the generator, shared out over the feeders (`--prefixes`
//! caps each share; `--mrt-print` prints the dump's routes as read and as
//! fed, and stops). `--pin` runs the harness on CPU 0 and the target on
//! CPU 1 (`--pin=H,T` for others). `--smoke-ci`: one run, 300 s timeouts,
//! exit status 1 only if a table is wrong or a target fails, never for
//! speed. Results: `--out` (target/meshrr-bench)/NAME.{json,md,svg}.
//!
//! Sessions: session `n` binds 127.0.(n / 250).(n % 250 + 2), feeders
//! first; the target listens on 127.0.0.1:11179 (meshrr-rr's admin API on
//! 11180). meshrr-rr takes them all as one subtractive client group
//! 127.0.0.0/8; BIRD gets one passive `rr client` protocol per address.
//! Every session is established (OPEN, KEEPALIVE) and has the target's
//! End-of-RIB (or 5 s have passed) before anything is timed; `setup` is
//! that time (BIRD 2.0.12 often sends its End-of-RIB up to 3 s late, which
//! looks like its event loop's 3 s poll timeout). CPU seconds are from
//! `/proc/PID/stat`, in clock ticks (10 ms). The soft open-file limit is
//! raised to 2 per session + 1024 (the target inherits it).
//! Environment: `MESHRR_BENCH_TIMEOUT` (default of `--timeout`),
//! `MESHRR_BENCH_KEEP` (keep the target's directory with its config and
//! log in $TMPDIR), `MESHRR_BENCH_BIRD_DEBUG` (BIRD logs everything).

mod feed;
mod mrt;
mod peer;
mod report;
mod sys;
mod target;

use std::{
    net::Ipv4Addr,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use bgp_wire::{Context, Family, Update};
use bytes::{Bytes, BytesMut};
use tokio::{sync::Semaphore, task::JoinSet};

use crate::{
    feed::{addr, Feeds, Universe},
    peer::{Peer, Session, Table, Want},
    report::RunResult,
    target::Target,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Feed, then wait for every table.
    Converge,
    /// Sessions only, then measure at rest.
    Idle,
    /// Converge, then churn and wait again.
    Churn,
}

#[derive(Debug, Clone)]
struct Scenario {
    name: String,
    kind: Kind,
    feeders: usize,
    /// Prefixes per feeder.
    prefixes: usize,
    /// Sessions that do not feed.
    receivers: usize,
    churn_pct: u32,
    idle: Duration,
    quiet: Duration,
    timeout: Duration,
}

impl Scenario {
    fn sessions(&self) -> usize {
        self.feeders + self.receivers
    }
}

#[derive(Debug, Clone)]
struct Config {
    targets: Vec<String>,
    meshrr: PathBuf,
    out: PathBuf,
    runs: usize,
    mrt: Option<PathBuf>,
    /// CPUs of the harness and of the target.
    pin: Option<(usize, usize)>,
    smoke_ci: bool,
    /// Print the routes of `mrt` and stop.
    mrt_print: bool,
    /// How long a target may take to listen and a session to come up.
    setup_within: Duration,
}

const USAGE: &str = "usage: meshrr-bench [--scenario smoke|s1|s2|s3|s4] [--scale F] [--runs K]
       [--prefixes N] [--feeders F] [--receivers R] [--sessions N] [--churn PCT]
       [--idle-seconds S] [--quiet-ms MS] [--timeout S] [--mrt FILE]
       [--targets meshrr,bird] [--meshrr PATH] [--out DIR] [--pin[=H,T]] [--smoke-ci]
       [--mrt-print]
(see the top of benches/src/bin/meshrr-bench/main.rs)";

fn parse_args(args: &[String]) -> Result<(Scenario, Config, Option<usize>), String> {
    let mut kv: Vec<(String, Option<String>)> = Vec::new();
    let flags = ["--pin", "--smoke-ci", "--mrt-print", "--help", "-h"];
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (k, v) = match a.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None if flags.contains(&a.as_str()) => (a.clone(), None),
            None => (
                a.clone(),
                Some(
                    it.next()
                        .ok_or_else(|| format!("{a} needs a value"))?
                        .clone(),
                ),
            ),
        };
        kv.push((k, v));
    }
    let get = |k: &str| {
        kv.iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    let known = [
        "--scenario",
        "--scale",
        "--runs",
        "--prefixes",
        "--feeders",
        "--clients",
        "--receivers",
        "--sessions",
        "--churn",
        "--idle-seconds",
        "--quiet-ms",
        "--timeout",
        "--mrt",
        "--targets",
        "--meshrr",
        "--out",
        "--pin",
        "--smoke-ci",
        "--mrt-print",
        "--help",
        "-h",
    ];
    if let Some((k, _)) = kv.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        return Err(format!("unknown option {k}"));
    }
    if get("--help").is_some() || get("-h").is_some() {
        return Err(String::new());
    }
    fn num<T: std::str::FromStr>(k: &str, v: Option<Option<String>>) -> Result<Option<T>, String> {
        match v {
            None => Ok(None),
            Some(v) => {
                let v = v.unwrap_or_default();
                v.parse()
                    .map(Some)
                    .map_err(|_| format!("{k}: not a number: {v:?}"))
            }
        }
    }
    let smoke_ci = get("--smoke-ci").is_some();
    let scenario = get("--scenario")
        .flatten()
        .unwrap_or_else(|| "smoke".into());
    let scale: f64 = num("--scale", get("--scale"))?.unwrap_or(1.0);
    if scale.is_nan() || scale <= 0.0 {
        return Err("--scale must be > 0".into());
    }
    let scaled = |n: usize| ((n as f64 * scale).round() as usize).max(1);
    let env_timeout = std::env::var("MESHRR_BENCH_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok());
    let timeout_s: u64 = num("--timeout", get("--timeout"))?
        .or(env_timeout)
        .unwrap_or(if smoke_ci { 300 } else { 600 });
    let (name, kind, feeders, prefixes, receivers) = match scenario.as_str() {
        "smoke" => ("smoke", Kind::Converge, 1, scaled(20_000), 3),
        "s1" => ("S1", Kind::Converge, 1, scaled(1_000_000), 10),
        "s2" => ("S2", Kind::Converge, scaled(100).max(2), scaled(10_000), 0),
        "s3" => ("S3", Kind::Idle, 0, 0, scaled(1000)),
        "s4" => ("S4", Kind::Churn, scaled(100).max(2), scaled(10_000), 0),
        other => return Err(format!("unknown scenario {other}")),
    };
    let explicit_prefixes: Option<usize> = num("--prefixes", get("--prefixes"))?;
    let mut sc = Scenario {
        name: name.into(),
        kind,
        feeders,
        prefixes: explicit_prefixes.unwrap_or(prefixes),
        receivers,
        churn_pct: num("--churn", get("--churn"))?.unwrap_or(10),
        idle: Duration::from_secs_f64(
            num("--idle-seconds", get("--idle-seconds"))?.unwrap_or(10.0),
        ),
        quiet: Duration::from_millis(num("--quiet-ms", get("--quiet-ms"))?.unwrap_or(500)),
        timeout: Duration::from_secs(timeout_s),
    };
    if kind != Kind::Idle {
        if let Some(n) = num("--feeders", get("--feeders").or_else(|| get("--clients")))? {
            sc.feeders = n;
        }
        if let Some(n) = num("--receivers", get("--receivers"))? {
            sc.receivers = n;
        }
        if sc.feeders == 0 {
            return Err("at least one feeder is needed".into());
        }
    } else if let Some(n) = num(
        "--sessions",
        get("--sessions").or_else(|| get("--receivers")),
    )? {
        sc.receivers = n;
    }
    if sc.churn_pct > 100 {
        return Err("--churn is a percentage".into());
    }
    if sc.sessions() == 0 || sc.sessions() > feed::MAX_SESSIONS {
        return Err(format!(
            "{} sessions: between 1 and {} can have distinct addresses",
            sc.sessions(),
            feed::MAX_SESSIONS
        ));
    }
    let pin = match get("--pin") {
        None => None,
        Some(None) => Some((0, 1)),
        Some(Some(v)) => {
            let (h, t) = v.split_once(',').ok_or("--pin=H,T: two CPU numbers")?;
            Some((
                h.trim().parse().map_err(|_| "--pin: CPU number")?,
                t.trim().parse().map_err(|_| "--pin: CPU number")?,
            ))
        }
    };
    let cfg = Config {
        targets: get("--targets")
            .flatten()
            .unwrap_or_else(|| "meshrr,bird".into())
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        meshrr: PathBuf::from(
            get("--meshrr")
                .flatten()
                .unwrap_or_else(|| "target/release/meshrr-rr".into()),
        ),
        out: PathBuf::from(
            get("--out")
                .flatten()
                .unwrap_or_else(|| "target/meshrr-bench".into()),
        ),
        runs: num("--runs", get("--runs"))?.unwrap_or(if smoke_ci { 1 } else { 3 }),
        mrt: get("--mrt").flatten().map(PathBuf::from),
        pin,
        smoke_ci,
        mrt_print: get("--mrt-print").is_some(),
        setup_within: Duration::from_secs(if smoke_ci { timeout_s } else { 60 }),
    };
    if let Some(t) = cfg.targets.iter().find(|t| *t != "meshrr" && *t != "bird") {
        return Err(format!("unknown target {t} (meshrr, bird)"));
    }
    Ok((sc, cfg, explicit_prefixes))
}

/// Establishes sessions `0..n`, at most 32 handshakes at a time (BIRD
/// listens with a short backlog).
async fn establish_all(
    n: usize,
    families: &[Family],
    within: Duration,
) -> Result<Vec<Session>, String> {
    let sem = Arc::new(Semaphore::new(32));
    let fams: Arc<[Family]> = families.into();
    let mut set = JoinSet::new();
    for i in 0..n {
        let sem = sem.clone();
        let fams = fams.clone();
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            (
                i,
                peer::establish(addr(i), Target::sockaddr(), &fams, within).await,
            )
        });
    }
    let mut out: Vec<Option<Session>> = (0..n).map(|_| None).collect();
    while let Some(j) = set.join_next().await {
        let (i, s) = j.map_err(|e| e.to_string())?;
        out[i] = Some(s?);
    }
    Ok(out.into_iter().flatten().collect())
}

/// Counters summed over every session.
fn counters(peers: &[Peer]) -> (u64, u64) {
    peers.iter().fold((0, 0), |(u, m), p| {
        let t = p.lock();
        (u + t.route_updates, m + t.messages)
    })
}

fn eor_bytes(families: &[Family]) -> Bytes {
    let ctx = Context::ibgp_4octet();
    let mut b = BytesMut::new();
    for f in families {
        // Encoding an empty UPDATE cannot fail.
        let _ = Update::end_of_rib(*f).encode(&ctx, &mut b);
    }
    b.freeze()
}

/// Waits until every session has the target's End-of-RIB for every family,
/// or `grace` has passed; returns how many sessions had it.
async fn wait_eor(peers: &[Peer], families: &[Family], grace: Duration) -> usize {
    let deadline = Instant::now() + grace;
    loop {
        let n = peers
            .iter()
            .filter(|p| {
                let t = p.lock();
                families.iter().all(|f| t.eor.contains(f))
            })
            .count();
        if n == peers.len() || Instant::now() > deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One measured phase.
#[derive(Debug, Default)]
struct Phase {
    seconds: f64,
    last_update_seconds: f64,
    route_updates: u64,
    messages: u64,
    cpu_seconds: f64,
    rss_kib: u64,
    peak_rss_kib: u64,
}

/// Waits until every table is exact and no UPDATE has arrived for
/// `sc.quiet`; fails at once on a wrong route or a closed session. `t0`,
/// `cpu0` and the counters `(u0, m0)` were taken before the phase began.
/// One timed phase: feeder `f` sends the `f`-th of `messages`, then
/// [`converge`] from that moment.
async fn phase(
    target: &mut Target,
    peers: &[Peer],
    sc: &Scenario,
    messages: impl Iterator<Item = Bytes>,
) -> Result<Phase, String> {
    let base = counters(peers);
    let cpu0 = target.stats().cpu_seconds;
    let t0 = Instant::now();
    for (peer, m) in peers.iter().zip(messages) {
        let _ = peer.send.send(m);
    }
    converge(target, peers, sc, t0, cpu0, base).await
}

async fn converge(
    target: &mut Target,
    peers: &[Peer],
    sc: &Scenario,
    t0: Instant,
    cpu0: f64,
    (u0, m0): (u64, u64),
) -> Result<Phase, String> {
    let poll = Duration::from_millis(if peers.len() > 200 { 10 } else { 2 });
    let mut cpu_at_exact: Option<(f64, Instant)> = None;
    loop {
        tokio::time::sleep(poll).await;
        if let Some(s) = target.exited() {
            return Err(format!("target exited ({s}): {}", target.log_tail()));
        }
        let now = Instant::now();
        let mut all = true;
        let mut exact_at = t0;
        let mut last = t0;
        let mut first_bad = None;
        for (i, p) in peers.iter().enumerate() {
            let t = p.lock();
            if t.errors() > 0 || t.closed.is_some() {
                return Err(format!("session {i} ({}): {}", addr(i), t.describe()));
            }
            match t.exact_since {
                Some(s) => exact_at = exact_at.max(s),
                None => {
                    all = false;
                    first_bad.get_or_insert_with(|| (i, t.describe()));
                }
            }
            if let Some(l) = t.last_update {
                last = last.max(l);
            }
        }
        if all {
            let (cpu, at) =
                *cpu_at_exact.get_or_insert_with(|| (target.stats().cpu_seconds, exact_at));
            if now.duration_since(last.max(at)) >= sc.quiet {
                let (u1, m1) = counters(peers);
                let st = target.stats();
                let seconds = exact_at.duration_since(t0).as_secs_f64();
                let route_updates = u1 - u0;
                return Ok(Phase {
                    seconds,
                    last_update_seconds: last.duration_since(t0).as_secs_f64(),
                    route_updates,
                    messages: m1 - m0,
                    cpu_seconds: cpu - cpu0,
                    rss_kib: st.rss_kib,
                    peak_rss_kib: st.peak_rss_kib,
                });
            }
        } else {
            cpu_at_exact = None;
        }
        if now.duration_since(t0) > sc.timeout {
            let (i, d) = first_bad.unwrap_or((0, "still receiving".into()));
            return Err(format!(
                "not converged within {:?}: session {i} ({}) {d}",
                sc.timeout,
                addr(i)
            ));
        }
    }
}

fn fill(r: &mut RunResult, p: &Phase) {
    r.seconds = p.seconds;
    r.last_update_seconds = p.last_update_seconds;
    r.route_updates = p.route_updates;
    r.messages = p.messages;
    r.updates_per_second = if p.seconds > 0.0 {
        p.route_updates as f64 / p.seconds
    } else {
        0.0
    };
    r.cpu_seconds = p.cpu_seconds;
    r.rss_kib = p.rss_kib;
    r.peak_rss_kib = p.peak_rss_kib;
}

async fn run_inner(
    kind: &str,
    cfg: &Config,
    sc: &Scenario,
    feeds: &Feeds,
    run: usize,
    r: &mut RunResult,
) -> Result<(), String> {
    let n = sc.sessions();
    let addrs: Vec<Ipv4Addr> = (0..n).map(addr).collect();
    let families = feeds.families();
    let universe: Arc<Universe> = feeds.universe.clone();
    let mut target = target::start(
        kind,
        &cfg.meshrr,
        &addrs,
        &families,
        cfg.pin.map(|p| p.1),
        &format!("{}-{run}", sc.name),
    )?;
    target
        .wait_listening(cfg.setup_within.max(Duration::from_secs(10)))
        .await?;
    // Sockets and tasks go before the target does (declared after it).
    let mut tasks = JoinSet::new();
    let t_setup = Instant::now();
    let sessions = establish_all(n, &families, cfg.setup_within).await?;
    let eor = eor_bytes(&families);
    let peers: Vec<Peer> = sessions
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let own = (i < sc.feeders).then_some(i);
            let ka = Duration::from_secs(5 + (i % 15) as u64);
            let p = peer::run(s, universe.clone(), own, ka, &mut tasks);
            // Sessions with nothing to announce say so at once.
            if own.is_none() {
                let _ = p.send.send(eor.clone());
            }
            p
        })
        .collect();
    let with_eor = wait_eor(&peers, &families, Duration::from_secs(5)).await;
    r.setup_seconds = t_setup.elapsed().as_secs_f64();
    if with_eor < n {
        eprintln!(
            "{kind}: {} of {n} sessions got no End-of-RIB from the target within 5 s",
            n - with_eor
        );
    }
    match sc.kind {
        Kind::Idle => {
            // Settle, then measure at rest.
            tokio::time::sleep(Duration::from_secs(1)).await;
            let s0 = target.stats();
            tokio::time::sleep(sc.idle).await;
            let s1 = target.stats();
            r.seconds = r.setup_seconds;
            r.idle_seconds = Some(sc.idle.as_secs_f64());
            r.cpu_seconds = s1.cpu_seconds - s0.cpu_seconds;
            r.rss_kib = s1.rss_kib;
            r.peak_rss_kib = s1.peak_rss_kib;
            if let Some(s) = target.exited() {
                return Err(format!("target exited ({s}): {}", target.log_tail()));
            }
            for (i, p) in peers.iter().enumerate() {
                let t = p.lock();
                if !t.exact() {
                    return Err(format!("session {i} ({}): {}", addr(i), t.describe()));
                }
            }
        }
        Kind::Converge | Kind::Churn => {
            let initial = feeds.feeds.iter().map(|f| f.initial.clone());
            let first = phase(&mut target, &peers, sc, initial).await?;
            fill(r, &first);
            if sc.kind == Kind::Churn {
                r.initial_seconds = Some(first.seconds);
                let now = Instant::now();
                for (i, p) in peers.iter().enumerate() {
                    let own = (i < sc.feeders).then_some(i);
                    let mut t = p.lock();
                    let held = t.held();
                    t.set_want(
                        Want {
                            held,
                            churned: Table::want_churned(&universe, own),
                        },
                        now,
                    );
                }
                let churn_msgs = feeds.feeds.iter().map(|f| f.churn.clone());
                let churn = phase(&mut target, &peers, sc, churn_msgs).await?;
                fill(r, &churn);
            }
        }
    }
    r.ok = true;
    tasks.abort_all();
    drop(tasks);
    drop(target);
    Ok(())
}

async fn run_once(kind: &str, cfg: &Config, sc: &Scenario, feeds: &Feeds, run: usize) -> RunResult {
    let mut r = RunResult {
        target: kind.to_string(),
        scenario: sc.name.clone(),
        run,
        sessions: sc.sessions(),
        feeders: sc.feeders,
        ..RunResult::default()
    };
    if let Err(e) = run_inner(kind, cfg, sc, feeds, run, &mut r).await {
        r.ok = false;
        r.error = Some(e);
    }
    r
}

fn describe(sc: &Scenario, feeds: &Feeds, source: &str) -> String {
    let total = feeds.total();
    match sc.kind {
        Kind::Idle => format!(
            "{} idle client sessions, CPU over {:.0} s at rest",
            sc.receivers,
            sc.idle.as_secs_f64()
        ),
        _ => {
            let mut d = format!(
                "{} feeder(s) × {} prefixes ({source}; {total} in all), {} other receiver(s); every session checked",
                sc.feeders,
                feeds.feeds.first().map_or(0, |f| f.prefixes),
                sc.receivers
            );
            if sc.kind == Kind::Churn {
                d += &format!(
                    "; then {} % churn ({} prefixes withdrawn and re-announced), time of the churn",
                    sc.churn_pct,
                    feeds.universe.churned_total()
                );
            }
            d
        }
    }
}

fn build_feeds(
    sc: &Scenario,
    cfg: &Config,
    explicit_prefixes: Option<usize>,
) -> Result<(Feeds, String), String> {
    let (groups, source) = match (&cfg.mrt, sc.feeders) {
        (Some(path), f) if f > 0 => {
            let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let dump = mrt::read(std::io::BufReader::with_capacity(1 << 20, file))
                .map_err(|e| format!("{}: {e}", path.display()))?;
            eprintln!("mrt: {} peers, {:?}", dump.peers.len(), dump.stats);
            let (groups, used) = feed::from_mrt(dump.routes, f, explicit_prefixes)?;
            eprintln!(
                "mrt: {} routes read, {} fed, left out: {:?}",
                used.read, used.used, used.dropped
            );
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            (groups, format!("MRT {name}"))
        }
        _ => (
            feed::generated(sc.feeders, sc.prefixes),
            "generated".to_string(),
        ),
    };
    Ok((feed::encode(groups, sc.churn_pct)?, source))
}

/// `--mrt-print`: every route of the dump, as read and as it would be fed.
fn print_mrt(cfg: &Config) -> Result<(), String> {
    use std::io::Write;
    let path = cfg.mrt.as_ref().ok_or("--mrt-print needs --mrt FILE")?;
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let dump = mrt::read(std::io::BufReader::new(file)).map_err(|e| e.to_string())?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut print = || -> std::io::Result<()> {
        for (i, p) in dump.peers.iter().enumerate() {
            writeln!(out, "peer {i}: {} AS{} id {}", p.addr, p.asn, p.bgp_id)?;
        }
        for r in &dump.routes {
            writeln!(out, "{} peer {}: {:?}", r.prefix, r.peer, r.attrs)?;
            match feed::sanitize(&r.prefix, r.attrs.clone()) {
                Ok(a) => writeln!(out, "  fed as {a:?}")?,
                Err(why) => writeln!(out, "  left out: {why}")?,
            }
        }
        writeln!(out, "{:?}", dump.stats)?;
        out.flush()
    };
    // A closed pipe (`| head`) is not an error.
    let _ = print();
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (sc, cfg, explicit_prefixes) = match parse_args(&args) {
        Ok(v) => v,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return;
        }
        Err(e) => {
            eprintln!("meshrr-bench: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    if cfg.mrt_print {
        std::process::exit(match print_mrt(&cfg) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("meshrr-bench: {e}");
                2
            }
        });
    }
    // One descriptor per session here, and as many in the target, which
    // inherits the limit.
    let want = 2 * sc.sessions() as u64 + 1024;
    match sys::raise_nofile(want) {
        Ok(n) if n < want => eprintln!("meshrr-bench: open files limited to {n} (want {want})"),
        Ok(_) => {}
        Err(e) => eprintln!("meshrr-bench: cannot raise the open file limit: {e}"),
    }
    if let Some((h, t)) = cfg.pin {
        if let Err(e) = sys::pin_self(h) {
            eprintln!("meshrr-bench: cannot pin to CPU {h}: {e}");
            std::process::exit(2);
        }
        eprintln!("meshrr-bench: harness on CPU {h}, target on CPU {t}");
    }
    let (feeds, source) = match build_feeds(&sc, &cfg, explicit_prefixes) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("meshrr-bench: {e}");
            std::process::exit(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("meshrr-bench: runtime: {e}");
            std::process::exit(2);
        }
    };
    let describe = describe(&sc, &feeds, &source);
    eprintln!("{}: {describe}", sc.name);
    let mut results = Vec::new();
    for run in 0..cfg.runs {
        let mut order = cfg.targets.clone();
        if run % 2 == 1 {
            order.reverse();
        }
        for t in &order {
            let r = rt.block_on(run_once(t, &cfg, &sc, &feeds, run));
            eprintln!(
                "{} {} run {}: {:.3} s (last update {:.3} s, setup {:.3} s), {:.0} updates/s, cpu {:.2} s, rss {} KiB, peak {} KiB, ok {}{}",
                r.scenario,
                r.target,
                r.run,
                r.seconds,
                r.last_update_seconds,
                r.setup_seconds,
                r.updates_per_second,
                r.cpu_seconds,
                r.rss_kib,
                r.peak_rss_kib,
                r.ok,
                r.error.as_ref().map(|e| format!(": {e}")).unwrap_or_default()
            );
            results.push(r);
        }
    }
    let versions: Vec<(String, String)> = cfg
        .targets
        .iter()
        .map(|t| (t.clone(), target::version(t, &cfg.meshrr)))
        .collect();
    let sums = report::summarise(&results, &versions);
    let idle = sc.kind == Kind::Idle;
    let shape = match sc.kind {
        Kind::Converge => report::Shape::Converge,
        Kind::Idle => report::Shape::Idle,
        Kind::Churn => report::Shape::Churn,
    };
    let md = report::markdown(&sc.name, &describe, shape, &sums);
    let name = if cfg.mrt.is_some() && sc.feeders > 0 {
        format!("{}-mrt", sc.name)
    } else {
        sc.name.clone()
    };
    let json = serde_json::json!({
        "scenario": sc.name,
        "describe": describe,
        "sessions": sc.sessions(),
        "feeders": sc.feeders,
        "prefixes": feeds.total(),
        "churned": feeds.universe.churned_total(),
        "idle_seconds": idle.then_some(sc.idle.as_secs_f64()),
        "quiet_ms": sc.quiet.as_millis() as u64,
        "pin": cfg.pin,
        "summary": sums,
        "runs": results,
    });
    if let Err(e) = report::write(
        &cfg.out,
        &name,
        &json,
        &md,
        &report::svg(&sc.name, shape, &sums),
    ) {
        eprintln!(
            "meshrr-bench: writing results to {}: {e}",
            cfg.out.display()
        );
    }
    print!("{md}");
    let bad = results.iter().filter(|r| !r.ok).count();
    if bad > 0 {
        eprintln!(
            "meshrr-bench: {bad} of {} runs did not end with every table exact",
            results.len()
        );
        std::process::exit(1);
    }
    if cfg.smoke_ci {
        eprintln!(
            "meshrr-bench: smoke check good, every table exact in all {} runs",
            results.len()
        );
    }
}
