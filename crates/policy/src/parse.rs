//! Loading: the YAML value of the daemon's `policies:` key into compiled
//! [`Policy`]s, collecting every error with the path of its field.

use bgp_wire::attr::{Community, ExtendedCommunity, LargeCommunity, Origin};
use serde_yaml_ng::Value;

use crate::{
    aspath::{self, Cmp},
    community::{self, Comm, Edit, Pattern, PatternSet},
    error::PolicyError,
    path_regex::PathRegex,
    prefix::{self, PrefixRange, PrefixSet},
    route::Source,
    term::{Action, Cond, Policy, Prepend, SetOps, Term, Verdict, FAMILY_V4, FAMILY_V6},
};

const POLICY_KEYS: &[&str] = &["default", "terms"];
const TERM_KEYS: &[&str] = &["name", "match", "set", "action"];
const MATCH_KEYS: &[&str] = &[
    "prefix",
    "community",
    "ext_community",
    "large_community",
    "as_path",
    "as_path_length",
    "originated_by_neighbor_as",
    "origin",
    "next_hop",
    "neighbor",
    "group",
    "family",
    "source",
];
const SET_KEYS: &[&str] = &[
    "local_pref",
    "med",
    "origin",
    "communities",
    "ext_communities",
    "large_communities",
    "prepend",
    "next_hop_self",
];
const EDIT_KEYS: &[&str] = &["set", "add", "remove"];
const PREPEND_KEYS: &[&str] = &["asn", "count"];
const LENGTH_KEYS: &[&str] = &["eq", "ne", "lt", "le", "gt", "ge"];
/// Most times one `prepend` may repeat an AS.
const MAX_PREPEND: u32 = 32;

/// Loads every policy of `v` (the value of `policies:`, whose own field
/// path is `root`).
pub(crate) fn load(v: &Value, root: &str) -> Result<Vec<Policy>, Vec<PolicyError>> {
    let mut l = Loader { errors: Vec::new() };
    let mut out = Vec::new();
    if !v.is_null() {
        for (name, body) in l.mapping(v, root, None).unwrap_or_default() {
            let field = format!("{root}.{name}");
            if name.trim().is_empty() {
                l.err(&field, "a policy name must not be empty");
            }
            out.push(l.policy(name, body, &field));
        }
    }
    if l.errors.is_empty() {
        Ok(out)
    } else {
        Err(l.errors)
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

struct Loader {
    errors: Vec<PolicyError>,
}

impl Loader {
    fn err(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(PolicyError::new(field, message));
    }

    /// The entries of a mapping with string keys; with `allowed`, other
    /// keys are reported and left out.
    fn mapping<'v>(
        &mut self,
        v: &'v Value,
        field: &str,
        allowed: Option<&[&str]>,
    ) -> Option<Vec<(&'v str, &'v Value)>> {
        let Value::Mapping(m) = v else {
            self.err(field, format!("expected a mapping, found {}", kind(v)));
            return None;
        };
        let mut out = Vec::with_capacity(m.len());
        for (k, val) in m {
            let Value::String(k) = k else {
                self.err(field, format!("keys must be strings, found {}", kind(k)));
                continue;
            };
            match allowed {
                Some(keys) if !keys.contains(&k.as_str()) => self.err(
                    &format!("{field}.{k}"),
                    format!("unknown key; expected one of: {}", keys.join(", ")),
                ),
                _ => out.push((k.as_str(), val)),
            }
        }
        Some(out)
    }

    /// The items of a list (a single scalar counts as a list of one), each
    /// with its field path; an empty list is an error, as it never matches.
    fn list<'v>(&mut self, v: &'v Value, field: &str) -> Vec<(String, &'v Value)> {
        match v {
            Value::Sequence(s) => {
                if s.is_empty() {
                    self.err(field, "an empty list can never match");
                }
                s.iter()
                    .enumerate()
                    .map(|(i, item)| (format!("{field}[{i}]"), item))
                    .collect()
            }
            Value::String(_) | Value::Number(_) | Value::Bool(_) => vec![(field.to_owned(), v)],
            _ => {
                self.err(field, format!("expected a list, found {}", kind(v)));
                Vec::new()
            }
        }
    }

    fn str<'v>(&mut self, v: &'v Value, field: &str) -> Option<&'v str> {
        match v {
            Value::String(s) => Some(s),
            _ => {
                self.err(field, format!("expected a string, found {}", kind(v)));
                None
            }
        }
    }

    fn u32(&mut self, v: &Value, field: &str) -> Option<u32> {
        match v.as_u64().map(u32::try_from) {
            Some(Ok(n)) => Some(n),
            _ => {
                self.err(
                    field,
                    format!(
                        "expected a whole number from 0 to 4294967295, found {}",
                        show(v)
                    ),
                );
                None
            }
        }
    }

    fn bool(&mut self, v: &Value, field: &str) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            _ => {
                self.err(field, format!("expected true or false, found {}", show(v)));
                None
            }
        }
    }

    /// Parses each string item of the list at `field` with `parse`.
    fn parsed<T>(
        &mut self,
        v: &Value,
        field: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Vec<T> {
        let mut out = Vec::new();
        for (f, item) in self.list(v, field) {
            let Some(s) = self.str(item, &f) else {
                continue;
            };
            match parse(s) {
                Ok(t) => out.push(t),
                Err(e) => self.err(&f, e),
            }
        }
        out
    }

    /// A keyword from `words` (each with its value).
    fn word<T: Copy>(&mut self, v: &Value, field: &str, words: &[(&str, T)]) -> Option<T> {
        let s = self.str(v, field)?;
        let found = words.iter().find(|(w, _)| *w == s).map(|(_, t)| *t);
        if found.is_none() {
            let names: Vec<&str> = words.iter().map(|(w, _)| *w).collect();
            self.err(
                field,
                format!("unknown value `{s}`; expected one of: {}", names.join(", ")),
            );
        }
        found
    }

    fn policy(&mut self, name: &str, v: &Value, field: &str) -> Policy {
        let mut p = Policy {
            name: name.to_owned(),
            terms: Box::default(),
            default: None,
        };
        if v.is_null() {
            return p;
        }
        for (k, val) in self
            .mapping(v, field, Some(POLICY_KEYS))
            .unwrap_or_default()
        {
            let f = format!("{field}.{k}");
            match k {
                "default" => {
                    let words = [("accept", Verdict::Accept), ("reject", Verdict::Reject)];
                    p.default = self.word(val, &f, &words);
                }
                _ => p.terms = self.terms(val, &f).into(),
            }
        }
        p
    }

    fn terms(&mut self, v: &Value, field: &str) -> Vec<Term> {
        let items = match v {
            Value::Sequence(s) => s,
            Value::Null => return Vec::new(),
            _ => {
                self.err(
                    field,
                    format!("expected a list of terms, found {}", kind(v)),
                );
                return Vec::new();
            }
        };
        let mut names: Vec<(&str, usize)> = Vec::new();
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let f = format!("{field}[{i}]");
            if let Some(name) = item.get("name").and_then(Value::as_str) {
                match names.iter().find(|(n, _)| *n == name) {
                    Some((_, j)) => self.err(
                        &format!("{f}.name"),
                        format!("the name `{name}` is already used by {field}[{j}]"),
                    ),
                    None => names.push((name, i)),
                }
            }
            if let Some(t) = self.term(item, &f) {
                out.push(t);
            }
        }
        out
    }

    fn term(&mut self, v: &Value, field: &str) -> Option<Term> {
        let entries = self.mapping(v, field, Some(TERM_KEYS))?;
        let mut conds = Vec::new();
        let mut set = None;
        let mut action = None;
        for (k, val) in entries {
            let f = format!("{field}.{k}");
            match k {
                "name" => {
                    self.str(val, &f);
                }
                "match" => conds = self.conds(val, &f),
                "set" => set = self.set_ops(val, &f),
                _ => {
                    let words = [
                        ("accept", Action::Accept),
                        ("reject", Action::Reject),
                        ("next-term", Action::NextTerm),
                        ("next-policy", Action::NextPolicy),
                    ];
                    action = Some(self.word(val, &f, &words)?);
                }
            }
        }
        let action = match (action, &set) {
            (Some(a), _) => a,
            (None, Some(_)) => Action::NextTerm,
            (None, None) => {
                self.err(
                    &format!("{field}.action"),
                    "missing; a term without `set` needs an action: accept, reject, \
                     next-term or next-policy",
                );
                return None;
            }
        };
        conds.sort_by_key(Cond::rank);
        Some(Term {
            conds: conds.into(),
            set: set.map(Box::new),
            action,
        })
    }

    fn conds(&mut self, v: &Value, field: &str) -> Vec<Cond> {
        let mut out = Vec::new();
        if v.is_null() {
            return out;
        }
        for (k, val) in self.mapping(v, field, Some(MATCH_KEYS)).unwrap_or_default() {
            let f = format!("{field}.{k}");
            let cond = match k {
                "prefix" => {
                    let r: Vec<PrefixRange> = self.parsed(val, &f, prefix::parse_range);
                    Cond::Prefix(PrefixSet::new(&r))
                }
                "next_hop" => {
                    let r: Vec<PrefixRange> = self.parsed(val, &f, prefix::parse_addr_net);
                    Cond::NextHop(PrefixSet::new(&r))
                }
                "neighbor" => {
                    let r: Vec<PrefixRange> = self.parsed(val, &f, prefix::parse_addr_net);
                    Cond::Neighbor(PrefixSet::new(&r))
                }
                "community" => {
                    let p = self.parsed(val, &f, community::parse_community);
                    Cond::Community(PatternSet::new(p))
                }
                "ext_community" => {
                    let p = self.parsed(val, &f, community::parse_ext);
                    Cond::ExtCommunity(PatternSet::new(p.into_iter().flatten()))
                }
                "large_community" => {
                    let p = self.parsed(val, &f, community::parse_large);
                    Cond::LargeCommunity(PatternSet::new(p))
                }
                "as_path" => Cond::AsPath(self.parsed(val, &f, compile_regex).into()),
                "as_path_length" => match self.length(val, &f) {
                    Some(c) => Cond::AsPathLength(c.into()),
                    None => continue,
                },
                "originated_by_neighbor_as" => match self.bool(val, &f) {
                    Some(b) => Cond::OriginatedByNeighborAs(b),
                    None => continue,
                },
                "origin" => {
                    let words = [
                        ("igp", Origin::Igp),
                        ("egp", Origin::Egp),
                        ("incomplete", Origin::Incomplete),
                    ];
                    Cond::Origin(self.bits(val, &f, &words, |o| 1 << o.value()))
                }
                "family" => {
                    let words = [("ipv4-unicast", FAMILY_V4), ("ipv6-unicast", FAMILY_V6)];
                    Cond::Family(self.bits(val, &f, &words, |b| b))
                }
                "source" => {
                    let words = [
                        ("client", Source::Client),
                        ("non-client", Source::NonClient),
                        ("ebgp", Source::Ebgp),
                    ];
                    Cond::Source(self.bits(val, &f, &words, Source::bit))
                }
                _ => {
                    let names: Vec<Box<str>> = self
                        .list(val, &f)
                        .into_iter()
                        .filter_map(|(f, item)| self.str(item, &f).map(Box::from))
                        .collect();
                    Cond::Group(names.into())
                }
            };
            out.push(cond);
        }
        out
    }

    /// A list of keywords folded into a bit set.
    fn bits<T: Copy>(
        &mut self,
        v: &Value,
        field: &str,
        words: &[(&str, T)],
        bit: impl Fn(T) -> u8,
    ) -> u8 {
        let mut bits = 0;
        for (f, item) in self.list(v, field) {
            if let Some(t) = self.word(item, &f, words) {
                bits |= bit(t);
            }
        }
        bits
    }

    fn length(&mut self, v: &Value, field: &str) -> Option<Vec<(Cmp, u32)>> {
        let entries = self.mapping(v, field, Some(LENGTH_KEYS))?;
        if entries.is_empty() {
            self.err(field, "give at least one of eq, ne, lt, le, gt, ge");
            return None;
        }
        let mut cmps = Vec::new();
        for (k, val) in entries {
            let n = self.u32(val, &format!("{field}.{k}"))?;
            cmps.push((Cmp::from_key(k)?, n));
        }
        if !aspath::satisfiable(&cmps) {
            self.err(
                field,
                "no path length satisfies all of these, so it can never match",
            );
        }
        Some(cmps)
    }

    fn set_ops(&mut self, v: &Value, field: &str) -> Option<SetOps> {
        let entries = self.mapping(v, field, Some(SET_KEYS))?;
        if entries.is_empty() {
            self.err(
                field,
                format!("nothing to set; use one of: {}", SET_KEYS.join(", ")),
            );
        }
        let mut s = SetOps::default();
        for (k, val) in entries {
            let f = format!("{field}.{k}");
            match k {
                "local_pref" => s.local_pref = self.u32(val, &f),
                "med" => s.med = self.u32(val, &f),
                "origin" => {
                    let words = [
                        ("igp", Origin::Igp),
                        ("egp", Origin::Egp),
                        ("incomplete", Origin::Incomplete),
                    ];
                    s.origin = self.word(val, &f, &words);
                }
                "communities" => {
                    s.communities = self.edit(val, &f, |t| {
                        one_exact(community::parse_community(t)?, t).map(Community::from_key)
                    });
                }
                "ext_communities" => {
                    s.ext_communities =
                        self.edit(val, &f, |t| match community::parse_ext(t)?.as_slice() {
                            [p] => one_exact(*p, t).map(ExtendedCommunity::from_key),
                            _ => Err(wildcard_here(t)),
                        });
                }
                "large_communities" => {
                    s.large_communities = self.edit(val, &f, |t| {
                        one_exact(community::parse_large(t)?, t).map(LargeCommunity::from_key)
                    });
                }
                "prepend" => s.prepend = self.prepend(val, &f),
                _ => s.next_hop_self = self.bool(val, &f).unwrap_or(false),
            }
        }
        Some(s)
    }

    /// `{set: [...], add: [...], remove: [...]}` for one community type;
    /// `exact` parses a `set`/`add` item.
    fn edit<C: Comm>(
        &mut self,
        v: &Value,
        field: &str,
        exact: impl Fn(&str) -> Result<C, String>,
    ) -> Option<Edit<C>>
    where
        Loader: RemovePatterns<C::K>,
    {
        let entries = self.mapping(v, field, Some(EDIT_KEYS))?;
        if entries.is_empty() {
            self.err(field, "give at least one of set, add, remove");
        }
        let mut e = Edit {
            set: None,
            remove: PatternSet::new([]),
            add: Vec::new(),
        };
        for (k, val) in entries {
            let f = format!("{field}.{k}");
            match k {
                // `set: []` clears the attribute, so it may be empty
                "set" if matches!(val, Value::Sequence(s) if s.is_empty()) => {
                    e.set = Some(Vec::new())
                }
                "set" => e.set = Some(self.parsed(val, &f, &exact)),
                "add" => e.add = self.parsed(val, &f, &exact),
                _ => e.remove = PatternSet::new(self.remove_patterns(val, &f)),
            }
        }
        Some(e)
    }

    fn prepend(&mut self, v: &Value, field: &str) -> Option<Prepend> {
        let mut p = Prepend {
            asn: None,
            count: 1,
        };
        for (k, val) in self.mapping(v, field, Some(PREPEND_KEYS))? {
            let f = format!("{field}.{k}");
            let n = self.u32(val, &f)?;
            match k {
                "asn" if n == 0 => self.err(&f, "AS 0 is reserved (RFC 7607)"),
                "asn" => p.asn = Some(n),
                _ if !(1..=MAX_PREPEND).contains(&n) => {
                    self.err(&f, format!("the count is 1 to {MAX_PREPEND}"));
                }
                _ => p.count = n as u8,
            }
        }
        Some(p)
    }
}

/// Parsing `remove` items, per community key type.
trait RemovePatterns<K> {
    fn remove_patterns(&mut self, v: &Value, field: &str) -> Vec<Pattern<K>>;
}

impl RemovePatterns<u32> for Loader {
    fn remove_patterns(&mut self, v: &Value, field: &str) -> Vec<Pattern<u32>> {
        self.parsed(v, field, community::parse_community)
    }
}

impl RemovePatterns<u64> for Loader {
    fn remove_patterns(&mut self, v: &Value, field: &str) -> Vec<Pattern<u64>> {
        self.parsed(v, field, community::parse_ext)
            .into_iter()
            .flatten()
            .collect()
    }
}

impl RemovePatterns<u128> for Loader {
    fn remove_patterns(&mut self, v: &Value, field: &str) -> Vec<Pattern<u128>> {
        self.parsed(v, field, community::parse_large)
    }
}

fn wildcard_here(t: &str) -> String {
    format!("`{t}`: wildcards are allowed only in `remove`")
}

fn one_exact<K: community::Key>(p: Pattern<K>, t: &str) -> Result<K, String> {
    p.as_exact().ok_or_else(|| wildcard_here(t))
}

/// A short text form of a scalar for messages.
fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("`{s}`"),
        Value::Number(n) => format!("`{n}`"),
        Value::Bool(b) => format!("`{b}`"),
        _ => kind(v).to_owned(),
    }
}

/// Compiles an AS_PATH expression (see [`crate::aspath`] for the text it
/// runs on).
fn compile_regex(s: &str) -> Result<PathRegex, String> {
    if s.contains("NEIGHBOR_AS") {
        return Err(
            "`NEIGHBOR_AS` is not a variable here; use `originated_by_neighbor_as: true`".into(),
        );
    }
    PathRegex::new(s)
}
