//! The daemon's [`rib::Policy`]: each group's `import` and `export`
//! policy lists, compiled into chains of the policy crate and applied where
//! routes enter from and leave to that group.

use std::{collections::HashMap, net::IpAddr};

use bgp_wire::attr::NextHop;
use ipnet::IpNet;
use policy::{Chain, EvalCtx, Outcome, Route, Source};
use rib::{PeerConfig, Role, RouteAttrs, Verdict};

use crate::config::Config;

/// Import and export chains by group name.
#[derive(Debug)]
pub struct GroupPolicies {
    import: HashMap<String, Chain>,
    export: HashMap<String, Chain>,
    ctx: EvalCtx,
}

impl GroupPolicies {
    /// Builds the chains; the config was checked, so every name exists.
    pub fn new(cfg: &Config) -> Result<Self, String> {
        let mut import = HashMap::new();
        let mut export = HashMap::new();
        for g in &cfg.groups {
            let chain = |names: &[String]| {
                cfg.policies
                    .compiled
                    .chain(names)
                    .map_err(|e| e.to_string())
            };
            if !g.import.is_empty() {
                import.insert(g.name.clone(), chain(&g.import)?);
            }
            if !g.export.is_empty() {
                export.insert(g.name.clone(), chain(&g.export)?);
            }
        }
        Ok(GroupPolicies {
            import,
            export,
            ctx: EvalCtx {
                local_as: cfg.asn,
                local_addr: None,
            },
        })
    }

    fn eval(
        &self,
        chain: Option<&Chain>,
        from: &PeerConfig,
        prefix: IpNet,
        route: &RouteAttrs,
    ) -> Verdict {
        let Some(chain) = chain else {
            return Verdict::Accept;
        };
        let source = match from.role {
            Role::Client { .. } => Source::Client,
            Role::NonClient => Source::NonClient,
            Role::Ebgp => Source::Ebgp,
        };
        let r = Route {
            prefix,
            next_hop: route.next_hop.addr(),
            attrs: &route.attrs,
            neighbor: from.addr,
            group: &from.group,
            source,
        };
        match chain.eval(&r, &self.ctx) {
            Outcome::Reject => Verdict::Reject,
            Outcome::Accept => Verdict::Accept,
            Outcome::Modified { attrs, next_hop } => {
                let next_hop = match next_hop {
                    None => route.next_hop,
                    Some(IpAddr::V4(a)) => NextHop::Ipv4(a),
                    Some(IpAddr::V6(global)) => NextHop::Ipv6 {
                        global,
                        link_local: None,
                    },
                };
                Verdict::Rewrite(RouteAttrs { next_hop, attrs })
            }
        }
    }
}

impl rib::Policy for GroupPolicies {
    fn import(&self, name: &str, from: &PeerConfig, prefix: IpNet, route: &RouteAttrs) -> Verdict {
        self.eval(self.import.get(name), from, prefix, route)
    }

    fn export(
        &self,
        name: &str,
        _to: &Role,
        from: &PeerConfig,
        prefix: IpNet,
        route: &RouteAttrs,
    ) -> Verdict {
        self.eval(self.export.get(name), from, prefix, route)
    }
}
