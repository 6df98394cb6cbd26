//! Routing state for the reflector: Adj-RIB-In, Loc-RIB, best path and
//! RFC 4456 reflection, with interned attribute sets and update groups.
//!
//! Not written yet; the rib issue fills this crate. It depends on
//! `bgp-wire` only and does no I/O.
