//! One test per (state, event) pair that matters, and the OPEN checks.

use std::net::Ipv4Addr;

use bgp_wire::{
    capability::Capability,
    notification::{CeaseSubcode, FsmSubcode, OpenSubcode},
    DecodeError, Family, Message, Notification, NotificationCode, Open,
};

use super::*;

fn open(asn: u32, hold: u16, id: [u8; 4]) -> Open {
    Open::new(
        asn,
        hold,
        Ipv4Addr::from(id),
        vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::Multiprotocol(Family::IPV6_UNICAST),
            Capability::RouteRefresh,
            Capability::FourOctetAs(asn),
        ],
    )
}

fn fsm() -> Fsm {
    Fsm::new(FsmConfig {
        local: open(65000, 90, [10, 0, 0, 1]),
        peer_as: 65000,
        router_id: Ipv4Addr::new(10, 0, 0, 1),
        keepalive: 30,
        connect_retry: 30,
        ebgp: false,
    })
}

fn in_state(s: State) -> Fsm {
    let mut f = fsm();
    match s {
        State::Idle => {}
        State::Connect => {
            f.handle(Event::Start);
        }
        State::Active => {
            f.handle(Event::StartPassive);
        }
        State::OpenSent | State::OpenConfirm | State::Established => {
            f.handle(Event::Start);
            f.handle(Event::TcpConnected);
            if s != State::OpenSent {
                f.handle(Event::Open(open(65000, 60, [10, 0, 0, 2])));
            }
            if s == State::Established {
                f.handle(Event::Keepalive);
            }
        }
    }
    assert_eq!(f.state(), s);
    f
}

fn notification_of(acts: &[Action]) -> Option<NotificationCode> {
    acts.iter().find_map(|a| match a {
        Action::SendNotification(n) => Some(n.code),
        _ => None,
    })
}

#[test]
fn idle_start_connects_and_passive_waits() {
    let mut f = fsm();
    assert_eq!(
        f.handle(Event::Start),
        vec![Action::StartTimer(Timer::ConnectRetry, 30), Action::Connect]
    );
    assert_eq!(f.state(), State::Connect);
    let mut f = fsm();
    assert_eq!(
        f.handle(Event::StartPassive),
        vec![Action::StartTimer(Timer::ConnectRetry, 30)]
    );
    assert_eq!(f.state(), State::Active);
}

#[test]
fn idle_ignores_everything_else() {
    for ev in [
        Event::TcpConnected,
        Event::Keepalive,
        Event::HoldExpired,
        Event::Update,
    ] {
        let mut f = fsm();
        assert_eq!(f.handle(ev), vec![]);
        assert_eq!(f.state(), State::Idle);
    }
}

#[test]
fn connect_and_active() {
    let mut f = in_state(State::Connect);
    // Our connection fails: wait in Active for the retry.
    assert_eq!(
        f.handle(Event::TcpFailed),
        vec![Action::StartTimer(Timer::ConnectRetry, 30)]
    );
    assert_eq!(f.state(), State::Active);
    // Retry timer: connect again.
    assert_eq!(
        f.handle(Event::ConnectRetryExpired),
        vec![Action::StartTimer(Timer::ConnectRetry, 30), Action::Connect]
    );
    assert_eq!(f.state(), State::Connect);
    // Connect retry while still connecting: drop and retry.
    assert_eq!(
        f.handle(Event::ConnectRetryExpired),
        vec![
            Action::Disconnect,
            Action::StartTimer(Timer::ConnectRetry, 30),
            Action::Connect
        ]
    );
    // Connected: send OPEN, hold timer at 4 minutes.
    assert_eq!(
        f.handle(Event::TcpConnected),
        vec![
            Action::StopTimer(Timer::ConnectRetry),
            Action::SendOpen,
            Action::StartTimer(Timer::Hold, OPEN_HOLD_TIME)
        ]
    );
    assert_eq!(f.state(), State::OpenSent);
    // An incoming connection in Active does the same.
    let mut f = in_state(State::Active);
    assert!(f.handle(Event::TcpConnected).contains(&Action::SendOpen));
    assert_eq!(f.state(), State::OpenSent);
}

#[test]
fn open_sent_accepts_a_good_open() {
    let mut f = in_state(State::OpenSent);
    let acts = f.handle(Event::Open(open(65000, 60, [10, 0, 0, 2])));
    assert_eq!(
        acts,
        vec![
            Action::SendKeepalive,
            Action::StartTimer(Timer::Hold, 60),
            Action::StartTimer(Timer::Keepalive, 20)
        ]
    );
    assert_eq!(f.state(), State::OpenConfirm);
    let n = f.negotiated().expect("negotiated");
    assert_eq!((n.hold_time, n.keepalive), (60, 20));
    assert!(n.rx.four_octet_as && n.tx.four_octet_as);
    assert_eq!(n.families, vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]);
    assert!(n.route_refresh);
    assert!(!n.enhanced_route_refresh);
}

#[test]
fn open_sent_rejects_bad_opens() {
    for (o, code) in [
        (
            open(65001, 90, [10, 0, 0, 2]),
            NotificationCode::Open(OpenSubcode::BadPeerAs),
        ),
        (
            open(65000, 90, [10, 0, 0, 1]),
            NotificationCode::Open(OpenSubcode::BadBgpIdentifier),
        ),
    ] {
        let mut f = in_state(State::OpenSent);
        let acts = f.handle(Event::Open(o));
        assert_eq!(notification_of(&acts), Some(code));
        assert!(acts.contains(&Action::Disconnect));
        assert_eq!(f.state(), State::Idle);
    }
}

#[test]
fn zero_hold_time_means_no_keepalives() {
    let mut f = in_state(State::OpenSent);
    let acts = f.handle(Event::Open(open(65000, 0, [10, 0, 0, 2])));
    assert!(acts.contains(&Action::StopTimer(Timer::Hold)));
    assert!(!acts
        .iter()
        .any(|a| matches!(a, Action::StartTimer(Timer::Keepalive, _))));
}

#[test]
fn open_confirm_keepalive_establishes() {
    let mut f = in_state(State::OpenConfirm);
    let acts = f.handle(Event::Keepalive);
    assert_eq!(f.state(), State::Established);
    assert_eq!(acts[0], Action::StartTimer(Timer::Hold, 60));
    assert!(matches!(acts[1], Action::Established(_)));
}

#[test]
fn established_keeps_alive() {
    let mut f = in_state(State::Established);
    assert_eq!(
        f.handle(Event::Update),
        vec![Action::StartTimer(Timer::Hold, 60)]
    );
    assert_eq!(
        f.handle(Event::Keepalive),
        vec![Action::StartTimer(Timer::Hold, 60)]
    );
    assert_eq!(
        f.handle(Event::KeepaliveExpired),
        vec![
            Action::SendKeepalive,
            Action::StartTimer(Timer::Keepalive, 20)
        ]
    );
    assert_eq!(f.state(), State::Established);
}

#[test]
fn hold_timer_expiry_in_every_connected_state() {
    for s in [State::OpenSent, State::OpenConfirm, State::Established] {
        let mut f = in_state(s);
        let acts = f.handle(Event::HoldExpired);
        assert_eq!(
            notification_of(&acts),
            Some(NotificationCode::HoldTimerExpired),
            "{s:?}"
        );
        assert_eq!(acts.contains(&Action::Down), s == State::Established);
        assert_eq!(f.state(), State::Idle);
    }
}

#[test]
fn notification_and_tcp_failure_end_the_session_quietly() {
    for s in [State::OpenConfirm, State::Established] {
        for ev in [
            Event::Notification(Notification::new(NotificationCode::HoldTimerExpired)),
            Event::TcpFailed,
        ] {
            let mut f = in_state(s);
            let acts = f.handle(ev);
            assert_eq!(notification_of(&acts), None);
            assert!(acts.contains(&Action::Disconnect));
            assert_eq!(acts.contains(&Action::Down), s == State::Established);
            assert_eq!(f.state(), State::Idle);
        }
    }
    // In OpenSent a TCP failure goes back to Active.
    let mut f = in_state(State::OpenSent);
    f.handle(Event::TcpFailed);
    assert_eq!(f.state(), State::Active);
}

#[test]
fn unexpected_messages_are_fsm_errors() {
    for (s, ev, sub) in [
        (
            State::OpenSent,
            Event::Keepalive,
            FsmSubcode::UnexpectedInOpenSent,
        ),
        (
            State::OpenSent,
            Event::Update,
            FsmSubcode::UnexpectedInOpenSent,
        ),
        (
            State::OpenConfirm,
            Event::Update,
            FsmSubcode::UnexpectedInOpenConfirm,
        ),
        (
            State::Established,
            Event::Open(open(65000, 90, [10, 0, 0, 2])),
            FsmSubcode::UnexpectedInEstablished,
        ),
    ] {
        let mut f = in_state(s);
        let acts = f.handle(ev);
        assert_eq!(
            notification_of(&acts),
            Some(NotificationCode::Fsm(sub)),
            "{s:?}"
        );
        assert_eq!(f.state(), State::Idle);
    }
}

#[test]
fn decode_errors_send_their_notification() {
    let mut f = in_state(State::Established);
    let err = Message::decode(&[0u8; 19], &bgp_wire::Context::default()).expect_err("bad marker");
    let acts = f.handle(Event::DecodeError(err.clone()));
    assert_eq!(notification_of(&acts), Some(err.notification().code));
    assert!(acts.contains(&Action::Down));
    let _: Option<DecodeError> = None;
}

#[test]
fn stop_sends_cease_with_the_message() {
    let n = Notification::cease_with_message(CeaseSubcode::AdministrativeShutdown, "bye");
    let mut f = in_state(State::Established);
    let acts = f.handle(Event::Stop(n.clone()));
    assert_eq!(acts[0], Action::SendNotification(n));
    assert!(acts.contains(&Action::Down));
    let mut f = in_state(State::Connect);
    assert_eq!(
        f.handle(Event::Stop(Notification::new(NotificationCode::Cease(
            CeaseSubcode::AdministrativeShutdown
        )))),
        vec![Action::StopTimer(Timer::ConnectRetry), Action::Disconnect]
    );
}

#[test]
fn collision_dump_and_resolution() {
    let mut f = in_state(State::OpenConfirm);
    let acts = f.handle(Event::CollisionDump);
    assert_eq!(
        notification_of(&acts),
        Some(NotificationCode::Cease(
            CeaseSubcode::ConnectionCollisionResolution
        ))
    );
    assert!(resolve_collision(
        Ipv4Addr::new(10, 0, 0, 2),
        Ipv4Addr::new(10, 0, 0, 1)
    ));
    assert!(!resolve_collision(
        Ipv4Addr::new(10, 0, 0, 1),
        Ipv4Addr::new(10, 0, 0, 2)
    ));
}
