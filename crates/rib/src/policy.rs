//! The policy hook. The RIB does not know policy languages: the daemon
//! gives it a [`Policy`] that judges routes by policy name, and the RIB
//! calls it where routes enter (import, per peer) and leave (export, per
//! update group).

use ipnet::IpNet;

use crate::{attrs::RouteAttrs, peer::PeerConfig, peer::Role};

/// What a policy decided for one route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Drop the route.
    Reject,
    /// Use it as it is.
    Accept,
    /// Use it with these attributes instead.
    Rewrite(RouteAttrs),
}

/// Judges routes by policy name.
pub trait Policy: std::fmt::Debug + Send {
    /// A route received from `from`, under `from.import_policy` named `name`.
    fn import(&self, name: &str, from: &PeerConfig, prefix: IpNet, route: &RouteAttrs) -> Verdict;

    /// A route learned from `from` about to go to an update group whose
    /// peers have role `to` and export policy `name`.
    fn export(
        &self,
        name: &str,
        to: &Role,
        from: &PeerConfig,
        prefix: IpNet,
        route: &RouteAttrs,
    ) -> Verdict;
}
