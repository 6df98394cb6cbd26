//! Shared helpers for the cross-crate tests in `tests/tests/` and the
//! daemon's interop tests.

pub mod lab;
pub mod speaker;

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

/// One direction of a captured session: every message the sender wrote.
#[derive(Debug)]
pub struct Stream {
    /// Sender name, from the file name.
    pub from: String,
    /// Receiver name, from the file name.
    pub to: String,
    /// The file it came from.
    pub path: PathBuf,
    /// Messages, each a complete BGP message.
    pub messages: Vec<Vec<u8>>,
}

/// Reads every `FROM-to-TO.hex` file of `dir` (one hex message per line).
pub fn read_streams(dir: &Path) -> BTreeMap<(String, String), Stream> {
    let mut out = BTreeMap::new();
    let entries =
        fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(stem) = name.strip_suffix(".hex") else {
            continue;
        };
        let (from, to) = stem.split_once("-to-").expect("file name FROM-to-TO.hex");
        let text = fs::read_to_string(&path).expect("readable fixture");
        let messages = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| hex::decode(l.trim()).unwrap_or_else(|e| panic!("{name}: bad hex: {e}")))
            .collect();
        let key = (from.to_string(), to.to_string());
        out.insert(
            key,
            Stream {
                from: from.into(),
                to: to.into(),
                path,
                messages,
            },
        );
    }
    out
}

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}
