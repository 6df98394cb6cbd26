//! meshrr-rr: the meshrr route reflector.
//!
//! The daemon itself (sessions, groups, discovery) is not written yet. What
//! the binary does today is decode BGP captures, which is how operators and
//! tests look at what real routers send:
//!
//! ```text
//! meshrr-rr decode                  # the BIRD/FRR capture built into the binary
//! meshrr-rr decode DIR              # every FROM-to-TO.hex stream pair in DIR
//! meshrr-rr decode [--two-octet-as] [--add-path] [--extended] FILE
//! ```
//!
//! A stream file holds BGP messages back to back, as raw bytes or as hex
//! text (whitespace and `#` comment lines are ignored). For a directory the
//! context of each direction is negotiated from the two OPENs, as a session
//! would.

mod capture;

use std::{env, path::Path, process::ExitCode};

use bgp_wire::{AddPathFamilies, Context};

const USAGE: &str =
    "usage: meshrr-rr decode [DIR | [--two-octet-as] [--add-path] [--extended] FILE]";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("decode") => decode(&args[1..]),
        Some("--version") => {
            println!("meshrr-rr {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}\n(the route reflector daemon is not implemented yet)");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("meshrr-rr: {e}");
            ExitCode::FAILURE
        }
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
