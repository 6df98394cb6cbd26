//! meshrr-rr: the meshrr route reflector.
//!
//! The daemon itself (sessions, groups, discovery) is not written yet. What
//! the binary does today is decode BGP messages from a capture, which is
//! how operators and tests look at what real routers send:
//!
//! ```text
//! meshrr-rr decode [--two-octet-as] [--add-path] [--extended] FILE
//! ```
//!
//! FILE holds BGP messages back to back, as raw bytes or as hex text
//! (whitespace and `#` comment lines are ignored).

use std::{env, fs, process::ExitCode};

use bgp_wire::{frame, AddPathFamilies, Context, Message};

const USAGE: &str = "usage: meshrr-rr decode [--two-octet-as] [--add-path] [--extended] FILE";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("decode") => decode(&args[1..]),
        Some("--version") => {
            println!("meshrr-rr {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}\n(the route reflector daemon is not implemented yet)");
            ExitCode::from(2)
        }
    }
}

fn decode(args: &[String]) -> ExitCode {
    let mut ctx = Context::ibgp_4octet();
    let mut file = None;
    for a in args {
        match a.as_str() {
            "--two-octet-as" => ctx.four_octet_as = false,
            "--add-path" => ctx.add_path = AddPathFamilies::ALL,
            "--extended" => ctx.extended_message = true,
            f if file.is_none() && !f.starts_with("--") => file = Some(f.to_string()),
            other => {
                eprintln!("unexpected argument {other:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let Some(file) = file else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let raw = match fs::read(&file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot read {file}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let bytes = match as_hex(&raw) {
        Some(Ok(b)) => b,
        Some(Err(e)) => {
            eprintln!("{file}: bad hex: {e}");
            return ExitCode::FAILURE;
        }
        None => raw,
    };
    let mut at = 0;
    let mut n = 0;
    while at < bytes.len() {
        let len = match frame(&bytes[at..], &ctx) {
            Ok(Some(len)) => len,
            Ok(None) => {
                eprintln!(
                    "{file}: {} trailing bytes do not make a message",
                    bytes.len() - at
                );
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("{file}: message at byte {at}: {e}");
                return ExitCode::FAILURE;
            }
        };
        match Message::decode(&bytes[at..at + len], &ctx) {
            Ok(d) => {
                println!("#{n} at {at} ({len} bytes): {:?}", d.message);
                for p in &d.problems {
                    println!("  problem: {p}");
                }
            }
            Err(e) => {
                println!(
                    "#{n} at {at} ({len} bytes): error {e}; would send {}",
                    e.notification()
                );
            }
        }
        at += len;
        n += 1;
    }
    ExitCode::SUCCESS
}

/// Reads `raw` as hex text if it is text made only of hex digits,
/// whitespace and `#` comments.
fn as_hex(raw: &[u8]) -> Option<Result<Vec<u8>, hex::FromHexError>> {
    let text = std::str::from_utf8(raw).ok()?;
    let digits: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    digits
        .chars()
        .all(|c| c.is_ascii_hexdigit())
        .then(|| hex::decode(digits))
}
