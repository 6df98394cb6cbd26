//! Serde for routes and attributes (feature `serde`), in a form people can
//! read and write: prefixes, families, communities, AS paths and origins
//! as strings; a path attribute as a one-key map, with its flags only when
//! they differ from the type's default.
//!
//! ```yaml
//! - origin: igp
//! - as_path: "65001 65002"
//! - next_hop: 192.0.2.1
//! - communities: ["65000:101"]
//! - {flags: 224, unknown: {code: 99, data: [1, 2]}}
//! ```

use std::{fmt::Display, str::FromStr};

use serde::{de::Error as _, Deserialize, Deserializer, Serialize, Serializer};

use crate::{
    attr::{
        category, flags, Aggregator, AsPath, Attr, Community, ExtendedCommunity, LargeCommunity,
        MpReach, MpUnreach, NextHop, Origin,
    },
    family::Family,
    nlri::Nlri,
    update::Update,
    PathAttribute, PathAttributes,
};

macro_rules! via_str {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                from_text(d)
            }
        }
    )*};
}

fn from_text<'de, D: Deserializer<'de>, T: FromStr<Err: Display>>(d: D) -> Result<T, D::Error> {
    // Numbers are accepted too, for plain ASN paths like `65001`.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text {
        S(String),
        N(u64),
    }
    let text = match Text::deserialize(d)? {
        Text::S(s) => s,
        Text::N(n) => n.to_string(),
    };
    text.parse().map_err(D::Error::custom)
}

via_str!(
    Family,
    NextHop,
    Nlri,
    AsPath,
    Community,
    LargeCommunity,
    ExtendedCommunity,
    Origin
);

/// The attribute values, as one-key maps named in snake case.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum AttrRepr {
    Origin(Origin),
    AsPath(AsPath),
    NextHop(std::net::Ipv4Addr),
    Med(u32),
    LocalPref(u32),
    AtomicAggregate,
    Aggregator(AggregatorRepr),
    Communities(Vec<Community>),
    OriginatorId(std::net::Ipv4Addr),
    ClusterList(Vec<std::net::Ipv4Addr>),
    MpReach(MpReachRepr),
    MpUnreach(MpUnreachRepr),
    ExtendedCommunities(Vec<ExtendedCommunity>),
    As4Path(AsPath),
    As4Aggregator(AggregatorRepr),
    LargeCommunities(Vec<LargeCommunity>),
    Unknown { code: u8, data: Vec<u8> },
}

#[derive(Serialize, Deserialize)]
struct AggregatorRepr {
    asn: u32,
    address: std::net::Ipv4Addr,
}

#[derive(Serialize, Deserialize)]
struct MpReachRepr {
    family: Family,
    next_hop: std::net::IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    link_local: Option<std::net::Ipv6Addr>,
    nlri: Vec<Nlri>,
}

#[derive(Serialize, Deserialize)]
struct MpUnreachRepr {
    family: Family,
    withdrawn: Vec<Nlri>,
}

impl From<&Attr> for AttrRepr {
    fn from(a: &Attr) -> Self {
        let agg = |a: &Aggregator| AggregatorRepr {
            asn: a.asn,
            address: a.address,
        };
        match a {
            Attr::Origin(o) => AttrRepr::Origin(*o),
            Attr::AsPath(p) => AttrRepr::AsPath(p.clone()),
            Attr::NextHop(n) => AttrRepr::NextHop(*n),
            Attr::MultiExitDisc(m) => AttrRepr::Med(*m),
            Attr::LocalPref(l) => AttrRepr::LocalPref(*l),
            Attr::AtomicAggregate => AttrRepr::AtomicAggregate,
            Attr::Aggregator(a) => AttrRepr::Aggregator(agg(a)),
            Attr::Communities(c) => AttrRepr::Communities(c.clone()),
            Attr::OriginatorId(o) => AttrRepr::OriginatorId(*o),
            Attr::ClusterList(c) => AttrRepr::ClusterList(c.clone()),
            Attr::MpReach(m) => {
                let (next_hop, link_local) = match m.next_hop {
                    NextHop::Ipv4(a) => (a.into(), None),
                    NextHop::Ipv6 { global, link_local } => (global.into(), link_local),
                };
                AttrRepr::MpReach(MpReachRepr {
                    family: m.family,
                    next_hop,
                    link_local,
                    nlri: m.nlri.clone(),
                })
            }
            Attr::MpUnreach(m) => AttrRepr::MpUnreach(MpUnreachRepr {
                family: m.family,
                withdrawn: m.withdrawn.clone(),
            }),
            Attr::ExtendedCommunities(c) => AttrRepr::ExtendedCommunities(c.clone()),
            Attr::As4Path(p) => AttrRepr::As4Path(p.clone()),
            Attr::As4Aggregator(a) => AttrRepr::As4Aggregator(agg(a)),
            Attr::LargeCommunities(c) => AttrRepr::LargeCommunities(c.clone()),
            Attr::Unknown { code, data } => AttrRepr::Unknown {
                code: *code,
                data: data.to_vec(),
            },
        }
    }
}

impl From<AttrRepr> for Attr {
    fn from(a: AttrRepr) -> Self {
        let agg = |a: AggregatorRepr| Aggregator {
            asn: a.asn,
            address: a.address,
        };
        match a {
            AttrRepr::Origin(o) => Attr::Origin(o),
            AttrRepr::AsPath(p) => Attr::AsPath(p),
            AttrRepr::NextHop(n) => Attr::NextHop(n),
            AttrRepr::Med(m) => Attr::MultiExitDisc(m),
            AttrRepr::LocalPref(l) => Attr::LocalPref(l),
            AttrRepr::AtomicAggregate => Attr::AtomicAggregate,
            AttrRepr::Aggregator(a) => Attr::Aggregator(agg(a)),
            AttrRepr::Communities(c) => Attr::Communities(c),
            AttrRepr::OriginatorId(o) => Attr::OriginatorId(o),
            AttrRepr::ClusterList(c) => Attr::ClusterList(c),
            AttrRepr::MpReach(m) => {
                let next_hop = match m.next_hop {
                    std::net::IpAddr::V4(a) => NextHop::Ipv4(a),
                    std::net::IpAddr::V6(global) => NextHop::Ipv6 {
                        global,
                        link_local: m.link_local,
                    },
                };
                Attr::MpReach(MpReach {
                    family: m.family,
                    next_hop,
                    nlri: m.nlri,
                })
            }
            AttrRepr::MpUnreach(m) => Attr::MpUnreach(MpUnreach {
                family: m.family,
                withdrawn: m.withdrawn,
            }),
            AttrRepr::ExtendedCommunities(c) => Attr::ExtendedCommunities(c),
            AttrRepr::As4Path(p) => Attr::As4Path(p),
            AttrRepr::As4Aggregator(a) => Attr::As4Aggregator(agg(a)),
            AttrRepr::LargeCommunities(c) => Attr::LargeCommunities(c),
            AttrRepr::Unknown { code, data } => Attr::Unknown {
                code,
                data: data.into(),
            },
        }
    }
}

impl Serialize for Attr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        AttrRepr::from(self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Attr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        AttrRepr::deserialize(d).map(Attr::from)
    }
}

fn default_flags(a: &Attr) -> u8 {
    category(a.code()).unwrap_or(flags::OPTIONAL_TRANSITIVE)
}

#[derive(Serialize, Deserialize)]
struct PathAttributeRepr {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    flags: Option<u8>,
    #[serde(flatten)]
    value: Attr,
}

impl Serialize for PathAttribute {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let flags = (self.flags != default_flags(&self.value)).then_some(self.flags);
        PathAttributeRepr {
            flags,
            value: self.value.clone(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for PathAttribute {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = PathAttributeRepr::deserialize(d)?;
        let flags = r.flags.unwrap_or_else(|| default_flags(&r.value));
        Ok(PathAttribute {
            flags,
            value: r.value,
        })
    }
}

impl Serialize for PathAttributes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for PathAttributes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<PathAttribute>::deserialize(d).map(PathAttributes::from_vec)
    }
}

#[derive(Serialize, Deserialize)]
struct UpdateRepr {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    withdrawn: Vec<Nlri>,
    #[serde(default, skip_serializing_if = "PathAttributes::is_empty")]
    attrs: PathAttributes,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    nlri: Vec<Nlri>,
}

impl Serialize for Update {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        UpdateRepr {
            withdrawn: self.withdrawn.clone(),
            attrs: self.attrs.clone(),
            nlri: self.nlri.clone(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Update {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = UpdateRepr::deserialize(d)?;
        Ok(Update {
            withdrawn: r.withdrawn,
            attrs: r.attrs,
            nlri: r.nlri,
        })
    }
}
