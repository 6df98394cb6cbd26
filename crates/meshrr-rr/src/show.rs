//! `meshrr-rr show ...`: reads the admin API and prints a table (or the
//! JSON with `--json`).

use std::net::SocketAddr;

use serde_json::Value;

use crate::admin;

/// Where the CLI finds the admin API unless `--admin` says otherwise.
const DEFAULT_ADMIN: &str = "127.0.0.1:9179";

/// Runs `show` with its arguments.
pub fn run(args: &[String]) -> Result<(), String> {
    let json = args.iter().any(|a| a == "--json");
    let admin_at = crate::flag_value(args, "--admin").unwrap_or(DEFAULT_ADMIN);
    let addr: SocketAddr = admin_at
        .parse()
        .map_err(|_| format!("--admin {admin_at}: not ADDR:PORT"))?;
    let words: Vec<&str> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with("--") && (*i == 0 || args[i - 1] != "--admin"))
        .map(|(_, a)| a.as_str())
        .collect();
    let path = match words.as_slice() {
        ["neighbors"] => "/neighbors".to_string(),
        ["groups"] => "/groups".to_string(),
        ["routes"] => "/routes".to_string(),
        ["routes", p] => format!("/routes?prefix={p}"),
        _ => return Err("show neighbors | show routes [PREFIX] | show groups".into()),
    };
    let body = admin::get(addr, &path)?;
    if json {
        print!("{body}");
        return Ok(());
    }
    let v: Value =
        serde_json::from_str(&body).map_err(|e| format!("bad JSON from the admin API: {e}"))?;
    print!("{}", table(words[0], &v));
    Ok(())
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn render(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut w: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.len());
        }
    }
    let line = |cells: Vec<String>| {
        let mut l = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = w[i]))
            .collect::<Vec<_>>()
            .join("  ");
        l.truncate(l.trim_end().len());
        l + "\n"
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for r in rows {
        out += &line(r);
    }
    out
}

fn table(what: &str, v: &Value) -> String {
    match what {
        "neighbors" => render(
            &[
                "ADDRESS",
                "GROUP",
                "ROLE",
                "STATE",
                "ROUTER-ID",
                "PREFIXES",
                "UPD-IN",
                "UPD-OUT",
                "LAST-ERROR",
            ],
            v.as_array()
                .map(|a| {
                    a.iter()
                        .map(|n| {
                            [
                                "address",
                                "group",
                                "role",
                                "state",
                                "router_id",
                                "prefixes_in",
                                "updates_in",
                                "updates_out",
                                "last_error",
                            ]
                            .iter()
                            .map(|k| s(&n[*k]))
                            .collect()
                        })
                        .collect()
                })
                .unwrap_or_default(),
        ),
        "groups" => render(
            &["GROUP", "TYPE", "MEMBERS", "ALLOWED"],
            v["groups"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|g| {
                            let members = g["members"]
                                .as_array()
                                .map(|m| m.iter().map(s).collect::<Vec<_>>().join(","))
                                .unwrap_or_default();
                            let allowed = g["detail"]["allowed"]
                                .as_array()
                                .map(|m| m.iter().map(s).collect::<Vec<_>>().join(","))
                                .unwrap_or_default();
                            vec![s(&g["name"]), s(&g["type"]), members, allowed]
                        })
                        .collect()
                })
                .unwrap_or_default(),
        ),
        _ if v.get("paths").is_some_and(Value::is_array) => render(
            &["BEST", "PEER", "NEXT-HOP", "LOST-AT", "ATTRIBUTES"],
            v["paths"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|p| {
                            vec![
                                if p["best"] == Value::Bool(true) {
                                    "*".into()
                                } else {
                                    String::new()
                                },
                                s(&p["peer_address"]),
                                s(&p["next_hop"]),
                                s(&p["lost_at"]),
                                p["attrs"].to_string(),
                            ]
                        })
                        .collect()
                })
                .unwrap_or_default(),
        ),
        _ => render(
            &["PREFIX", "PATHS", "NEXT-HOP", "AS-PATH"],
            v["routes"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|r| {
                            vec![
                                s(&r["prefix"]),
                                s(&r["paths"]),
                                s(&r["next_hop"]),
                                s(&r["as_path"]),
                            ]
                        })
                        .collect()
                })
                .unwrap_or_default(),
        ),
    }
}
