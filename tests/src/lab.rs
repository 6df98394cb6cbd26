//! A lab of hosts with their own addresses: network namespaces on a bridge
//! (see the interop recipe in the shared notes), with BIRD 2, FRR bgpd and
//! meshrr-rr started inside them. Everything is torn down on drop. Needs
//! root; fails loudly when a tool is missing.

use std::{
    fs,
    net::IpAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    thread::sleep,
    time::{Duration, Instant},
};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A host in the lab.
#[derive(Debug, Clone)]
pub struct Host {
    /// Namespace name.
    pub ns: String,
    /// IPv4 address.
    pub v4: IpAddr,
    /// IPv6 address.
    pub v6: IpAddr,
}

/// The lab: namespaces, processes, a scratch directory.
#[derive(Debug)]
pub struct Lab {
    prefix: String,
    /// Scratch directory for configs and sockets.
    pub dir: PathBuf,
    hosts: Vec<Host>,
    children: Vec<(String, Child)>,
    pidfiles: Vec<PathBuf>,
}

/// Runs `cmd`; panics with its output unless it succeeds.
pub fn must(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Fails the test unless `tool` is installed (scripts/install-deps.sh
/// installs them).
pub fn require(tool: &str) {
    let found = Path::new(tool).is_absolute() && Path::new(tool).exists()
        || Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .output()
            .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "{tool} is not installed: run scripts/install-deps.sh (as root)"
    );
}

impl Lab {
    /// Hosts `names` on one bridge, numbered 1.. in `10.<net>.0.0/24` and
    /// `fd00:<net>::/64`.
    pub fn new(net: u8, names: &[&str]) -> Lab {
        for t in ["ip", "bird", "birdc", "/usr/lib/frr/bgpd", "vtysh"] {
            require(t);
        }
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("m{}{n}", std::process::id() % 10000);
        let dir = std::env::temp_dir().join(format!("meshrr-lab-{prefix}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("lab dir");
        let mut lab = Lab {
            prefix: prefix.clone(),
            dir,
            hosts: Vec::new(),
            children: Vec::new(),
            pidfiles: Vec::new(),
        };
        let sw = format!("{prefix}sw");
        must(Command::new("ip").args(["netns", "add", &sw]));
        must(Command::new("ip").args(["-n", &sw, "link", "add", "br0", "type", "bridge"]));
        must(Command::new("ip").args(["-n", &sw, "link", "set", "br0", "up"]));
        for (i, name) in names.iter().enumerate() {
            let v4: IpAddr = format!("10.{net}.0.{}", i + 1).parse().expect("v4");
            let v6: IpAddr = format!("fd00:{net}::{}", i + 1).parse().expect("v6");
            let veth = lab.add_host(name, v4, 24, v6);
            must(Command::new("ip").args(["link", "set", &veth, "netns", &sw]));
            must(Command::new("ip").args(["-n", &sw, "link", "set", &veth, "master", "br0", "up"]));
        }
        lab
    }

    /// Adds host `name` at `v4/len` on `bridge`, a bridge of the root
    /// namespace that something else made (a Docker network's bridge, so
    /// that routers in namespaces talk to containers). Its IPv6 address is
    /// unspecified.
    pub fn attach(&mut self, name: &str, bridge: &str, v4: std::net::Ipv4Addr, len: u8) -> Host {
        let v6 = IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED);
        let veth = self.add_host(name, IpAddr::V4(v4), len, v6);
        must(Command::new("ip").args(["link", "set", &veth, "master", bridge, "up"]));
        self.hosts.last().cloned().expect("host just added")
    }

    /// Creates host `name`'s namespace with `eth0` at `v4/len` (and `v6/64`
    /// unless unspecified), up; returns the name of the other end of its
    /// veth pair, left in the root namespace for the caller to plug in.
    fn add_host(&mut self, name: &str, v4: IpAddr, len: u8, v6: IpAddr) -> String {
        let ns = format!("{}{name}", self.prefix);
        let veth = format!("v{}{}", self.prefix, self.hosts.len());
        must(Command::new("ip").args(["netns", "add", &ns]));
        self.hosts.push(Host {
            ns: ns.clone(),
            v4,
            v6,
        });
        must(Command::new("ip").args([
            "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
        ]));
        let v4 = format!("{v4}/{len}");
        must(Command::new("ip").args(["-n", &ns, "addr", "add", &v4, "dev", "eth0"]));
        if !v6.is_unspecified() {
            let v6 = format!("{v6}/64");
            must(Command::new("ip").args(["-n", &ns, "addr", "add", &v6, "dev", "eth0", "nodad"]));
        }
        must(Command::new("ip").args(["-n", &ns, "link", "set", "eth0", "up"]));
        must(Command::new("ip").args(["-n", &ns, "link", "set", "lo", "up"]));
        veth
    }

    /// Writes `/etc/netns/NS/resolv.conf` for host `name`, which
    /// `ip netns exec` mounts over `/etc/resolv.conf` for what runs there.
    pub fn resolv_conf(&self, name: &str, text: &str) {
        let dir = Path::new("/etc/netns").join(&self.host(name).ns);
        fs::create_dir_all(&dir).expect("/etc/netns dir");
        fs::write(dir.join("resolv.conf"), text).expect("resolv.conf");
    }

    /// The host named `name`.
    pub fn host(&self, name: &str) -> &Host {
        let ns = format!("{}{name}", self.prefix);
        self.hosts
            .iter()
            .find(|h| h.ns == ns)
            .unwrap_or_else(|| panic!("no host {name}"))
    }

    /// A command run inside host `name`.
    pub fn cmd(&self, name: &str, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.host(name).ns, program]);
        c
    }

    /// Starts a long-running process in host `name`, logging to a file.
    pub fn spawn(&mut self, name: &str, tag: &str, program: &str, args: &[&str]) -> PathBuf {
        let log = self.dir.join(format!("{tag}.log"));
        let f = fs::File::create(&log).expect("log file");
        let child = self
            .cmd(name, program)
            .args(args)
            .stdout(Stdio::from(f.try_clone().expect("dup")))
            .stderr(Stdio::from(f))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        self.children.push((tag.to_string(), child));
        log
    }

    /// Sends SIGTERM to the process started as `tag` and waits for it.
    pub fn stop(&mut self, tag: &str) -> Option<std::process::ExitStatus> {
        let i = self.children.iter().position(|(t, _)| t == tag)?;
        let (_, mut c) = self.children.remove(i);
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(st)) = c.try_wait() {
                return Some(st);
            }
            sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        c.wait().ok()
    }

    /// Starts BIRD in host `name` with `conf`; returns its control socket.
    pub fn bird(&mut self, name: &str, conf: &str) -> PathBuf {
        let cfg = self.dir.join(format!("bird-{name}.conf"));
        let ctl = self.dir.join(format!("bird-{name}.ctl"));
        let pid = self.dir.join(format!("bird-{name}.pid"));
        fs::write(&cfg, conf).expect("bird conf");
        let (c, s, p) = (
            cfg.to_string_lossy(),
            ctl.to_string_lossy(),
            pid.to_string_lossy(),
        );
        must(self.cmd(name, "bird").args(["-c", &c, "-s", &s, "-P", &p]));
        self.pidfiles.push(pid);
        ctl
    }

    /// `birdc` output for a command.
    pub fn birdc(&self, name: &str, ctl: &Path, command: &str) -> String {
        let out = self
            .cmd(name, "birdc")
            .arg("-s")
            .arg(ctl)
            .args(command.split_whitespace())
            .output()
            .expect("birdc");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts FRR bgpd (without zebra) in host `name`; returns its vty dir.
    pub fn frr(&mut self, name: &str, conf: &str) -> PathBuf {
        let dir = self.dir.join(format!("frr-{name}"));
        fs::create_dir_all(&dir).expect("frr dir");
        let cfg = dir.join("bgpd.conf");
        let pid = dir.join("bgpd.pid");
        fs::write(&cfg, conf).expect("frr conf");
        let d = dir.to_string_lossy().into_owned();
        must(self.cmd(name, "/usr/lib/frr/bgpd").args([
            "-d",
            "-Z",
            "-S",
            "-f",
            &cfg.to_string_lossy(),
            "-i",
            &pid.to_string_lossy(),
            "--vty_socket",
            &d,
            "-z",
            &format!("{d}/zserv.api"),
            "--log",
            &format!("file:{d}/bgpd.log"),
        ]));
        self.pidfiles.push(pid);
        dir
    }

    /// `vtysh -c` output.
    pub fn vtysh(&self, name: &str, vty: &Path, commands: &[&str]) -> String {
        let mut c = self.cmd(name, "vtysh");
        c.arg("--vty_socket").arg(vty);
        for cmd in commands {
            c.args(["-c", cmd]);
        }
        let out = c.output().expect("vtysh");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Kills the FRR or BIRD whose pid file is `pid`.
    pub fn kill_pidfile(&self, pid: &Path) {
        if let Ok(p) = fs::read_to_string(pid) {
            let _ = Command::new("kill").arg("-KILL").arg(p.trim()).status();
        }
    }

    /// Runs `f` until it returns `Some` or `secs` pass; panics with `what`
    /// and the lab's logs otherwise.
    pub fn wait<T>(&self, secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(v) = f() {
                return v;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out after {secs}s waiting for {what}\n{}",
                    self.logs()
                );
            }
            sleep(Duration::from_millis(200));
        }
    }

    /// Starts meshrr-rr (`bin`) in `host` with the config `yaml` and extra
    /// environment, after `meshrr-rr check` accepted the config.
    pub fn meshrr(&mut self, bin: &str, host: &str, yaml: &str, env: &[(&str, &str)]) {
        let cfg = self.dir.join(format!("meshrr-{host}.yaml"));
        fs::write(&cfg, yaml).expect("config");
        let cfg = cfg.to_string_lossy().into_owned();
        let mut check = self.cmd(host, "env");
        check
            .args(env.iter().map(|(k, v)| format!("{k}={v}")))
            .args([bin, "check", "--config", &cfg]);
        let out = check.output().expect("meshrr-rr check");
        assert!(
            out.status.success(),
            "config refused: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut args: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        args.extend([bin.to_string(), "--config".into(), cfg]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.spawn(host, &format!("meshrr-{host}"), "env", &args);
    }

    /// `meshrr-rr show WHAT --json` inside `host` (Null when unreachable).
    pub fn show(&self, bin: &str, host: &str, what: &[&str]) -> serde_json::Value {
        let out = self
            .cmd(host, bin)
            .arg("show")
            .args(what)
            .arg("--json")
            .output()
            .expect("show");
        serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
    }

    /// A raw GET to the admin API (127.0.0.1:9179) inside `host`, for what
    /// the CLI does not show (/metrics).
    pub fn admin_get(&self, host: &str, path: &str) -> String {
        let mut c = self.cmd(host, "bash");
        c.arg("-c").arg(format!(
            "exec 3<>/dev/tcp/127.0.0.1/9179; printf 'GET {path} HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' >&3; cat <&3"
        ));
        String::from_utf8_lossy(&c.output().expect("bash").stdout).into_owned()
    }

    /// Every log file of the lab, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for e in fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "log") {
                let text = fs::read_to_string(&p).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(40).collect();
                out += &format!(
                    "--- {}\n{}\n",
                    p.display(),
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
        }
        out
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, c) in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for p in &self.pidfiles {
            self.kill_pidfile(p);
        }
        sleep(Duration::from_millis(200));
        for h in &self.hosts {
            let _ = Command::new("ip").args(["netns", "del", &h.ns]).status();
            let _ = fs::remove_dir_all(Path::new("/etc/netns").join(&h.ns));
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &format!("{}sw", self.prefix)])
            .status();
        if std::env::var_os("MESHRR_KEEP_LAB").is_none() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
