//! AS_PATH, type 2 (RFC 4271 section 5.1.2, RFC 5065 confederation
//! segments, RFC 6793 2- and 4-octet encodings) and AS4_PATH, type 17
//! (RFC 6793 section 3). Malformed AS_PATH: treat-as-withdraw (RFC 7606
//! section 7.2); malformed AS4_PATH: attribute-discard (RFC 6793 section 6).

use std::fmt;

use bytes::{BufMut, BytesMut};

use crate::{error::AttrError, open::AS_TRANS};

/// Path segment type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SegmentKind {
    /// 1: unordered set (from aggregation).
    Set,
    /// 2: ordered sequence.
    Sequence,
    /// 3: confederation sequence (RFC 5065).
    ConfedSequence,
    /// 4: confederation set (RFC 5065).
    ConfedSet,
}

impl SegmentKind {
    fn from_wire(v: u8) -> Option<Self> {
        Some(match v {
            1 => Self::Set,
            2 => Self::Sequence,
            3 => Self::ConfedSequence,
            4 => Self::ConfedSet,
            _ => return None,
        })
    }

    fn wire(self) -> u8 {
        match self {
            Self::Set => 1,
            Self::Sequence => 2,
            Self::ConfedSequence => 3,
            Self::ConfedSet => 4,
        }
    }
}

/// One path segment: 1 to 255 AS numbers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Segment {
    /// Segment type.
    pub kind: SegmentKind,
    /// AS numbers, always held as 4 octets.
    pub asns: Vec<u32>,
}

/// An AS_PATH or AS4_PATH.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AsPath {
    /// Segments in wire order.
    pub segments: Vec<Segment>,
}

impl AsPath {
    /// A path of one AS_SEQUENCE (empty path for no ASNs).
    pub fn sequence(asns: impl IntoIterator<Item = u32>) -> Self {
        let asns: Vec<u32> = asns.into_iter().collect();
        if asns.is_empty() {
            return AsPath::default();
        }
        AsPath {
            segments: vec![Segment {
                kind: SegmentKind::Sequence,
                asns,
            }],
        }
    }

    /// Path length for best-path selection (RFC 4271 9.1.2.2 a): each AS in
    /// a sequence counts one, a set counts one, confederation segments
    /// count nothing (RFC 5065 section 5.3).
    pub fn path_len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s.kind {
                SegmentKind::Sequence => s.asns.len(),
                SegmentKind::Set => 1,
                SegmentKind::ConfedSequence | SegmentKind::ConfedSet => 0,
            })
            .sum()
    }

    /// The neighbouring AS: the first AS of a leading AS_SEQUENCE.
    pub fn first_asn(&self) -> Option<u32> {
        self.segments
            .iter()
            .find(|s| !matches!(s.kind, SegmentKind::ConfedSequence | SegmentKind::ConfedSet))
            .filter(|s| s.kind == SegmentKind::Sequence)
            .and_then(|s| s.asns.first().copied())
    }

    /// The originating AS: the last AS of a trailing AS_SEQUENCE.
    pub fn origin_asn(&self) -> Option<u32> {
        self.segments
            .last()
            .filter(|s| s.kind == SegmentKind::Sequence)
            .and_then(|s| s.asns.last().copied())
    }

    /// Every AS number in the path, in wire order.
    pub fn asns(&self) -> impl Iterator<Item = u32> + '_ {
        self.segments.iter().flat_map(|s| s.asns.iter().copied())
    }

    /// Whether `asn` appears anywhere (loop detection, RFC 4271 9.1.2).
    pub fn contains(&self, asn: u32) -> bool {
        self.asns().any(|a| a == asn)
    }

    pub(crate) fn decode(v: &[u8], four_octet: bool) -> Result<Self, AttrError> {
        let width = if four_octet { 4 } else { 2 };
        let mut segments = Vec::with_capacity(1);
        let mut i = 0;
        while i < v.len() {
            let (Some(&kind), Some(&count)) = (v.get(i), v.get(i + 1)) else {
                return Err(AttrError::Length {
                    length: v.len() as u16,
                });
            };
            let kind = SegmentKind::from_wire(kind).ok_or(AttrError::Value)?;
            if count == 0 {
                return Err(AttrError::Value);
            }
            let end = i + 2 + usize::from(count) * width;
            let body = v.get(i + 2..end).ok_or(AttrError::Length {
                length: v.len() as u16,
            })?;
            let asns = if four_octet {
                body.chunks_exact(4)
                    .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                    .collect()
            } else {
                body.chunks_exact(2)
                    .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
                    .collect()
            };
            segments.push(Segment { kind, asns });
            i = end;
        }
        Ok(AsPath { segments })
    }

    /// Segments longer than 255 ASNs are written as several segments.
    pub(crate) fn value_len(&self, four_octet: bool) -> usize {
        let width = if four_octet { 4 } else { 2 };
        self.segments
            .iter()
            .map(|s| s.asns.len().div_ceil(255) * 2 + s.asns.len() * width)
            .sum()
    }

    /// In a 2-octet encoding, AS numbers above 65535 become AS_TRANS.
    pub(crate) fn encode(&self, four_octet: bool, out: &mut BytesMut) {
        for s in &self.segments {
            for chunk in s.asns.chunks(255) {
                out.put_u8(s.kind.wire());
                out.put_u8(chunk.len() as u8);
                for &a in chunk {
                    if four_octet {
                        out.put_u32(a);
                    } else {
                        out.put_u16(u16::try_from(a).unwrap_or(AS_TRANS));
                    }
                }
            }
        }
    }
}

impl fmt::Display for AsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, s) in self.segments.iter().enumerate() {
            if n > 0 {
                f.write_str(" ")?;
            }
            let (open, close) = match s.kind {
                SegmentKind::Sequence => ("", ""),
                SegmentKind::Set => ("{", "}"),
                SegmentKind::ConfedSequence => ("(", ")"),
                SegmentKind::ConfedSet => ("[", "]"),
            };
            f.write_str(open)?;
            for (i, a) in s.asns.iter().enumerate() {
                if i > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{a}")?;
            }
            f.write_str(close)?;
        }
        Ok(())
    }
}

impl std::str::FromStr for AsPath {
    type Err = crate::ParseError;

    /// The [`Display`](fmt::Display) form: ASNs separated by spaces, sets
    /// in `{}`, confederation sequences in `()`, confederation sets in `[]`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || crate::ParseError::new("AS path", s);
        let mut segments: Vec<Segment> = Vec::new();
        let mut open: Option<(SegmentKind, char)> = None;
        let spaced = s
            .chars()
            .flat_map(|c| match c {
                '{' | '}' | '(' | ')' | '[' | ']' => vec![' ', c, ' '],
                c => vec![c],
            })
            .collect::<String>();
        for tok in spaced.split_whitespace() {
            let start = match tok {
                "{" => Some((SegmentKind::Set, '}')),
                "(" => Some((SegmentKind::ConfedSequence, ')')),
                "[" => Some((SegmentKind::ConfedSet, ']')),
                _ => None,
            };
            if let Some(st) = start {
                if open.is_some() {
                    return Err(bad());
                }
                open = Some(st);
                segments.push(Segment {
                    kind: st.0,
                    asns: Vec::new(),
                });
                continue;
            }
            if matches!(tok, "}" | ")" | "]") {
                match open.take() {
                    Some((_, close)) if tok.starts_with(close) => {}
                    _ => return Err(bad()),
                }
                if segments.last().is_some_and(|s| s.asns.is_empty()) {
                    return Err(bad());
                }
                continue;
            }
            let asn: u32 = tok.parse().map_err(|_| bad())?;
            match (open, segments.last_mut()) {
                (Some(_), Some(seg)) => seg.asns.push(asn),
                (None, Some(seg)) if seg.kind == SegmentKind::Sequence => seg.asns.push(asn),
                _ => segments.push(Segment {
                    kind: SegmentKind::Sequence,
                    asns: vec![asn],
                }),
            }
        }
        if open.is_some() {
            return Err(bad());
        }
        Ok(AsPath { segments })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_and_four_octet() {
        let v2 = [2, 3, 0xfd, 0xe8, 0xfd, 0xe9, 0x5b, 0xa0, 1, 1, 0, 1];
        let p = AsPath::decode(&v2, false).unwrap();
        assert_eq!(p.to_string(), "65000 65001 23456 {1}");
        assert_eq!(p.path_len(), 4);
        assert_eq!(p.first_asn(), Some(65000));
        assert_eq!(p.origin_asn(), None);
        let mut out = BytesMut::new();
        p.encode(false, &mut out);
        assert_eq!(&out[..], &v2[..]);
        assert_eq!(p.value_len(false), v2.len());

        let p4 = AsPath::sequence([4_200_000_000, 65001]);
        let mut out = BytesMut::new();
        p4.encode(true, &mut out);
        assert_eq!(&out[..], &[2, 2, 0xfa, 0x56, 0xea, 0, 0, 0, 0xfd, 0xe9]);
        assert_eq!(AsPath::decode(&out, true).unwrap(), p4);
        let mut out = BytesMut::new();
        p4.encode(false, &mut out);
        assert_eq!(&out[..], &[2, 2, 0x5b, 0xa0, 0xfd, 0xe9]);
    }

    #[test]
    fn text_form() {
        for s in ["", "65001", "65001 4200000000 {1 2} (64512 64513) [7] 9"] {
            let p: AsPath = s.parse().unwrap();
            assert_eq!(p.to_string(), s);
        }
        let p: AsPath = "1 2 {3}".parse().unwrap();
        assert_eq!(p.segments.len(), 2);
        for bad in ["{1", "1}", "{}", "{1 (2)}", "x", "4294967296"] {
            assert!(bad.parse::<AsPath>().is_err(), "{bad}");
        }
    }

    #[test]
    fn malformed() {
        assert_eq!(AsPath::decode(&[5, 1, 0, 1], false), Err(AttrError::Value));
        assert_eq!(AsPath::decode(&[2, 0], false), Err(AttrError::Value));
        assert_eq!(
            AsPath::decode(&[2, 2, 0, 1], false),
            Err(AttrError::Length { length: 4 })
        );
        assert_eq!(
            AsPath::decode(&[2], true),
            Err(AttrError::Length { length: 1 })
        );
        assert_eq!(AsPath::decode(&[], true), Ok(AsPath::default()));
    }

    #[test]
    fn long_segments_split_at_255() {
        let p = AsPath::sequence(1..=300);
        let mut out = BytesMut::new();
        p.encode(true, &mut out);
        assert_eq!(out.len(), p.value_len(true));
        let back = AsPath::decode(&out, true).unwrap();
        assert_eq!(back.segments.len(), 2);
        assert_eq!(back.path_len(), 300);
        assert!(back.asns().eq(1..=300));
    }
}
