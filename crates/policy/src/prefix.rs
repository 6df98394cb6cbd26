//! Prefix lists and address lists, compiled into per-family tables.
//!
//! An entry is a network and a range of accepted prefix lengths. Entries
//! of one family are filed in 256 buckets by the first 8 bits of their
//! network (an entry shorter than /8 in every bucket it covers) and, in a
//! bucket, sorted by (network length, network). Matching a prefix checks a
//! bitmap of the lengths some entry accepts, takes the bucket of its first
//! 8 bits, masks the prefix to each distinct entry length in the bucket
//! not longer than itself and binary-searches that length's run. Most
//! prefixes fall in an empty bucket and cost a few nanoseconds.

use std::net::IpAddr;

use ipnet::IpNet;

/// One prefix-list entry: `net` and the accepted lengths `ge..=le`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PrefixRange {
    pub net: IpNet,
    pub ge: u8,
    pub le: u8,
}

fn parse_net(tok: &str) -> Result<IpNet, String> {
    let net: IpNet = tok
        .parse()
        .map_err(|_| format!("`{tok}` is not an IPv4 or IPv6 prefix (ADDRESS/LENGTH)"))?;
    if net.trunc() != net {
        return Err(format!(
            "`{tok}` has host bits set; the network is {}",
            net.trunc()
        ));
    }
    Ok(net)
}

fn parse_len(tok: Option<&str>, what: &str, max: u8) -> Result<u8, String> {
    let tok = tok.ok_or_else(|| format!("`{what}` needs a length after it"))?;
    match tok.parse::<u8>() {
        Ok(n) if n <= max => Ok(n),
        _ => Err(format!("`{what} {tok}`: a length is 0 to {max}")),
    }
}

/// Parses a prefix-list entry: `NET/LEN` or `NET/LEN exact` (that prefix
/// only), `NET/LEN orlonger` (it and every more specific one),
/// `NET/LEN longer` (only more specific ones), `NET/LEN ge A`,
/// `NET/LEN le B`, `NET/LEN ge A le B` (more specific ones, lengths in the
/// range, which must lie within LEN..=32 or LEN..=128).
pub(crate) fn parse_range(s: &str) -> Result<PrefixRange, String> {
    let mut toks = s.split_whitespace();
    let first = toks.next().ok_or("empty prefix entry")?;
    let net = parse_net(first)?;
    let (len, max) = (net.prefix_len(), net.max_prefix_len());
    let mut ge: Option<u8> = None;
    let mut le: Option<u8> = None;
    let mut keyword = None;
    while let Some(tok) = toks.next() {
        match tok {
            "exact" | "orlonger" | "longer"
                if keyword.is_none() && ge.is_none() && le.is_none() =>
            {
                keyword = Some(tok);
            }
            "ge" if ge.is_none() && le.is_none() && keyword.is_none() => {
                ge = Some(parse_len(toks.next(), "ge", max)?);
            }
            "le" if le.is_none() && keyword.is_none() => {
                le = Some(parse_len(toks.next(), "le", max)?);
            }
            _ => {
                return Err(format!(
                    "unexpected `{tok}` in `{s}`; write NET/LEN then one of `exact`, \
                     `orlonger`, `longer`, `ge N`, `le N`, `ge N le M`"
                ))
            }
        }
    }
    let (ge, le) = match (keyword, ge, le) {
        (Some("orlonger"), ..) => (len, max),
        (Some("longer"), ..) => {
            if len == max {
                return Err(format!("`{s}`: a /{max} has no longer prefixes"));
            }
            (len + 1, max)
        }
        (_, None, None) => (len, len),
        (_, Some(g), None) => (g, max),
        (_, None, Some(l)) => (len, l),
        (_, Some(g), Some(l)) => (g, l),
    };
    if ge < len {
        return Err(format!("`{s}`: ge {ge} is below the prefix length {len}"));
    }
    if le < len {
        return Err(format!("`{s}`: le {le} is below the prefix length {len}"));
    }
    if ge > le {
        return Err(format!(
            "`{s}`: ge {ge} is above le {le}, nothing can match"
        ));
    }
    Ok(PrefixRange { net, ge, le })
}

/// Parses an address-list entry: an address (that address only) or a
/// network `NET/LEN` (every address inside it).
pub(crate) fn parse_addr_net(s: &str) -> Result<PrefixRange, String> {
    let s = s.trim();
    let net = if s.contains('/') {
        parse_net(s)?
    } else {
        let a: IpAddr = s
            .parse()
            .map_err(|_| format!("`{s}` is neither an IP address nor a prefix"))?;
        IpNet::from(a)
    };
    Ok(PrefixRange {
        net,
        ge: net.max_prefix_len(),
        le: net.max_prefix_len(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    /// The network, left-aligned in 128 bits (IPv4 in the top 32).
    net: u128,
    ge: u8,
    le: u8,
}

/// Entries of one family.
#[derive(Debug, Clone, Default)]
struct Table {
    /// Bucket `b` (first 8 bits) has the runs `runs[starts[b]..starts[b + 1]]`;
    /// empty when the table is.
    starts: Box<[u32]>,
    /// Distinct network lengths of a bucket, ascending, each with its run
    /// in `entries`.
    runs: Vec<(u8, u32, u32)>,
    /// Sorted by (bucket, length, network, ge, le).
    entries: Vec<Entry>,
    /// Bit `n` set: some entry accepts prefixes of length `n`.
    lens: [u64; 3],
}

fn mask(len: u8) -> u128 {
    match len {
        0 => 0,
        n => u128::MAX << (128 - u32::from(n)),
    }
}

fn bucket(bits: u128) -> usize {
    (bits >> 120) as usize
}

impl Table {
    fn build(items: Vec<(u8, Entry)>) -> Table {
        let mut t = Table::default();
        if items.is_empty() {
            return t;
        }
        let mut filed: Vec<(usize, u8, Entry)> = Vec::with_capacity(items.len());
        for (len, e) in items {
            let first = bucket(e.net);
            let covered = 1usize << (8 - len.min(8));
            filed.extend((first..first + covered).map(|b| (b, len, e)));
            for n in e.ge..=e.le {
                t.lens[usize::from(n / 64)] |= 1 << (n % 64);
            }
        }
        filed.sort_unstable();
        filed.dedup();
        // the bucket of each run, ascending
        let mut run_bucket: Vec<usize> = Vec::new();
        for (b, len, e) in filed {
            let at = t.entries.len() as u32;
            match (t.runs.last_mut(), run_bucket.last()) {
                (Some(r), Some(&rb)) if rb == b && r.0 == len => r.2 = at + 1,
                _ => {
                    t.runs.push((len, at, at + 1));
                    run_bucket.push(b);
                }
            }
            t.entries.push(e);
        }
        let starts: Vec<u32> = (0..=256)
            .map(|b| run_bucket.partition_point(|&rb| rb < b) as u32)
            .collect();
        t.starts = starts.into();
        t
    }

    #[inline]
    fn contains(&self, bits: u128, plen: u8) -> bool {
        if self.lens[usize::from(plen / 64)] & (1 << (plen % 64)) == 0 {
            return false;
        }
        let b = bucket(bits);
        let (Some(&from), Some(&to)) = (self.starts.get(b), self.starts.get(b + 1)) else {
            return false;
        };
        for &(len, start, end) in &self.runs[from as usize..to as usize] {
            if len > plen {
                break;
            }
            let key = bits & mask(len);
            let run = &self.entries[start as usize..end as usize];
            let at = if run.len() <= 4 {
                run.iter().position(|e| e.net >= key).unwrap_or(run.len())
            } else {
                run.partition_point(|e| e.net < key)
            };
            if run[at..]
                .iter()
                .take_while(|e| e.net == key)
                .any(|e| e.ge <= plen && plen <= e.le)
            {
                return true;
            }
        }
        false
    }
}

/// A compiled list of [`PrefixRange`]s: matches when any entry does.
#[derive(Debug, Clone, Default)]
pub(crate) struct PrefixSet {
    v4: Table,
    v6: Table,
}

fn bits_of(net: IpNet) -> (bool, u128, u8) {
    match net {
        IpNet::V4(n) => (false, u128::from(u32::from(n.addr())) << 96, n.prefix_len()),
        IpNet::V6(n) => (true, u128::from(n.addr()), n.prefix_len()),
    }
}

impl PrefixSet {
    /// Compiles `ranges`.
    pub(crate) fn new(ranges: &[PrefixRange]) -> PrefixSet {
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        for r in ranges {
            let (six, net, len) = bits_of(r.net);
            let item = (
                len,
                Entry {
                    net,
                    ge: r.ge,
                    le: r.le,
                },
            );
            if six {
                v6.push(item);
            } else {
                v4.push(item);
            }
        }
        PrefixSet {
            v4: Table::build(v4),
            v6: Table::build(v6),
        }
    }

    /// Whether some entry covers `prefix` with an accepted length.
    #[inline]
    pub(crate) fn matches(&self, prefix: IpNet) -> bool {
        let (six, bits, len) = bits_of(prefix);
        let t = if six { &self.v6 } else { &self.v4 };
        t.contains(bits, len)
    }

    /// Whether `addr` is inside some entry (entries from
    /// [`parse_addr_net`] accept host routes only).
    #[inline]
    pub(crate) fn matches_addr(&self, addr: IpAddr) -> bool {
        self.matches(IpNet::from(addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(entries: &[&str]) -> PrefixSet {
        let r: Vec<_> = entries.iter().map(|e| parse_range(e).unwrap()).collect();
        PrefixSet::new(&r)
    }

    fn m(s: &PrefixSet, p: &str) -> bool {
        s.matches(p.parse().unwrap())
    }

    #[test]
    fn entry_forms() {
        let r = |s| parse_range(s).unwrap();
        let n = |s: &str| s.parse::<IpNet>().unwrap();
        assert_eq!(
            r("10.0.0.0/8"),
            PrefixRange {
                net: n("10.0.0.0/8"),
                ge: 8,
                le: 8
            }
        );
        assert_eq!(r("10.0.0.0/8 exact").le, 8);
        assert_eq!(
            (r("10.0.0.0/8 orlonger").ge, r("10.0.0.0/8 orlonger").le),
            (8, 32)
        );
        assert_eq!(
            (r("10.0.0.0/8 longer").ge, r("10.0.0.0/8 longer").le),
            (9, 32)
        );
        assert_eq!(
            (r("10.0.0.0/8 ge 16").ge, r("10.0.0.0/8 ge 16").le),
            (16, 32)
        );
        assert_eq!(
            (r("10.0.0.0/8 le 16").ge, r("10.0.0.0/8 le 16").le),
            (8, 16)
        );
        let x = r("2001:db8::/32 ge 48 le 64");
        assert_eq!((x.ge, x.le), (48, 64));
        assert_eq!((r("::/0 orlonger").ge, r("::/0 orlonger").le), (0, 128));
    }

    #[test]
    fn bad_entries() {
        for (s, why) in [
            ("10.0.0.0/8 ge 24 le 16", "above le"),
            ("10.0.0.0/16 ge 8", "below the prefix length"),
            ("10.0.0.0/16 le 8", "below the prefix length"),
            ("10.0.0.0/8 ge 33", "0 to 32"),
            ("10.0.0.1/8", "host bits"),
            ("10.0.0.0", "not an IPv4 or IPv6 prefix"),
            ("10.0.0.0/33", "not an IPv4"),
            ("10.0.0.0/8 upto 9", "unexpected `upto`"),
            ("10.0.0.0/8 ge", "needs a length"),
            ("10.0.0.0/8 exact ge 9", "unexpected `ge`"),
            ("10.0.0.0/8 le 9 ge 8", "unexpected `ge`"),
            ("1.2.3.4/32 longer", "no longer prefixes"),
            ("", "empty"),
        ] {
            let e = parse_range(s).unwrap_err();
            assert!(e.contains(why), "{s}: {e}");
        }
    }

    #[test]
    fn matching() {
        let s = set(&[
            "10.0.0.0/8 orlonger",
            "192.168.0.0/16 ge 24 le 24",
            "0.0.0.0/0 exact",
            "172.16.0.0/12",
            "2001:db8::/32 longer",
            "::/0",
        ]);
        assert!(m(&s, "10.0.0.0/8"));
        assert!(m(&s, "10.1.2.0/24"));
        assert!(m(&s, "10.1.2.3/32"));
        assert!(!m(&s, "11.0.0.0/8"));
        assert!(m(&s, "192.168.7.0/24"));
        assert!(!m(&s, "192.168.7.0/25"));
        assert!(!m(&s, "192.168.0.0/16"));
        assert!(m(&s, "0.0.0.0/0"));
        assert!(!m(&s, "0.0.0.0/1"));
        assert!(m(&s, "172.16.0.0/12"));
        assert!(!m(&s, "172.16.0.0/13"));
        assert!(!m(&s, "2001:db8::/32"));
        assert!(m(&s, "2001:db8:1::/48"));
        assert!(m(&s, "::/0"));
        assert!(!m(&s, "2001:db9::/32"));
        // families never mix
        assert!(!m(&set(&["0.0.0.0/0 orlonger"]), "::/0"));
        assert!(!m(&set(&["::/0 orlonger"]), "10.0.0.0/8"));
    }

    #[test]
    fn same_network_different_ranges() {
        let s = set(&["10.0.0.0/8 ge 16 le 16", "10.0.0.0/8 ge 24 le 24"]);
        assert!(m(&s, "10.3.0.0/16"));
        assert!(m(&s, "10.3.4.0/24"));
        assert!(!m(&s, "10.3.4.0/20"));
    }

    #[test]
    fn addresses() {
        let r: Vec<_> = ["10.0.0.1", "192.0.2.0/24", "2001:db8::1"]
            .iter()
            .map(|e| parse_addr_net(e).unwrap())
            .collect();
        let s = PrefixSet::new(&r);
        let a = |x: &str| s.matches_addr(x.parse().unwrap());
        assert!(a("10.0.0.1"));
        assert!(!a("10.0.0.2"));
        assert!(a("192.0.2.77"));
        assert!(a("2001:db8::1"));
        assert!(!a("2001:db8::2"));
        assert!(parse_addr_net("10.0.0.1/24").is_err());
        assert!(parse_addr_net("bogus").is_err());
    }
}
