//! Routing state for the meshrr route reflector: Adj-RIB-In, Loc-RIB,
//! the decision process, RFC 4456 reflection, interned attribute sets and
//! update groups. No I/O and no tokio: the daemon's single reflector task
//! owns a [`Rib`], and tests replay [`Input`]s into one.
//!
//! ```text
//!  sessions ──Input──▶ Rib::handle ──▶ tables (per prefix: paths, best first)
//!                         │                 │ best changed?
//!                         │                 ▼
//!                         │        per update group: pending prefixes
//!                         ▼                 │ Rib::take_changes(group, limit)
//!            ChangeSet for one peer         ▼
//!            (initial table, refresh)   ChangeSet per group ──▶ encoded once,
//!                                                            sent to every member
//! ```
//!
//! Back-pressure: a group's pending set holds each prefix at most once, and
//! its state is computed when taken, so a slow group costs one entry per
//! changed prefix however often the prefix changes.

pub mod attrs;
pub mod decision;
pub mod event;
pub mod peer;
pub mod policy;
mod rib;
pub mod table;

pub use crate::{
    attrs::{AttrId, AttrStore, RouteAttrs},
    decision::{compare, select, Candidate, Step},
    event::{Announce, ChangeSet, Input, Part, Target, Withdraw},
    peer::{PeerConfig, PeerId, RibConfig, Role},
    policy::{Policy, Verdict},
    rib::{Rib, RibError, Stats},
    table::Path,
};
