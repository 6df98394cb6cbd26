//! AS_PATH conditions and the prepend action (RFC 4271 section 5.1.2,
//! RFC 5065 confederation segments).
//!
//! Regular expressions run over the path written as text: AS numbers in
//! decimal separated by one space, AS_SETs in `{}`, confederation
//! sequences in `()` and confederation sets in `[]` (the `Display` form of
//! `bgp_wire::attr::AsPath`); an empty or absent AS_PATH is the empty
//! string. The text is written into a stack buffer, so a path shorter
//! than [`INLINE`] bytes costs no allocation.

use bgp_wire::attr::{AsPath, Segment, SegmentKind};

/// Bytes of path text kept on the stack (about 20 4-byte ASNs).
pub(crate) const INLINE: usize = 224;

/// The text form of an AS_PATH.
#[derive(Debug)]
pub(crate) enum PathText {
    Inline { buf: [u8; INLINE], len: usize },
    Heap(String),
}

fn put(buf: &mut [u8; INLINE], at: &mut usize, b: u8) -> Option<()> {
    *buf.get_mut(*at)? = b;
    *at += 1;
    Some(())
}

fn put_u32(buf: &mut [u8; INLINE], at: &mut usize, mut v: u32) -> Option<()> {
    let mut digits = [0u8; 10];
    let mut n = 0;
    loop {
        digits[n] = b'0' + (v % 10) as u8;
        n += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let end = *at + n;
    let dst = buf.get_mut(*at..end)?;
    for (d, s) in dst.iter_mut().zip(digits[..n].iter().rev()) {
        *d = *s;
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

impl PathText {
    /// The text of `path` (`None`: no AS_PATH, the empty string).
    pub(crate) fn of(path: Option<&AsPath>) -> PathText {
        let mut buf = [0u8; INLINE];
        let Some(path) = path else {
            return PathText::Inline { buf, len: 0 };
        };
        match write_inline(path, &mut buf) {
            Some(len) => PathText::Inline { buf, len },
            None => PathText::Heap(path.to_string()),
        }
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            // Only ASCII digits, spaces and brackets are written.
            PathText::Inline { buf, len } => std::str::from_utf8(&buf[..*len]).unwrap_or(""),
            PathText::Heap(s) => s,
        }
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
        for s in [
            "",
            "65001",
            "1 22 333 4294967295",
            "65001 {1 2} (64512 64513) [7] 9",
        ] {
            assert_eq!(PathText::of(Some(&p(s))).as_str(), s);
        }
        assert_eq!(PathText::of(None).as_str(), "");
        let long = AsPath::sequence(4_000_000_000..4_000_000_100);
        let t = PathText::of(Some(&long));
        assert!(matches!(t, PathText::Heap(_)));
        assert_eq!(t.as_str(), long.to_string());
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
