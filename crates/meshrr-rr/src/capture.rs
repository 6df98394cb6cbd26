//! Reading and printing captured BGP streams (`meshrr-rr decode`).

use std::{collections::BTreeMap, fs, io::Write, path::Path};

use bgp_wire::{frame, Context, Message, Open};

/// One direction of a session: the sender's bytes.
#[derive(Debug)]
pub struct Stream {
    /// Who sent it, from the file name.
    pub name: String,
    /// BGP messages back to back.
    pub bytes: Vec<u8>,
}

/// Streams keyed by (sender, receiver).
pub type Pairs = BTreeMap<(String, String), Stream>;

/// The capture made by `tests/interop/capture.sh` from BIRD 2 and FRR,
/// built into the binary as the default input.
pub fn builtin() -> Pairs {
    const FILES: [(&str, &str); 4] = [
        (
            "bird-as2-to-bird-rr",
            include_str!("../../../tests/fixtures/captured/bird-as2-to-bird-rr.hex"),
        ),
        (
            "bird-rr-to-bird-as2",
            include_str!("../../../tests/fixtures/captured/bird-rr-to-bird-as2.hex"),
        ),
        (
            "bird-rr-to-frr",
            include_str!("../../../tests/fixtures/captured/bird-rr-to-frr.hex"),
        ),
        (
            "frr-to-bird-rr",
            include_str!("../../../tests/fixtures/captured/frr-to-bird-rr.hex"),
        ),
    ];
    FILES
        .iter()
        .filter_map(|(name, text)| {
            let bytes = parse(text.as_bytes()).ok()?;
            let (from, to) = name.split_once("-to-")?;
            Some((
                (from.into(), to.into()),
                Stream {
                    name: (*name).into(),
                    bytes,
                },
            ))
        })
        .collect()
}

/// Every `FROM-to-TO.hex` file of `dir`.
pub fn read_dir(dir: &Path) -> Result<Pairs, String> {
    let mut out = Pairs::new();
    let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let Some(stem) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".hex"))
        else {
            continue;
        };
        if let Some((from, to)) = stem.split_once("-to-") {
            out.insert((from.into(), to.into()), read_stream(&path)?);
        }
    }
    Ok(out)
}

/// A stream file: raw bytes, or hex text.
pub fn read_stream(path: &Path) -> Result<Stream, String> {
    let raw = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let bytes = parse(&raw).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Stream { name, bytes })
}

/// Hex text if `raw` is only hex digits, whitespace and `#` comment lines;
/// raw bytes otherwise.
fn parse(raw: &[u8]) -> Result<Vec<u8>, String> {
    let Ok(text) = std::str::from_utf8(raw) else {
        return Ok(raw.to_vec());
    };
    let digits: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    if digits.chars().all(|c| c.is_ascii_hexdigit()) {
        hex::decode(digits).map_err(|e| format!("bad hex: {e}"))
    } else {
        Ok(raw.to_vec())
    }
}

fn first_open(s: &Stream) -> Result<Open, String> {
    let len = frame(&s.bytes, &Context::default())
        .map_err(|e| format!("{}: {e}", s.name))?
        .ok_or_else(|| format!("{}: empty", s.name))?;
    match Message::decode(&s.bytes[..len], &Context::default()).map(|d| d.message) {
        Ok(Message::Open(o)) => Ok(o),
        _ => Err(format!("{}: does not start with an OPEN", s.name)),
    }
}

/// Prints every stream, each decoded with the context its receiver
/// negotiated from the two OPENs.
pub fn print_pairs(pairs: Pairs, out: &mut impl Write) -> Result<(), String> {
    if pairs.is_empty() {
        return Err("no FROM-to-TO.hex streams".into());
    }
    for ((from, to), stream) in &pairs {
        let back = pairs
            .get(&(to.clone(), from.clone()))
            .ok_or(format!("no stream {to}-to-{from}"))?;
        let (rx, _) = Context::negotiate(&first_open(back)?, &first_open(stream)?, false);
        writeln!(out, "== {from} -> {to} ({rx:?})").map_err(|e| e.to_string())?;
        print_stream(stream, &rx, out)?;
    }
    Ok(())
}

/// Prints each message of `stream` decoded in `ctx` (the first OPEN in the
/// default context), with any RFC 7606 problem or fatal error.
pub fn print_stream(stream: &Stream, ctx: &Context, out: &mut impl Write) -> Result<(), String> {
    let bytes = &stream.bytes;
    let mut at = 0;
    let mut n = 0;
    let io = |e: std::io::Error| e.to_string();
    while at < bytes.len() {
        let len = match frame(&bytes[at..], ctx) {
            Ok(Some(len)) => len,
            Ok(None) => {
                return Err(format!(
                    "{}: {} trailing bytes",
                    stream.name,
                    bytes.len() - at
                ))
            }
            Err(e) => return Err(format!("{}: message at byte {at}: {e}", stream.name)),
        };
        match Message::decode(&bytes[at..at + len], ctx) {
            Ok(d) => {
                writeln!(out, "#{n} ({len} bytes) {:?}", d.message).map_err(io)?;
                for p in &d.problems {
                    writeln!(out, "  problem: {p}").map_err(io)?;
                }
            }
            Err(e) => writeln!(
                out,
                "#{n} ({len} bytes) error {e}; reply {}",
                e.notification()
            )
            .map_err(io)?,
        }
        at += len;
        n += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_capture_decodes_cleanly() {
        let mut out = Vec::new();
        print_pairs(builtin(), &mut out).expect("decodes");
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(text.matches("== ").count(), 4);
        assert!(!text.contains("problem:"), "{text}");
        assert!(!text.contains(" error "), "{text}");
        assert!(text.contains("RouteRefresh"));
        assert!(
            text.contains("path_id: Some("),
            "ADD-PATH negotiated from the OPENs"
        );
    }

    #[test]
    fn hex_and_raw_input() {
        assert_eq!(parse(b"# c\nff 00\n"), Ok(vec![0xff, 0]));
        assert_eq!(parse(&[0xff, 0xfe]), Ok(vec![0xff, 0xfe]));
        assert!(parse(b"fff").is_err());
    }
}
