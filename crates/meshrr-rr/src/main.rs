//! meshrr-rr: the meshrr route reflector.
//!
//! ```text
//! meshrr-rr [--config FILE] [--log-json]   run the route reflector
//! meshrr-rr check --config FILE            validate a config, name every bad field
//! meshrr-rr show neighbors|routes [PREFIX]|groups [--json] [--admin ADDR]
//! meshrr-rr decode [DIR | FILE]            decode captured BGP messages
//! ```
//!
//! Without `--config`, `/etc/meshrr/meshrr.yaml` is read if it exists,
//! otherwise the built-in default runs (see README.md).

mod admin;
mod capture;
mod config;
mod daemon;
mod discovery;
mod fsm;
mod policies;
mod reflector;
mod session;
mod show;
mod state;

use std::{env, path::Path, process::ExitCode};

use bgp_wire::{AddPathFamilies, Context};

const USAGE: &str = "usage:
  meshrr-rr [--config FILE] [--log-json]
  meshrr-rr check --config FILE
  meshrr-rr show neighbors|routes [PREFIX]|groups [--json] [--admin ADDR]
  meshrr-rr decode [DIR | [--two-octet-as] [--add-path] [--extended] FILE]";

/// Where the config is read from by default (a ConfigMap mount).
const DEFAULT_CONFIG: &str = "/etc/meshrr/meshrr.yaml";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("decode") => decode(&args[1..]),
        Some("check") => check(&args[1..]),
        Some("show") => show::run(&args[1..]),
        Some("--version") => {
            println!("meshrr-rr {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Some("--help" | "-h" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => serve(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("meshrr-rr: {e}");
            ExitCode::FAILURE
        }
    }
}

fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn load(args: &[String]) -> Result<config::Config, String> {
    match flag_value(args, "--config") {
        Some(path) => {
            config::Config::load(Path::new(path)).map_err(|e| format!("bad config {path}:\n{e}"))
        }
        None if Path::new(DEFAULT_CONFIG).exists() => {
            config::Config::load(Path::new(DEFAULT_CONFIG))
                .map_err(|e| format!("bad config {DEFAULT_CONFIG}:\n{e}"))
        }
        None => Ok(config::Config::builtin(&|k| env::var(k).ok())),
    }
}

fn check(args: &[String]) -> Result<(), String> {
    let path = flag_value(args, "--config")
        .ok_or_else(|| format!("check needs --config FILE\n{USAGE}"))?;
    let cfg = config::Config::load(Path::new(path)).map_err(|e| format!("{path}:\n{e}"))?;
    println!(
        "{path}: ok (asn {}, router-id {}, {} groups)",
        cfg.asn,
        cfg.router_id,
        cfg.groups.len()
    );
    Ok(())
}

fn serve(args: &[String]) -> Result<(), String> {
    for a in args {
        if a.starts_with("--") && a != "--config" && a != "--log-json" {
            return Err(format!("unknown option {a}\n{USAGE}"));
        }
    }
    let builtin = flag_value(args, "--config").is_none() && !Path::new(DEFAULT_CONFIG).exists();
    let cfg = load(args)?;
    let json = args.iter().any(|a| a == "--log-json") || cfg.log_format == config::LogFormat::Json;
    init_logs(json);
    if builtin {
        tracing::info!("no config file: running the built-in default (see README.md)");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(daemon::run(cfg))
}

fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    if json {
        b.json().init();
    } else {
        b.init();
    }
}

fn decode(args: &[String]) -> Result<(), String> {
    let mut ctx = Context::ibgp_4octet();
    let mut target = None;
    for a in args {
        match a.as_str() {
            "--two-octet-as" => ctx.four_octet_as = false,
            "--add-path" => ctx.add_path = AddPathFamilies::ALL,
            "--extended" => ctx.extended_message = true,
            f if target.is_none() && !f.starts_with("--") => target = Some(f.to_string()),
            other => return Err(format!("unexpected argument {other:?}\n{USAGE}")),
        }
    }
    let out = &mut std::io::stdout().lock();
    match target {
        None => capture::print_pairs(capture::builtin(), out),
        Some(t) if Path::new(&t).is_dir() => {
            capture::print_pairs(capture::read_dir(Path::new(&t))?, out)
        }
        Some(t) => {
            let stream = capture::read_stream(Path::new(&t))?;
            capture::print_stream(&stream, &ctx, out)
        }
    }
}
