//! AS_PATH conditions and the prepend action (RFC 4271 section 5.1.2,
//! RFC 5065 confederation segments).
//!
//! Regular expressions run over the path written as text: AS numbers in
//! decimal separated by one space, AS_SETs in `{}`, confederation
//! sequences in `()` and confederation sets in `[]` (the `Display` form of
//! `bgp_wire::attr::AsPath`); an empty or absent AS_PATH is the empty
//! string. The text is written into a stack buffer for each expression
//! term, so a path shorter than [`INLINE`] bytes costs no allocation.

use bgp_wire::attr::{AsPath, Segment, SegmentKind};

/// Bytes of path text kept on the stack (18 five-digit ASNs).
pub(crate) const INLINE: usize = 128;

fn put(buf: &mut [u8; INLINE], at: &mut usize, b: u8) -> Option<()> {
    *buf.get_mut(*at)? = b;
    *at += 1;
    Some(())
}

/// "00" to "99".
const PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};

/// Writes `v` in decimal, two digits at a time from the right.
fn put_u32(buf: &mut [u8; INLINE], at: &mut usize, mut v: u32) -> Option<()> {
    let n = v.checked_ilog10().unwrap_or(0) as usize + 1;
    let end = *at + n;
    let dst = buf.get_mut(*at..end)?;
    let mut i = n;
    while v >= 100 {
        let r = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        dst[i..i + 2].copy_from_slice(&PAIRS[r..r + 2]);
    }
    if v >= 10 {
        let r = v as usize * 2;
        dst[..2].copy_from_slice(&PAIRS[r..r + 2]);
    } else {
        dst[0] = b'0' + v as u8;
    }
    *at = end;
    Some(())
}

fn write_inline(path: &AsPath, buf: &mut [u8; INLINE]) -> Option<usize> {
    let mut at = 0;
    for (i, seg) in path.segments.iter().enumerate() {
        if i > 0 {
            put(buf, &mut at, b' ')?;
        }
        let (open, close) = match seg.kind {
            SegmentKind::Sequence => (None, None),
            SegmentKind::Set => (Some(b'{'), Some(b'}')),
            SegmentKind::ConfedSequence => (Some(b'('), Some(b')')),
            SegmentKind::ConfedSet => (Some(b'['), Some(b']')),
        };
        if let Some(o) = open {
            put(buf, &mut at, o)?;
        }
        for (j, &asn) in seg.asns.iter().enumerate() {
            if j > 0 {
                put(buf, &mut at, b' ')?;
            }
            put_u32(buf, &mut at, asn)?;
        }
        if let Some(c) = close {
            put(buf, &mut at, c)?;
        }
    }
    Some(at)
}

/// Whether the text of `path` is empty, without writing it.
pub(crate) fn text_is_empty(path: Option<&AsPath>) -> bool {
    match path.map(|p| p.segments.as_slice()) {
        None | Some([]) => true,
        Some([only]) => only.kind == SegmentKind::Sequence && only.asns.is_empty(),
        Some(_) => false,
    }
}

/// Calls `f` with the text of `path` (`None`: no AS_PATH, the empty
/// text), written into a buffer on the stack unless it is longer than
/// [`INLINE`] bytes.
#[inline]
pub(crate) fn with_text<R>(path: Option<&AsPath>, f: impl FnOnce(&[u8]) -> R) -> R {
    let Some(path) = path else { return f(b"") };
    let mut buf = [0u8; INLINE];
    match write_inline(path, &mut buf) {
        Some(len) => f(&buf[..len]),
        None => f(path.to_string().as_bytes()),
    }
}

/// A comparison of `as_path_length` (RFC 4271 9.1.2.2 a counting: a set
/// counts one, confederation segments nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    pub(crate) fn from_key(k: &str) -> Option<Cmp> {
        Some(match k {
            "eq" => Cmp::Eq,
            "ne" => Cmp::Ne,
            "lt" => Cmp::Lt,
            "le" => Cmp::Le,
            "gt" => Cmp::Gt,
            "ge" => Cmp::Ge,
            _ => return None,
        })
    }

    #[inline]
    pub(crate) fn test(self, len: u32, n: u32) -> bool {
        match self {
            Cmp::Eq => len == n,
            Cmp::Ne => len != n,
            Cmp::Lt => len < n,
            Cmp::Le => len <= n,
            Cmp::Gt => len > n,
            Cmp::Ge => len >= n,
        }
    }
}

/// Whether the comparisons can all hold for some length.
pub(crate) fn satisfiable(cmps: &[(Cmp, u32)]) -> bool {
    let (mut lo, mut hi) = (0u64, u64::from(u32::MAX));
    for &(c, n) in cmps {
        let n = u64::from(n);
        match c {
            Cmp::Eq => {
                lo = lo.max(n);
                hi = hi.min(n);
            }
            Cmp::Lt if n == 0 => return false,
            Cmp::Lt => hi = hi.min(n - 1),
            Cmp::Le => hi = hi.min(n),
            Cmp::Gt => lo = lo.max(n + 1),
            Cmp::Ge => lo = lo.max(n),
            Cmp::Ne => {}
        }
    }
    // `ne` only rules out one value
    lo <= hi
        && (lo < hi
            || !cmps
                .iter()
                .any(|&(c, n)| c == Cmp::Ne && u64::from(n) == lo))
}

fn is_confed(s: &Segment) -> bool {
    matches!(s.kind, SegmentKind::ConfedSequence | SegmentKind::ConfedSet)
}

/// Every AS outside confederation segments is the first AS of the path
/// (the neighbouring AS), and there is at least one: the route was
/// originated by the neighbouring AS, however often it prepended itself.
pub(crate) fn originated_by_neighbor_as(path: Option<&AsPath>) -> bool {
    let Some(path) = path else { return false };
    let Some(first) = path.first_asn() else {
        return false;
    };
    path.segments
        .iter()
        .filter(|s| !is_confed(s))
        .all(|s| s.asns.iter().all(|&a| a == first))
}

/// `path` with `asn` prepended `count` times: into the leading
/// AS_SEQUENCE, or a new one in front when the path is empty or starts
/// with another kind of segment (RFC 4271 section 5.1.2).
pub(crate) fn prepend(path: Option<&AsPath>, asn: u32, count: u8) -> AsPath {
    let mut path = path.cloned().unwrap_or_default();
    let front = std::iter::repeat_n(asn, usize::from(count));
    match path.segments.first_mut() {
        Some(s) if s.kind == SegmentKind::Sequence => {
            s.asns.splice(0..0, front);
        }
        _ => path.segments.insert(
            0,
            Segment {
                kind: SegmentKind::Sequence,
                asns: front.collect(),
            },
        ),
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> AsPath {
        s.parse().unwrap()
    }

    #[test]
    fn text_matches_display() {
        let text = |p: Option<&AsPath>| with_text(p, |t| String::from_utf8(t.to_vec()).unwrap());
        for s in [
            "",
            "65001",
            "1 22 333 4294967295",
            "0 9 10 99 100 999 1000 65535 100000 1234567 12345678 123456789 1000000000",
            "65001 {1 2} (64512 64513) [7] 9",
        ] {
            assert_eq!(text(Some(&p(s))), s);
        }
        assert_eq!(text(None), "");
        assert!(text_is_empty(None));
        // odd paths no decoder produces, but a caller could build
        let seg = |kind| Segment { kind, asns: vec![] };
        for segments in [
            vec![],
            vec![seg(SegmentKind::Sequence)],
            vec![seg(SegmentKind::Set)],
            vec![seg(SegmentKind::Sequence), seg(SegmentKind::Sequence)],
            vec![seg(SegmentKind::ConfedSet)],
        ] {
            let path = AsPath { segments };
            assert_eq!(
                text_is_empty(Some(&path)),
                text(Some(&path)).is_empty(),
                "{path:?}"
            );
        }
        // longer than the stack buffer
        let long = AsPath::sequence(4_000_000_000..4_000_000_100);
        assert!(long.to_string().len() > INLINE);
        assert_eq!(text(Some(&long)), long.to_string());
    }

    #[test]
    fn neighbor_as() {
        let n = |s: &str| originated_by_neighbor_as(Some(&p(s)));
        assert!(n("65001"));
        assert!(n("65001 65001 65001"));
        assert!(!n("65001 65002"));
        assert!(!n(""));
        assert!(!originated_by_neighbor_as(None));
        assert!(!n("{65001}"));
        assert!(n("(64512) 65001 65001"));
        assert!(!n("65001 {65001 65002}"));
    }

    #[test]
    fn prepends() {
        assert_eq!(prepend(Some(&p("2 3")), 1, 2), p("1 1 2 3"));
        assert_eq!(prepend(None, 1, 1), p("1"));
        assert_eq!(prepend(Some(&p("")), 1, 3), p("1 1 1"));
        let set = prepend(Some(&p("{2 3}")), 1, 1);
        assert_eq!(set.segments.len(), 2);
        assert_eq!(set.to_string(), "1 {2 3}");
        assert_eq!(prepend(Some(&p("(9) 2")), 1, 1).to_string(), "1 (9) 2");
    }

    #[test]
    fn length_ranges() {
        assert!(satisfiable(&[(Cmp::Ge, 2), (Cmp::Le, 5)]));
        assert!(!satisfiable(&[(Cmp::Gt, 5), (Cmp::Lt, 3)]));
        assert!(!satisfiable(&[(Cmp::Lt, 0)]));
        assert!(!satisfiable(&[(Cmp::Eq, 3), (Cmp::Ne, 3)]));
        assert!(satisfiable(&[(Cmp::Eq, 3), (Cmp::Ne, 4)]));
        assert!(!satisfiable(&[(Cmp::Eq, 3), (Cmp::Eq, 4)]));
        assert!(satisfiable(&[(Cmp::Gt, 4294967295 - 1)]));
        assert!(!satisfiable(&[(Cmp::Gt, 4294967295)]));
    }
}
