//! The BGP finite state machine of RFC 4271 section 8, as a pure state
//! machine: [`Event`]s in, [`Action`]s out, no I/O and no clock. The
//! session task owns the socket and the timers and does what the actions
//! say. Event numbers in the docs are those of RFC 4271 section 8.1.
//!
//! Collision detection (section 6.8) needs both connections of a peer and
//! is decided by the session task with [`resolve_collision`].

use std::net::Ipv4Addr;

use bgp_wire::{
    capability::Capability,
    notification::{CeaseSubcode, FsmSubcode, OpenSubcode},
    Context, DecodeError, Family, Notification, NotificationCode, Open,
};

/// Session states (RFC 4271 section 8.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum State {
    /// Not trying.
    Idle,
    /// Waiting for our TCP connection to complete.
    Connect,
    /// Waiting for the peer to connect to us.
    Active,
    /// OPEN sent, waiting for the peer's.
    OpenSent,
    /// OPENs exchanged, waiting for KEEPALIVE.
    OpenConfirm,
    /// Exchanging routes.
    Established,
}

/// Timers the session task runs for the FSM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// ConnectRetryTimer.
    ConnectRetry,
    /// HoldTimer.
    Hold,
    /// KeepaliveTimer.
    Keepalive,
}

/// Inputs to the FSM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// 1 ManualStart / 3 AutomaticStart: try to connect.
    Start,
    /// 4/5 ...with PassiveTcpEstablishment: wait for the peer.
    StartPassive,
    /// 2 ManualStop: administrative shutdown, with the NOTIFICATION to send
    /// if connected.
    Stop(Notification),
    /// 9 ConnectRetryTimer_Expires.
    ConnectRetryExpired,
    /// 10 HoldTimer_Expires.
    HoldExpired,
    /// 11 KeepaliveTimer_Expires.
    KeepaliveExpired,
    /// 16/17 Tcp_CR_Acked / TcpConnectionConfirmed.
    TcpConnected,
    /// 18 TcpConnectionFails.
    TcpFailed,
    /// 19 BGPOpen.
    Open(Open),
    /// 26 KeepAliveMsg.
    Keepalive,
    /// 27 UpdateMsg (and ROUTE-REFRESH, which also proves the peer alive).
    Update,
    /// 25 NotifMsg.
    Notification(Notification),
    /// 21/22/28: a message that failed to decode.
    DecodeError(DecodeError),
    /// 23 OpenCollisionDump: this connection lost collision resolution.
    CollisionDump,
}

/// What the session task must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a TCP connection to the peer.
    Connect,
    /// Close the TCP connection.
    Disconnect,
    /// Send our OPEN.
    SendOpen,
    /// Send a KEEPALIVE.
    SendKeepalive,
    /// Send a NOTIFICATION (then the connection is closed).
    SendNotification(Notification),
    /// (Re)start a timer for this many seconds.
    StartTimer(Timer, u16),
    /// Stop a timer.
    StopTimer(Timer),
    /// The session is Established with these parameters.
    Established(Box<Negotiated>),
    /// The session left Established (routes from it must go).
    Down,
}

/// What the two OPENs settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The peer's OPEN.
    pub remote: Open,
    /// Hold time in seconds: the smaller of both proposals (0: no
    /// keepalives).
    pub hold_time: u16,
    /// Keepalive interval in seconds.
    pub keepalive: u16,
    /// Decode context for what the peer sends.
    pub rx: Context,
    /// Encode context for what we send.
    pub tx: Context,
    /// Families both sides announced (RFC 4760 section 8).
    pub families: Vec<Family>,
    /// The peer can take ROUTE-REFRESH (RFC 2918).
    pub route_refresh: bool,
    /// ... and enhanced route refresh (RFC 7313).
    pub enhanced_route_refresh: bool,
}

/// Settings of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsmConfig {
    /// The OPEN we send.
    pub local: Open,
    /// The AS we expect the peer to be in (iBGP: ours).
    pub peer_as: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// Keepalive interval we configured (scaled down if the negotiated hold
    /// time is shorter than three times it).
    pub keepalive: u16,
    /// ConnectRetryTimer in seconds.
    pub connect_retry: u16,
    /// Whether the peer is external.
    pub ebgp: bool,
}

/// Hold timer while waiting for the OPEN (RFC 4271 section 8: "a large
/// value", 4 minutes suggested).
pub const OPEN_HOLD_TIME: u16 = 240;

/// One session's FSM.
#[derive(Debug, Clone)]
pub struct Fsm {
    cfg: FsmConfig,
    state: State,
    negotiated: Option<Negotiated>,
    /// Times the session went from a connected state back to Idle.
    pub connect_retry_counter: u32,
}

impl Fsm {
    /// A session in Idle.
    pub fn new(cfg: FsmConfig) -> Self {
        Fsm {
            cfg,
            state: State::Idle,
            negotiated: None,
            connect_retry_counter: 0,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The negotiated parameters, once in OpenConfirm or Established.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// Feeds one event, returns what to do.
    pub fn handle(&mut self, event: Event) -> Vec<Action> {
        use State::*;
        let retry = self.cfg.connect_retry;
        match (self.state, event) {
            // Start and stop.
            (Idle, Event::Start) => {
                self.state = Connect;
                vec![
                    Action::StartTimer(Timer::ConnectRetry, retry),
                    Action::Connect,
                ]
            }
            (Idle, Event::StartPassive) => {
                self.state = Active;
                vec![Action::StartTimer(Timer::ConnectRetry, retry)]
            }
            (Idle, _) => vec![],
            (Connect | Active, Event::Stop(_)) => {
                self.state = Idle;
                vec![Action::StopTimer(Timer::ConnectRetry), Action::Disconnect]
            }
            (OpenSent | OpenConfirm | Established, Event::Stop(n)) => self.go_idle(Some(n)),

            // Connect and Active.
            (Connect | Active, Event::TcpConnected) => {
                self.state = OpenSent;
                vec![
                    Action::StopTimer(Timer::ConnectRetry),
                    Action::SendOpen,
                    Action::StartTimer(Timer::Hold, OPEN_HOLD_TIME),
                ]
            }
            (Connect, Event::ConnectRetryExpired) => {
                vec![
                    Action::Disconnect,
                    Action::StartTimer(Timer::ConnectRetry, retry),
                    Action::Connect,
                ]
            }
            (Active, Event::ConnectRetryExpired) => {
                self.state = Connect;
                vec![
                    Action::StartTimer(Timer::ConnectRetry, retry),
                    Action::Connect,
                ]
            }
            (Connect, Event::TcpFailed) => {
                self.state = Active;
                vec![Action::StartTimer(Timer::ConnectRetry, retry)]
            }
            (Active, Event::TcpFailed) => vec![Action::StartTimer(Timer::ConnectRetry, retry)],
            (Connect | Active, Event::Start | Event::StartPassive) => vec![],
            (Connect | Active, _) => {
                self.state = Idle;
                self.connect_retry_counter += 1;
                vec![Action::StopTimer(Timer::ConnectRetry), Action::Disconnect]
            }

            // Waiting for the OPEN.
            (OpenSent, Event::Open(open)) => match self.negotiate(open) {
                Ok(n) => {
                    let mut acts = vec![Action::SendKeepalive];
                    acts.extend(self.hold_actions(n.hold_time, n.keepalive));
                    self.negotiated = Some(n);
                    self.state = OpenConfirm;
                    acts
                }
                Err(code) => self.go_idle(Some(Notification::new(code))),
            },
            (OpenSent, Event::TcpFailed) => {
                self.state = Active;
                vec![
                    Action::Disconnect,
                    Action::StopTimer(Timer::Hold),
                    Action::StartTimer(Timer::ConnectRetry, retry),
                ]
            }

            // Waiting for the KEEPALIVE.
            (OpenConfirm, Event::Keepalive) => {
                self.state = Established;
                let n = self.negotiated.clone();
                let mut acts = self.restart_hold();
                acts.extend(n.map(|n| Action::Established(Box::new(n))));
                acts
            }
            (OpenConfirm, Event::KeepaliveExpired) | (Established, Event::KeepaliveExpired) => {
                let ka = self.negotiated.as_ref().map_or(0, |n| n.keepalive);
                vec![
                    Action::SendKeepalive,
                    Action::StartTimer(Timer::Keepalive, ka),
                ]
            }

            // Established.
            (Established, Event::Keepalive | Event::Update) => self.restart_hold(),

            // Errors and endings common to the connected states.
            (OpenSent | OpenConfirm | Established, Event::HoldExpired) => {
                self.go_idle(Some(Notification::new(NotificationCode::HoldTimerExpired)))
            }
            (OpenSent | OpenConfirm | Established, Event::Notification(_)) => self.go_idle(None),
            (OpenConfirm | Established, Event::TcpFailed) => self.go_idle(None),
            (OpenSent | OpenConfirm | Established, Event::DecodeError(e)) => {
                self.go_idle(Some(e.notification()))
            }
            (OpenSent | OpenConfirm | Established, Event::CollisionDump) => {
                self.go_idle(Some(Notification::new(NotificationCode::Cease(
                    CeaseSubcode::ConnectionCollisionResolution,
                ))))
            }
            (OpenSent | OpenConfirm | Established, Event::Start | Event::StartPassive) => vec![],
            // Anything else is out of place: FSM error with the state's
            // subcode (RFC 6608).
            (s, _) => {
                let sub = match s {
                    OpenSent => FsmSubcode::UnexpectedInOpenSent,
                    OpenConfirm => FsmSubcode::UnexpectedInOpenConfirm,
                    _ => FsmSubcode::UnexpectedInEstablished,
                };
                self.go_idle(Some(Notification::new(NotificationCode::Fsm(sub))))
            }
        }
    }

    fn go_idle(&mut self, notify: Option<Notification>) -> Vec<Action> {
        let was_up = self.state == State::Established;
        self.state = State::Idle;
        self.negotiated = None;
        self.connect_retry_counter += 1;
        let mut acts: Vec<Action> = notify.into_iter().map(Action::SendNotification).collect();
        acts.extend([
            Action::Disconnect,
            Action::StopTimer(Timer::ConnectRetry),
            Action::StopTimer(Timer::Hold),
            Action::StopTimer(Timer::Keepalive),
        ]);
        if was_up {
            acts.push(Action::Down);
        }
        acts
    }

    fn hold_actions(&self, hold: u16, keepalive: u16) -> Vec<Action> {
        if hold == 0 {
            vec![
                Action::StopTimer(Timer::Hold),
                Action::StopTimer(Timer::Keepalive),
            ]
        } else {
            vec![
                Action::StartTimer(Timer::Hold, hold),
                Action::StartTimer(Timer::Keepalive, keepalive),
            ]
        }
    }

    fn restart_hold(&self) -> Vec<Action> {
        match self.negotiated.as_ref().map_or(0, |n| n.hold_time) {
            0 => vec![],
            h => vec![Action::StartTimer(Timer::Hold, h)],
        }
    }

    /// Checks the peer's OPEN (RFC 4271 section 6.2) and settles the
    /// session parameters.
    fn negotiate(&self, remote: Open) -> Result<Negotiated, NotificationCode> {
        if remote.asn() != self.cfg.peer_as {
            return Err(NotificationCode::Open(OpenSubcode::BadPeerAs));
        }
        // Within an AS the identifiers must differ (RFC 6286 section 2.1).
        if !self.cfg.ebgp && remote.bgp_id == self.cfg.router_id {
            return Err(NotificationCode::Open(OpenSubcode::BadBgpIdentifier));
        }
        let hold_time = self.cfg.local.hold_time.min(remote.hold_time);
        let keepalive = if hold_time == 0 {
            0
        } else {
            self.cfg.keepalive.min(hold_time / 3).max(1)
        };
        let (mut rx, mut tx) = Context::negotiate(&self.cfg.local, &remote, self.cfg.ebgp);
        rx.ebgp = self.cfg.ebgp;
        tx.ebgp = self.cfg.ebgp;
        let theirs = remote.families();
        let families = self
            .cfg
            .local
            .families()
            .into_iter()
            .filter(|f| theirs.contains(f))
            .collect();
        let has = |f: fn(&Capability) -> bool| remote.capabilities().any(f);
        let route_refresh = has(|c| matches!(c, Capability::RouteRefresh));
        let enhanced_route_refresh = has(|c| matches!(c, Capability::EnhancedRouteRefresh));
        Ok(Negotiated {
            remote,
            hold_time,
            keepalive,
            rx,
            tx,
            families,
            route_refresh,
            enhanced_route_refresh,
        })
    }
}

/// RFC 4271 section 6.8: of two connections to the same peer, the one
/// initiated by the speaker with the higher BGP identifier survives.
/// Returns true if our own (outgoing) connection should be kept.
pub fn resolve_collision(local_id: Ipv4Addr, remote_id: Ipv4Addr) -> bool {
    u32::from(local_id) > u32::from(remote_id)
}

#[cfg(test)]
mod tests;
