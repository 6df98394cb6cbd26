//! AS_PATH regular expressions. `regex-lite` does the matching; in front
//! of it sit shortcuts that `regex-lite` leaves out on purpose, all worked
//! out once when the expression is compiled, none changing an answer.
//!
//! - On the text ([`PathRegex::is_match`]): a pattern that is only literal
//!   text, perhaps anchored (`^$`, `^65001 `, ` 64496$`), is answered by a
//!   string comparison. Otherwise, when every match must contain one of a
//!   few literal strings (for `(^| )(6451[2-9]|64666)( |$)`: `6451` or
//!   `64666`), a text holding none of them is answered "no" without
//!   running the engine. The search for those strings understands a
//!   subset of the syntax (literals, groups, alternation, classes, `.`,
//!   anchors, repetition, simple escapes); on anything else it gives up
//!   and every text goes to the engine. It only drops requirements it
//!   cannot prove, so its "no" is always the engine's answer too.
//! - Without the text ([`PathRegex::quick`]): `^$` holds exactly for an
//!   empty path, and a literal made of digits only occurs in the text
//!   exactly when it occurs in the decimal form of one AS number (AS
//!   numbers are separated by characters that are not digits), which a
//!   few multiplications per AS number tell.
//!
//! `regex-lite` has no literal optimisations: an unanchored pattern costs
//! it about 30 ns per byte of path text, an anchored one about 40 ns in
//! all (measured on 4-AS paths); writing the text of such a path and
//! scanning it costs some tens of nanoseconds, the checks on the AS
//! numbers alone a few.

use bgp_wire::attr::AsPath;
use regex_lite::{Regex, RegexBuilder};

use crate::aspath;

/// Compiled size limit of one expression.
const SIZE_LIMIT: usize = 1 << 20;

/// Characters with a meaning in the regex syntax.
const META: &[char] = &[
    '\\', '.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$',
];

/// Shortest literal worth searching for before running the engine.
const MIN_PREFILTER_LEN: usize = 2;

#[derive(Debug, Clone)]
enum Shortcut {
    /// The whole pattern is `lit`, anchored at the start and/or the end.
    Literal {
        lit: Box<str>,
        start: bool,
        end: bool,
    },
    /// Every match contains one of these.
    Required(Box<[Box<str>]>),
    /// Run the engine on every text.
    None,
}

/// A string of decimal digits, to look for inside AS numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Digits {
    value: u64,
    /// Number of digits, 1 to 10.
    width: u32,
    /// 10 to the `width`.
    modulus: u64,
    /// `ceil(2^64 / modulus)`: `q / modulus` is `(q * reciprocal) >> 64`
    /// for every `q` below 2^32, with no division instruction.
    reciprocal: u128,
}

/// Number of decimal digits of `asn`.
#[inline]
fn decimal_len(asn: u32) -> u32 {
    asn.checked_ilog10().unwrap_or(0) + 1
}

impl Digits {
    /// The digits of `lit`, if it is 1 to 10 decimal digits (an AS number
    /// has at most 10).
    fn new(lit: &str) -> Option<Digits> {
        if lit.is_empty() || lit.len() > 10 || !lit.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let width = lit.len() as u32;
        let modulus = 10u64.pow(width);
        Some(Digits {
            value: lit.parse().ok()?,
            width,
            modulus,
            reciprocal: (1u128 << 64).div_ceil(u128::from(modulus)),
        })
    }

    /// Whether the decimal form of `asn`, `len` digits long, contains
    /// these digits.
    #[inline]
    fn in_asn(&self, asn: u32, len: u32) -> bool {
        let mut q = u64::from(asn);
        for _ in self.width..=len {
            let high = ((u128::from(q) * self.reciprocal) >> 64) as u64;
            if q - high * self.modulus == self.value {
                return true;
            }
            q /= 10;
        }
        false
    }
}

/// Whether some AS number of `path` contains one of `ds`.
#[inline]
fn any_in_path(ds: &[Digits], path: Option<&AsPath>) -> bool {
    path.is_some_and(|p| {
        p.asns().any(|a| {
            let len = decimal_len(a);
            ds.iter().any(|d| d.in_asn(a, len))
        })
    })
}

/// What can be told from the AS numbers, without the text.
#[derive(Debug, Clone)]
enum PathCheck {
    /// `^$`: the answer is whether the text is empty.
    Empty,
    /// The pattern is these digits, unanchored: the answer is whether
    /// they occur.
    Digits([Digits; 1]),
    /// Every match contains one of these: none occurring means no.
    AnyDigits(Box<[Digits]>),
    /// Nothing.
    None,
}

/// One compiled AS_PATH expression.
#[derive(Debug, Clone)]
pub(crate) struct PathRegex {
    re: Regex,
    shortcut: Shortcut,
    check: PathCheck,
}

impl PathRegex {
    /// Compiles `src`; the error says why it is not a valid expression.
    pub(crate) fn new(src: &str) -> Result<PathRegex, String> {
        let re = RegexBuilder::new(src)
            .size_limit(SIZE_LIMIT)
            .build()
            .map_err(|e| format!("`{src}` is not a valid regular expression: {e}"))?;
        let shortcut = shortcut(src);
        let check = path_check(&shortcut);
        Ok(PathRegex {
            re,
            shortcut,
            check,
        })
    }

    /// The answer for `path` if the AS numbers tell it; `None` when the
    /// text is needed ([`PathRegex::is_match`]).
    #[inline]
    pub(crate) fn quick(&self, path: Option<&AsPath>) -> Option<bool> {
        match &self.check {
            PathCheck::Empty => Some(aspath::text_is_empty(path)),
            PathCheck::Digits(d) => Some(any_in_path(d, path)),
            PathCheck::AnyDigits(ds) => (!any_in_path(ds, path)).then_some(false),
            PathCheck::None => None,
        }
    }

    /// Whether the expression matches somewhere in `text` (UTF-8; a path
    /// text is ASCII).
    #[inline]
    pub(crate) fn is_match(&self, text: &[u8]) -> bool {
        match &self.shortcut {
            Shortcut::Literal { lit, start, end } => match (start, end) {
                (true, true) => text == lit.as_bytes(),
                (true, false) => text.starts_with(lit.as_bytes()),
                (false, true) => text.ends_with(lit.as_bytes()),
                (false, false) => occurs(text, lit.as_bytes()),
            },
            Shortcut::Required(lits) => {
                lits.iter().any(|l| occurs(text, l.as_bytes())) && self.engine(text)
            }
            Shortcut::None => self.engine(text),
        }
    }

    fn engine(&self, text: &[u8]) -> bool {
        std::str::from_utf8(text).is_ok_and(|s| self.re.is_match(s))
    }
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `v` that is zero is set in the result
/// (and maybe that of a byte above a zero byte: a false candidate).
#[inline]
fn zero_bytes(v: u64) -> u64 {
    v.wrapping_sub(LO) & !v & HI
}

/// Eight bytes of `b` from `at` as one word, first byte lowest.
#[inline]
fn word(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// Whether `needle` occurs in `hay`. Path texts are a few dozen bytes, too
/// short for `str::contains` to earn back the setup of its searcher, and
/// their digits repeat too often for a byte-by-byte scan to branch well:
/// this finds the places where the first two bytes of `needle` match,
/// eight at a time in a word, and compares the whole needle only there.
#[inline]
fn occurs(hay: &[u8], needle: &[u8]) -> bool {
    let (a, b) = match needle {
        [] => return true,
        [a] => return hay.contains(a),
        [a, b, ..] => (*a, *b),
    };
    if hay.len() < needle.len() {
        return false;
    }
    // needle starts 0..=last; a block of eight starts reads nine bytes
    let last = hay.len() - needle.len();
    if last < 7 {
        return (0..=last).any(|i| hay[i] == a && hay[i + 1] == b && hay[i..].starts_with(needle));
    }
    let (fa, fb) = (LO * u64::from(a), LO * u64::from(b));
    let mut at = 0;
    loop {
        // the last block overlaps the one before rather than run short
        let block = at.min(last - 7);
        let mut marks = zero_bytes(word(hay, block) ^ fa) & zero_bytes(word(hay, block + 1) ^ fb);
        while marks != 0 {
            let k = (marks.trailing_zeros() / 8) as usize;
            if hay[block + k..].starts_with(needle) {
                return true;
            }
            marks &= marks - 1;
        }
        if block + 7 >= last {
            return false;
        }
        at = block + 8;
    }
}

fn path_check(shortcut: &Shortcut) -> PathCheck {
    match shortcut {
        Shortcut::Literal { lit, start, end } => match (start, end, Digits::new(lit)) {
            (true, true, _) if lit.is_empty() => PathCheck::Empty,
            (false, false, Some(d)) => PathCheck::Digits([d]),
            _ => PathCheck::None,
        },
        Shortcut::Required(lits) => {
            let digits: Option<Box<[Digits]>> = lits.iter().map(|l| Digits::new(l)).collect();
            digits.map_or(PathCheck::None, PathCheck::AnyDigits)
        }
        Shortcut::None => PathCheck::None,
    }
}

fn shortcut(src: &str) -> Shortcut {
    let (start, body) = match src.strip_prefix('^') {
        Some(rest) => (true, rest),
        None => (false, src),
    };
    let (end, body) = match body.strip_suffix('$') {
        Some(rest) => (true, rest),
        None => (false, body),
    };
    if !body.contains(META) {
        return Shortcut::Literal {
            lit: body.into(),
            start,
            end,
        };
    }
    let chars: Vec<char> = src.chars().collect();
    let mut p = Analyser { s: &chars, at: 0 };
    match p.alternation() {
        Some(info) if p.at == chars.len() => match info.req {
            Some(lits) if lits.iter().all(|l| l.chars().count() >= MIN_PREFILTER_LEN) => {
                Shortcut::Required(lits.into_iter().map(String::into_boxed_str).collect())
            }
            _ => Shortcut::None,
        },
        _ => Shortcut::None,
    }
}

/// What is known of a sub-expression.
#[derive(Debug, Clone, Default)]
struct Info {
    /// It matches exactly this text and nothing else.
    lit: Option<String>,
    /// Every match contains one of these (never an empty list).
    req: Option<Vec<String>>,
}

impl Info {
    fn opaque() -> Info {
        Info::default()
    }

    fn literal(s: String) -> Info {
        Info {
            req: (!s.is_empty()).then(|| vec![s.clone()]),
            lit: Some(s),
        }
    }
}

/// The better of two requirement sets: longer shortest literal, then
/// fewer literals.
fn better(a: Option<Vec<String>>, b: Option<Vec<String>>) -> Option<Vec<String>> {
    let score = |v: &Vec<String>| {
        let shortest = v.iter().map(|s| s.chars().count()).min().unwrap_or(0);
        (shortest, usize::MAX - v.len())
    };
    match (a, b) {
        (Some(a), Some(b)) => Some(if score(&b) > score(&a) { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// A recursive-descent reader of the syntax subset; `None` gives up.
struct Analyser<'a> {
    s: &'a [char],
    at: usize,
}

impl Analyser<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.at).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += 1;
        Some(c)
    }

    /// `branch ('|' branch)*`
    fn alternation(&mut self) -> Option<Info> {
        let mut branches = vec![self.concatenation()?];
        while self.peek() == Some('|') {
            self.at += 1;
            branches.push(self.concatenation()?);
        }
        if branches.len() == 1 {
            return branches.pop();
        }
        // a branch without a requirement lets matches avoid them all
        let req: Option<Vec<Vec<String>>> = branches.into_iter().map(|b| b.req).collect();
        Some(Info {
            lit: None,
            req: req.map(|r| {
                let mut r: Vec<String> = r.into_iter().flatten().collect();
                r.sort();
                r.dedup();
                r
            }),
        })
    }

    /// `item*` up to `|`, `)` or the end.
    fn concatenation(&mut self) -> Option<Info> {
        let mut whole = Some(String::new());
        let mut run = String::new();
        let mut best: Option<Vec<String>> = None;
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let item = self.repetition()?;
            match (&item.lit, &mut whole) {
                (Some(l), Some(w)) => w.push_str(l),
                _ => whole = None,
            }
            match item.lit {
                Some(l) => run.push_str(&l),
                None => {
                    if !run.is_empty() {
                        best = better(best, Some(vec![std::mem::take(&mut run)]));
                    }
                    best = better(best, item.req);
                }
            }
        }
        if !run.is_empty() {
            best = better(best, Some(vec![run]));
        }
        Some(Info {
            lit: whole,
            req: best,
        })
    }

    /// An atom and the quantifiers after it.
    fn repetition(&mut self) -> Option<Info> {
        let mut info = self.atom()?;
        loop {
            let min = match self.peek() {
                Some('*') | Some('?') => {
                    self.at += 1;
                    0
                }
                Some('+') => {
                    self.at += 1;
                    1
                }
                Some('{') => self.counted()?,
                _ => return Some(info),
            };
            // a lazy quantifier matches the same texts
            if self.peek() == Some('?') {
                self.at += 1;
            }
            info = if min == 0 {
                Info::opaque()
            } else {
                Info {
                    lit: None,
                    req: info.req,
                }
            };
        }
    }

    /// `{n}`, `{n,}` or `{n,m}`; returns n.
    fn counted(&mut self) -> Option<u32> {
        self.at += 1;
        let num = |p: &mut Self| -> Option<u32> {
            let from = p.at;
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.at += 1;
            }
            p.s[from..p.at].iter().collect::<String>().parse().ok()
        };
        let min = num(self)?;
        if self.peek() == Some(',') {
            self.at += 1;
            if self.peek() != Some('}') {
                num(self)?;
            }
        }
        (self.bump()? == '}').then_some(min)
    }

    fn atom(&mut self) -> Option<Info> {
        let c = self.bump()?;
        Some(match c {
            '(' => {
                if self.peek() == Some('?') {
                    // only non-capturing groups; flags could change meanings
                    if self.s.get(self.at + 1) != Some(&':') {
                        return None;
                    }
                    self.at += 2;
                }
                let inner = self.alternation()?;
                if self.bump()? != ')' {
                    return None;
                }
                inner
            }
            '[' => {
                self.class()?;
                Info::opaque()
            }
            '.' | '^' | '$' => Info::opaque(),
            '\\' => {
                let e = self.bump()?;
                if "dDsSwWbBAz".contains(e) {
                    Info::opaque()
                } else if e.is_ascii_punctuation() {
                    Info::literal(e.to_string())
                } else {
                    return None;
                }
            }
            c if META.contains(&c) => return None,
            c => Info::literal(c.to_string()),
        })
    }

    /// Skips a bracketed class (after its `[`).
    fn class(&mut self) -> Option<()> {
        if self.peek() == Some('^') {
            self.at += 1;
        }
        if self.peek() == Some(']') {
            self.at += 1;
        }
        loop {
            match self.bump()? {
                ']' => return Some(()),
                '\\' => {
                    self.bump()?;
                }
                '[' => return None,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(src: &str) -> Option<Vec<String>> {
        match shortcut(src) {
            Shortcut::Required(l) => Some(l.iter().map(|s| s.to_string()).collect()),
            _ => None,
        }
    }

    #[test]
    fn substring_scan() {
        for (hay, needle) in [
            ("", ""),
            ("abc", ""),
            ("", "a"),
            ("abc", "abc"),
            ("abc", "bc"),
            ("abcb", "cb"),
            ("ab", "abc"),
            ("aab", "ab"),
            ("abab", "ba"),
        ] {
            assert_eq!(
                occurs(hay.as_bytes(), needle.as_bytes()),
                hay.contains(needle),
                "{hay} {needle}"
            );
        }
        assert!(!occurs(b"65001 65002", b"6500 "));
        // past one 64-position block
        let long = "1 ".repeat(70) + "65001";
        assert!(occurs(long.as_bytes(), b"65001"));
        assert!(occurs(long.as_bytes(), b"1 1"));
        assert!(!occurs(long.as_bytes(), b"65002"));
    }

    #[test]
    fn digits_in_asns() {
        let has = |asn: u32, s: &str| Digits::new(s).unwrap().in_asn(asn, decimal_len(asn));
        assert!(has(64512, "6451"));
        assert!(has(64512, "4512"));
        assert!(has(64512, "64512"));
        assert!(!has(64512, "645120"));
        assert!(!has(64512, "6452"));
        assert!(has(105, "05"));
        assert!(!has(5, "05"));
        assert!(has(0, "0"));
        assert!(has(u32::MAX, "4294967295"));
        assert!(has(u32::MAX, "96729"));
        assert!(!has(4_000_000_000, "9999999999"));
        for asn in [0u32, 7, 10, 99, 100, 65535, 1_000_000, u32::MAX] {
            assert_eq!(decimal_len(asn) as usize, asn.to_string().len());
        }
        // the reciprocal gives the exact quotient for every 32-bit value
        for width in 1..=10u32 {
            let d = Digits::new(&"1".repeat(width as usize)).unwrap();
            let mut g = 0x9e37_79b9_7f4a_7c15_u64;
            for _ in 0..20_000 {
                g ^= g << 13;
                g ^= g >> 7;
                g ^= g << 17;
                for q in [
                    g >> 32,
                    (d.modulus - 1).min(u64::from(u32::MAX)),
                    d.modulus.min(u64::from(u32::MAX)),
                    u64::from(u32::MAX),
                ] {
                    let high = ((u128::from(q) * d.reciprocal) >> 64) as u64;
                    assert_eq!(high, q / d.modulus, "{q} / {}", d.modulus);
                }
            }
        }
        assert_eq!(Digits::new("12345678901"), None);
        assert_eq!(Digits::new("1 2"), None);
        assert_eq!(Digits::new(""), None);
    }

    #[test]
    fn literal_patterns() {
        for (src, lit, start, end) in [
            ("^$", "", true, true),
            ("^65001 ", "65001 ", true, false),
            (" 64496$", " 64496", false, true),
            ("64496", "64496", false, false),
        ] {
            match shortcut(src) {
                Shortcut::Literal {
                    lit: l,
                    start: s,
                    end: e,
                } => {
                    assert_eq!((&*l, s, e), (lit, start, end), "{src}");
                }
                other => panic!("{src}: {other:?}"),
            }
        }
        let r = PathRegex::new("^$").unwrap();
        assert!(r.is_match(b""));
        assert!(!r.is_match(b"1"));
    }

    #[test]
    fn required_literals() {
        assert_eq!(
            req("(^| )(6451[2-9]|64666)( |$)"),
            Some(vec!["6451".into(), "64666".into()])
        );
        assert_eq!(req("^65001( 65001)*$"), Some(vec!["65001".into()]));
        assert_eq!(
            req("_64666_|^1234 "),
            Some(vec!["1234 ".into(), "_64666_".into()])
        );
        assert_eq!(req("(?:64512)+ 3$"), Some(vec!["64512".into()]));
        assert_eq!(req("\\{64496 64497\\}"), Some(vec!["{64496 64497}".into()]));
        // nothing provable, or outside the subset: no prefilter
        for src in [
            "^6[0-9]+$",
            "(65001)?",
            "a|[0-9]",
            "(?i)abc",
            "\\x41bc",
            "^.*$",
            "(65|)",
        ] {
            assert_eq!(req(src), None, "{src}");
        }
    }

    #[test]
    fn shortcuts_agree_with_the_engine() {
        let texts = [
            "",
            "65001",
            "65001 65001",
            "64512 65001 3",
            "1 64666",
            "64666x",
            "{64496 64497}",
            "65001 {1 2} (64512 64513) [7] 9",
        ];
        for src in [
            "^$",
            "^65001( 65001)*$",
            "(^| )(6451[2-9]|64666)( |$)",
            " 64496$",
            "^65001 ",
            "\\{64496 64497\\}",
            "(?:64512)+ 3$",
            "\\[7\\]",
        ] {
            let ours = PathRegex::new(src).unwrap();
            let engine = Regex::new(src).unwrap();
            for t in texts {
                assert_eq!(
                    ours.is_match(t.as_bytes()),
                    engine.is_match(t),
                    "{src} on `{t}`"
                );
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            cases: 4000,
            failure_persistence: None,
            ..Default::default()
        })]

        /// On any pattern built from these pieces that the engine accepts,
        /// the shortcuts give the engine's answer on any path text.
        #[test]
        fn shortcuts_never_change_an_answer(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                "^", "$", "6", "5", "0", "1", " ", "(", ")", "|", "*", "+", "?", "[0-5]",
                "[^6]", ".", "{2}", "{1,3}", "{0,}", "\\d", "(?:", "65001", " 65002", "\\{",
                "\\}", "{", "}", "??", "\\b",
            ]), 0..10),
            paths in proptest::collection::vec(
                proptest::collection::vec(proptest::sample::select(vec![
                    "65001", "65002", "6500", "1", "0", "{1 2}", "{65001}", "(65002)", "",
                ]), 0..5),
                1..8,
            ),
        ) {
            let src: String = pieces.concat();
            // (ours has a smaller size limit than the engine's default)
            let (Ok(engine), Ok(ours)) = (Regex::new(&src), PathRegex::new(&src)) else {
                return Ok(());
            };
            for p in paths {
                let text = p.join(" ");
                proptest::prop_assert_eq!(ours.is_match(text.as_bytes()), engine.is_match(&text), "{} on `{}`", src, text);
            }
        }
    }

    proptest::proptest! {
        /// The scan agrees with `str::contains` on path-like texts.
        #[test]
        fn scan_agrees_with_contains(
            hay in "[0-9 ]{0,150}",
            needle in "[0-9 ]{0,6}",
        ) {
            proptest::prop_assert_eq!(occurs(hay.as_bytes(), needle.as_bytes()), hay.contains(&needle));
        }

        /// Every piece of a text is found in it.
        #[test]
        fn scan_finds_every_piece(hay in "[0-9 ]{1,150}", at in 0usize..150, len in 0usize..8) {
            let at = at % hay.len();
            let piece = &hay[at..(at + len).min(hay.len())];
            proptest::prop_assert!(occurs(hay.as_bytes(), piece.as_bytes()));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            cases: 1000,
            failure_persistence: None,
            ..Default::default()
        })]

        /// Where the AS numbers alone give an answer, it is the engine's
        /// answer on the text.
        #[test]
        fn quick_answers_agree_with_the_engine(
            src in proptest::sample::select(vec![
                "^$", "64666", "6451", "05", "(^| )(6451[2-9]|64666)( |$)", "^6451", "(1|22)+3",
                "^65001( 65001)*$", "0",
            ]),
            segments in proptest::collection::vec(
                (0u8..3, proptest::collection::vec(proptest::sample::select(vec![
                    0u32, 5, 105, 64512, 64666, 164666, 22, 3, 223, 65001, 4_294_967_295,
                ]), 0..4)),
                0..4,
            ),
        ) {
            use bgp_wire::attr::{Segment, SegmentKind};
            let kinds = [SegmentKind::Sequence, SegmentKind::Set, SegmentKind::ConfedSequence];
            let path = AsPath {
                segments: segments
                    .into_iter()
                    .map(|(k, asns)| Segment { kind: kinds[usize::from(k)], asns })
                    .collect(),
            };
            let ours = PathRegex::new(src).unwrap();
            let engine = Regex::new(src).unwrap();
            let text = crate::aspath::with_text(Some(&path), |t| String::from_utf8(t.to_vec()).unwrap());
            if let Some(answer) = ours.quick(Some(&path)) {
                proptest::prop_assert_eq!(answer, engine.is_match(&text), "{} on `{}`", src, text);
            }
            proptest::prop_assert_eq!(ours.is_match(text.as_bytes()), engine.is_match(&text));
        }
    }
}
