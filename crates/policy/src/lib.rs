//! Group-boundary policy: named chains of match/action terms, compiled for
//! the hot path.
//!
//! Not written yet; the policy issue fills this crate. It depends on
//! `bgp-wire` only.
