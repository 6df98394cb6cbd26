//! meshrr-bench: a route reflector's real work is fan-out. This harness
//! opens feeder and receiver sessions to a target RR on loopback, has the
//! feeders announce a generated table, and measures the time until every
//! receiver holds exactly the expected table, with the target's CPU seconds
//! and peak RSS. Targets: meshrr-rr and BIRD 2 (configured as an RR by the
//! harness), alternated in the same run.
//!
//! ```text
//! meshrr-bench [--scenario s1|s2|smoke] [--prefixes N] [--feeders F] [--receivers R]
//!              [--runs K] [--targets meshrr,bird] [--meshrr PATH] [--out DIR]
//! ```
//!
//! s1: 1 feeder, N prefixes (default 1M), 10 receivers. s2: F clients
//! (default 100) with N prefixes each (default 10k), every client also a
//! receiver. smoke: 1 feeder, 20k prefixes, 3 receivers (the CI check).

use std::{
    collections::HashSet,
    fs,
    hash::{Hash, Hasher},
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use bgp_wire::{
    attr::{AsPath, Community, Origin},
    capability::Capability,
    encode_reach, frame, Attr, Context, Family, Message, Nlri, Open, PathAttributes, Reach, Update,
};
use bytes::BytesMut;
use meshrr_benches::{v4_prefixes, Gen};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};

#[derive(Debug, Clone)]
struct Scenario {
    name: String,
    feeders: usize,
    /// Prefixes per feeder.
    prefixes: usize,
    /// Receivers that are not feeders.
    receivers: usize,
    /// Feeders also count as receivers (of everyone else's routes).
    feeders_receive: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
struct RunResult {
    target: String,
    scenario: String,
    run: usize,
    seconds: f64,
    prefixes_per_second: f64,
    cpu_seconds: f64,
    peak_rss_kib: u64,
    ok: bool,
}

const PORT: u16 = 11179;

fn addr(n: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, (n / 250) as u8, (n % 250 + 2) as u8)
}

/// The table feeder `f` announces, as encoded UPDATEs, and its prefixes;
/// `seen` keeps prefixes distinct across feeders.
fn feed(
    f: usize,
    n: usize,
    ctx: &Context,
    seen: &mut HashSet<ipnet::Ipv4Net>,
) -> (BytesMut, Vec<Nlri>) {
    let mut g = Gen::new(1000 + f as u64);
    let mut all = Vec::with_capacity(n);
    while all.len() < n {
        let p = v4_prefixes(&mut g, 1)[0];
        // Unicast space only: first octet 1..=100 (BIRD refuses 0/8, 127/8
        // and multicast as bogus).
        let IpAddr::V4(a) = p.prefix.addr() else {
            continue;
        };
        let o = a.octets();
        let net = ipnet::Ipv4Net::new(
            Ipv4Addr::new(1 + o[0] % 100, o[1], o[2], o[3]),
            p.prefix.prefix_len().max(12),
        )
        .expect("len")
        .trunc();
        if seen.insert(net) {
            all.push(Nlri::new(net.into()));
        }
    }
    let mut out = BytesMut::new();
    // AS paths use private ASNs below our own 65000 (BIRD drops a path
    // holding its own AS as a loop).
    for (i, chunk) in all.chunks(20).enumerate() {
        let path: Vec<u32> = (0..(2 + i % 5) as u32)
            .map(|k| 64512 + ((i as u32 * 7 + k) % 480))
            .collect();
        let attrs = PathAttributes::from_attrs([
            Attr::Origin(Origin::Igp),
            Attr::AsPath(AsPath::sequence(path)),
            Attr::NextHop(addr(f)),
            Attr::LocalPref(100),
            Attr::Communities(vec![Community::new(65000, (i % 300) as u16)]),
        ]);
        encode_reach(ctx, &attrs, Reach::Ipv4(chunk), &mut out).expect("fits");
    }
    Update::end_of_rib(Family::IPV4_UNICAST)
        .encode(ctx, &mut out)
        .expect("eor");
    (out, all)
}

fn table_hash(set: &HashSet<ipnet::IpNet>) -> u64 {
    let mut v: Vec<&ipnet::IpNet> = set.iter().collect();
    v.sort();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

async fn session(local: Ipv4Addr, target: SocketAddr) -> std::io::Result<(TcpStream, Context)> {
    let s = TcpSocket::new_v4()?;
    s.bind(SocketAddr::new(IpAddr::V4(local), 0))?;
    let mut st = s.connect(target).await?;
    let caps = vec![
        Capability::Multiprotocol(Family::IPV4_UNICAST),
        Capability::FourOctetAs(65000),
    ];
    let open = Message::Open(Open::new(65000, 90, local, caps));
    st.write_all(
        &open
            .to_bytes(&Context::default())
            .map_err(std::io::Error::other)?,
    )
    .await?;
    let ctx = Context {
        four_octet_as: true,
        ..Context::default()
    };
    st.write_all(
        &Message::Keepalive
            .to_bytes(&ctx)
            .map_err(std::io::Error::other)?,
    )
    .await?;
    Ok((st, ctx))
}

fn proc_stats(pid: u32) -> (f64, u64) {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let tick = 100.0;
    let cpu = fields
        .get(11)
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        + fields
            .get(12)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (cpu / tick, hwm)
}

struct Target {
    child: Child,
    dir: PathBuf,
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::env::var_os("MESHRR_BENCH_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn start_target(kind: &str, meshrr: &Path, peers: usize, run: usize) -> Target {
    let dir =
        std::env::temp_dir().join(format!("meshrr-bench-{}-{kind}-{run}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("dir");
    let log = fs::File::create(dir.join("target.log")).expect("log");
    let child = match kind {
        "meshrr" => {
            let cfg = dir.join("meshrr.yaml");
            fs::write(
                &cfg,
                format!(
                    "asn: \"65000\"\nrouter_id: 127.0.0.1\nlisten: [\"127.0.0.1:{PORT}\"]\nadmin: \"127.0.0.1:{}\"\n\
                     families: [ipv4-unicast]\nbgpgroups:\n  - name: CLIENTS\n    type: subtractive\n    prefixes: [127.0.0.0/8]\n",
                    PORT + 1
                ),
            )
            .expect("cfg");
            Command::new(meshrr)
                .args(["--config", &cfg.to_string_lossy()])
                .env("RUST_LOG", "warn")
                .stdout(Stdio::from(log.try_clone().expect("dup")))
                .stderr(Stdio::from(log))
                .spawn()
                .expect("start meshrr-rr")
        }
        _ => {
            let mut conf = format!(
                "router id 127.0.0.1;\nlog stderr {{ warning, error, fatal }};\nprotocol device {{ }}\nprotocol static {{ ipv4; route 127.0.0.0/8 via \"lo\"; }}\n\
                 template bgp rrc {{ local 127.0.0.1 port {PORT} as 65000; rr client; rr cluster id 127.0.0.1; passive on;\n  ipv4 {{ import all; export all; }}; }}\n"
            );
            for n in 0..peers {
                conf += &format!(
                    "protocol bgp p{n} from rrc {{ neighbor {} as 65000; }}\n",
                    addr(n)
                );
            }
            fs::write(dir.join("bird.conf"), conf).expect("conf");
            Command::new("bird")
                .args([
                    "-f",
                    "-c",
                    &dir.join("bird.conf").to_string_lossy(),
                    "-s",
                    &dir.join("bird.ctl").to_string_lossy(),
                ])
                .stdout(Stdio::from(log.try_clone().expect("dup")))
                .stderr(Stdio::from(log))
                .spawn()
                .expect("start bird (apt-get install bird2)")
        }
    };
    Target { child, dir }
}

async fn run_once(
    kind: &str,
    meshrr: &Path,
    sc: &Scenario,
    run: usize,
    feeds: &[(BytesMut, Vec<Nlri>)],
) -> RunResult {
    let receivers = sc.receivers + if sc.feeders_receive { sc.feeders } else { 0 };
    let peers = sc.feeders + sc.receivers;
    let target = start_target(kind, meshrr, peers, run);
    let to = SocketAddr::from(([127, 0, 0, 1], PORT));
    // Wait for the target to listen.
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(to).await.is_err() {
        assert!(Instant::now() < deadline, "{kind} does not listen on {to}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let total: usize = feeds.iter().map(|f| f.1.len()).sum();
    let full = Arc::new(AtomicUsize::new(0));
    let mut tables = Vec::new();
    let mut feeder_streams = Vec::new();
    // Receivers first (they get nothing yet), then feeders.
    for r in 0..sc.receivers {
        let (st, ctx) = session(addr(sc.feeders + r), to)
            .await
            .expect("receiver session");
        let (rd, wr) = st.into_split();
        let t = Arc::new(Mutex::new(HashSet::new()));
        tables.push((t.clone(), total));
        tokio::spawn(receive_half(rd, ctx, t, full.clone(), total));
        tokio::spawn(keepalive(wr, ctx, None));
    }
    for (f, feed) in feeds.iter().enumerate() {
        let (st, ctx) = session(addr(f), to).await.expect("feeder session");
        let (rd, wr) = st.into_split();
        if sc.feeders_receive {
            let want = total - feed.1.len();
            let t = Arc::new(Mutex::new(HashSet::new()));
            tables.push((t.clone(), want));
            tokio::spawn(receive_half(rd, ctx, t, full.clone(), want));
        } else {
            tokio::spawn(drain(rd));
        }
        feeder_streams.push((f, wr, ctx));
    }
    // Sessions up before the clock starts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (cpu0, _) = proc_stats(target.child.id());
    let t0 = Instant::now();
    let mut writers = Vec::new();
    for (f, wr, ctx) in feeder_streams {
        let bytes = feeds[f].0.clone().freeze();
        writers.push(tokio::spawn(keepalive(wr, ctx, Some(bytes))));
    }
    let timeout = Duration::from_secs(
        std::env::var("MESHRR_BENCH_TIMEOUT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(600),
    );
    let mut ok = true;
    while full.load(Ordering::SeqCst) < receivers {
        if t0.elapsed() > timeout {
            ok = false;
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let seconds = t0.elapsed().as_secs_f64();
    let (cpu1, rss) = proc_stats(target.child.id());
    // Content check: every receiver's table is exactly the expected set.
    let mut expected: HashSet<ipnet::IpNet> = HashSet::new();
    for f in feeds {
        expected.extend(f.1.iter().map(|n| n.prefix));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    for (i, (t, want)) in tables.iter().enumerate() {
        let t = t.lock().expect("lock");
        if *want == total {
            ok &= t.len() == total && table_hash(&t) == table_hash(&expected);
        } else {
            ok &= t.len() == *want && t.iter().all(|p| expected.contains(p));
        }
        if !ok {
            eprintln!("{kind}: receiver {i} has {} of {want} prefixes", t.len());
        }
    }
    for w in writers {
        w.abort();
    }
    drop(target);
    RunResult {
        target: kind.to_string(),
        scenario: sc.name.clone(),
        run,
        seconds,
        prefixes_per_second: (total * receivers) as f64 / seconds,
        cpu_seconds: cpu1 - cpu0,
        peak_rss_kib: rss,
        ok,
    }
}

async fn receive_half(
    rd: tokio::net::tcp::OwnedReadHalf,
    ctx: Context,
    t: Arc<Mutex<HashSet<ipnet::IpNet>>>,
    full: Arc<AtomicUsize>,
    want: usize,
) {
    let mut rd = rd;
    let mut buf = BytesMut::with_capacity(1 << 16);
    let mut reached = false;
    loop {
        while let Ok(Some(len)) = frame(&buf, &ctx) {
            let m = buf.split_to(len);
            if let Ok(Message::Update(u)) = Message::decode(&m, &ctx).map(|d| d.message) {
                let mut tt = t.lock().expect("lock");
                for w in &u.withdrawn {
                    tt.remove(&w.prefix);
                }
                for n in &u.nlri {
                    tt.insert(n.prefix);
                }
                if !reached && tt.len() >= want {
                    reached = true;
                    full.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        match rd.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Writes `first` (a feed), then a KEEPALIVE every 20 s.
async fn keepalive(
    mut wr: tokio::net::tcp::OwnedWriteHalf,
    ctx: Context,
    first: Option<bytes::Bytes>,
) {
    if let Some(b) = first {
        if wr.write_all(&b).await.is_err() {
            return;
        }
    }
    let ka = Message::Keepalive.to_bytes(&ctx).expect("keepalive");
    loop {
        tokio::time::sleep(Duration::from_secs(20)).await;
        if wr.write_all(&ka).await.is_err() {
            return;
        }
    }
}

async fn drain(mut rd: tokio::net::tcp::OwnedReadHalf) {
    let mut buf = vec![0u8; 1 << 16];
    while let Ok(n) = rd.read(&mut buf).await {
        if n == 0 {
            return;
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let val = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let scenario = val("--scenario").unwrap_or_else(|| "smoke".into());
    let mut sc = match scenario.as_str() {
        "s1" => Scenario {
            name: "S1".into(),
            feeders: 1,
            prefixes: 1_000_000,
            receivers: 10,
            feeders_receive: false,
        },
        "s2" => Scenario {
            name: "S2".into(),
            feeders: 100,
            prefixes: 10_000,
            receivers: 0,
            feeders_receive: true,
        },
        _ => Scenario {
            name: "smoke".into(),
            feeders: 1,
            prefixes: 20_000,
            receivers: 3,
            feeders_receive: false,
        },
    };
    if let Some(n) = val("--prefixes").and_then(|v| v.parse().ok()) {
        sc.prefixes = n;
    }
    if let Some(n) = val("--feeders").and_then(|v| v.parse().ok()) {
        sc.feeders = n;
    }
    if let Some(n) = val("--receivers").and_then(|v| v.parse().ok()) {
        sc.receivers = n;
    }
    let runs: usize = val("--runs").and_then(|v| v.parse().ok()).unwrap_or(3);
    let targets: Vec<String> = val("--targets")
        .unwrap_or_else(|| "meshrr,bird".into())
        .split(',')
        .map(str::to_string)
        .collect();
    let meshrr =
        PathBuf::from(val("--meshrr").unwrap_or_else(|| "target/release/meshrr-rr".into()));
    let out = PathBuf::from(val("--out").unwrap_or_else(|| "target/meshrr-bench".into()));
    fs::create_dir_all(&out).expect("out dir");
    let ctx = Context {
        four_octet_as: true,
        ..Context::default()
    };
    let mut seen = HashSet::new();
    let feeds: Vec<(BytesMut, Vec<Nlri>)> = (0..sc.feeders)
        .map(|f| feed(f, sc.prefixes, &ctx, &mut seen))
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let mut results = Vec::new();
    for run in 0..runs {
        for t in &targets {
            let r = rt.block_on(run_once(t, &meshrr, &sc, run, &feeds));
            eprintln!(
                "{} {} run {}: {:.3} s, {:.0} prefixes/s delivered, cpu {:.2} s, peak rss {} KiB, ok {}",
                r.scenario, r.target, r.run, r.seconds, r.prefixes_per_second, r.cpu_seconds, r.peak_rss_kib, r.ok
            );
            results.push(r);
        }
    }
    fs::write(
        out.join(format!("{}.json", sc.name)),
        serde_json::to_string_pretty(&results).expect("json"),
    )
    .expect("write");
    let mut md = String::from(
        "| scenario | target | runs | median time (s) | spread (s) | median CPU (s) | median peak RSS (MiB) |\n| --- | --- | --- | --- | --- | --- | --- |\n",
    );
    let mut med = Vec::new();
    for t in &targets {
        let rs: Vec<&RunResult> = results.iter().filter(|r| &r.target == t).collect();
        let times: Vec<f64> = rs.iter().map(|r| r.seconds).collect();
        let spread = times.iter().cloned().fold(f64::MIN, f64::max)
            - times.iter().cloned().fold(f64::MAX, f64::min);
        let m = (
            median(times),
            median(rs.iter().map(|r| r.cpu_seconds).collect()),
            median(rs.iter().map(|r| r.peak_rss_kib as f64).collect()) / 1024.0,
        );
        md += &format!(
            "| {} | {t} | {} | {:.3} | {:.3} | {:.2} | {:.1} |\n",
            sc.name,
            rs.len(),
            m.0,
            spread,
            m.1,
            m.2
        );
        med.push((t.clone(), m));
    }
    if let [(_, a), (_, b)] = med.as_slice() {
        md += &format!(
            "\nmeshrr/BIRD: time {:.2}x, RSS {:.2}x\n",
            a.0 / b.0,
            a.2 / b.2
        );
    }
    fs::write(out.join(format!("{}.md", sc.name)), &md).expect("write");
    // A plot: bars of time and RSS per target.
    let mut svg = String::from("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"420\" height=\"220\" font-family=\"sans-serif\" font-size=\"12\">\n");
    let tmax = med.iter().map(|m| m.1 .0).fold(0.0, f64::max).max(1e-9);
    let rmax = med.iter().map(|m| m.1 .2).fold(0.0, f64::max).max(1e-9);
    for (i, (t, m)) in med.iter().enumerate() {
        let x = 40 + i as i64 * 90;
        let h1 = (m.0 / tmax * 150.0) as i64;
        let h2 = (m.2 / rmax * 150.0) as i64;
        svg += &format!("<rect x=\"{x}\" y=\"{}\" width=\"30\" height=\"{h1}\" fill=\"#4477aa\"/><rect x=\"{}\" y=\"{}\" width=\"30\" height=\"{h2}\" fill=\"#cc6677\"/>\n", 180 - h1, x + 35, 180 - h2);
        svg += &format!("<text x=\"{x}\" y=\"198\">{t}</text><text x=\"{x}\" y=\"{}\">{:.2}s</text><text x=\"{}\" y=\"{}\">{:.0}MiB</text>\n", 175 - h1, m.0, x + 35, 175 - h2, m.2);
    }
    svg += &format!(
        "<text x=\"10\" y=\"15\">{}: convergence time (blue), peak RSS (red)</text></svg>\n",
        sc.name
    );
    fs::write(out.join(format!("{}.svg", sc.name)), svg).expect("write");
    print!("{md}");
    if results.iter().any(|r| !r.ok) {
        eprintln!("some receiver did not get exactly the expected table");
        std::process::exit(1);
    }
}
