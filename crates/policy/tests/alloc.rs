//! Evaluation allocates nothing when the route passes unchanged (or is
//! rejected); only a rewrite builds new attributes. Counted with a global
//! allocator; this file holds one test so nothing else allocates meanwhile.
// The counting allocator forwards to the system allocator.
#![allow(unsafe_code)]

mod common;

use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::atomic::{AtomicUsize, Ordering::Relaxed},
};

use common::*;
use policy::Outcome;

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const POLICY: &str = r#"
EXPORT:
  terms:
    - match: {prefix: ["10.0.0.0/8 orlonger", "192.168.0.0/16 orlonger"]}
      action: reject
    - match: {community: ["65000:101", "65001:*"]}
      action: reject
    - match: {community: ["65000:102"]}
      set: {local_pref: 20}
    - match: {as_path_length: {gt: 10}}
      action: reject
    - match: {originated_by_neighbor_as: true, source: [client]}
      action: next-term
    - match: {as_path: ["^64999 ", "(^| )64666( |$)"]}
      action: reject
    - set: {communities: {remove: ["65000:900"]}}
  default: accept
"#;

#[test]
fn unchanged_routes_cost_no_allocation() {
    let c = chain(POLICY, &["EXPORT"]);
    let pass = [
        R::new(
            "11.0.0.0/8",
            "65001 65002 65003 65004",
            &["65000:1", "65000:2"],
        ),
        R::new("2001:db8::/32", "65001", &[]),
        R::new("12.0.0.0/8", "", &["65000:103"]),
    ];
    let reject = [
        R::new("10.1.0.0/16", "65001", &[]),
        R::new("11.0.0.0/8", "65001 64666 65002", &[]),
        R::new("11.0.0.0/8", "1", &["65001:5"]),
    ];
    let rewrite = R::new("11.0.0.0/8", "65001", &["65000:102"]);
    // warm up (the regex engine keeps a per-thread cache)
    for r in pass.iter().chain(&reject) {
        eval(&c, r);
    }
    let before = ALLOCS.load(Relaxed);
    for _ in 0..100 {
        for r in &pass {
            assert_eq!(eval(&c, r), Outcome::Accept);
        }
        for r in &reject {
            assert_eq!(eval(&c, r), Outcome::Reject);
        }
    }
    assert_eq!(
        ALLOCS.load(Relaxed) - before,
        0,
        "allocations while nothing changed"
    );

    let before = ALLOCS.load(Relaxed);
    let (attrs, _) = modified(eval(&c, &rewrite));
    assert_eq!(attrs.local_pref(), Some(20));
    assert!(
        ALLOCS.load(Relaxed) > before,
        "a rewrite builds new attributes"
    );
}
