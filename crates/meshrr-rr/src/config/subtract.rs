//! Prefixes minus single addresses, as the fewest CIDR blocks.
//!
//! Each family is handled as integer intervals: the prefixes become
//! intervals, overlapping and adjacent ones are merged, the excluded
//! addresses cut them, and each remaining interval is split greedily into
//! the largest aligned blocks. Because the merged intervals are separated by
//! gaps, no block can serve two of them, and the greedy split of one
//! interval is the shortest, so the result is minimal.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// `prefixes` minus every address in `exclude` (as /32 or /128), as the
/// minimal list of CIDRs, sorted (IPv4 before IPv6, then by address).
/// Overlapping or adjacent prefixes are merged; host bits of a prefix are
/// ignored; an excluded address outside every prefix changes nothing.
/// E.g. 10.0.0.0/30 minus 10.0.0.1 = [10.0.0.0/32, 10.0.0.2/31].
pub fn subtract(prefixes: &[IpNet], exclude: &[IpAddr]) -> Vec<IpNet> {
    let mut out = Vec::new();

    let v4 = prefixes.iter().filter_map(|p| match p {
        IpNet::V4(n) => Some((
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        )),
        IpNet::V6(_) => None,
    });
    let x4 = exclude.iter().filter_map(|a| match a {
        IpAddr::V4(a) => Some(u128::from(u32::from(*a))),
        IpAddr::V6(_) => None,
    });
    for (start, end) in cut(merge(v4.collect()), x4.collect()) {
        blocks(start, end, 32, &mut |addr, len| {
            let addr = Ipv4Addr::from(u32::try_from(addr).expect("IPv4 interval"));
            out.push(IpNet::V4(Ipv4Net::new(addr, len).expect("length <= 32")));
        });
    }

    let v6 = prefixes.iter().filter_map(|p| match p {
        IpNet::V6(n) => Some((u128::from(n.network()), u128::from(n.broadcast()))),
        IpNet::V4(_) => None,
    });
    let x6 = exclude.iter().filter_map(|a| match a {
        IpAddr::V6(a) => Some(u128::from(*a)),
        IpAddr::V4(_) => None,
    });
    for (start, end) in cut(merge(v6.collect()), x6.collect()) {
        blocks(start, end, 128, &mut |addr, len| {
            let addr = Ipv6Addr::from(addr);
            out.push(IpNet::V6(Ipv6Net::new(addr, len).expect("length <= 128")));
        });
    }

    // Already in order (IPv4 first, ascending); sorting states the contract.
    out.sort();
    out
}

/// Inclusive intervals, sorted, with overlapping and adjacent ones joined.
fn merge(mut ranges: Vec<(u128, u128)>) -> Vec<(u128, u128)> {
    ranges.sort_unstable();
    let mut out: Vec<(u128, u128)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match out.last_mut() {
            // saturating: a range ending at the top absorbs everything after.
            Some(last) if start <= last.1.saturating_add(1) => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

/// Sorted disjoint intervals with the given points removed.
fn cut(ranges: Vec<(u128, u128)>, mut points: Vec<u128>) -> Vec<(u128, u128)> {
    points.sort_unstable();
    points.dedup();
    let mut out = Vec::with_capacity(ranges.len() + points.len());
    let mut next = 0; // first point not below the current range
    for (start, end) in ranges {
        while next < points.len() && points[next] < start {
            next += 1;
        }
        // Start of what is left of this range; None when nothing is.
        let mut from = Some(start);
        while next < points.len() && points[next] <= end {
            let p = points[next];
            if let Some(f) = from {
                if p > f {
                    out.push((f, p - 1));
                }
            }
            from = p.checked_add(1);
            next += 1;
        }
        if let Some(f) = from.filter(|&f| f <= end) {
            out.push((f, end));
        }
    }
    out
}

/// Calls `emit(address, prefix_len)` for the fewest aligned blocks covering
/// `start..=end` exactly, in ascending order, in a space of `width` bits.
fn blocks(mut start: u128, end: u128, width: u32, emit: &mut dyn FnMut(u128, u8)) {
    loop {
        let span = end - start; // addresses left, minus one
                                // log2 of the largest power of two not above the count left.
        let fits = match span.checked_add(1) {
            Some(count) => 127 - count.leading_zeros(),
            None => 128,
        };
        // Largest block the start is aligned to.
        let align = if start == 0 {
            128
        } else {
            start.trailing_zeros()
        };
        let bits = fits.min(align).min(width);
        let len = u8::try_from(width - bits).expect("width <= 128");
        emit(start, len);
        let last = match bits {
            128 => u128::MAX,
            b => start + ((1u128 << b) - 1),
        };
        if last >= end {
            return;
        }
        start = last + 1;
    }
}
