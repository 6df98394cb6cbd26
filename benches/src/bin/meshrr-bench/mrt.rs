//! MRT routing table dumps (RFC 6396 section 4.3, TABLE_DUMP_V2): the
//! PEER_INDEX_TABLE and the first RIB entry of every IPv4 and IPv6 unicast
//! prefix, its attributes decoded as BGP path attributes.
//!
//! In a RIB entry AS_PATH is always 4-octet (RFC 6396 section 4.3.4), and
//! MP_REACH_NLRI holds only the next hop length and next hop; the harness
//! rewrites the next hop anyway, so MP_REACH_NLRI (and MP_UNREACH_NLRI) are
//! dropped here. ADD-PATH RIB subtypes (RFC 8050) are read too: their
//! entries carry a path identifier before the attributes. Other record types
//! and subtypes (multicast, RIB_GENERIC, BGP4MP) are counted and skipped.
//! The file must be uncompressed (`gunzip`/`bunzip2` a public dump first).

use std::{
    collections::HashSet,
    fmt,
    io::{self, Read},
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
};

use bgp_wire::{attr::code, Context, Message, PathAttributes};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// MRT type TABLE_DUMP_V2.
pub const TABLE_DUMP_V2: u16 = 13;

/// TABLE_DUMP_V2 subtypes (RFC 6396 section 4.3, RFC 8050 section 4).
pub mod subtype {
    /// The collector and its peers.
    pub const PEER_INDEX_TABLE: u16 = 1;
    /// IPv4 unicast RIB.
    pub const RIB_IPV4_UNICAST: u16 = 2;
    /// IPv6 unicast RIB.
    pub const RIB_IPV6_UNICAST: u16 = 4;
    /// IPv4 unicast RIB, entries with path identifiers.
    pub const RIB_IPV4_UNICAST_ADDPATH: u16 = 8;
    /// IPv6 unicast RIB, entries with path identifiers.
    pub const RIB_IPV6_UNICAST_ADDPATH: u16 = 10;
}

/// A peer of the PEER_INDEX_TABLE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// Address.
    pub addr: IpAddr,
    /// AS number.
    pub asn: u32,
}

/// The first RIB entry of one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The prefix.
    pub prefix: IpNet,
    /// Index of the entry's peer in the PEER_INDEX_TABLE.
    pub peer: u16,
    /// Its attributes, without MP_REACH_NLRI and MP_UNREACH_NLRI.
    pub attrs: PathAttributes,
}

/// What the reader met.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// MRT records of any type.
    pub records: usize,
    /// RIB records read (IPv4/IPv6 unicast, with or without ADD-PATH).
    pub rib_records: usize,
    /// Records of other types or subtypes, skipped.
    pub skipped_records: usize,
    /// RIB entries over all prefixes (only the first of each is used).
    pub entries: usize,
    /// RIB records for a prefix already read (ADD-PATH and plain subtypes
    /// of the same prefix), skipped.
    pub duplicate_prefixes: usize,
    /// First entries whose attributes did not decode cleanly, skipped.
    pub bad_attributes: usize,
    /// Why the first of those did not decode.
    pub first_bad: Option<String>,
    /// Attributes whose Optional/Transitive flags were not those of their
    /// type, and were corrected (BIRD 2 dumps LOCAL_PREF with flags 0).
    pub fixed_flags: usize,
}

/// A dump: its peers and one route per prefix, in file order.
#[derive(Debug, Clone, Default)]
pub struct Dump {
    /// The PEER_INDEX_TABLE (empty if the file had none).
    pub peers: Vec<Peer>,
    /// One route per prefix.
    pub routes: Vec<Route>,
    /// Counts.
    pub stats: Stats,
}

/// A dump that cannot be read.
#[derive(Debug)]
pub struct MrtError {
    /// Byte offset in the file of the record at fault.
    pub offset: u64,
    /// What was wrong.
    pub what: String,
}

impl fmt::Display for MrtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MRT record at byte {}: {}", self.offset, self.what)
    }
}

impl std::error::Error for MrtError {}

/// A cursor over one record's body.
struct Cur<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cur<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let s = self
            .b
            .get(self.at..self.at + n)
            .ok_or_else(|| format!("truncated at offset {} of the record body", self.at))?;
        self.at += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, String> {
        let s = self.take(2)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }

    fn u32(&mut self) -> Result<u32, String> {
        let s = self.take(4)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
}

/// Reads a whole dump.
pub fn read(mut r: impl Read) -> Result<Dump, MrtError> {
    let mut dump = Dump::default();
    let mut seen = HashSet::new();
    let mut offset = 0u64;
    let mut body = Vec::new();
    loop {
        let mut hdr = [0u8; 12];
        match read_full(&mut r, &mut hdr) {
            Ok(0) => break,
            Ok(12) => {}
            Ok(n) => {
                return Err(MrtError {
                    offset,
                    what: format!("file ends inside a record header ({n} of 12 bytes)"),
                })
            }
            Err(e) => {
                return Err(MrtError {
                    offset,
                    what: e.to_string(),
                })
            }
        }
        let kind = u16::from_be_bytes([hdr[4], hdr[5]]);
        let sub = u16::from_be_bytes([hdr[6], hdr[7]]);
        let len = u32::from_be_bytes([hdr[8], hdr[9], hdr[10], hdr[11]]) as usize;
        body.resize(len, 0);
        let err = |what: String| MrtError { offset, what };
        match read_full(&mut r, &mut body) {
            Ok(n) if n == len => {}
            Ok(n) => {
                return Err(err(format!(
                    "file ends inside a record ({n} of {len} bytes)"
                )))
            }
            Err(e) => return Err(err(e.to_string())),
        }
        dump.stats.records += 1;
        let mut c = Cur { b: &body, at: 0 };
        match (kind, sub) {
            (TABLE_DUMP_V2, subtype::PEER_INDEX_TABLE) => {
                dump.peers = peer_index(&mut c).map_err(err)?;
            }
            (
                TABLE_DUMP_V2,
                subtype::RIB_IPV4_UNICAST
                | subtype::RIB_IPV6_UNICAST
                | subtype::RIB_IPV4_UNICAST_ADDPATH
                | subtype::RIB_IPV6_UNICAST_ADDPATH,
            ) => {
                dump.stats.rib_records += 1;
                let v6 = matches!(
                    sub,
                    subtype::RIB_IPV6_UNICAST | subtype::RIB_IPV6_UNICAST_ADDPATH
                );
                let add_path = sub >= subtype::RIB_IPV4_UNICAST_ADDPATH;
                rib(&mut c, v6, add_path, &mut dump, &mut seen).map_err(err)?;
            }
            _ => dump.stats.skipped_records += 1,
        }
        offset += 12 + len as u64;
    }
    Ok(dump)
}

/// Fills `buf` unless the input ends first; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn peer_index(c: &mut Cur<'_>) -> Result<Vec<Peer>, String> {
    c.u32()?; // collector BGP id
    let view = usize::from(c.u16()?);
    c.take(view)?;
    let count = c.u16()?;
    let mut peers = Vec::with_capacity(count.into());
    for _ in 0..count {
        let ty = c.u8()?;
        let id = c.take(4)?;
        let bgp_id = Ipv4Addr::new(id[0], id[1], id[2], id[3]);
        let addr = if ty & 1 != 0 {
            let a: [u8; 16] = c.take(16)?.try_into().map_err(|_| "address")?;
            IpAddr::V6(Ipv6Addr::from(a))
        } else {
            let a: [u8; 4] = c.take(4)?.try_into().map_err(|_| "address")?;
            IpAddr::V4(Ipv4Addr::from(a))
        };
        let asn = if ty & 2 != 0 {
            c.u32()?
        } else {
            u32::from(c.u16()?)
        };
        peers.push(Peer { bgp_id, addr, asn });
    }
    Ok(peers)
}

fn rib(
    c: &mut Cur<'_>,
    v6: bool,
    add_path: bool,
    dump: &mut Dump,
    seen: &mut HashSet<IpNet>,
) -> Result<(), String> {
    c.u32()?; // sequence number
    let plen = c.u8()?;
    let max = if v6 { 128 } else { 32 };
    if plen > max {
        return Err(format!("prefix length {plen} > {max}"));
    }
    let bytes = c.take(usize::from(plen).div_ceil(8))?;
    let prefix = if v6 {
        let mut a = [0u8; 16];
        a[..bytes.len()].copy_from_slice(bytes);
        IpNet::V6(Ipv6Net::new(Ipv6Addr::from(a), plen).map_err(|e| e.to_string())?)
    } else {
        let mut a = [0u8; 4];
        a[..bytes.len()].copy_from_slice(bytes);
        IpNet::V4(Ipv4Net::new(Ipv4Addr::from(a), plen).map_err(|e| e.to_string())?)
    }
    .trunc();
    let count = c.u16()?;
    dump.stats.entries += usize::from(count);
    if count == 0 {
        return Ok(());
    }
    // The first entry only.
    let peer = c.u16()?;
    c.u32()?; // originated time
    if add_path {
        c.u32()?;
    }
    let alen = usize::from(c.u16()?);
    let raw = c.take(alen)?;
    if !seen.insert(prefix) {
        dump.stats.duplicate_prefixes += 1;
        return Ok(());
    }
    match decode_attrs(raw, &mut dump.stats.fixed_flags) {
        Ok(attrs) => dump.routes.push(Route {
            prefix,
            peer,
            attrs,
        }),
        Err(e) => {
            dump.stats.bad_attributes += 1;
            dump.stats.first_bad.get_or_insert(format!("{prefix}: {e}"));
        }
    }
    Ok(())
}

/// Decodes a RIB entry's attribute section (4-octet AS_PATH), leaving out
/// MP_REACH_NLRI and MP_UNREACH_NLRI. The Optional and Transitive flags of
/// known types are set to their type's (counted in `fixed`): a dump is not
/// a session, and BIRD writes some flags as 0. Errs if any attribute is
/// malformed.
pub fn decode_attrs(raw: &[u8], fixed: &mut usize) -> Result<PathAttributes, String> {
    use bgp_wire::attr::{category, flags as fl};
    let mut kept = Vec::with_capacity(raw.len());
    let mut at = 0;
    while at < raw.len() {
        let hdr = raw.get(at..at + 3).ok_or("attribute header overruns")?;
        let (flags, ty) = (hdr[0], hdr[1]);
        let (hlen, len) = if flags & bgp_wire::attr::flags::EXTENDED_LENGTH != 0 {
            let h = raw.get(at..at + 4).ok_or("attribute header overruns")?;
            (4, usize::from(u16::from_be_bytes([h[2], h[3]])))
        } else {
            (3, usize::from(hdr[2]))
        };
        let end = at + hlen + len;
        let whole = raw.get(at..end).ok_or("attribute overruns")?;
        if ty != code::MP_REACH_NLRI && ty != code::MP_UNREACH_NLRI {
            let at_flags = kept.len();
            kept.extend_from_slice(whole);
            if let Some(cat) = category(ty) {
                let f = flags & (fl::PARTIAL | fl::EXTENDED_LENGTH) | cat;
                if f != flags {
                    kept[at_flags] = f;
                    *fixed += 1;
                }
            }
        }
        at = end;
    }
    // Decoded as the attributes of an UPDATE without NLRI.
    let total = bgp_wire::HEADER_LEN + 4 + kept.len();
    if total > usize::from(u16::MAX) {
        return Err("attributes longer than an UPDATE".into());
    }
    let mut msg = vec![0xff; 16];
    msg.extend_from_slice(&(total as u16).to_be_bytes());
    msg.push(2);
    msg.extend_from_slice(&[0, 0]);
    msg.extend_from_slice(&(kept.len() as u16).to_be_bytes());
    msg.extend_from_slice(&kept);
    let ctx = Context {
        four_octet_as: true,
        extended_message: true,
        ..Context::default()
    };
    let d = Message::decode(&msg, &ctx).map_err(|e| e.to_string())?;
    if let Some(p) = d.problems.first() {
        return Err(format!("attribute {}: {}", p.type_code, p.error));
    }
    match d.message {
        Message::Update(u) => Ok(u.attrs),
        _ => Err("not an UPDATE".into()),
    }
}

#[cfg(test)]
mod tests {
    use bgp_wire::{
        attr::{AsPath, Community, Origin},
        Attr,
    };

    use super::*;

    fn record(kind: u16, sub: u16, body: &[u8]) -> Vec<u8> {
        let mut v = 1_700_000_000u32.to_be_bytes().to_vec();
        v.extend_from_slice(&kind.to_be_bytes());
        v.extend_from_slice(&sub.to_be_bytes());
        v.extend_from_slice(&(body.len() as u32).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    fn entry(peer: u16, path_id: Option<u32>, attrs: &[u8]) -> Vec<u8> {
        let mut v = peer.to_be_bytes().to_vec();
        v.extend_from_slice(&1_700_000_000u32.to_be_bytes());
        if let Some(id) = path_id {
            v.extend_from_slice(&id.to_be_bytes());
        }
        v.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        v.extend_from_slice(attrs);
        v
    }

    fn rib_body(seq: u32, plen: u8, prefix: &[u8], entries: &[Vec<u8>]) -> Vec<u8> {
        let mut v = seq.to_be_bytes().to_vec();
        v.push(plen);
        v.extend_from_slice(prefix);
        v.extend_from_slice(&(entries.len() as u16).to_be_bytes());
        entries.iter().for_each(|e| v.extend_from_slice(e));
        v
    }

    /// ORIGIN IGP, AS_PATH (4-octet) 65001 4200000000, NEXT_HOP 192.0.2.1,
    /// MED 5, COMMUNITIES 65001:7.
    const V4_ATTRS: &[u8] = &[
        0x40, 1, 1, 0, //
        0x40, 2, 10, 2, 2, 0, 0, 0xfd, 0xe9, 0xfa, 0x56, 0xea, 0x00, //
        0x40, 3, 4, 192, 0, 2, 1, //
        0x80, 4, 4, 0, 0, 0, 5, //
        0xc0, 8, 4, 0xfd, 0xe9, 0, 7,
    ];

    /// ORIGIN INCOMPLETE, AS_PATH 65002, LOCAL_PREF 100 with flags 0 (as
    /// BIRD 2 dumps it), MP_REACH_NLRI as RFC 6396 writes it in a RIB
    /// entry: next hop length 16 and 2001:db8::1 only.
    const V6_ATTRS: &[u8] = &[
        0x40, 1, 1, 2, //
        0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xea, //
        0x00, 5, 4, 0, 0, 0, 100, //
        0x80, 14, 17, 16, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    ];

    fn sample() -> Vec<u8> {
        let mut pit = 0x0a00_0001u32.to_be_bytes().to_vec();
        pit.extend_from_slice(&4u16.to_be_bytes());
        pit.extend_from_slice(b"test");
        pit.extend_from_slice(&2u16.to_be_bytes());
        // Peer 0: IPv4 address, 4-octet AS.
        pit.extend_from_slice(&[2, 192, 0, 2, 1, 192, 0, 2, 1]);
        pit.extend_from_slice(&65001u32.to_be_bytes());
        // Peer 1: IPv6 address, 2-octet AS.
        pit.extend_from_slice(&[1, 192, 0, 2, 2]);
        pit.extend_from_slice(&"2001:db8::2".parse::<Ipv6Addr>().unwrap().octets());
        pit.extend_from_slice(&65002u16.to_be_bytes());
        let mut f = record(TABLE_DUMP_V2, subtype::PEER_INDEX_TABLE, &pit);
        // 10.1.0.0/16 with two entries: the first is used.
        let other = [0x40, 1, 1, 1, 0x40, 2, 0];
        f.extend(record(
            TABLE_DUMP_V2,
            subtype::RIB_IPV4_UNICAST,
            &rib_body(
                0,
                16,
                &[10, 1],
                &[entry(0, None, V4_ATTRS), entry(1, None, &other)],
            ),
        ));
        // A BGP4MP record (type 16) is skipped.
        f.extend(record(16, 4, &[0; 8]));
        f.extend(record(
            TABLE_DUMP_V2,
            subtype::RIB_IPV6_UNICAST,
            &rib_body(
                1,
                32,
                &[0x20, 0x01, 0x0d, 0xb8],
                &[entry(1, None, V6_ATTRS)],
            ),
        ));
        // The same IPv4 prefix again with a path identifier: a duplicate.
        f.extend(record(
            TABLE_DUMP_V2,
            subtype::RIB_IPV4_UNICAST_ADDPATH,
            &rib_body(2, 16, &[10, 1], &[entry(0, Some(7), &other)]),
        ));
        // 192.0.2.128/25 from the ADD-PATH subtype.
        f.extend(record(
            TABLE_DUMP_V2,
            subtype::RIB_IPV4_UNICAST_ADDPATH,
            &rib_body(3, 25, &[192, 0, 2, 128], &[entry(0, Some(9), V4_ATTRS)]),
        ));
        f
    }

    #[test]
    fn reads_a_handmade_dump() {
        let d = read(sample().as_slice()).expect("reads");
        assert_eq!(
            d.peers,
            vec![
                Peer {
                    bgp_id: Ipv4Addr::new(192, 0, 2, 1),
                    addr: "192.0.2.1".parse().unwrap(),
                    asn: 65001
                },
                Peer {
                    bgp_id: Ipv4Addr::new(192, 0, 2, 2),
                    addr: "2001:db8::2".parse().unwrap(),
                    asn: 65002
                },
            ]
        );
        assert_eq!(
            d.stats,
            Stats {
                records: 6,
                rib_records: 4,
                skipped_records: 1,
                entries: 5,
                duplicate_prefixes: 1,
                bad_attributes: 0,
                first_bad: None,
                fixed_flags: 1,
            }
        );
        let prefixes: Vec<String> = d.routes.iter().map(|r| r.prefix.to_string()).collect();
        assert_eq!(prefixes, ["10.1.0.0/16", "2001:db8::/32", "192.0.2.128/25"]);
        let v4 = &d.routes[0];
        assert_eq!(v4.peer, 0);
        assert_eq!(
            v4.attrs,
            PathAttributes::from_attrs([
                Attr::Origin(Origin::Igp),
                Attr::AsPath(AsPath::sequence([65001, 4_200_000_000])),
                Attr::NextHop(Ipv4Addr::new(192, 0, 2, 1)),
                Attr::MultiExitDisc(5),
                Attr::Communities(vec![Community::new(65001, 7)]),
            ])
        );
        let v6 = &d.routes[1];
        assert_eq!(v6.peer, 1);
        assert_eq!(
            v6.attrs,
            PathAttributes::from_attrs([
                Attr::Origin(Origin::Incomplete),
                Attr::AsPath(AsPath::sequence([65002])),
                Attr::LocalPref(100),
            ])
        );
    }

    #[test]
    fn truncated_dump_is_an_error() {
        let f = sample();
        let e = read(&f[..f.len() - 3]).expect_err("truncated");
        assert!(e.what.contains("file ends inside a record"), "{e}");
        let e = read(&f[..5]).expect_err("truncated header");
        assert!(e.what.contains("record header"), "{e}");
    }

    #[test]
    fn bad_attributes_are_counted_not_fatal() {
        // AS_PATH segment claims 3 ASNs but carries 1.
        let bad = [0x40, 1, 1, 0, 0x40, 2, 6, 2, 3, 0, 0, 0xfd, 0xe9];
        let f = record(
            TABLE_DUMP_V2,
            subtype::RIB_IPV4_UNICAST,
            &rib_body(0, 8, &[11], &[entry(0, None, &bad)]),
        );
        let d = read(f.as_slice()).expect("reads");
        assert!(d.routes.is_empty());
        assert_eq!(d.stats.bad_attributes, 1);
        assert!(d
            .stats
            .first_bad
            .is_some_and(|e| e.starts_with("11.0.0.0/8")));
    }
}
