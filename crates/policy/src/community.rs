//! Community patterns and edits for the three community attributes:
//! COMMUNITIES (RFC 1997), EXTENDED_COMMUNITIES (RFC 4360, RFC 5668 for
//! 4-octet-AS route targets) and LARGE_COMMUNITY (RFC 8092).
//!
//! Every community is handled as an unsigned integer key (32, 64 or 128
//! bits). A pattern is a (mask, value) pair; exact patterns are kept in a
//! sorted list and wildcard ones in a short list of masks.

use std::{net::Ipv4Addr, ops::BitAnd};

use bgp_wire::attr::{Community, ExtendedCommunity, LargeCommunity};

/// An integer form of a community.
pub(crate) trait Key: Copy + Ord + Eq + BitAnd<Output = Self> + std::fmt::Debug {
    /// All bits set.
    const ALL: Self;
}
impl Key for u32 {
    const ALL: Self = u32::MAX;
}
impl Key for u64 {
    const ALL: Self = u64::MAX;
}
impl Key for u128 {
    const ALL: Self = u128::MAX;
}

/// A community type and its integer key.
pub(crate) trait Comm: Copy + Eq {
    /// The key type.
    type K: Key;
    /// The key.
    fn key(self) -> Self::K;
    /// The community of a key.
    fn from_key(k: Self::K) -> Self;
}

impl Comm for Community {
    type K = u32;
    fn key(self) -> u32 {
        self.0
    }
    fn from_key(k: u32) -> Self {
        Community(k)
    }
}

impl Comm for ExtendedCommunity {
    type K = u64;
    fn key(self) -> u64 {
        u64::from_be_bytes(self.0)
    }
    fn from_key(k: u64) -> Self {
        ExtendedCommunity(k.to_be_bytes())
    }
}

impl Comm for LargeCommunity {
    type K = u128;
    fn key(self) -> u128 {
        u128::from(self.global) << 64 | u128::from(self.local1) << 32 | u128::from(self.local2)
    }
    fn from_key(k: u128) -> Self {
        LargeCommunity {
            global: (k >> 64) as u32,
            local1: (k >> 32) as u32,
            local2: k as u32,
        }
    }
}

/// One pattern: a community matches when `key & mask == value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pattern<K> {
    pub mask: K,
    pub value: K,
}

impl<K: Key> Pattern<K> {
    fn exact(value: K) -> Self {
        Pattern {
            mask: K::ALL,
            value,
        }
    }

    /// The exact community, if this pattern has no wildcard.
    pub(crate) fn as_exact(&self) -> Option<K> {
        (self.mask == K::ALL).then_some(self.value)
    }
}

/// A field of a pattern: a number or `*`.
fn part(tok: &str, max: u64, what: &str, whole: &str) -> Result<Option<u64>, String> {
    if tok == "*" {
        return Ok(None);
    }
    match tok.parse::<u64>() {
        Ok(v) if v <= max => Ok(Some(v)),
        _ => Err(format!(
            "`{whole}`: {what} `{tok}` is not a number from 0 to {max} or `*`"
        )),
    }
}

/// Parses a standard community pattern: `ASN:VALUE` (16 bits each, either
/// may be `*`) or a well-known name: `no-export`, `no-advertise`,
/// `no-export-subconfed`, `graceful-shutdown`, `blackhole`.
pub(crate) fn parse_community(s: &str) -> Result<Pattern<u32>, String> {
    let s = s.trim();
    let named = match s {
        "no-export" => Some(Community::NO_EXPORT),
        "no-advertise" => Some(Community::NO_ADVERTISE),
        "no-export-subconfed" => Some(Community::NO_EXPORT_SUBCONFED),
        "graceful-shutdown" => Some(Community::GRACEFUL_SHUTDOWN),
        "blackhole" => Some(Community::BLACKHOLE),
        _ => None,
    };
    if let Some(c) = named {
        return Ok(Pattern::exact(c.0));
    }
    let (a, v) = s.split_once(':').ok_or_else(|| {
        format!("`{s}` is not a community: write ASN:VALUE (`*` for any) or a well-known name")
    })?;
    let a = part(a, 0xffff, "ASN", s)?;
    let v = part(v, 0xffff, "value", s)?;
    let mut p = Pattern { mask: 0, value: 0 };
    if let Some(a) = a {
        p.mask |= 0xffff_0000;
        p.value |= (a as u32) << 16;
    }
    if let Some(v) = v {
        p.mask |= 0xffff;
        p.value |= v as u32;
    }
    Ok(p)
}

/// Parses a large community pattern `GLOBAL:LOCAL1:LOCAL2` (32 bits each,
/// any part may be `*`).
pub(crate) fn parse_large(s: &str) -> Result<Pattern<u128>, String> {
    let s = s.trim();
    let parts: Vec<&str> = s.split(':').collect();
    let [g, l1, l2] = parts[..] else {
        return Err(format!(
            "`{s}` is not a large community: write GLOBAL:LOCAL1:LOCAL2 (`*` for any part)"
        ));
    };
    // the unused top 32 bits of the key are always zero
    let mut p = Pattern {
        mask: u128::from(u32::MAX) << 96,
        value: 0,
    };
    for (tok, shift, what) in [
        (g, 64, "global part"),
        (l1, 32, "local part 1"),
        (l2, 0, "local part 2"),
    ] {
        if let Some(v) = part(tok, u64::from(u32::MAX), what, s)? {
            p.mask |= u128::from(u32::MAX) << shift;
            p.value |= u128::from(v) << shift;
        }
    }
    Ok(p)
}

/// Parses extended community patterns. Forms (`KIND` is `rt` for a route
/// target or `soo` for a site of origin, RFC 4360 section 4, RFC 5668):
/// `KIND:ASN:N` with a 2-octet ASN and 32-bit N (type 0x00) or a 4-octet
/// ASN and 16-bit N (type 0x02), `KIND:A.B.C.D:N` with 16-bit N (type
/// 0x01), and `0x` with 16 hex digits for any raw value. In `rt`/`soo`
/// forms the ASN and N may be `*`; a `*` administrator matches the 2- and
/// 4-octet-AS and IPv4 forms, so one text can give several patterns.
pub(crate) fn parse_ext(s: &str) -> Result<Vec<Pattern<u64>>, String> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix("0x") {
        return match u64::from_str_radix(hex, 16) {
            Ok(v) if hex.len() == 16 => Ok(vec![Pattern::exact(v)]),
            _ => Err(format!(
                "`{s}`: a raw extended community is 0x and 16 hex digits"
            )),
        };
    }
    let parts: Vec<&str> = s.split(':').collect();
    let [kind, admin, num] = parts[..] else {
        return Err(format!(
            "`{s}` is not an extended community: write rt:ASN:N, soo:ASN:N, \
             rt:A.B.C.D:N or 0x and 16 hex digits"
        ));
    };
    let sub: u64 = match kind {
        "rt" => 0x02,
        "soo" => 0x03,
        _ => return Err(format!("`{s}`: the kind `{kind}` is not `rt` or `soo`")),
    };
    // (type, administrator bits and mask, width of the number field)
    let mut forms: Vec<(u64, u64, u64, u32)> = Vec::new();
    if admin == "*" {
        forms.extend([(0x00, 0, 0, 32), (0x02, 0, 0, 16), (0x01, 0, 0, 16)]);
    } else if admin.contains('.') {
        let ip: Ipv4Addr = admin
            .parse()
            .map_err(|_| format!("`{s}`: `{admin}` is not an IPv4 address"))?;
        forms.push((0x01, u64::from(u32::from(ip)), 0xffff_ffff, 16));
    } else {
        let asn = part(admin, u64::from(u32::MAX), "ASN", s)?.unwrap_or(0);
        if asn <= 0xffff {
            forms.push((0x00, asn, 0xffff, 32));
        } else {
            forms.push((0x02, asn, 0xffff_ffff, 16));
        }
    }
    let n_max = |w: u32| (1u64 << w) - 1;
    let widest = forms.iter().map(|f| f.3).max().unwrap_or(16);
    let num = part(num, n_max(widest), "number", s)?;
    let mut out = Vec::new();
    for (ty, admin_v, admin_m, width) in forms {
        // with a `*` administrator, a 32-bit number rules out the 16-bit forms
        if num.is_some_and(|n| n > n_max(width)) {
            continue;
        }
        let mut mask = 0xffff_u64 << 48 | admin_m << width;
        let mut value = ty << 56 | sub << 48 | admin_v << width;
        if let Some(n) = num {
            mask |= n_max(width);
            value |= n;
        }
        out.push(Pattern { mask, value });
    }
    Ok(out)
}

/// A compiled any-of list of patterns.
#[derive(Debug, Clone)]
pub(crate) struct PatternSet<K> {
    /// Exact keys, sorted and unique.
    exact: Box<[K]>,
    /// Wildcard patterns.
    wild: Box<[Pattern<K>]>,
}

impl<K: Key> PatternSet<K> {
    pub(crate) fn new(patterns: impl IntoIterator<Item = Pattern<K>>) -> Self {
        let (mut exact, mut wild) = (Vec::new(), Vec::new());
        for p in patterns {
            match p.as_exact() {
                Some(k) => exact.push(k),
                None if !wild.contains(&p) => wild.push(p),
                None => {}
            }
        }
        exact.sort_unstable();
        exact.dedup();
        PatternSet {
            exact: exact.into(),
            wild: wild.into(),
        }
    }

    /// Whether `k` matches some pattern.
    #[inline]
    pub(crate) fn matches(&self, k: K) -> bool {
        let hit = match self.exact.len() {
            0 => false,
            1..=4 => self.exact.contains(&k),
            _ => self.exact.binary_search(&k).is_ok(),
        };
        hit || self.wild.iter().any(|p| k & p.mask == p.value)
    }

    /// Whether any community in `list` matches.
    #[inline]
    pub(crate) fn any<C: Comm<K = K>>(&self, list: &[C]) -> bool {
        list.iter().any(|c| self.matches(c.key()))
    }
}

/// `set`/`remove`/`add` on one community attribute, applied in that
/// order: replace the list, drop what matches `remove`, append each `add`
/// not already there.
#[derive(Debug, Clone)]
pub(crate) struct Edit<C: Comm> {
    pub set: Option<Vec<C>>,
    pub remove: PatternSet<C::K>,
    pub add: Vec<C>,
}

impl<C: Comm> Edit<C> {
    /// The new list, or `None` when the edit changes nothing. Allocates
    /// only when it changes something.
    pub(crate) fn apply(&self, cur: &[C]) -> Option<Vec<C>> {
        let base: &[C] = self.set.as_deref().unwrap_or(cur);
        let kept = |c: &C| !self.remove.matches(c.key());
        let removes = base.iter().any(|c| !kept(c));
        let adds = self
            .add
            .iter()
            .any(|a| !base.iter().any(|c| c == a && kept(c)));
        if self.set.is_none() && !removes && !adds {
            return None;
        }
        let mut out: Vec<C> = base.iter().copied().filter(kept).collect();
        for a in &self.add {
            if !out.contains(a) {
                out.push(*a);
            }
        }
        (out != cur).then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cset(p: &[&str]) -> PatternSet<u32> {
        PatternSet::new(p.iter().map(|s| parse_community(s).unwrap()))
    }

    #[test]
    fn standard_patterns() {
        let s = cset(&["65000:101", "65001:*", "*:666", "no-export"]);
        let c = |x: &str| x.parse::<Community>().unwrap().0;
        assert!(s.matches(c("65000:101")));
        assert!(!s.matches(c("65000:102")));
        assert!(s.matches(c("65001:7")));
        assert!(s.matches(c("1:666")));
        assert!(s.matches(Community::NO_EXPORT.0));
        assert!(cset(&["*:*"]).matches(c("3:4")));
        for bad in ["65536:1", "1", "a:b", "1:2:3", "1:-1", ""] {
            assert!(parse_community(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn many_exact_use_binary_search() {
        let texts: Vec<String> = (0..50).map(|i| format!("65000:{}", i * 3)).collect();
        let s = PatternSet::new(texts.iter().map(|t| parse_community(t).unwrap()));
        for i in 0..150u32 {
            assert_eq!(s.matches(65000 << 16 | i), i % 3 == 0, "{i}");
        }
    }

    #[test]
    fn large_patterns() {
        let p = parse_large("65000:1:*").unwrap();
        let s = PatternSet::new([p]);
        let l = |g, a, b| {
            LargeCommunity {
                global: g,
                local1: a,
                local2: b,
            }
            .key()
        };
        assert!(s.matches(l(65000, 1, 99)));
        assert!(!s.matches(l(65000, 2, 99)));
        assert!(PatternSet::new([parse_large("*:*:7").unwrap()]).matches(l(1, 2, 7)));
        assert_eq!(parse_large("1:2:3").unwrap().as_exact(), Some(l(1, 2, 3)));
        assert_eq!(parse_large("1:*:3").unwrap().as_exact(), None);
        assert!(
            PatternSet::new([parse_large("4200000000:0:0").unwrap()]).matches(l(
                4_200_000_000,
                0,
                0
            ))
        );
        for bad in ["1:2", "1:2:3:4", "1:x:3", "4294967296:1:1"] {
            assert!(parse_large(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn extended_patterns() {
        let one = |s: &str| PatternSet::new(parse_ext(s).unwrap());
        let rt = |a: u16, v: u32| ExtendedCommunity::route_target(a, v).key();
        assert!(one("rt:65000:1").matches(rt(65000, 1)));
        assert!(!one("rt:65000:1").matches(rt(65000, 2)));
        assert!(one("rt:65000:*").matches(rt(65000, 2)));
        assert!(!one("soo:65000:1").matches(rt(65000, 1)));
        let four = ExtendedCommunity([0x02, 0x02, 0xfa, 0x56, 0xea, 0x00, 0, 7]).key();
        assert!(one("rt:4200000000:7").matches(four));
        assert!(one("rt:*:7").matches(four));
        assert!(one("rt:*:7").matches(rt(1, 7)));
        let ip = ExtendedCommunity([0x01, 0x02, 192, 0, 2, 1, 0, 9]).key();
        assert!(one("rt:192.0.2.1:9").matches(ip));
        assert!(one("rt:*:*").matches(ip));
        assert!(one("0x0002fde800000001").matches(rt(65000, 1)));
        // a 32-bit number fits only the 2-octet-AS form
        assert_eq!(parse_ext("rt:*:100000").unwrap().len(), 1);
        for bad in [
            "rt:1",
            "xx:1:1",
            "rt:4200000000:70000",
            "rt:1.2.3:1",
            "0x12",
            "rt:1:4294967296",
        ] {
            assert!(parse_ext(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn edits() {
        let c = |x: &str| x.parse::<Community>().unwrap();
        let e = Edit {
            set: None,
            remove: cset(&["65000:*"]),
            add: vec![c("1:1")],
        };
        assert_eq!(
            e.apply(&[c("65000:5"), c("2:2")]),
            Some(vec![c("2:2"), c("1:1")])
        );
        assert_eq!(e.apply(&[c("2:2"), c("1:1")]), None);
        let set = Edit {
            set: Some(vec![c("9:9")]),
            remove: cset(&[]),
            add: vec![],
        };
        assert_eq!(set.apply(&[c("1:1")]), Some(vec![c("9:9")]));
        assert_eq!(set.apply(&[c("9:9")]), None);
        let clear = Edit {
            set: Some(vec![]),
            remove: cset(&[]),
            add: vec![],
        };
        assert_eq!(clear.apply(&[c("1:1")]), Some(vec![]));
        assert_eq!(clear.apply(&[]), None);
        // adding what a remove pattern strips puts it back at the end
        let re = Edit {
            set: None,
            remove: cset(&["1:*"]),
            add: vec![c("1:1")],
        };
        assert_eq!(
            re.apply(&[c("1:1"), c("2:2")]),
            Some(vec![c("2:2"), c("1:1")])
        );
    }
}
