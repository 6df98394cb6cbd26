//! decode -> encode -> decode is stable: whatever decodes re-encodes, the
//! re-encoding decodes, and encoding it again gives the same bytes.
#![no_main]

use bgp_wire::Message;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some((ctx, msg)) = common::split(data) else { return };
    let Ok(first) = Message::decode(msg, &ctx) else { return };
    // Size limits may refuse what the peer sent in a tighter form.
    let Ok(bytes1) = first.message.to_bytes(&ctx) else { return };
    let second = Message::decode(&bytes1, &ctx).expect("our own encoding decodes");
    if first.problems.is_empty() {
        assert!(second.problems.is_empty(), "clean message gained problems: {:?}", second.problems);
    }
    let bytes2 = second.message.to_bytes(&ctx).expect("re-encodes");
    assert_eq!(bytes1, bytes2, "encoding is not stable");
});
