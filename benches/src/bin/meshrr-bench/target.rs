//! The route reflectors under test, started with a configuration written
//! here: meshrr-rr (one subtractive client group over 127.0.0.0/8) and
//! BIRD 2 (one `rr client` protocol per session address, passive).
//! Both listen on 127.0.0.1 and tell the sessions apart by source address.

use std::{
    fmt::Write as _,
    fs,
    net::{Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use bgp_wire::Family;

use crate::{feed::ASN, sys};

/// The port both targets listen on, on 127.0.0.1.
pub const PORT: u16 = 11179;

/// A running target; killed (and its directory removed unless
/// `MESHRR_BENCH_KEEP` is set) when dropped.
#[derive(Debug)]
pub struct Target {
    child: Child,
    dir: PathBuf,
}

/// CPU and memory of a target, from `/proc`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    /// User + system CPU seconds so far, all threads.
    pub cpu_seconds: f64,
    /// Resident set now (VmRSS), KiB.
    pub rss_kib: u64,
    /// Peak resident set (VmHWM), KiB.
    pub peak_rss_kib: u64,
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

impl Target {
    /// Where the target listens.
    pub fn sockaddr() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], PORT))
    }

    /// CPU and memory now.
    pub fn stats(&self) -> Stats {
        let pid = self.child.id();
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after the command name: state is 0, utime 11, stime 12.
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let kib = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Stats {
            cpu_seconds: (ticks(11) + ticks(12)) / sys::clock_ticks(),
            rss_kib: kib("VmRSS:"),
            peak_rss_kib: kib("VmHWM:"),
        }
    }

    /// Whether the process has exited (and how).
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(s)) => Some(s.to_string()),
            Ok(None) => None,
            Err(e) => Some(e.to_string()),
        }
    }

    /// The last lines of the target's log.
    pub fn log_tail(&self) -> String {
        let log = fs::read_to_string(self.dir.join("target.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(8)..].join("\n")
    }

    /// Waits until the target accepts connections on [`PORT`].
    pub async fn wait_listening(&mut self, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.exited() {
                return Err(format!("exited ({s}): {}", self.log_tail()));
            }
            if tokio::net::TcpStream::connect(Self::sockaddr())
                .await
                .is_ok()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "does not listen on {} after {within:?}",
                    Self::sockaddr()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The version a target reports, for the results.
pub fn version(kind: &str, meshrr: &Path) -> String {
    let out = match kind {
        "meshrr" => Command::new(meshrr).arg("--version").output(),
        _ => Command::new("bird").arg("--version").output(),
    };
    out.ok()
        .map(|o| {
            let s = String::from_utf8_lossy(&o.stdout).to_string()
                + &String::from_utf8_lossy(&o.stderr);
            s.lines().next().unwrap_or("").trim().to_string()
        })
        .unwrap_or_default()
}

/// Starts target `kind` ("meshrr" or "bird") for sessions from `peers`
/// negotiating `families`, on CPU `cpu` if given.
pub fn start(
    kind: &str,
    meshrr: &Path,
    peers: &[Ipv4Addr],
    families: &[Family],
    cpu: Option<usize>,
    tag: &str,
) -> Result<Target, String> {
    let dir =
        std::env::temp_dir().join(format!("meshrr-bench-{}-{kind}-{tag}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let log = fs::File::create(dir.join("target.log")).map_err(|e| e.to_string())?;
    let log2 = log.try_clone().map_err(|e| e.to_string())?;
    let v6 = families.contains(&Family::IPV6_UNICAST);
    let mut cmd = match kind {
        "meshrr" => {
            let cfg = dir.join("meshrr.yaml");
            let fams = if v6 {
                "[ipv4-unicast, ipv6-unicast]"
            } else {
                "[ipv4-unicast]"
            };
            fs::write(
                &cfg,
                format!(
                    "asn: \"{ASN}\"\nrouter_id: 127.0.0.1\nlisten: [\"127.0.0.1:{PORT}\"]\nadmin: \"127.0.0.1:{}\"\n\
                     families: {fams}\nbgpgroups:\n  - name: CLIENTS\n    type: subtractive\n    prefixes: [127.0.0.0/8]\n",
                    PORT + 1
                ),
            )
            .map_err(|e| e.to_string())?;
            let mut c = Command::new(meshrr);
            c.args(["--config", &cfg.to_string_lossy()])
                .env("RUST_LOG", "warn");
            c
        }
        "bird" => {
            fs::write(dir.join("bird.conf"), bird_config(peers, v6)).map_err(|e| e.to_string())?;
            let mut c = Command::new("bird");
            c.args([
                "-f",
                "-c",
                &dir.join("bird.conf").to_string_lossy(),
                "-s",
                &dir.join("bird.ctl").to_string_lossy(),
            ]);
            c
        }
        other => return Err(format!("unknown target {other} (meshrr or bird)")),
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log2));
    sys::child_setup(&mut cmd, cpu);
    let child = cmd.spawn().map_err(|e| {
        let hint = if kind == "bird" {
            " (apt-get install bird2)"
        } else {
            " (cargo build --release -p meshrr-rr, or --meshrr PATH)"
        };
        format!("cannot start {kind}: {e}{hint}")
    })?;
    Ok(Target { child, dir })
}

/// BIRD as route reflector: every session an `rr client`, passive. BIRD
/// refuses the static device route for 127.0.0.0/8 as bogus ("Ignoring bogus
/// route" in its log), so it holds every route as unreachable (next hops
/// unresolved) and reflects it all the same. `MESHRR_BENCH_BIRD_DEBUG`
/// logs everything (with `MESHRR_BENCH_KEEP` to read it afterwards).
fn bird_config(peers: &[Ipv4Addr], v6: bool) -> String {
    let mut conf = String::from(
        "router id 127.0.0.1;\nlog stderr { warning, error, fatal };\nprotocol device { }\n\
         protocol static { ipv4; route 127.0.0.0/8 via \"lo\"; }\n",
    );
    if std::env::var_os("MESHRR_BENCH_BIRD_DEBUG").is_some() {
        conf = conf.replace("{ warning, error, fatal }", "all") + "debug protocols all;\n";
    }
    let _ = write!(
        conf,
        "template bgp rrc {{ local 127.0.0.1 port {PORT} as {ASN}; rr client; rr cluster id 127.0.0.1; passive on;\n  \
         ipv4 {{ import all; export all; }};\n"
    );
    if v6 {
        conf += "  ipv6 { import all; export all; };\n";
    }
    conf += "}\n";
    for (n, a) in peers.iter().enumerate() {
        let _ = writeln!(
            conf,
            "protocol bgp p{n} from rrc {{ neighbor {a} as {ASN}; }}"
        );
    }
    conf
}
