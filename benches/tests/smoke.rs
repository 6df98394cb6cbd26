//! The scale harness's smoke scenario as a correctness check, run by the
//! test suite: meshrr-rr and BIRD 2 each reflect 20k prefixes to three
//! receivers, and every session's table must be exactly right. Timeouts
//! are generous (300 s): this fails on a wrong table, never on a slow
//! machine.

use std::{path::PathBuf, process::Command};

#[test]
fn smoke_tables_are_exact_on_both_targets() {
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_meshrr-bench"));
    // meshrr-rr is built into the same directory by `cargo test --workspace`
    // (its own tests need it).
    let meshrr = bench.with_file_name("meshrr-rr");
    assert!(
        meshrr.exists(),
        "{} is missing: run the workspace's tests (cargo test --workspace) or build meshrr-rr",
        meshrr.display()
    );
    let out = std::env::temp_dir().join(format!("meshrr-bench-smoke-{}", std::process::id()));
    let run = Command::new(&bench)
        .arg("--smoke-ci")
        .arg("--meshrr")
        .arg(&meshrr)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run meshrr-bench");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        run.status.success(),
        "meshrr-bench --smoke-ci failed:\n{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("smoke.json")).expect("smoke.json"))
            .expect("json");
    let runs = json["runs"].as_array().expect("runs");
    for target in ["meshrr", "bird"] {
        let r = runs
            .iter()
            .find(|r| r["target"] == target)
            .unwrap_or_else(|| panic!("no {target} run:\n{text}"));
        assert_eq!(r["ok"], true, "{target}: {r}\n{text}");
        assert_eq!(
            r["route_updates"], 60_000,
            "{target}: 20k prefixes to 3 receivers"
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}
