//! Any bytes, in any context: decoding and framing never panic, and every
//! error maps to a NOTIFICATION.
#![no_main]

use bgp_wire::{frame, Message};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some((ctx, msg)) = common::split(data) else { return };
    let _ = frame(msg, &ctx);
    match Message::decode(msg, &ctx) {
        Ok(d) => {
            for p in &d.problems {
                let _ = p.notification();
            }
        }
        Err(e) => {
            let _ = e.notification();
        }
    }
});
