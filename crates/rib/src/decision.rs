//! The decision process: RFC 4271 section 9.1.2.2 as amended by RFC 4456
//! section 9 for route reflection.
//!
//! Steps, in order, each deciding only if the previous ones tie:
//!
//! 1. highest LOCAL_PREF (9.1.1; 100 when absent);
//! 2. shortest AS_PATH (9.1.2.2 a; a set counts one, confederation
//!    segments nothing);
//! 3. lowest ORIGIN (b);
//! 4. lowest MULTI_EXIT_DISC, only between routes from the same
//!    neighbouring AS unless `always_compare_med` (c; absent counts 0);
//! 5. external before internal (d);
//! 6. lowest interior cost to the NEXT_HOP (e): not applicable, a route
//!    reflector does not resolve next hops, so this step never decides;
//! 7. lowest BGP Identifier, where ORIGINATOR_ID stands for the BGP
//!    Identifier when present (f, RFC 4456 section 9);
//! 8. shortest CLUSTER_LIST (RFC 4456 section 9, between f and g);
//! 9. lowest peer address (g);
//! 10. lowest ADD-PATH path identifier, so two paths of one peer are
//!     ordered too.
//!
//! Step 4 is not transitive when MED is compared only within an AS, so
//! [`select`] does not simply take a minimum: it keeps the routes that
//! survive steps 1-3, drops every route beaten on MED by one from the same
//! neighbouring AS, and takes the minimum of the rest under steps 5-10
//! (deterministic MED). The result does not depend on arrival order.

use std::{cmp::Ordering, net::IpAddr, net::Ipv4Addr};

use bgp_wire::attr::Origin;
use serde::{Deserialize, Serialize};

use crate::attrs::Keys;

/// The step that decided between two routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Higher LOCAL_PREF.
    LocalPref,
    /// Shorter AS_PATH.
    AsPathLen,
    /// Lower ORIGIN.
    Origin,
    /// Lower MED (same neighbouring AS, or always-compare).
    Med,
    /// External before internal.
    EbgpOverIbgp,
    /// Lower BGP Identifier or ORIGINATOR_ID.
    RouterId,
    /// Shorter CLUSTER_LIST.
    ClusterListLen,
    /// Lower peer address.
    PeerAddr,
    /// Lower path identifier.
    PathId,
    /// The same path.
    Equal,
}

/// One path as the decision process sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// Keys of its attribute set.
    pub keys: Keys,
    /// Learned from an external peer.
    pub ebgp: bool,
    /// BGP Identifier of the peer it came from.
    pub peer_router_id: Ipv4Addr,
    /// Address of the peer it came from.
    pub peer_addr: IpAddr,
    /// ADD-PATH path identifier (0 without ADD-PATH).
    pub path_id: u32,
}

impl Candidate {
    fn router_id(&self) -> Ipv4Addr {
        self.keys.originator_id.unwrap_or(self.peer_router_id)
    }

    /// Steps 1-3 as one key; smaller is better.
    fn head(&self) -> (std::cmp::Reverse<u32>, u32, Origin) {
        (
            std::cmp::Reverse(self.keys.local_pref),
            self.keys.as_path_len,
            self.keys.origin,
        )
    }

    /// Steps 5-10 as one key; smaller is better.
    fn tail(&self) -> (bool, Ipv4Addr, u32, IpAddr, u32) {
        (
            !self.ebgp,
            self.router_id(),
            self.keys.cluster_list_len,
            self.peer_addr,
            self.path_id,
        )
    }

    fn med_comparable(&self, other: &Candidate, always: bool) -> bool {
        always || self.keys.neighbor_as == other.keys.neighbor_as
    }
}

/// Compares two paths; `Less` means `a` is preferred. Returns the step that
/// decided. With `always_compare_med` this is a total order; without it,
/// step 4 applies only within a neighbouring AS, which is not transitive
/// (use [`select`] for the best path).
pub fn compare(a: &Candidate, b: &Candidate, always_compare_med: bool) -> (Ordering, Step) {
    let (ka, kb) = (&a.keys, &b.keys);
    let steps = [
        (kb.local_pref.cmp(&ka.local_pref), Step::LocalPref),
        (ka.as_path_len.cmp(&kb.as_path_len), Step::AsPathLen),
        (ka.origin.cmp(&kb.origin), Step::Origin),
        (
            if a.med_comparable(b, always_compare_med) {
                ka.med.cmp(&kb.med)
            } else {
                Ordering::Equal
            },
            Step::Med,
        ),
        (b.ebgp.cmp(&a.ebgp), Step::EbgpOverIbgp),
        (a.router_id().cmp(&b.router_id()), Step::RouterId),
        (
            ka.cluster_list_len.cmp(&kb.cluster_list_len),
            Step::ClusterListLen,
        ),
        (a.peer_addr.cmp(&b.peer_addr), Step::PeerAddr),
        (a.path_id.cmp(&b.path_id), Step::PathId),
    ];
    steps
        .into_iter()
        .find(|(o, _)| o.is_ne())
        .unwrap_or((Ordering::Equal, Step::Equal))
}

/// Index of the best path (deterministic MED, see the module docs), or
/// `None` for no candidates.
pub fn select(cands: &[Candidate], always_compare_med: bool) -> Option<usize> {
    match cands.len() {
        0 => return None,
        1 => return Some(0),
        _ => {}
    }
    let head = cands.iter().map(Candidate::head).min()?;
    let survives = |i: usize| {
        let c = &cands[i];
        c.head() == head
            && !cands.iter().any(|o| {
                o.head() == head
                    && c.med_comparable(o, always_compare_med)
                    && o.keys.med < c.keys.med
            })
    };
    (0..cands.len())
        .filter(|&i| survives(i))
        .min_by_key(|&i| cands[i].tail())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn cand() -> impl Strategy<Value = Candidate> {
        (
            prop_oneof![Just(100u32), Just(200u32), 0u32..300],
            0u32..4,
            0u8..3,
            0u32..3,
            proptest::option::of(65001u32..65004),
            proptest::option::of(1u32..4),
            0u32..3,
            any::<bool>(),
            1u32..5,
            1u8..6,
            0u32..2,
        )
            .prop_map(
                |(lp, len, o, med, nas, oid, cl, ebgp, rid, addr, pid)| Candidate {
                    keys: Keys {
                        local_pref: lp,
                        as_path_len: len,
                        origin: [Origin::Igp, Origin::Egp, Origin::Incomplete][usize::from(o)],
                        med,
                        neighbor_as: nas,
                        originator_id: oid.map(Ipv4Addr::from),
                        cluster_list_len: cl,
                    },
                    ebgp,
                    peer_router_id: Ipv4Addr::from(rid),
                    peer_addr: IpAddr::from([10, 0, 0, addr]),
                    path_id: pid,
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]

        /// With always-compare-med the comparison is a total order.
        #[test]
        fn total_order_with_always_compare(a in cand(), b in cand(), c in cand()) {
            let cmp = |x: &Candidate, y: &Candidate| compare(x, y, true).0;
            prop_assert_eq!(cmp(&a, &b), cmp(&b, &a).reverse(), "antisymmetric");
            prop_assert_eq!(cmp(&a, &a), Ordering::Equal, "reflexive");
            if cmp(&a, &b) != Ordering::Greater && cmp(&b, &c) != Ordering::Greater {
                prop_assert_ne!(cmp(&a, &c), Ordering::Greater, "transitive");
            }
            // Equal only for the same identity (peer address and path id).
            if cmp(&a, &b) == Ordering::Equal {
                prop_assert_eq!((a.peer_addr, a.path_id), (b.peer_addr, b.path_id));
            }
        }

        /// The comparison is antisymmetric in both modes.
        #[test]
        fn antisymmetric_per_as(a in cand(), b in cand()) {
            let (o, s) = compare(&a, &b, false);
            let (r, t) = compare(&b, &a, false);
            prop_assert_eq!(o, r.reverse());
            prop_assert_eq!(s, t);
        }

        /// The best path does not depend on arrival order, in both modes.
        #[test]
        fn best_is_independent_of_order(
            cands in proptest::collection::vec(cand(), 1..8),
            perm in any::<prop::sample::Index>(),
            always in any::<bool>(),
        ) {
            // Paths are unique by (peer address, path id) in a table.
            let mut seen = std::collections::HashSet::new();
            let cands: Vec<Candidate> = cands.into_iter().filter(|c| seen.insert((c.peer_addr, c.path_id))).collect();
            let best = cands[select(&cands, always).expect("non-empty")];
            let mut shuffled = cands.clone();
            shuffled.rotate_left(perm.index(cands.len()));
            shuffled.reverse();
            prop_assert_eq!(shuffled[select(&shuffled, always).expect("non-empty")], best);
            if always {
                // And it is the minimum of the total order.
                for c in &cands {
                    prop_assert_ne!(compare(&best, c, true).0, Ordering::Greater);
                }
            } else {
                // It beats, step by step, every path that was not dropped on
                // MED within its own AS.
                for c in &cands {
                    let beaten_on_med = cands.iter().any(|o| o.head() == c.head()
                        && o.keys.neighbor_as == c.keys.neighbor_as && o.keys.med < c.keys.med);
                    if !beaten_on_med {
                        prop_assert_ne!(compare(&best, c, false).0, Ordering::Greater);
                    }
                }
            }
        }
    }

    fn base() -> Candidate {
        Candidate {
            keys: Keys {
                local_pref: 100,
                as_path_len: 2,
                origin: Origin::Igp,
                med: 0,
                neighbor_as: Some(65001),
                originator_id: None,
                cluster_list_len: 0,
            },
            ebgp: false,
            peer_router_id: Ipv4Addr::new(10, 0, 0, 5),
            peer_addr: IpAddr::from([10, 0, 0, 5]),
            path_id: 0,
        }
    }

    #[test]
    fn each_step_decides() {
        let a = base();
        let with = |f: &dyn Fn(&mut Candidate)| {
            let mut c = base();
            f(&mut c);
            c
        };
        let cases: Vec<(Candidate, Step)> = vec![
            (with(&|c| c.keys.local_pref = 50), Step::LocalPref),
            (with(&|c| c.keys.as_path_len = 3), Step::AsPathLen),
            (with(&|c| c.keys.origin = Origin::Incomplete), Step::Origin),
            (with(&|c| c.keys.med = 10), Step::Med),
            (
                with(&|c| c.peer_router_id = Ipv4Addr::new(10, 0, 0, 9)),
                Step::RouterId,
            ),
            (with(&|c| c.keys.cluster_list_len = 1), Step::ClusterListLen),
            (
                with(&|c| c.peer_addr = IpAddr::from([10, 0, 0, 6])),
                Step::PeerAddr,
            ),
            (with(&|c| c.path_id = 1), Step::PathId),
        ];
        for (worse, step) in cases {
            assert_eq!(compare(&a, &worse, false), (Ordering::Less, step));
        }
        let ebgp = with(&|c| c.ebgp = true);
        assert_eq!(
            compare(&ebgp, &a, false),
            (Ordering::Less, Step::EbgpOverIbgp)
        );
        // ORIGINATOR_ID stands in for the router id.
        let reflected = with(&|c| c.keys.originator_id = Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(
            compare(&reflected, &a, false),
            (Ordering::Less, Step::RouterId)
        );
        // MED from another AS is not compared unless always-compare.
        let other_as = with(&|c| {
            c.keys.neighbor_as = Some(65002);
            c.keys.med = 10;
            c.peer_router_id = Ipv4Addr::new(10, 0, 0, 9);
            c.peer_addr = IpAddr::from([10, 0, 0, 9]);
        });
        assert_eq!(
            compare(&a, &other_as, false),
            (Ordering::Less, Step::RouterId)
        );
        assert_eq!(compare(&a, &other_as, true), (Ordering::Less, Step::Med));
    }

    #[test]
    fn deterministic_med_example() {
        // A (AS1, MED 10, id .1), B (AS1, MED 5, id .3), C (AS2, MED 0, id .2):
        // pairwise A<C (id), C<B (id), B<A (MED) is a cycle. Deterministic
        // MED drops A (beaten by B within AS1), then C beats B on id.
        let mk = |nas, med, id: u8| Candidate {
            keys: Keys {
                neighbor_as: Some(nas),
                med,
                ..base().keys
            },
            peer_router_id: Ipv4Addr::new(10, 0, 0, id),
            peer_addr: IpAddr::from([10, 0, 0, id]),
            ..base()
        };
        let (a, b, c) = (mk(1, 10, 1), mk(1, 5, 3), mk(2, 0, 2));
        for order in [
            [a, b, c],
            [c, b, a],
            [b, a, c],
            [b, c, a],
            [a, c, b],
            [c, a, b],
        ] {
            assert_eq!(order[select(&order, false).expect("best")], c);
        }
    }
}
