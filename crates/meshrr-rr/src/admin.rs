//! The admin HTTP API, on a local address: JSON for neighbors, routes and
//! groups, Prometheus `/metrics`, and `/healthz` and `/readyz` for
//! Kubernetes probes. A small HTTP/1.1 server of our own (GET only, one
//! request per connection) keeps the daemon free of a web framework.

use std::{fmt::Write as _, net::SocketAddr, sync::atomic::Ordering::Relaxed, time::Duration};

use serde_json::{json, Value};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

use crate::{
    config::GroupKind,
    daemon::Daemon,
    fsm::State,
    reflector::{ask, Query},
};

/// Binds the admin listener.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves requests until the process ends.
pub async fn serve(l: TcpListener, d: Daemon) {
    loop {
        let Ok((s, _)) = l.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let d = d.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(10), handle(s, d)).await;
        });
    }
}

async fn handle(mut s: TcpStream, d: Daemon) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut chunk).await?;
        if n == 0 || buf.len() > 16 * 1024 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let (status, ctype, body) = if method != "GET" {
        (405, "text/plain", "only GET\n".to_string())
    } else {
        route(path, query, &d).await
    };
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Service Unavailable",
    };
    let resp = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(resp.as_bytes()).await?;
    s.shutdown().await
}

fn param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

async fn route(path: &str, query: &str, d: &Daemon) -> (u16, &'static str, String) {
    let js = |v: Value| (200, "application/json", format!("{v:#}\n"));
    match path {
        "/healthz" => (200, "text/plain", "ok\n".into()),
        "/readyz" => {
            let (ok, why) = ready(d);
            (if ok { 200 } else { 503 }, "text/plain", format!("{why}\n"))
        }
        "/neighbors" => js(neighbors(d).await),
        "/routes" => {
            let prefix = match param(query, "prefix")
                .map(|p| p.replace("%2F", "/").parse::<ipnet::IpNet>())
            {
                Some(Ok(p)) => Some(p),
                Some(Err(_)) => return (400, "text/plain", "bad prefix\n".into()),
                None => None,
            };
            js(ask(&d.reflector, Query::Routes(prefix.map(|p| p.trunc())))
                .await
                .unwrap_or(Value::Null))
        }
        "/groups" => js(groups(d).await),
        "/metrics" => (200, "text/plain; version=0.0.4", metrics(d).await),
        _ => (404, "text/plain", "not found\n".into()),
    }
}

/// Ready: listening, and when an upstream group (a mesh group with
/// `max_peers`) exists, at least one of its sessions Established.
fn ready(d: &Daemon) -> (bool, String) {
    if d.listening.lock().map(|l| l.is_empty()).unwrap_or(true) {
        return (false, "not listening".into());
    }
    let upstreams: Vec<&str> = d
        .config
        .groups
        .iter()
        .filter(|g| {
            matches!(
                g.kind,
                GroupKind::Mesh {
                    max_peers: Some(_),
                    ..
                }
            )
        })
        .map(|g| g.name.as_str())
        .collect();
    if upstreams.is_empty() {
        return (true, "ready".into());
    }
    let up = d
        .registry
        .snapshot()
        .iter()
        .any(|n| upstreams.contains(&n.group.as_str()) && n.state == State::Established);
    if up {
        (true, "ready".into())
    } else {
        (
            false,
            format!("no upstream session established ({})", upstreams.join(", ")),
        )
    }
}

async fn neighbors(d: &Daemon) -> Value {
    let prefixes = ask(&d.reflector, Query::PrefixesPerPeer)
        .await
        .unwrap_or(Value::Null);
    let list: Vec<Value> = d
        .registry
        .snapshot()
        .into_iter()
        .map(|n| {
            let mut v = serde_json::to_value(&n).unwrap_or(Value::Null);
            let p = prefixes.get(n.id.to_string()).cloned().unwrap_or(json!(0));
            if let Some(o) = v.as_object_mut() {
                o.insert("prefixes_in".into(), p);
            }
            v
        })
        .collect();
    Value::Array(list)
}

async fn groups(d: &Daemon) -> Value {
    let ranges = d.ranges.lock().map(|r| r.clone()).unwrap_or_default();
    let snapshot = d.registry.snapshot();
    let discovery = d.registry.discovery();
    let groups: Vec<Value> = d
        .config
        .groups
        .iter()
        .map(|g| {
            let members: Vec<String> = snapshot.iter().filter(|n| n.group == g.name).map(|n| n.address.to_string()).collect();
            let (kind, extra) = match &g.kind {
                GroupKind::Mesh { source, max_peers, replace_after } => {
                    let disc = discovery.get(&g.name).cloned().unwrap_or_default();
                    ("mesh", json!({"source": format!("{source:?}"), "max_peers": max_peers,
                        "replace_after": replace_after, "discovery": disc}))
                }
                GroupKind::Subtractive { prefixes, .. } => {
                    let allowed: Vec<String> = ranges
                        .iter()
                        .filter(|(n, _)| *n == g.name)
                        .flat_map(|(_, r)| r.iter().map(ToString::to_string))
                        .collect();
                    ("subtractive", json!({"prefixes": prefixes.iter().map(ToString::to_string).collect::<Vec<_>>(), "allowed": allowed}))
                }
            };
            json!({"name": g.name, "type": kind, "members": members, "import": g.import, "export": g.export, "detail": extra})
        })
        .collect();
    let rib = ask(&d.reflector, Query::Groups)
        .await
        .unwrap_or(Value::Null);
    json!({"groups": groups, "rib": rib})
}

async fn metrics(d: &Daemon) -> String {
    let snap = d.registry.snapshot();
    let prefixes = ask(&d.reflector, Query::PrefixesPerPeer)
        .await
        .unwrap_or(Value::Null);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP meshrr_sessions BGP sessions by state.\n# TYPE meshrr_sessions gauge"
    );
    for s in [
        State::Idle,
        State::Connect,
        State::Active,
        State::OpenSent,
        State::OpenConfirm,
        State::Established,
    ] {
        let n = snap.iter().filter(|x| x.state == s).count();
        let _ = writeln!(out, "meshrr_sessions{{state=\"{s:?}\"}} {n}");
    }
    let _ = writeln!(out, "# HELP meshrr_prefixes_received Paths held per peer.\n# TYPE meshrr_prefixes_received gauge");
    let _ = writeln!(out, "# HELP meshrr_updates_received_total UPDATEs received per peer.\n# TYPE meshrr_updates_received_total counter");
    let _ = writeln!(out, "# HELP meshrr_updates_sent_total UPDATE messages sent per peer.\n# TYPE meshrr_updates_sent_total counter");
    for n in &snap {
        let p = prefixes
            .get(n.id.to_string())
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let labels = format!("peer=\"{}\",group=\"{}\"", n.address, n.group);
        let _ = writeln!(out, "meshrr_prefixes_received{{{labels}}} {p}");
        let _ = writeln!(
            out,
            "meshrr_updates_received_total{{{labels}}} {}",
            n.updates_in
        );
        let _ = writeln!(
            out,
            "meshrr_updates_sent_total{{{labels}}} {}",
            n.updates_out
        );
    }
    let _ = writeln!(out, "# HELP meshrr_discovery_errors_total Failed discovery lookups per mesh group.\n# TYPE meshrr_discovery_errors_total counter");
    let _ = writeln!(out, "# HELP meshrr_discovery_last_success_seconds Unix time of the last successful lookup.\n# TYPE meshrr_discovery_last_success_seconds gauge");
    let _ = writeln!(out, "# HELP meshrr_peers_added_total Mesh peers added by discovery.\n# TYPE meshrr_peers_added_total counter");
    let _ = writeln!(out, "# HELP meshrr_peers_removed_total Mesh peers removed by discovery.\n# TYPE meshrr_peers_removed_total counter");
    for (g, disc) in d.registry.discovery() {
        let _ = writeln!(
            out,
            "meshrr_discovery_errors_total{{group=\"{g}\"}} {}",
            disc.errors
        );
        let _ = writeln!(
            out,
            "meshrr_discovery_last_success_seconds{{group=\"{g}\"}} {}",
            disc.last_ok.unwrap_or(0)
        );
        let _ = writeln!(
            out,
            "meshrr_peers_added_total{{group=\"{g}\"}} {}",
            disc.added
        );
        let _ = writeln!(
            out,
            "meshrr_peers_removed_total{{group=\"{g}\"}} {}",
            disc.removed
        );
    }
    let c = &d.registry.counters;
    let _ = writeln!(out, "# HELP meshrr_reflector_queue Messages waiting for the reflector task.\n# TYPE meshrr_reflector_queue gauge\nmeshrr_reflector_queue {}", c.reflector_queue.load(Relaxed));
    let _ = writeln!(out, "# HELP meshrr_connections_refused_total Connections refused before OPEN.\n# TYPE meshrr_connections_refused_total counter\nmeshrr_connections_refused_total {}", c.refused.load(Relaxed));
    let _ = writeln!(out, "# HELP meshrr_prefixes_sent_total Prefix changes sent to update groups.\n# TYPE meshrr_prefixes_sent_total counter\nmeshrr_prefixes_sent_total {}", c.prefixes_out.load(Relaxed));
    out
}

/// A GET to the admin API (for the CLI): the body, or an error.
pub fn get(addr: SocketAddr, path: &str) -> Result<String, String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3))
        .map_err(|e| format!("cannot reach the admin API at {addr}: {e}"))?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).map_err(|e| e.to_string())?;
    let (head, body) = resp
        .split_once("\r\n\r\n")
        .ok_or("malformed HTTP response")?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!(
            "{}: {}",
            head.lines().next().unwrap_or(""),
            body.trim()
        ));
    }
    Ok(body.to_string())
}
