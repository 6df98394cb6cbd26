//! A crafted BGP speaker for tests: it opens a session from inside a lab
//! host, sends whatever bytes a test wants (including malformed UPDATEs),
//! and records every message it receives, decoded with bgp-wire.
// Entering a network namespace needs setns(2).
#![allow(unsafe_code)]

use std::{
    io::{Read, Write},
    net::{Ipv4Addr, SocketAddr, TcpStream},
    os::fd::AsRawFd,
    sync::{Arc, Mutex},
    thread,
    time::Duration,
};

use bgp_wire::{
    capability::Capability, frame, AddPathFamilies, Context, Family, Message, Open, Update,
};

/// A session opened by the test.
#[derive(Debug)]
pub struct Speaker {
    stream: TcpStream,
    /// Encoding both ways (4-octet AS, no ADD-PATH).
    pub ctx: Context,
    received: Arc<Mutex<Vec<Message>>>,
}

/// Connects to `to` from inside network namespace `ns`.
fn connect_in(ns: &str, to: SocketAddr) -> std::io::Result<TcpStream> {
    let path = format!("/var/run/netns/{ns}");
    thread::scope(|s| {
        s.spawn(|| {
            let f = std::fs::File::open(&path)?;
            // SAFETY: setns on this thread only, with a valid namespace fd.
            let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
            if rc != 0 {
                return Err(std::io::Error::last_os_error());
            }
            TcpStream::connect_timeout(&to, Duration::from_secs(5))
        })
        .join()
        .unwrap_or_else(|_| Err(std::io::ErrorKind::Other.into()))
    })
}

fn read_one(
    s: &mut TcpStream,
    buf: &mut Vec<u8>,
    ctx: &Context,
) -> std::io::Result<Option<Message>> {
    loop {
        match frame(buf, ctx) {
            Ok(Some(len)) => {
                let msg = Message::decode(&buf[..len], ctx).map(|d| d.message).ok();
                buf.drain(..len);
                return Ok(msg);
            }
            Ok(None) => {}
            Err(_) => return Ok(None),
        }
        let mut chunk = [0u8; 8192];
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

impl Speaker {
    /// Opens a session to `to` from namespace `ns` as `asn`/`router_id`,
    /// offering IPv4 and IPv6 unicast, and waits for Established.
    pub fn open(
        ns: &str,
        to: SocketAddr,
        asn: u32,
        router_id: Ipv4Addr,
    ) -> std::io::Result<Speaker> {
        let mut stream = connect_in(ns, to)?;
        let ctx = Context {
            four_octet_as: true,
            add_path: AddPathFamilies::NONE,
            extended_message: false,
            ebgp: false,
        };
        let open = Open::new(
            asn,
            90,
            router_id,
            vec![
                Capability::Multiprotocol(Family::IPV4_UNICAST),
                Capability::Multiprotocol(Family::IPV6_UNICAST),
                Capability::RouteRefresh,
                Capability::FourOctetAs(asn),
            ],
        );
        stream.write_all(
            &Message::Open(open)
                .to_bytes(&Context::default())
                .map_err(std::io::Error::other)?,
        )?;
        let mut buf = Vec::new();
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        match read_one(&mut stream, &mut buf, &Context::default())? {
            Some(Message::Open(_)) => {}
            other => {
                return Err(std::io::Error::other(format!(
                    "expected OPEN, got {other:?}"
                )))
            }
        }
        stream.write_all(
            &Message::Keepalive
                .to_bytes(&ctx)
                .map_err(std::io::Error::other)?,
        )?;
        let received = Arc::new(Mutex::new(Vec::new()));
        let (mut rs, rec) = (stream.try_clone()?, received.clone());
        rs.set_read_timeout(None)?;
        thread::spawn(move || {
            while let Ok(Some(m)) = read_one(&mut rs, &mut buf, &ctx) {
                if let Ok(mut v) = rec.lock() {
                    v.push(m);
                }
            }
        });
        let mut ks = stream.try_clone()?;
        thread::spawn(move || {
            let ka = Message::Keepalive
                .to_bytes(&ctx)
                .map(|b| b.to_vec())
                .unwrap_or_default();
            while ks.write_all(&ka).is_ok() {
                thread::sleep(Duration::from_secs(5));
            }
        });
        Ok(Speaker {
            stream,
            ctx,
            received,
        })
    }

    /// Sends raw bytes.
    pub fn send_raw(&self, bytes: &[u8]) -> std::io::Result<()> {
        (&self.stream).write_all(bytes)
    }

    /// Sends an UPDATE.
    pub fn send(&self, u: &Update) -> std::io::Result<()> {
        let b = u.encode_to_vec(&self.ctx);
        self.send_raw(&b)
    }

    /// Every message received so far.
    pub fn received(&self) -> Vec<Message> {
        self.received.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// The UPDATEs received so far.
    pub fn updates(&self) -> Vec<Update> {
        self.received()
            .into_iter()
            .filter_map(|m| match m {
                Message::Update(u) => Some(u),
                _ => None,
            })
            .collect()
    }
}

/// Encoding helper for tests.
pub trait EncodeToVec {
    /// The message bytes.
    fn encode_to_vec(&self, ctx: &Context) -> Vec<u8>;
}

impl EncodeToVec for Update {
    fn encode_to_vec(&self, ctx: &Context) -> Vec<u8> {
        let mut out = bytes::BytesMut::new();
        self.encode(ctx, &mut out).expect("test UPDATE encodes");
        out.to_vec()
    }
}
