//! Bad configurations fail at load time, every error naming its field.

mod common;

use common::*;
use policy::{Policies, PolicyError};

/// Loading `text` fails with an error at exactly `field` whose message
/// contains `part`.
#[track_caller]
fn fails(text: &str, field: &str, part: &str) {
    let errors = load_err(text);
    assert!(
        errors
            .iter()
            .any(|e| e.field == field && e.message.contains(part)),
        "wanted `{field}` with `{part}`, got {errors:#?}"
    );
}

fn term(body: &str) -> String {
    format!("P:\n  terms:\n    - {body}\n")
}

#[test]
fn unknown_policy_in_a_chain() {
    let p = load("A: {default: accept}\nB: {default: reject}\n");
    let e = p.chain(&["A".into(), "NOPE".into()]).unwrap_err();
    assert_eq!(e.field, "[1]");
    assert!(e.message.contains("`NOPE`"), "{e}");
    assert!(e.message.contains("A, B"), "{e}");
    assert_eq!(e.to_string(), format!("[1]: {}", e.message));
    assert!(p.chain(&[]).unwrap().is_empty());
}

#[test]
fn malformed_community() {
    let t = term(r#"{match: {community: ["65000:1", "65000:x"]}, action: reject}"#);
    fails(&t, "policies.P.terms[0].match.community[1]", "65000:x");
    fails(
        &term(r#"{match: {community: ["70000:1"]}, action: reject}"#),
        "policies.P.terms[0].match.community[0]",
        "0 to 65535",
    );
    fails(
        &term(r#"{match: {large_community: ["1:2"]}, action: reject}"#),
        "policies.P.terms[0].match.large_community[0]",
        "GLOBAL",
    );
    fails(
        &term(r#"{match: {ext_community: ["target:1:1"]}, action: reject}"#),
        "policies.P.terms[0].match.ext_community[0]",
        "`target`",
    );
}

#[test]
fn malformed_prefix() {
    fails(
        &term(r#"{match: {prefix: ["10.0.0/8"]}, action: reject}"#),
        "policies.P.terms[0].match.prefix[0]",
        "not an IPv4 or IPv6 prefix",
    );
    fails(
        &term(r#"{match: {prefix: ["10.0.0.1/8"]}, action: reject}"#),
        "policies.P.terms[0].match.prefix[0]",
        "host bits",
    );
    fails(
        &term(r#"{match: {next_hop: ["nowhere"]}, action: reject}"#),
        "policies.P.terms[0].match.next_hop[0]",
        "neither",
    );
    fails(
        &term(r#"{match: {neighbor: ["10.0.0.0/33"]}, action: reject}"#),
        "policies.P.terms[0].match.neighbor[0]",
        "prefix",
    );
}

#[test]
fn contradictory_prefix_ranges() {
    fails(
        &term(r#"{match: {prefix: ["10.0.0.0/8 ge 24 le 16"]}, action: reject}"#),
        "policies.P.terms[0].match.prefix[0]",
        "ge 24 is above le 16",
    );
    fails(
        &term(r#"{match: {prefix: ["10.0.0.0/16 ge 8"]}, action: reject}"#),
        "policies.P.terms[0].match.prefix[0]",
        "below the prefix length",
    );
    fails(
        &term(r#"{match: {prefix: ["2001:db8::/32 le 129"]}, action: reject}"#),
        "policies.P.terms[0].match.prefix[0]",
        "0 to 128",
    );
    fails(
        &term(r#"{match: {as_path_length: {gt: 5, lt: 3}}, action: reject}"#),
        "policies.P.terms[0].match.as_path_length",
        "never match",
    );
}

#[test]
fn malformed_regex() {
    fails(
        &term(r#"{match: {as_path: ["^(65001"]}, action: reject}"#),
        "policies.P.terms[0].match.as_path[0]",
        "not a valid regular expression",
    );
    fails(
        &term(r#"{match: {as_path: ["^$NEIGHBOR_AS$"]}, action: reject}"#),
        "policies.P.terms[0].match.as_path[0]",
        "originated_by_neighbor_as",
    );
}

#[test]
fn unknown_keys() {
    fails(
        "P: {defualt: accept}\n",
        "policies.P.defualt",
        "unknown key",
    );
    fails(
        &term("{actoin: accept}"),
        "policies.P.terms[0].actoin",
        "expected one of: name, match, set, action",
    );
    fails(
        &term("{match: {comunity: [\"1:1\"]}, action: accept}"),
        "policies.P.terms[0].match.comunity",
        "unknown key",
    );
    fails(
        &term("{set: {localpref: 1}}"),
        "policies.P.terms[0].set.localpref",
        "unknown key",
    );
    fails(
        &term("{set: {communities: {append: [\"1:1\"]}}}"),
        "policies.P.terms[0].set.communities.append",
        "unknown key",
    );
    fails(
        &term("{set: {prepend: {as: 1}}}"),
        "policies.P.terms[0].set.prepend.as",
        "unknown key",
    );
    fails(
        &term("{match: {as_path_length: {max: 1}}, action: accept}"),
        "policies.P.terms[0].match.as_path_length.max",
        "unknown key",
    );
}

#[test]
fn unknown_action_and_words() {
    fails(
        &term("{action: permit}"),
        "policies.P.terms[0].action",
        "unknown value `permit`",
    );
    fails(
        "P: {default: maybe}\n",
        "policies.P.default",
        "accept, reject",
    );
    fails(
        &term("{match: {family: ipv4}, action: accept}"),
        "policies.P.terms[0].match.family",
        "ipv4-unicast",
    );
    fails(
        &term("{match: {source: [client, peer]}, action: accept}"),
        "policies.P.terms[0].match.source[1]",
        "non-client",
    );
    fails(
        &term("{match: {origin: [igp, bgp]}, action: accept}"),
        "policies.P.terms[0].match.origin[1]",
        "incomplete",
    );
    fails(
        &term("{set: {origin: bgp}}"),
        "policies.P.terms[0].set.origin",
        "igp",
    );
}

#[test]
fn bad_values() {
    fails(
        &term("{match: {community: []}, action: reject}"),
        "policies.P.terms[0].match.community",
        "empty list",
    );
    fails(
        &term("{match: {originated_by_neighbor_as: yes}, action: reject}"),
        "policies.P.terms[0].match.originated_by_neighbor_as",
        "true or false",
    );
    fails(
        &term("{set: {local_pref: -1}}"),
        "policies.P.terms[0].set.local_pref",
        "whole number",
    );
    fails(
        &term("{set: {med: 4294967296}}"),
        "policies.P.terms[0].set.med",
        "whole number",
    );
    fails(
        &term("{set: {local_pref: \"20\"}}"),
        "policies.P.terms[0].set.local_pref",
        "`20`",
    );
    fails(
        &term("{set: {prepend: {count: 0}}}"),
        "policies.P.terms[0].set.prepend.count",
        "1 to 32",
    );
    fails(
        &term("{set: {prepend: {asn: 0}}}"),
        "policies.P.terms[0].set.prepend.asn",
        "reserved",
    );
    fails(
        &term("{set: {communities: {add: [\"65000:*\"]}}}"),
        "policies.P.terms[0].set.communities.add[0]",
        "only in `remove`",
    );
    fails(
        &term("{set: {ext_communities: {set: [\"rt:*:1\"]}}}"),
        "policies.P.terms[0].set.ext_communities.set[0]",
        "only in `remove`",
    );
    fails(
        &term("{set: {}}"),
        "policies.P.terms[0].set",
        "nothing to set",
    );
    fails(
        &term("{match: {group: [{a: 1}]}, action: accept}"),
        "policies.P.terms[0].match.group[0]",
        "expected a string",
    );
}

#[test]
fn structure() {
    fails("[a, b]\n", "policies", "expected a mapping");
    fails(
        "P: {terms: {a: 1}}\n",
        "policies.P.terms",
        "expected a list",
    );
    fails("P: [1]\n", "policies.P", "expected a mapping");
    fails(
        &term("{match: {community: [\"1:1\"]}}"),
        "policies.P.terms[0].action",
        "missing",
    );
    fails(
        "P:\n  terms:\n    - {name: x, action: accept}\n    - {name: x, action: reject}\n",
        "policies.P.terms[1].name",
        "terms[0]",
    );
    fails(
        "P:\n  terms:\n    - accept\n",
        "policies.P.terms[0]",
        "expected a mapping",
    );
}

#[test]
fn every_error_is_reported() {
    let text = r#"
A:
  terms:
    - match: {community: ["bad"], prefix: ["10.0.0.0/8 ge 4"]}
      action: reject
    - action: maybe
B:
  default: never
C:
  terms:
    - set: {local_pref: x}
"#;
    let errors = load_err(text);
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "policies.A.terms[0].match.community[0]",
            "policies.A.terms[0].match.prefix[0]",
            "policies.A.terms[1].action",
            "policies.B.default",
            "policies.C.terms[0].set.local_pref",
        ]
    );
}

#[test]
fn empty_and_null_configurations_load() {
    for text in ["null", "{}", "P:\n", "P: {terms: []}\n"] {
        let p = Policies::from_yaml(&yaml(text)).unwrap();
        assert!(p.names().count() <= 1, "{text}");
    }
    // unquoted communities are strings in YAML 1.2
    let p = load("P:\n  terms:\n    - {match: {community: [65000:101]}, action: reject}\n");
    assert!(p.chain(&["P".into()]).is_ok());
}

#[test]
fn error_display_names_the_field() {
    let e = PolicyError::new("policies.P.default", "bad");
    assert_eq!(e.to_string(), "policies.P.default: bad");
}
