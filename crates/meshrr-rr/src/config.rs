//! The daemon's configuration: the original meshrr v0.2 YAML file, plus
//! extensions, checked as a whole.
//!
//! ```yaml
//! asn: "65000"              # string or integer; asdot "1.10" = 1*65536+10
//! mode: ipv4rr              # evpnrs is rejected for now
//! bgpgroups:
//!   - name: MESHRR-MESH
//!     type: mesh            # mesh | subtractive, any case
//!     source: {sourcetype: dns, hostname: meshrr}
//!     max_peers: 2          # optional
//!   - name: MESHRR-CLIENTS
//!     type: subtractive
//!     prefixes: [0.0.0.0/0]
//!     asranges: [65001-65535]   # accepted and ignored in ipv4rr mode
//! # extensions, all optional:
//! router_id: 10.0.0.1       # default: POD_IP
//! cluster_id: 10.0.0.1      # default: router_id
//! listen: ["0.0.0.0:179", "[::]:179"]
//! admin: 127.0.0.1:9179
//! families: [ipv4-unicast, ipv6-unicast]
//! timers: {hold_time: 90, keepalive: 30, connect_retry: 30}
//! update_seconds: 5
//! log: {format: human}      # human | json
//! ```
//!
//! Group extensions: `import`/`export` (policy names, a list or one
//! string), for mesh groups the source types `kubernetes` (`service`,
//! `namespace`) and `static` (`peers`) and a `port` on any source, for
//! subtractive groups `cluster_id` and `client_to_client`.
//!
//! Environment overrides (an empty value counts as unset): `AUTONOMOUS_SYSTEM`
//! replaces `asn`, `MESHRR_MODE` replaces `mode`, `UPDATE_SECONDS` replaces
//! `update_seconds`; the file's value is then not looked at. `POD_IP` is the
//! pod's own address: the default router id and cluster id, and never a peer.
//!
//! Every problem is reported, each with the path of the field it concerns
//! (`bgpgroups[1].prefixes[0]`); unknown keys are errors.

mod parse;
mod subtract;
#[cfg(test)]
mod tests;

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    path::Path,
};

use bgp_wire::Family;
use ipnet::IpNet;

pub use subtract::subtract;

/// The BGP port, the default for every peer and listener.
pub const BGP_PORT: u16 = 179;

/// The whole daemon configuration, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Our AS number (`asn`, or env `AUTONOMOUS_SYSTEM`).
    pub asn: u32,
    /// What the daemon is (`mode`, or env `MESHRR_MODE`).
    pub mode: Mode,
    /// BGP identifier (`router_id`; default env `POD_IP`).
    pub router_id: Ipv4Addr,
    /// Cluster id of the subtractive groups that do not set their own
    /// (`cluster_id`; default `router_id`).
    pub cluster_id: Ipv4Addr,
    /// The pod's own address (env `POD_IP`): never a peer.
    pub pod_ip: Option<IpAddr>,
    /// Addresses to accept BGP connections on (`listen`).
    pub listen: Vec<SocketAddr>,
    /// Address of the admin/metrics HTTP endpoint (`admin`).
    pub admin: SocketAddr,
    /// Address families to negotiate (`families`), each IPv4 or IPv6 unicast.
    pub families: Vec<Family>,
    /// Session timers (`timers`).
    pub timers: Timers,
    /// Seconds between discovery rounds (`update_seconds`, or env
    /// `UPDATE_SECONDS`); 1 to 86400.
    pub update_seconds: u64,
    /// Log output format (`log.format`).
    pub log_format: LogFormat,
    /// Peer groups (`bgpgroups`), in file order; names are unique.
    pub groups: Vec<Group>,
    /// The routing policies (`policies`), checked; groups name them in
    /// `import` and `export`.
    pub policies: Policies,
}

/// Compiled policies, compared by their source text.
#[derive(Debug, Clone)]
pub struct Policies {
    /// The compiled policies.
    pub compiled: std::sync::Arc<policy::Policies>,
    source: Option<serde_yaml_ng::Value>,
}

impl Policies {
    /// No policies.
    pub fn none() -> Self {
        let empty = serde_yaml_ng::Value::Mapping(Default::default());
        let compiled = policy::Policies::from_yaml(&empty)
            .unwrap_or_else(|_| unreachable!("an empty map is valid"));
        Policies {
            compiled: std::sync::Arc::new(compiled),
            source: None,
        }
    }

    /// Compiles the `policies` value; errors name their fields.
    pub fn compile(v: &serde_yaml_ng::Value) -> Result<Self, Vec<policy::PolicyError>> {
        let compiled = policy::Policies::from_yaml(v)?;
        Ok(Policies {
            compiled: std::sync::Arc::new(compiled),
            source: Some(v.clone()),
        })
    }
}

impl PartialEq for Policies {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for Policies {}

/// What the daemon does (`mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// `ipv4rr`: an iBGP route reflector.
    #[default]
    Ipv4Rr,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Ipv4Rr => f.write_str("ipv4rr"),
        }
    }
}

/// Log output format (`log.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LogFormat {
    /// `human`: plain text lines.
    #[default]
    Human,
    /// `json`: one JSON object per line.
    Json,
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogFormat::Human => f.write_str("human"),
            LogFormat::Json => f.write_str("json"),
        }
    }
}

/// Session timers, in seconds (`timers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timers {
    /// Hold time we offer in OPEN: 0 (none) or at least 3. Default 90.
    pub hold_time: u16,
    /// Keepalive interval: less than `hold_time`, and 0 only when
    /// `hold_time` is 0. Default `hold_time / 3` (30).
    pub keepalive: u16,
    /// Seconds between outgoing connection attempts, at least 1. Default 30.
    pub connect_retry: u16,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            hold_time: 90,
            keepalive: 30,
            connect_retry: 30,
        }
    }
}

/// One entry of `bgpgroups`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// `name`: unique across groups.
    pub name: String,
    /// `type` and what goes with it.
    pub kind: GroupKind,
    /// `import`: policy names applied to routes received from this group.
    pub import: Vec<String>,
    /// `export`: policy names applied to routes sent to this group.
    pub export: Vec<String>,
}

/// What a group is (`type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupKind {
    /// `type: mesh` (case-insensitive): non-client iBGP peers found by `source`.
    Mesh {
        /// Where the peers come from (`source`).
        source: Source,
        /// At most this many peers (`max_peers`, at least 1); `None`: all.
        max_peers: Option<usize>,
        /// With `max_peers`: a member whose session has not been
        /// Established for this many seconds gives its slot to another
        /// candidate (`replace_after`, default 60).
        replace_after: u64,
    },
    /// `type: subtractive`: clients accepted from `prefixes` minus every
    /// explicit peer of every mesh group.
    Subtractive {
        /// Address ranges clients may connect from (`prefixes`), as written.
        prefixes: Vec<IpNet>,
        /// Cluster id towards these clients (`cluster_id`; default
        /// [`Config::cluster_id`]).
        cluster_id: Ipv4Addr,
        /// Reflect routes between clients of this group
        /// (`client_to_client`, default true).
        client_to_client: bool,
    },
}

/// Where a mesh group's peers come from (`source`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `sourcetype: dns`: the A records of `hostname`; `port` default 179.
    Dns {
        /// Name to resolve (a short name uses the resolver's search path).
        hostname: String,
        /// TCP port of the peers.
        port: u16,
    },
    /// `sourcetype: kubernetes`: the ready endpoints of `service` in
    /// `namespace` (default: the pod's own, from `POD_NAMESPACE` or the
    /// service account, else "default"); `port` default 179.
    Kubernetes {
        /// Service name.
        service: String,
        /// Namespace of the service.
        namespace: String,
        /// TCP port of the peers.
        port: u16,
    },
    /// `sourcetype: static`: a fixed list, `peers: ["10.0.0.2",
    /// "10.0.0.3:1179", "[fd00::1]:179"]`; a peer without a port gets the
    /// source's `port` (default 179).
    Static {
        /// The peers, in file order, no address twice.
        peers: Vec<SocketAddr>,
    },
}

/// Everything wrong with a configuration; shown one error per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", lines(.errors))]
pub struct ConfigError {
    /// The problems, roughly in file order; never empty.
    pub errors: Vec<FieldError>,
}

fn lines(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(FieldError::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// One problem with one field; shown as `{field}: {message}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// Path of the field, like `bgpgroups[1].prefixes[0]`; an environment
    /// override reports under its field (`asn`) and names the variable in
    /// the message; `(document)` for YAML syntax errors; the file path for
    /// I/O errors.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl FieldError {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl Config {
    /// Parses and validates YAML text; `env` supplies environment overrides
    /// (pass a closure so tests need not touch the process env).
    pub fn from_yaml(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        parse::parse(text, env)
    }

    /// Reads the file, then [`Config::from_yaml`] with the process
    /// environment. I/O errors become a [`FieldError`] whose field is the
    /// path.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            errors: vec![FieldError::new(path.display().to_string(), e.to_string())],
        })?;
        Config::from_yaml(&text, &|name| std::env::var(name).ok())
    }

    /// The built-in default used when no config file exists: meshrr's
    /// default (asn 65000, ipv4rr, mesh group MESHRR-MESH with dns source
    /// hostname "meshrr", subtractive group MESHRR-CLIENTS with prefixes
    /// 0.0.0.0/0 and ::/0), but listening on 0.0.0.0:1179 and [::]:1179
    /// (unprivileged), with router id and cluster id = `POD_IP` if that is
    /// an IPv4 address, else 127.0.0.1. Only `POD_IP` is read from `env`.
    pub fn builtin(env: &dyn Fn(&str) -> Option<String>) -> Config {
        let pod_ip = env("POD_IP").and_then(|s| s.trim().parse::<IpAddr>().ok());
        let router_id = match pod_ip {
            Some(IpAddr::V4(a)) if !a.is_unspecified() => a,
            _ => Ipv4Addr::LOCALHOST,
        };
        Config {
            asn: 65000,
            mode: Mode::Ipv4Rr,
            router_id,
            cluster_id: router_id,
            pod_ip,
            listen: vec![
                SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 1179),
                SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), 1179),
            ],
            admin: default_admin(),
            families: default_families(),
            timers: Timers::default(),
            update_seconds: DEFAULT_UPDATE_SECONDS,
            log_format: LogFormat::Human,
            groups: vec![
                Group {
                    name: "MESHRR-MESH".into(),
                    kind: GroupKind::Mesh {
                        source: Source::Dns {
                            hostname: "meshrr".into(),
                            port: BGP_PORT,
                        },
                        max_peers: None,
                        replace_after: 60,
                    },
                    import: Vec::new(),
                    export: Vec::new(),
                },
                Group {
                    name: "MESHRR-CLIENTS".into(),
                    kind: GroupKind::Subtractive {
                        prefixes: vec![
                            IpNet::new_assert(Ipv4Addr::UNSPECIFIED.into(), 0),
                            IpNet::new_assert(Ipv6Addr::UNSPECIFIED.into(), 0),
                        ],
                        cluster_id: router_id,
                        client_to_client: true,
                    },
                    import: Vec::new(),
                    export: Vec::new(),
                },
            ],
            policies: Policies::none(),
        }
    }

    /// Every explicit peer address of every mesh group with a static
    /// source, in file order (used to subtract from client ranges).
    #[allow(
        dead_code,
        reason = "config API; the daemon subtracts only the selected peers today"
    )]
    pub fn static_peers(&self) -> Vec<SocketAddr> {
        self.groups
            .iter()
            .filter_map(|g| match &g.kind {
                GroupKind::Mesh {
                    source: Source::Static { peers },
                    ..
                } => Some(peers.iter().copied()),
                _ => None,
            })
            .flatten()
            .collect()
    }
}

const DEFAULT_UPDATE_SECONDS: u64 = 5;
const MAX_UPDATE_SECONDS: u64 = 86_400;

fn default_admin() -> SocketAddr {
    SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 9179)
}

fn default_listen() -> Vec<SocketAddr> {
    vec![
        SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), BGP_PORT),
        SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), BGP_PORT),
    ]
}

fn default_families() -> Vec<Family> {
    vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]
}
