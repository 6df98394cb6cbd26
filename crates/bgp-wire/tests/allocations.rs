//! Allocation behaviour of decoding, measured with a counting allocator:
//! no allocation per prefix, and no allocation sized by an untrusted length
//! field beyond what the message really holds.
// A global allocator needs `unsafe impl`; it only forwards to the system
// allocator and counts.
#![allow(unsafe_code)]

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
};

use bgp_wire::{
    attr::{AsPath, Origin},
    encode_reach, Attr, Context, Message, Nlri, PathAttributes, Reach,
};
use bytes::BytesMut;
use proptest::prelude::*;

struct Counting;

thread_local! {
    static COUNT: Cell<usize> = const { Cell::new(0) };
    static BYTES: Cell<usize> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        let _ = BYTES.try_with(|c| c.set(c.get() + layout.size()));
        let _ = LARGEST.try_with(|c| c.set(c.get().max(layout.size())));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// (allocations, bytes allocated, largest single allocation) during `f`.
fn measure<T>(f: impl FnOnce() -> T) -> (usize, usize, usize, T) {
    COUNT.with(|c| c.set(0));
    BYTES.with(|c| c.set(0));
    LARGEST.with(|c| c.set(0));
    let out = f();
    (
        COUNT.with(Cell::get),
        BYTES.with(Cell::get),
        LARGEST.with(Cell::get),
        out,
    )
}

fn update_with(n: usize) -> Vec<u8> {
    let attrs = PathAttributes::from_attrs([
        Attr::Origin(Origin::Igp),
        Attr::AsPath(AsPath::sequence([65001, 65002, 65003, 65004])),
        Attr::NextHop("192.0.2.1".parse().expect("addr")),
        Attr::LocalPref(100),
    ]);
    let nlri: Vec<Nlri> = (0..n as u32)
        .map(|i| {
            Nlri::new(
                format!("10.{}.{}.0/24", i / 256, i % 256)
                    .parse()
                    .expect("prefix"),
            )
        })
        .collect();
    let mut out = BytesMut::new();
    let ctx = Context {
        extended_message: true,
        ..Context::ibgp_4octet()
    };
    assert_eq!(
        encode_reach(&ctx, &attrs, Reach::Ipv4(&nlri), &mut out),
        Ok(1)
    );
    out.to_vec()
}

#[test]
fn allocations_do_not_grow_with_prefixes() {
    let ctx = Context {
        extended_message: true,
        ..Context::ibgp_4octet()
    };
    let counts: Vec<usize> = [1, 10, 500, 5000]
        .iter()
        .map(|&n| {
            let m = update_with(n);
            let (count, _, _, d) = measure(|| Message::decode(&m, &ctx));
            let d = d.expect("decodes");
            assert!(d.problems.is_empty());
            count
        })
        .collect();
    assert!(
        counts.iter().all(|&c| c == counts[0]),
        "allocations per message: {counts:?}"
    );
    assert!(counts[0] <= 8, "allocations per message: {counts:?}");
}

/// Messages whose length fields claim far more than they hold.
#[test]
fn lying_length_fields_allocate_nothing_large() {
    let ctx = Context {
        extended_message: true,
        ..Context::ibgp_4octet()
    };
    let hdr = |body: &[u8]| {
        let mut m = vec![0xff; 16];
        m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
        m.push(2);
        m.extend_from_slice(body);
        m
    };
    let cases: Vec<Vec<u8>> = vec![
        hdr(&[0xff, 0xff, 0, 0]),                          // withdrawn length 65535
        hdr(&[0, 0, 0xff, 0xff]),                          // attribute length 65535
        hdr(&[0, 0, 0, 5, 0x50, 2, 0xff, 0xff, 2]),        // AS_PATH claiming 65535
        hdr(&[0, 0, 0, 6, 0x40, 2, 3, 2, 255, 0]),         // segment of 255 ASNs, 1 byte
        hdr(&[0, 0, 0, 7, 0x90, 14, 0xff, 0xff, 0, 2, 1]), // MP_REACH claiming 65535
        hdr(&[0, 0, 0, 9, 0x80, 14, 6, 0, 2, 1, 0xff, 0, 0, 0]), // next hop length 255
        hdr(&[0, 0, 0, 0, 32]),                            // a /32 with no bytes
    ];
    for m in &cases {
        let (_, bytes, largest, _) = measure(|| Message::decode(m, &ctx));
        assert!(
            largest <= 1024,
            "{}: largest allocation {largest}",
            hex::encode(m)
        );
        assert!(bytes <= 2048, "{}: {bytes} bytes allocated", hex::encode(m));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Whatever the bytes say, decoding allocates at most a fixed multiple
    /// of the message's real size (28-byte prefixes from 1-byte /0s are the
    /// worst case).
    #[test]
    fn allocation_is_bounded_by_the_message(body in proptest::collection::vec(any::<u8>(), 0..2000), kind in 1u8..6) {
        let mut m = vec![0xff; 16];
        m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
        m.push(kind);
        m.extend_from_slice(&body);
        let ctx = Context { extended_message: true, ..Context::ibgp_4octet() };
        let (_, bytes, _, _) = measure(|| Message::decode(&m, &ctx));
        prop_assert!(bytes <= 40 * m.len() + 2048, "{} bytes for a {}-byte message", bytes, m.len());
    }
}
