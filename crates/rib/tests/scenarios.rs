//! Golden scenarios replayed from `tests/scenarios/*.yaml`.
//!
//! A scenario names one or more RIBs (`ribs:`), then `steps:`, each an
//! [`Input`] for one RIB and what every peer of that RIB must receive after
//! it (`expect:`, by peer id). Group change sets are expanded to each member
//! as it would see them (never its own routes back); peers not listed must
//! receive nothing. Several RIBs model a hierarchy: what one RR sends is
//! written as the next RR's input.

use std::{collections::BTreeMap, fs, path::Path};

use bgp_wire::{attr::NextHop, Family, Nlri, PathAttributes};
use rib::{ChangeSet, Input, PeerId, Rib, RibConfig, Target};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    ribs: BTreeMap<String, RibConfig>,
    steps: Vec<Step>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    /// Which RIB; may be left out when there is only one.
    #[serde(default)]
    rib: Option<String>,
    input: Input,
    #[serde(default)]
    expect: BTreeMap<u32, Vec<Received>>,
}

/// One thing a peer is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
struct Received {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    withdraw: Vec<Nlri>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    announce: Vec<Nlri>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next_hop: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attrs: Option<Attrs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    end_of_rib: Option<Family>,
}

/// Attributes compared through their text form (PathAttributes has no Ord).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Attrs(String);

impl Serialize for Attrs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v: PathAttributes = serde_json::from_str(&self.0).map_err(serde::ser::Error::custom)?;
        v.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Attrs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = PathAttributes::deserialize(d)?;
        Ok(Attrs(
            serde_json::to_string(&v).map_err(serde::de::Error::custom)?,
        ))
    }
}

fn received(cs: &ChangeSet) -> Vec<Received> {
    let none = Received {
        withdraw: vec![],
        announce: vec![],
        next_hop: None,
        attrs: None,
        end_of_rib: None,
    };
    let mut out = Vec::new();
    for w in &cs.withdraw {
        assert_eq!(w.except, None, "for_member leaves no exception");
        out.push(Received {
            withdraw: w.nlri.clone(),
            ..none.clone()
        });
    }
    for a in &cs.announce {
        out.push(Received {
            announce: a.nlri.clone(),
            next_hop: Some(nh(&a.next_hop)),
            attrs: Some(Attrs(serde_json::to_string(&a.attrs).expect("serializes"))),
            ..none.clone()
        });
    }
    if cs.end_of_rib {
        out.push(Received {
            end_of_rib: Some(cs.family),
            ..none
        });
    }
    out
}

fn yaml(v: &impl Serialize) -> String {
    let mut out = Vec::new();
    let mut ser = serde_yaml_ng::Serializer::new(&mut out);
    serde_yaml_ng::with::singleton_map_recursive::serialize(v, &mut ser).expect("yaml");
    String::from_utf8(out).expect("utf-8")
}

fn nh(n: &NextHop) -> String {
    n.to_string()
}

fn run(path: &Path) {
    let name = path.display();
    let text = fs::read_to_string(path).expect("readable scenario");
    // Enums are written as one-key maps (`peer_up: {...}`), not YAML tags.
    let de = serde_yaml_ng::Deserializer::from_str(&text);
    let sc: Scenario = serde_yaml_ng::with::singleton_map_recursive::deserialize(de)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut ribs: BTreeMap<String, Rib> = sc
        .ribs
        .into_iter()
        .map(|(n, cfg)| (n, Rib::new(cfg)))
        .collect();
    for (i, step) in sc.steps.into_iter().enumerate() {
        let rib_name = match (&step.rib, ribs.len()) {
            (Some(r), _) => r.clone(),
            (None, 1) => ribs.keys().next().expect("one rib").clone(),
            (None, _) => panic!("{name} step {i}: say which rib"),
        };
        let rib = ribs
            .get_mut(&rib_name)
            .unwrap_or_else(|| panic!("{name}: no rib {rib_name}"));
        let out = rib
            .step(step.input)
            .unwrap_or_else(|e| panic!("{name} step {i}: {e}"));
        let mut got: BTreeMap<u32, Vec<Received>> = BTreeMap::new();
        for cs in &out {
            let members = match cs.target {
                Target::Group(g) => rib.members(g),
                Target::Peer(p) => vec![p],
            };
            for m in members {
                let mine = received(&cs.for_member(m));
                if !mine.is_empty() {
                    got.entry(m.0).or_default().extend(mine);
                }
            }
        }
        let mut want = step.expect;
        for v in got.values_mut().chain(want.values_mut()) {
            v.sort();
        }
        if got != want {
            panic!(
                "{name} step {i} ({rib_name}):\n--- expected\n{}\n--- got\n{}",
                yaml(&want),
                yaml(&got)
            );
        }
    }
    for (n, rib) in &ribs {
        for g in rib.group_ids() {
            assert_eq!(rib.pending(g), 0, "{name}: rib {n} group {g} left pending");
        }
    }
}

macro_rules! scenario {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            run(&Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/scenarios")
                .join(concat!(stringify!($name), ".yaml")));
        }
    )*};
}

scenario!(
    client_to_client,
    client_to_nonclient,
    nonclient_to_client,
    no_client_to_client,
    cluster_loop,
    originator_loop,
    hierarchy,
    peer_down_backup,
    treat_as_withdraw,
    ipv6_and_add_path,
);

#[test]
fn every_scenario_file_is_run() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let this = include_str!("scenarios.rs");
    for e in fs::read_dir(&dir).expect("scenario dir") {
        let p = e.expect("entry").path();
        let stem = p
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("name")
            .to_string();
        assert!(
            this.contains(&format!("    {stem},")),
            "{stem}.yaml is not listed in scenario!()"
        );
    }
    let _ = PeerId(0);
}
