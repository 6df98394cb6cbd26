//! Peers as the RIB sees them: address, identity, AS and role
//! (RFC 4456 section 5: clients and non-clients; eBGP).

use std::net::{IpAddr, Ipv4Addr};

use bgp_wire::Context;
use serde::{Deserialize, Serialize};

/// A peer, numbered by the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PeerId(pub u32);

/// The role of a peer towards this route reflector.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A client of this RR (RFC 4456 section 5), member of a client group.
    Client {
        /// The client group (a meshrr subtractive group).
        group: String,
        /// The group's CLUSTER_ID; meshrr uses the pod IP.
        cluster_id: Ipv4Addr,
        /// Reflect routes between clients of this group (off when the
        /// clients are fully meshed among themselves).
        #[serde(default = "yes")]
        client_to_client: bool,
    },
    /// An internal peer that is not our client: mesh members and the
    /// upstream RRs of which this RR is itself a client.
    NonClient,
    /// An external peer. Routes from it go to every internal peer; sending
    /// to external peers (route-server mode) is not implemented yet, so
    /// they receive nothing.
    Ebgp,
}

fn yes() -> bool {
    true
}

/// What the RIB needs to know of an established session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerConfig {
    /// Transport address of the peer (the last tie-breaker, RFC 4271
    /// 9.1.2.2 g).
    pub addr: IpAddr,
    /// The peer's BGP Identifier from its OPEN.
    pub router_id: Ipv4Addr,
    /// The peer's AS.
    pub asn: u32,
    /// Client, non-client or external.
    pub role: Role,
    /// Name of the meshrr group the peer belongs to.
    #[serde(default)]
    pub group: String,
    /// Name of the export policy applied towards this peer, if any; peers
    /// with different policies never share an update group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_policy: Option<String>,
    /// Name of the import policy applied to routes from this peer, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_policy: Option<String>,
    /// The negotiated send context (4-octet AS, ADD-PATH, extended
    /// messages); peers whose encodings differ never share an update group.
    #[serde(default = "Context::ibgp_4octet", with = "context_serde")]
    pub send: Context,
}

impl PeerConfig {
    /// Whether the peer is internal (same AS).
    pub fn is_ibgp(&self) -> bool {
        !matches!(self.role, Role::Ebgp)
    }
}

/// Settings of this RR that the RIB applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RibConfig {
    /// Our BGP Identifier; routes whose ORIGINATOR_ID equals it are
    /// dropped (RFC 4456 section 8).
    pub router_id: Ipv4Addr,
    /// Our AS; external routes with it in AS_PATH are dropped.
    pub local_as: u32,
    /// Extra cluster IDs of ours (every client group's `cluster_id` is
    /// ours too); routes whose CLUSTER_LIST holds one are dropped.
    #[serde(default)]
    pub cluster_ids: Vec<Ipv4Addr>,
    /// Compare MED between routes from different neighbouring ASes
    /// (RFC 4271 9.1.2.2 c compares only within one AS by default).
    #[serde(default)]
    pub always_compare_med: bool,
}

/// Serde for the negotiated context, as the three flags that matter for
/// encoding.
mod context_serde {
    use bgp_wire::{AddPathFamilies, Context};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Repr {
        #[serde(default = "yes")]
        four_octet_as: bool,
        #[serde(default)]
        add_path: bool,
        #[serde(default)]
        extended_message: bool,
    }

    fn yes() -> bool {
        true
    }

    pub fn serialize<S: Serializer>(c: &Context, s: S) -> Result<S::Ok, S::Error> {
        Repr {
            four_octet_as: c.four_octet_as,
            add_path: c.add_path != AddPathFamilies::NONE,
            extended_message: c.extended_message,
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Context, D::Error> {
        let r = Repr::deserialize(d)?;
        Ok(Context {
            four_octet_as: r.four_octet_as,
            add_path: if r.add_path {
                AddPathFamilies::ALL
            } else {
                AddPathFamilies::NONE
            },
            extended_message: r.extended_message,
            ebgp: false,
        })
    }
}
