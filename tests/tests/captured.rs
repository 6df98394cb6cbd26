//! Real bytes from BIRD 2 and FRR: every captured message decodes with the
//! context negotiated from the session's OPENs, has no RFC 7606 problem,
//! and re-encodes to the same bytes.
//!
//! `committed_fixtures` checks the capture in `tests/fixtures/captured`;
//! `live_capture` runs `tests/interop/capture.sh` (root, network
//! namespaces, BIRD, FRR, tcpdump, tshark) and checks what today's
//! packages send. It fails, never skips, when the lab cannot run.

use std::{collections::BTreeMap, path::Path, process::Command};

use bgp_wire::{Context, Message, Open};
use meshrr_tests::{read_streams, repo_root, Stream};

/// Decodes and re-encodes every stream; returns how many messages of each
/// type were seen.
fn check_streams(dir: &Path) -> BTreeMap<String, usize> {
    let streams = read_streams(dir);
    assert!(
        !streams.is_empty(),
        "no captured streams in {}",
        dir.display()
    );
    let open_of = |s: &Stream| -> Open {
        let first = s
            .messages
            .first()
            .unwrap_or_else(|| panic!("{}: empty", s.path.display()));
        match Message::decode(first, &Context::default()).map(|d| d.message) {
            Ok(Message::Open(o)) => o,
            other => panic!(
                "{}: first message is not an OPEN: {other:?}",
                s.path.display()
            ),
        }
    };
    let mut seen = BTreeMap::new();
    for ((from, to), stream) in &streams {
        let back = streams
            .get(&(to.clone(), from.clone()))
            .unwrap_or_else(|| panic!("no reverse stream for {from}->{to}"));
        // The receiver decodes with what it sent and what it received.
        let (rx, _) = Context::negotiate(&open_of(back), &open_of(stream), false);
        for (i, bytes) in stream.messages.iter().enumerate() {
            let where_ = format!("{} message {i}", stream.path.display());
            let ctx = if i == 0 { Context::default() } else { rx };
            let decoded = Message::decode(bytes, &ctx)
                .unwrap_or_else(|e| panic!("{where_}: {e} ({})", hex::encode(bytes)));
            assert!(
                decoded.problems.is_empty(),
                "{where_}: {:?}",
                decoded.problems
            );
            let again = decoded.message.to_bytes(&ctx).expect("re-encodes");
            assert_eq!(
                hex::encode(&again),
                hex::encode(bytes),
                "{where_}: re-encoding differs"
            );
            let mut kind = format!("{:?}", decoded.message.kind());
            if let Message::Update(u) = &decoded.message {
                if let Some(f) = u.as_end_of_rib() {
                    kind = format!("End-of-RIB {f}");
                }
            }
            *seen.entry(kind).or_insert(0) += 1;
        }
    }
    seen
}

#[test]
fn committed_fixtures() {
    let seen = check_streams(&repo_root().join("tests/fixtures/captured"));
    for kind in [
        "Open",
        "Update",
        "Keepalive",
        "Notification",
        "RouteRefresh",
    ] {
        assert!(seen.contains_key(kind), "fixtures hold no {kind}: {seen:?}");
    }
    assert!(seen.contains_key("End-of-RIB ipv4-unicast"), "{seen:?}");
    assert!(seen.contains_key("End-of-RIB ipv6-unicast"), "{seen:?}");
}

#[test]
fn live_capture() {
    let dir = tempdir();
    let script = repo_root().join("tests/interop/capture.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(&dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "capture.sh failed (it needs root, BIRD 2, FRR, tcpdump and tshark; scripts/test.sh \
         installs them):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = check_streams(&dir);
    assert!(
        seen.get("Update").copied().unwrap_or(0) >= 20,
        "too few UPDATEs: {seen:?}"
    );
    assert!(seen.contains_key("RouteRefresh"), "{seen:?}");
    assert!(seen.contains_key("Notification"), "{seen:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("meshrr-capture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
