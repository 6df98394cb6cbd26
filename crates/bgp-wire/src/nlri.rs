//! NLRI: prefixes as encoded in the UPDATE NLRI fields and in
//! MP_REACH/MP_UNREACH (RFC 4271 section 4.3, RFC 4760 section 5), with
//! the optional ADD-PATH path identifier (RFC 7911 section 3).
//!
//! This is the hot path of decoding: one pass checks the whole field and
//! counts the prefixes, so the output vector is allocated once at its final
//! size; the second pass builds the prefixes with no further allocation.

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, BytesMut};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::family::{Afi, Family};

/// One NLRI entry: a prefix and, on ADD-PATH sessions, its path identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nlri {
    /// Path identifier (RFC 7911), present only where ADD-PATH is negotiated
    /// for the family in this direction.
    pub path_id: Option<u32>,
    /// The prefix, with host bits cleared.
    pub prefix: IpNet,
}

impl Nlri {
    /// A prefix without path identifier.
    pub fn new(prefix: IpNet) -> Self {
        Nlri {
            path_id: None,
            prefix: prefix.trunc(),
        }
    }

    /// The family of the prefix, as unicast.
    pub fn family(&self) -> Family {
        match self.prefix {
            IpNet::V4(_) => Family::IPV4_UNICAST,
            IpNet::V6(_) => Family::IPV6_UNICAST,
        }
    }

    /// Bytes this entry takes on the wire.
    pub fn encoded_len(&self, add_path: bool) -> usize {
        let id = if add_path { 4 } else { 0 };
        id + 1 + usize::from(self.prefix.prefix_len()).div_ceil(8)
    }

    /// Writes the entry; `add_path` decides whether a path identifier is
    /// written (0 when the entry has none).
    pub fn encode(&self, add_path: bool, out: &mut BytesMut) {
        if add_path {
            out.put_u32(self.path_id.unwrap_or(0));
        }
        let len = self.prefix.prefix_len();
        out.put_u8(len);
        let n = usize::from(len).div_ceil(8);
        match self.prefix {
            IpNet::V4(p) => out.put_slice(&p.network().octets()[..n]),
            IpNet::V6(p) => out.put_slice(&p.network().octets()[..n]),
        }
    }
}

impl std::fmt::Display for Nlri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.path_id {
            Some(id) => write!(f, "{}#{id}", self.prefix),
            None => write!(f, "{}", self.prefix),
        }
    }
}

impl std::str::FromStr for Nlri {
    type Err = crate::ParseError;

    /// `PREFIX` or `PREFIX#PATH_ID`; host bits are cleared.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || crate::ParseError::new("prefix", s);
        let (p, id) = match s.split_once('#') {
            Some((p, id)) => (p, Some(id.parse().map_err(|_| bad())?)),
            None => (s, None),
        };
        let prefix: IpNet = p.parse().map_err(|_| bad())?;
        Ok(Nlri {
            path_id: id,
            prefix: prefix.trunc(),
        })
    }
}

/// Where in an NLRI field a malformed entry starts (relative to the field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadNlri {
    pub at: usize,
}

/// Checks an NLRI field and counts its entries, without building them.
pub(crate) fn count(buf: &[u8], family: Family, add_path: bool) -> Result<usize, BadNlri> {
    let max = family.max_prefix_len();
    let id = if add_path { 4 } else { 0 };
    let mut i = 0;
    let mut n = 0;
    while i < buf.len() {
        let at = i;
        let Some(&len) = buf.get(i + id) else {
            return Err(BadNlri { at });
        };
        if len > max {
            return Err(BadNlri { at });
        }
        i += id + 1 + usize::from(len).div_ceil(8);
        n += 1;
    }
    if i != buf.len() {
        // The last prefix runs past the field; `at` is approximate only in
        // that it names the field end.
        return Err(BadNlri { at: buf.len() });
    }
    Ok(n)
}

/// Decodes an NLRI field of `family` and appends the entries to `out`.
pub(crate) fn decode(
    buf: &[u8],
    family: Family,
    add_path: bool,
    out: &mut Vec<Nlri>,
) -> Result<(), BadNlri> {
    let n = count(buf, family, add_path)?;
    out.reserve_exact(n);
    let v6 = family.afi == Afi::Ipv6;
    let mut i = 0;
    while i < buf.len() {
        let path_id = if add_path {
            let id = u32::from_be_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
            i += 4;
            Some(id)
        } else {
            None
        };
        let len = buf[i];
        let nbytes = usize::from(len).div_ceil(8);
        let bytes = &buf[i + 1..i + 1 + nbytes];
        i += 1 + nbytes;
        let prefix = if v6 {
            let mut a = [0u8; 16];
            a[..nbytes].copy_from_slice(bytes);
            let bits = u128::from_be_bytes(a) & mask128(len);
            Ipv6Net::new(Ipv6Addr::from(bits), len).map(IpNet::V6)
        } else {
            // Up to 4 bytes, most significant first; fewer are left-aligned.
            let bits = bytes.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b));
            let bits = bits.checked_shl(8 * (4 - nbytes as u32)).unwrap_or(0) & mask32(len);
            Ipv4Net::new(Ipv4Addr::from(bits), len).map(IpNet::V4)
        };
        // `count` bounded len by the family maximum, so this cannot fail.
        let prefix = prefix.map_err(|_| BadNlri { at: i })?;
        out.push(Nlri { path_id, prefix });
    }
    Ok(())
}

fn mask32(len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

fn mask128(len: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Nlri {
        Nlri::new(s.parse().unwrap())
    }

    #[test]
    fn decodes_and_clears_host_bits() {
        let mut out = Vec::new();
        decode(
            &[0, 8, 10, 25, 10, 1, 2, 0x81, 32, 1, 2, 3, 4],
            Family::IPV4_UNICAST,
            false,
            &mut out,
        )
        .unwrap();
        assert_eq!(
            out,
            vec![
                p("0.0.0.0/0"),
                p("10.0.0.0/8"),
                p("10.1.2.128/25"),
                p("1.2.3.4/32")
            ]
        );
        assert_eq!(out.capacity(), 4);
    }

    #[test]
    fn rejects_bad_lengths() {
        let mut out = Vec::new();
        assert_eq!(
            decode(&[33, 1, 2, 3, 4, 5], Family::IPV4_UNICAST, false, &mut out),
            Err(BadNlri { at: 0 })
        );
        assert_eq!(
            decode(&[24, 1, 2], Family::IPV4_UNICAST, false, &mut out),
            Err(BadNlri { at: 3 })
        );
        assert_eq!(
            decode(&[129], Family::IPV6_UNICAST, false, &mut out),
            Err(BadNlri { at: 0 })
        );
        assert_eq!(
            decode(&[0, 0, 0], Family::IPV4_UNICAST, true, &mut out),
            Err(BadNlri { at: 0 })
        );
        assert!(out.is_empty());
    }

    #[test]
    fn add_path_and_v6() {
        let mut out = Vec::new();
        let buf = [0, 0, 0, 7, 32, 0x20, 0x01, 0x0d, 0xb8];
        decode(&buf, Family::IPV6_UNICAST, true, &mut out).unwrap();
        assert_eq!(
            out,
            vec![Nlri {
                path_id: Some(7),
                ..p("2001:db8::/32")
            }]
        );
        let mut enc = BytesMut::new();
        out[0].encode(true, &mut enc);
        assert_eq!(&enc[..], &buf[..]);
        assert_eq!(out[0].encoded_len(true), buf.len());
    }
}
