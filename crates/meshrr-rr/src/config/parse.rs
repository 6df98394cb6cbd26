//! From the YAML tree to a [`Config`]: every field checked, every problem
//! collected with its path.
//!
//! The tree is walked by hand (rather than derived) so that one pass can
//! report all errors, accept strings or integers where meshrr did, and name
//! unknown keys.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
};

use bgp_wire::Family;
use ipnet::IpNet;
use serde_yaml_ng::Value;

use super::{
    default_admin, default_families, default_listen, Config, ConfigError, FieldError, Group,
    GroupKind, LogFormat, Mode, Source, Timers, BGP_PORT, DEFAULT_UPDATE_SECONDS,
    MAX_UPDATE_SECONDS,
};

/// Field name used for problems with the document as a whole.
const DOCUMENT: &str = "(document)";

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

pub(super) fn parse(text: &str, env: Env<'_>) -> Result<Config, ConfigError> {
    let mut root: Value = serde_yaml_ng::from_str(text).map_err(document_error)?;
    root.apply_merge().map_err(document_error)?;
    if root.is_null() {
        // An empty file: every field takes its default (and asn is missing).
        root = Value::Mapping(Default::default());
    }
    let mut p = Parser {
        env,
        errors: Vec::new(),
        group_names: HashMap::new(),
        peers_seen: HashMap::new(),
    };
    let config = p.config(&root);
    match config {
        Some(c) if p.errors.is_empty() => Ok(c),
        _ => {
            if p.errors.is_empty() {
                // Cannot happen: every None comes with an error. Keep the
                // contract (an Err is never empty) regardless.
                p.error(DOCUMENT, "invalid configuration");
            }
            Err(ConfigError { errors: p.errors })
        }
    }
}

fn document_error(e: serde_yaml_ng::Error) -> ConfigError {
    ConfigError {
        errors: vec![FieldError::new(DOCUMENT, e.to_string())],
    }
}

struct Parser<'a> {
    env: Env<'a>,
    errors: Vec<FieldError>,
    /// Group name -> index of the first group with it.
    group_names: HashMap<String, usize>,
    /// Static peer address -> field of its first mention.
    peers_seen: HashMap<IpAddr, String>,
}

/// The keys of one YAML mapping, each to be taken once; what is left over
/// is unknown.
struct Fields<'v> {
    path: String,
    entries: Vec<(String, &'v Value, bool)>,
}

impl<'v> Fields<'v> {
    /// The value of `key`; `None` when absent or null. Marks it as known.
    fn get(&mut self, key: &str) -> Option<&'v Value> {
        let entry = self.entries.iter_mut().find(|(k, _, _)| k == key)?;
        entry.2 = true;
        Some(entry.1).filter(|v| !v.is_null())
    }

    /// Path of `key` inside this mapping.
    fn field(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// Reports every key that was never asked for (once: the keys are
    /// forgotten).
    fn finish(&mut self, p: &mut Parser<'_>) {
        for (key, _, used) in std::mem::take(&mut self.entries) {
            if !used {
                p.error(join(&self.path, &key), "unknown field");
            }
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// How a YAML value is described in type errors.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value (YAML tags are not supported)",
    }
}

impl Parser<'_> {
    fn error(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// `Ok` as `Some`; `Err` recorded against `field`.
    fn check<T>(&mut self, field: &str, r: Result<T, String>) -> Option<T> {
        r.map_err(|m| self.error(field, m)).ok()
    }

    /// An environment variable, trimmed; empty counts as unset.
    fn env(&self, name: &str) -> Option<String> {
        (self.env)(name)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    }

    fn fields<'v>(&mut self, v: &'v Value, path: &str) -> Option<Fields<'v>> {
        let Value::Mapping(m) = v else {
            let at = if path.is_empty() { DOCUMENT } else { path };
            self.error(at, format!("expected a mapping, found {}", kind(v)));
            return None;
        };
        let entries = m
            .iter()
            .map(|(k, v)| {
                let key = match k {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    other => format!("({})", kind(other)),
                };
                (key, v, false)
            })
            .collect();
        Some(Fields {
            path: path.to_owned(),
            entries,
        })
    }

    fn string<'v>(&mut self, v: &'v Value, field: &str) -> Option<&'v str> {
        match v {
            Value::String(s) => Some(s.as_str()),
            other => {
                self.error(field, format!("expected a string, found {}", kind(other)));
                None
            }
        }
    }

    /// A non-empty string, trimmed.
    fn text<'v>(&mut self, v: &'v Value, field: &str) -> Option<&'v str> {
        let s = self.string(v, field)?.trim();
        if s.is_empty() {
            self.error(field, "must not be empty");
            return None;
        }
        Some(s)
    }

    /// A whole number in `min..=max`, written as an integer or as a string
    /// of digits.
    fn uint(&mut self, v: &Value, field: &str, min: u64, max: u64) -> Option<u64> {
        let n = match v {
            Value::Number(n) if n.is_f64() => {
                self.error(field, format!("expected a whole number, found {n}"));
                return None;
            }
            Value::Number(n) => n.as_u64().ok_or(()), // negative
            Value::String(s) => match parse_digits(s.trim()) {
                Some(n) => Ok(n),
                None => {
                    self.error(field, format!("expected a whole number, found \"{s}\""));
                    return None;
                }
            },
            other => {
                self.error(
                    field,
                    format!("expected a whole number, found {}", kind(other)),
                );
                return None;
            }
        };
        match n {
            Ok(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.error(field, format!("must be between {min} and {max}"));
                None
            }
        }
    }

    fn boolean(&mut self, v: &Value, field: &str) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            other => {
                self.error(
                    field,
                    format!("expected true or false, found {}", kind(other)),
                );
                None
            }
        }
    }

    /// A list of strings, or one string standing for a list of one. Each
    /// comes with its own path (`field[i]`, or `field` for a lone string);
    /// elements that are not strings are reported and left out.
    fn strings<'v>(&mut self, v: &'v Value, field: &str) -> Option<Vec<(String, &'v str)>> {
        match v {
            Value::String(s) => Some(vec![(field.to_owned(), s.as_str())]),
            Value::Sequence(seq) => Some(
                seq.iter()
                    .enumerate()
                    .filter_map(|(i, v)| {
                        let at = format!("{field}[{i}]");
                        let s = self.string(v, &at)?;
                        Some((at, s))
                    })
                    .collect(),
            ),
            other => {
                self.error(field, format!("expected a list, found {}", kind(other)));
                None
            }
        }
    }

    /// [`Parser::strings`], each element parsed by `f`, failures reported.
    fn list<T>(
        &mut self,
        v: &Value,
        field: &str,
        mut f: impl FnMut(&str) -> Result<T, String>,
    ) -> Option<Vec<(String, T)>> {
        let items = self.strings(v, field)?;
        Some(
            items
                .into_iter()
                .filter_map(|(at, s)| {
                    let t = self.check(&at, f(s.trim()))?;
                    Some((at, t))
                })
                .collect(),
        )
    }

    fn ipv4(&mut self, v: &Value, field: &str) -> Option<Ipv4Addr> {
        let s = self.string(v, field)?;
        let r = s
            .trim()
            .parse::<Ipv4Addr>()
            .map_err(|_| format!("not an IPv4 address: \"{s}\""));
        self.check(field, r)
    }

    /// The namespace a kubernetes source watches when the config names
    /// none: the pod's own (`POD_NAMESPACE` from the downward API, else the
    /// service account's namespace file), else "default".
    fn own_namespace(&self) -> String {
        self.env("POD_NAMESPACE")
            .or_else(|| {
                std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
                    .ok()
            })
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "default".to_owned())
    }

    fn config(&mut self, root: &Value) -> Option<Config> {
        let mut f = self.fields(root, "")?;
        // cRPD's root password in upstream meshrr files: there is no shell
        // or login here, so it is accepted and ignored (v0.2 files load as
        // they are).
        let _ = f.get("encrypted_root_pw");

        let yaml_asn = f.get("asn");
        let asn = match self.env("AUTONOMOUS_SYSTEM") {
            Some(s) => {
                let r = parse_asn(&s).map_err(|m| format!("{m} (from AUTONOMOUS_SYSTEM)"));
                self.check("asn", r)
            }
            None => match yaml_asn {
                Some(v) => self.asn(v, "asn"),
                None => {
                    self.error("asn", "not set (and AUTONOMOUS_SYSTEM is not set either)");
                    None
                }
            },
        };

        let yaml_mode = f.get("mode");
        let mode = match self.env("MESHRR_MODE") {
            Some(s) => {
                let r = parse_mode(&s).map_err(|m| format!("{m} (from MESHRR_MODE)"));
                self.check("mode", r)
            }
            None => match yaml_mode {
                Some(v) => self
                    .string(v, "mode")
                    .and_then(|s| self.check("mode", parse_mode(s))),
                None => Some(Mode::Ipv4Rr),
            },
        };

        let pod_ip = self.env("POD_IP").and_then(|s| {
            let r = s
                .parse::<IpAddr>()
                .map_err(|_| format!("not an IP address: \"{s}\""));
            self.check("POD_IP", r)
        });

        let router_id = match f.get("router_id") {
            Some(v) => self.ipv4(v, "router_id").and_then(|a| {
                if a.is_unspecified() {
                    self.error("router_id", "must not be 0.0.0.0");
                    None
                } else {
                    Some(a)
                }
            }),
            None => match pod_ip {
                Some(IpAddr::V4(a)) if !a.is_unspecified() => Some(a),
                _ => {
                    self.error("router_id", "not set and POD_IP is not an IPv4 address");
                    None
                }
            },
        };

        let cluster_id = match f.get("cluster_id") {
            Some(v) => self.ipv4(v, "cluster_id"),
            None => router_id,
        };

        // MESHRR_LISTEN and MESHRR_ADMIN override the file, so that a
        // manifest can use the pod's address (`$(POD_IP):179`).
        let yaml_listen = f.get("listen");
        let listen = match (self.env("MESHRR_LISTEN"), yaml_listen) {
            (Some(s), _) => {
                let mut seen = Vec::new();
                let r = s
                    .split(',')
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(|x| listen_item(&mut seen, x))
                    .collect::<Result<Vec<_>, String>>();
                self.check("MESHRR_LISTEN (environment)", r)
            }
            (None, Some(v)) => self.listen(v, "listen"),
            (None, None) => Some(default_listen()),
        };

        let yaml_admin = f.get("admin");
        let admin = match (self.env("MESHRR_ADMIN"), yaml_admin) {
            (Some(s), _) => {
                let r = parse_listen_addr(&s);
                self.check("MESHRR_ADMIN (environment)", r)
            }
            (None, Some(v)) => self.string(v, "admin").and_then(|s| {
                let r = parse_listen_addr(s.trim());
                self.check("admin", r)
            }),
            (None, None) => Some(default_admin()),
        };

        let families = match f.get("families") {
            Some(v) => self.families(v, "families"),
            None => Some(default_families()),
        };

        let timers = match f.get("timers") {
            Some(v) => self.timers(v, "timers"),
            None => Some(Timers::default()),
        };

        let yaml_update = f.get("update_seconds");
        let update_seconds = match self.env("UPDATE_SECONDS") {
            Some(s) => {
                let r = match parse_digits(&s) {
                    Some(n) if (1..=MAX_UPDATE_SECONDS).contains(&n) => Ok(n),
                    _ => Err(format!(
                        "UPDATE_SECONDS=\"{s}\": must be a whole number between 1 and {MAX_UPDATE_SECONDS}"
                    )),
                };
                self.check("update_seconds", r)
            }
            None => match yaml_update {
                Some(v) => self.uint(v, "update_seconds", 1, MAX_UPDATE_SECONDS),
                None => Some(DEFAULT_UPDATE_SECONDS),
            },
        };

        let log_format = match f.get("log") {
            Some(v) => self.log(v, "log"),
            None => Some(LogFormat::Human),
        };

        // Groups need the default cluster id; a placeholder stands in when
        // it is in error (the result is then an error anyway).
        let default_cluster = cluster_id.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let groups = match f.get("bgpgroups") {
            Some(Value::Sequence(seq)) => {
                let mut groups = Some(Vec::with_capacity(seq.len()));
                for (i, g) in seq.iter().enumerate() {
                    let g = self.group(g, i, default_cluster);
                    groups = groups.zip(g).map(|(mut gs, g)| {
                        gs.push(g);
                        gs
                    });
                }
                groups
            }
            Some(other) => {
                self.error(
                    "bgpgroups",
                    format!("expected a list of groups, found {}", kind(other)),
                );
                None
            }
            None => Some(Vec::new()),
        };

        let policies = match f.get("policies") {
            Some(v) => match super::Policies::compile(v) {
                Ok(p) => Some(p),
                Err(errors) => {
                    for e in errors {
                        self.error(e.field, e.message);
                    }
                    None
                }
            },
            None => Some(super::Policies::none()),
        };
        // Every policy a group names must exist.
        if let (Some(p), Some(gs)) = (&policies, &groups) {
            let known: Vec<&str> = p.compiled.names().collect();
            for (i, g) in gs.iter().enumerate() {
                for (key, names) in [("import", &g.import), ("export", &g.export)] {
                    for (j, n) in names.iter().enumerate() {
                        if !known.contains(&n.as_str()) {
                            self.error(
                                format!("bgpgroups[{i}].{key}[{j}]"),
                                format!("unknown policy \"{n}\" (not in policies)"),
                            );
                        }
                    }
                }
            }
        }

        f.finish(self);

        Some(Config {
            asn: asn?,
            mode: mode?,
            router_id: router_id?,
            cluster_id: cluster_id?,
            pod_ip,
            listen: listen?,
            admin: admin?,
            families: families?,
            timers: timers?,
            update_seconds: update_seconds?,
            log_format: log_format?,
            groups: groups?,
            policies: policies?,
        })
    }

    fn asn(&mut self, v: &Value, field: &str) -> Option<u32> {
        let r = match v {
            Value::String(s) => parse_asn(s),
            Value::Number(n) => match (n.as_u64(), n.is_f64()) {
                (Some(n), _) => asn_in_range(n),
                (None, true) => Err(format!(
                    "unquoted {n} is a YAML decimal number, which loses asdot digits (1.10 reads as 1.1): quote it, e.g. \"HIGH.LOW\""
                )),
                (None, false) => Err(format!("must be between 1 and {}", u32::MAX)),
            },
            other => Err(format!(
                "expected an AS number (integer, or string \"65000\" or \"1.10\"), found {}",
                kind(other)
            )),
        };
        self.check(field, r)
    }

    fn listen(&mut self, v: &Value, field: &str) -> Option<Vec<SocketAddr>> {
        let mut seen = Vec::new();
        let items = self.list(v, field, |s| listen_item(&mut seen, s))?;
        Some(items.into_iter().map(|(_, a)| a).collect())
    }

    fn families(&mut self, v: &Value, field: &str) -> Option<Vec<Family>> {
        let mut seen = Vec::new();
        let items = self.list(v, field, |s| {
            let f = s
                .to_ascii_lowercase()
                .parse::<Family>()
                .ok()
                .filter(|f| f.is_ip_unicast())
                .ok_or_else(|| {
                    format!("unsupported family \"{s}\" (expected ipv4-unicast or ipv6-unicast)")
                })?;
            if seen.contains(&f) {
                return Err(format!("{f} is listed twice"));
            }
            seen.push(f);
            Ok(f)
        })?;
        if matches!(v, Value::Sequence(s) if s.is_empty()) {
            self.error(field, "at least one family is needed");
            return None;
        }
        Some(items.into_iter().map(|(_, f)| f).collect())
    }

    fn timers(&mut self, v: &Value, path: &str) -> Option<Timers> {
        let mut f = self.fields(v, path)?;
        let mut ok = true;
        let hold_time = match f.get("hold_time") {
            Some(v) => {
                let at = f.field("hold_time");
                match self.uint(v, &at, 0, u16::MAX.into()) {
                    Some(h @ (1 | 2)) => {
                        self.error(at, format!("{h}: must be 0 (no hold timer) or at least 3"));
                        None
                    }
                    h => h,
                }
            }
            None => Some(Timers::default().hold_time.into()),
        };
        let keepalive = match f.get("keepalive") {
            Some(v) => self.uint(v, &f.field("keepalive"), 0, u16::MAX.into()),
            None => hold_time.map(|h| h / 3),
        };
        let connect_retry = match f.get("connect_retry") {
            Some(v) => self.uint(v, &f.field("connect_retry"), 1, u16::MAX.into()),
            None => Some(Timers::default().connect_retry.into()),
        };
        if let (Some(h), Some(k)) = (hold_time, keepalive) {
            if h == 0 && k != 0 {
                self.error(
                    f.field("keepalive"),
                    "must be 0 when hold_time is 0 (no keepalives without a hold timer)",
                );
                ok = false;
            } else if h != 0 && k == 0 {
                self.error(
                    f.field("keepalive"),
                    format!("must be at least 1 when hold_time is {h}"),
                );
                ok = false;
            } else if h != 0 && k >= h {
                self.error(
                    f.field("keepalive"),
                    format!("{k}: must be less than hold_time ({h})"),
                );
                ok = false;
            }
        }
        f.finish(self);
        let to16 = |n: u64| u16::try_from(n).ok();
        Some(Timers {
            hold_time: hold_time.and_then(to16)?,
            keepalive: keepalive.and_then(to16)?,
            connect_retry: connect_retry.and_then(to16)?,
        })
        .filter(|_| ok)
    }

    fn log(&mut self, v: &Value, path: &str) -> Option<LogFormat> {
        let mut f = self.fields(v, path)?;
        let format = match f.get("format") {
            Some(v) => {
                let at = f.field("format");
                self.string(v, &at).and_then(|s| {
                    let r = match s.trim().to_ascii_lowercase().as_str() {
                        "human" => Ok(LogFormat::Human),
                        "json" => Ok(LogFormat::Json),
                        _ => Err(format!("unknown format \"{s}\" (expected human or json)")),
                    };
                    self.check(&at, r)
                })
            }
            None => Some(LogFormat::Human),
        };
        f.finish(self);
        format
    }

    fn group(&mut self, v: &Value, index: usize, default_cluster: Ipv4Addr) -> Option<Group> {
        let path = format!("bgpgroups[{index}]");
        let mut f = self.fields(v, &path)?;

        let name = match f.get("name") {
            Some(v) => {
                let at = f.field("name");
                self.text(v, &at).and_then(|name| {
                    if let Some(first) = self.group_names.get(name) {
                        let msg = format!(
                            "duplicate group name \"{name}\" (first used by bgpgroups[{first}])"
                        );
                        self.error(at, msg);
                        None
                    } else {
                        self.group_names.insert(name.to_owned(), index);
                        Some(name.to_owned())
                    }
                })
            }
            None => {
                self.error(f.field("name"), "not set (every group needs a name)");
                None
            }
        };

        #[derive(Clone, Copy, PartialEq)]
        enum Type {
            Mesh,
            Subtractive,
        }
        let ty = match f.get("type") {
            Some(v) => {
                let at = f.field("type");
                self.string(v, &at).and_then(|s| {
                    let r = match s.trim().to_ascii_lowercase().as_str() {
                        "mesh" => Ok(Type::Mesh),
                        "subtractive" => Ok(Type::Subtractive),
                        _ => Err(format!(
                            "unknown type \"{s}\" (expected mesh or subtractive)"
                        )),
                    };
                    self.check(&at, r)
                })
            }
            None => {
                self.error(f.field("type"), "not set (mesh or subtractive)");
                None
            }
        };

        // route-server mode only: accepted and ignored in ipv4rr.
        let _ = f.get("asranges");

        let import = match f.get("import") {
            Some(v) => self.policy_names(v, &f.field("import")),
            None => Some(Vec::new()),
        };
        let export = match f.get("export") {
            Some(v) => self.policy_names(v, &f.field("export")),
            None => Some(Vec::new()),
        };

        // Every key is read whatever the type, so that its errors are
        // reported even when the type is wrong; keys of the other type are
        // then errors themselves.
        let source = f.get("source").map(|v| self.source(v, &f.field("source")));
        let max_peers = f.get("max_peers").map(|v| {
            self.uint(v, &f.field("max_peers"), 1, usize::MAX as u64)
                .map(|n| n as usize)
        });
        let replace_after = f
            .get("replace_after")
            .map(|v| self.uint(v, &f.field("replace_after"), 1, 86_400));
        let prefixes = f
            .get("prefixes")
            .map(|v| self.prefixes(v, &f.field("prefixes")));
        let cluster_id = f
            .get("cluster_id")
            .map(|v| self.ipv4(v, &f.field("cluster_id")));
        let client_to_client = f
            .get("client_to_client")
            .map(|v| self.boolean(v, &f.field("client_to_client")));

        f.finish(self);

        let misplaced = |p: &mut Self, present: bool, key: &str, owner: &str| {
            if present {
                p.error(f.field(key), format!("only for {owner} groups"));
            }
        };
        let group_kind = match ty? {
            Type::Mesh => {
                misplaced(self, prefixes.is_some(), "prefixes", "subtractive");
                misplaced(self, cluster_id.is_some(), "cluster_id", "subtractive");
                misplaced(
                    self,
                    client_to_client.is_some(),
                    "client_to_client",
                    "subtractive",
                );
                let source = match source {
                    Some(s) => s,
                    None => {
                        self.error(f.field("source"), "not set (a mesh group needs a source)");
                        None
                    }
                };
                GroupKind::Mesh {
                    source: source?,
                    max_peers: present(max_peers)?,
                    replace_after: present(replace_after)?.unwrap_or(60),
                }
            }
            Type::Subtractive => {
                misplaced(self, source.is_some(), "source", "mesh");
                misplaced(self, max_peers.is_some(), "max_peers", "mesh");
                misplaced(self, replace_after.is_some(), "replace_after", "mesh");
                let prefixes = match prefixes {
                    Some(p) => p,
                    None => {
                        self.error(
                            f.field("prefixes"),
                            "not set (a subtractive group needs prefixes)",
                        );
                        None
                    }
                };
                GroupKind::Subtractive {
                    prefixes: prefixes?,
                    cluster_id: present(cluster_id)?.unwrap_or(default_cluster),
                    client_to_client: present(client_to_client)?.unwrap_or(true),
                }
            }
        };
        Some(Group {
            name: name?,
            kind: group_kind,
            import: import?,
            export: export?,
        })
    }

    fn policy_names(&mut self, v: &Value, field: &str) -> Option<Vec<String>> {
        let items = self.list(v, field, |s| {
            if s.is_empty() {
                Err("empty policy name".to_owned())
            } else {
                Ok(s.to_owned())
            }
        })?;
        Some(items.into_iter().map(|(_, s)| s).collect())
    }

    fn prefixes(&mut self, v: &Value, field: &str) -> Option<Vec<IpNet>> {
        let items = self.list(v, field, parse_prefix)?;
        if items.is_empty() && matches!(v, Value::Sequence(s) if s.is_empty()) {
            self.error(field, "must not be empty");
            return None;
        }
        Some(items.into_iter().map(|(_, p)| p).collect())
    }

    fn source(&mut self, v: &Value, path: &str) -> Option<Source> {
        let mut f = self.fields(v, path)?;

        #[derive(Clone, Copy, PartialEq)]
        enum Type {
            Dns,
            Kubernetes,
            Static,
        }
        let ty = match f.get("sourcetype") {
            Some(v) => {
                let at = f.field("sourcetype");
                self.string(v, &at).and_then(|s| {
                    let r = match s.trim().to_ascii_lowercase().as_str() {
                        "dns" => Ok(Type::Dns),
                        "kubernetes" => Ok(Type::Kubernetes),
                        "static" => Ok(Type::Static),
                        _ => Err(format!(
                            "unknown sourcetype \"{s}\" (expected dns, kubernetes or static)"
                        )),
                    };
                    self.check(&at, r)
                })
            }
            None => {
                self.error(f.field("sourcetype"), "not set (dns, kubernetes or static)");
                None
            }
        };
        let port = match f.get("port") {
            Some(v) => self
                .uint(v, &f.field("port"), 1, u16::MAX.into())
                .map(|n| n as u16),
            None => Some(BGP_PORT),
        };
        let hostname = f.get("hostname").map(|v| {
            let at = f.field("hostname");
            self.text(v, &at)
                .and_then(|s| self.check(&at, check_hostname(s)).map(|()| s.to_owned()))
        });
        let service = f.get("service").map(|v| {
            let at = f.field("service");
            self.text(v, &at)
                .and_then(|s| self.check(&at, check_k8s_name(s)).map(|()| s.to_owned()))
        });
        let namespace = f.get("namespace").map(|v| {
            let at = f.field("namespace");
            self.text(v, &at)
                .and_then(|s| self.check(&at, check_k8s_name(s)).map(|()| s.to_owned()))
        });
        let peers = f.get("peers").map(|v| (v, f.field("peers")));
        f.finish(self);

        let unused = |p: &mut Self, present: bool, key: &str, ty: &str| {
            if present {
                p.error(f.field(key), format!("not used with sourcetype {ty}"));
            }
        };
        let source = match ty? {
            Type::Dns => {
                unused(self, service.is_some(), "service", "dns");
                unused(self, namespace.is_some(), "namespace", "dns");
                unused(self, peers.is_some(), "peers", "dns");
                let hostname = hostname.unwrap_or_else(|| {
                    self.error(
                        f.field("hostname"),
                        "not set (sourcetype dns needs a hostname)",
                    );
                    None
                });
                Source::Dns {
                    hostname: hostname?,
                    port: port?,
                }
            }
            Type::Kubernetes => {
                unused(self, hostname.is_some(), "hostname", "kubernetes");
                unused(self, peers.is_some(), "peers", "kubernetes");
                let service = service.unwrap_or_else(|| {
                    self.error(
                        f.field("service"),
                        "not set (sourcetype kubernetes needs a service)",
                    );
                    None
                });
                Source::Kubernetes {
                    service: service?,
                    namespace: namespace.unwrap_or_else(|| Some(self.own_namespace()))?,
                    port: port?,
                }
            }
            Type::Static => {
                unused(self, hostname.is_some(), "hostname", "static");
                unused(self, service.is_some(), "service", "static");
                unused(self, namespace.is_some(), "namespace", "static");
                let peers = match peers {
                    Some((v, at)) => self.static_peers(v, &at, port?),
                    None => {
                        self.error(f.field("peers"), "not set (sourcetype static needs peers)");
                        None
                    }
                };
                Source::Static { peers: peers? }
            }
        };
        Some(source)
    }

    fn static_peers(&mut self, v: &Value, field: &str, port: u16) -> Option<Vec<SocketAddr>> {
        let items = self.strings(v, field)?;
        if items.is_empty() && matches!(v, Value::Sequence(s) if s.is_empty()) {
            self.error(field, "must not be empty");
            return None;
        }
        let mut out = Vec::with_capacity(items.len());
        for (at, s) in items {
            let Some(a) = self.check(&at, parse_peer(s.trim(), port)) else {
                continue;
            };
            if let Some(first) = self.peers_seen.get(&a.ip()) {
                let msg = format!("peer {} is already listed at {first}", a.ip());
                self.error(at, msg);
            } else {
                self.peers_seen.insert(a.ip(), at);
                out.push(a);
            }
        }
        Some(out)
    }
}

/// An optional field: `None` when absent; `Some(None)` when present but in
/// error. Turns that into `Some(None)` when absent, `None` when in error.
fn present<T>(field: Option<Option<T>>) -> Option<Option<T>> {
    match field {
        None => Some(None),
        Some(None) => None,
        Some(Some(v)) => Some(Some(v)),
    }
}

/// Digits only (no sign, no spaces), as u64.
fn parse_digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn asn_in_range(n: u64) -> Result<u32, String> {
    match u32::try_from(n) {
        Ok(0) | Err(_) => Err(format!("{n}: must be between 1 and {}", u32::MAX)),
        Ok(23456) => Err("23456 is AS_TRANS (RFC 6793), not a real AS number".to_owned()),
        Ok(n) => Ok(n),
    }
}

/// `65000`, `4200000000`, or asdot `HIGH.LOW` (each part 0..=65535).
fn parse_asn(s: &str) -> Result<u32, String> {
    let s = s.trim();
    if let Some((hi, lo)) = s.split_once('.') {
        let part = |p: &str| parse_digits(p).filter(|&n| n <= 0xffff);
        match (part(hi), part(lo)) {
            (Some(hi), Some(lo)) => asn_in_range((hi << 16) | lo),
            _ => Err(format!(
                "malformed asdot \"{s}\" (expected HIGH.LOW, each 0 to 65535)"
            )),
        }
    } else {
        match parse_digits(s) {
            Some(n) => asn_in_range(n),
            None if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                Err(format!("{s}: must be between 1 and {}", u32::MAX))
            }
            None => Err(format!("not an AS number: \"{s}\"")),
        }
    }
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "ipv4rr" => Ok(Mode::Ipv4Rr),
        "evpnrs" => Err("evpnrs (EVPN route server) is not supported yet".to_owned()),
        _ => Err(format!("unknown mode \"{s}\" (expected ipv4rr)")),
    }
}

/// `ADDR:PORT` or `[V6]:PORT`, port not 0.
fn parse_listen_addr(s: &str) -> Result<SocketAddr, String> {
    match s.parse::<SocketAddr>() {
        Ok(a) if a.port() == 0 => Err(format!("\"{s}\": port must not be 0")),
        Ok(a) => Ok(a),
        Err(_) => Err(format!(
            "not a socket address: \"{s}\" (expected ADDR:PORT or [V6]:PORT)"
        )),
    }
}

/// `ADDR`, `[V6]`, `ADDR:PORT` or `[V6]:PORT`; `port` when none is given.
fn parse_peer(s: &str, port: u16) -> Result<SocketAddr, String> {
    let bare = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .map(|r| r.parse::<Ipv6Addr>().map(IpAddr::V6))
        .unwrap_or_else(|| s.parse::<IpAddr>());
    let a = match (bare, s.parse::<SocketAddr>()) {
        (Ok(ip), _) => SocketAddr::new(ip, port),
        (_, Ok(a)) => a,
        _ => {
            return Err(format!(
                "not a peer address: \"{s}\" (expected ADDR, ADDR:PORT or [V6]:PORT)"
            ))
        }
    };
    if a.port() == 0 {
        return Err(format!("\"{s}\": port must not be 0"));
    }
    if a.ip().is_unspecified() || a.ip().is_multicast() {
        return Err(format!("\"{s}\": {} cannot be a peer", a.ip()));
    }
    Ok(a)
}

/// `ADDR/LEN` with no host bits set, or a bare address (a host prefix).
fn parse_prefix(s: &str) -> Result<IpNet, String> {
    let net = match (s.parse::<IpNet>(), s.parse::<IpAddr>()) {
        (Ok(n), _) => n,
        (_, Ok(a)) => IpNet::from(a),
        _ => return Err(format!("not a prefix: \"{s}\" (expected ADDR/LEN)")),
    };
    if net.trunc() != net {
        return Err(format!(
            "\"{s}\" has host bits set (did you mean {}?)",
            net.trunc()
        ));
    }
    Ok(net)
}

/// A DNS name: labels of letters, digits, `-` and `_`, 1 to 63 long, not
/// starting or ending with `-`; 253 characters at most; a final dot allowed.
fn check_hostname(s: &str) -> Result<(), String> {
    let name = s.strip_suffix('.').unwrap_or(s);
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if name.len() <= 253 && name.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(format!("not a valid DNS name: \"{s}\""))
    }
}

/// A Kubernetes object name (RFC 1123 label): lower-case letters, digits
/// and `-`, 1 to 63 long, starting and ending with a letter or digit.
fn check_k8s_name(s: &str) -> Result<(), String> {
    let ok = (1..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "not a valid Kubernetes name: \"{s}\" (lower-case letters, digits and '-', at most 63)"
        ))
    }
}

/// One listen address, refused if `seen` has it already.
fn listen_item(seen: &mut Vec<SocketAddr>, s: &str) -> Result<SocketAddr, String> {
    let a = parse_listen_addr(s)?;
    if seen.contains(&a) {
        return Err(format!("{a} is listed twice"));
    }
    seen.push(a);
    Ok(a)
}
