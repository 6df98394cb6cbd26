//! The kubernetes source against a local HTTP server that speaks the
//! Kubernetes list/watch protocol for EndpointSlices: an initial list, a
//! watch with a bookmark, changes, a resourceVersion expiry (410 Gone)
//! that forces a re-list, and a dropped watch that the source reconnects.

use std::{
    io::{BufRead, BufReader, Write},
    net::{IpAddr, TcpListener},
    sync::{Arc, Mutex},
    thread,
    time::Duration,
};

use tokio::sync::mpsc;

use super::*;

fn slice(name: &str, rv: u32, family: &str, eps: &[(&str, bool)]) -> String {
    let endpoints: Vec<String> = eps
        .iter()
        .map(|(a, ready)| format!(r#"{{"addresses":["{a}"],"conditions":{{"ready":{ready}}}}}"#))
        .collect();
    format!(
        r#"{{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{{"name":"{name}","namespace":"ns","resourceVersion":"{rv}","labels":{{"kubernetes.io/service-name":"meshrr"}}}},"addressType":"{family}","endpoints":[{}],"ports":[{{"name":"bgp","port":179,"protocol":"TCP"}}]}}"#,
        endpoints.join(",")
    )
}

fn list(rv: u32, items: &[String]) -> String {
    format!(
        r#"{{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSliceList","metadata":{{"resourceVersion":"{rv}"}},"items":[{}]}}"#,
        items.join(",")
    )
}

fn event(kind: &str, object: &str) -> String {
    format!(r#"{{"type":"{kind}","object":{object}}}"#)
}

/// What the server answers, in order: lists and watch streams.
enum Answer {
    List(String),
    /// Events, then close (or hang open when `hold`).
    Watch {
        events: Vec<String>,
        hold: bool,
    },
}

fn serve(l: TcpListener, answers: Vec<Answer>, seen: Arc<Mutex<Vec<String>>>) {
    let answers = Arc::new(Mutex::new(answers.into_iter()));
    for conn in l.incoming() {
        let Ok(mut s) = conn else { return };
        let (answers, seen) = (answers.clone(), seen.clone());
        thread::spawn(move || loop {
            let mut r = BufReader::new(match s.try_clone() {
                Ok(c) => c,
                Err(_) => return,
            });
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            // Skip the headers.
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            seen.lock().expect("lock").push(path.clone());
            let next = answers.lock().expect("lock").next();
            match next {
                Some(Answer::List(body)) if !path.contains("watch=true") => {
                    let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len());
                }
                Some(Answer::Watch { events, hold }) if path.contains("watch=true") => {
                    let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
                    for e in events {
                        let data = format!("{e}\n");
                        let _ = write!(s, "{:x}\r\n{data}\r\n", data.len());
                        let _ = s.flush();
                        thread::sleep(Duration::from_millis(100));
                    }
                    if hold {
                        thread::sleep(Duration::from_secs(30));
                    }
                    let _ = write!(s, "0\r\n\r\n");
                    return;
                }
                _ => {
                    let body = r#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"unexpected request","code":500}"#;
                    let _ = write!(s, "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len());
                    return;
                }
            }
        });
    }
}

fn ips(f: &Found) -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = f
        .peers
        .as_ref()
        .expect("peers")
        .iter()
        .map(SocketAddr::ip)
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpointslice_watch_follows_changes_expiry_and_reconnects() {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let a = |ready2| {
        slice(
            "meshrr-a",
            100,
            "IPv4",
            &[("10.1.0.1", true), ("10.1.0.2", ready2)],
        )
    };
    let b = slice("meshrr-b", 103, "IPv6", &[("fd00::5", true)]);
    let gone = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version","reason":"Expired","code":410}"#;
    let bookmark = r#"{"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1","metadata":{"resourceVersion":"101"}}"#;
    let answers = vec![
        Answer::List(list(100, &[a(false)])),
        Answer::Watch {
            events: vec![
                event("BOOKMARK", bookmark),
                event("MODIFIED", &a(true)),
                event("ADDED", &b),
                event("ERROR", gone),
            ],
            hold: false,
        },
        Answer::List(list(200, &[a(false), b.clone()])),
        Answer::Watch {
            events: vec![event("DELETED", &b)],
            hold: false,
        },
        Answer::Watch {
            events: vec![],
            hold: true,
        },
    ];
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    thread::spawn(move || serve(l, answers, s2));
    let dir = std::env::temp_dir().join(format!("meshrr-kube-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let kubeconfig = dir.join("config");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: fake, cluster: {{server: \"http://127.0.0.1:{port}\"}}}}]\nusers: [{{name: u, user: {{}}}}]\ncontexts: [{{name: c, context: {{cluster: fake, user: u, namespace: ns}}}}]\ncurrent-context: c\n"
        ),
    )
    .expect("kubeconfig");
    std::env::set_var("KUBECONFIG", &kubeconfig);
    let (tx, mut rx) = mpsc::channel(16);
    let registry = Arc::new(Registry::default());
    let source = Source::Kubernetes {
        service: "meshrr".into(),
        namespace: "ns".into(),
        port: 179,
    };
    spawn(
        "MESH".into(),
        source,
        Duration::from_secs(1),
        vec![],
        tx,
        registry.clone(),
    );
    async fn recv(rx: &mut mpsc::Receiver<Found>) -> Found {
        tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("a result within 20 s")
            .expect("source running")
    }
    let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
    // Initial list: ready endpoints only.
    assert_eq!(ips(&recv(&mut rx).await), vec![ip("10.1.0.1")]);
    // Watch: the bookmark changes nothing; then a change and a new slice.
    assert_eq!(
        ips(&recv(&mut rx).await),
        vec![ip("10.1.0.1"), ip("10.1.0.2")]
    );
    assert_eq!(
        ips(&recv(&mut rx).await),
        vec![ip("10.1.0.1"), ip("10.1.0.2"), ip("fd00::5")]
    );
    // 410 Gone: a re-list gives the current state.
    assert_eq!(
        ips(&recv(&mut rx).await),
        vec![ip("10.1.0.1"), ip("fd00::5")]
    );
    // A deletion on the new watch.
    assert_eq!(ips(&recv(&mut rx).await), vec![ip("10.1.0.1")]);
    // The closed watch is re-opened from the last resourceVersion.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let paths = seen.lock().expect("lock").clone();
        let watches: Vec<&String> = paths.iter().filter(|p| p.contains("watch=true")).collect();
        if watches.len() >= 3 {
            assert!(watches[0].contains("resourceVersion=100"), "{paths:#?}");
            assert!(
                watches[0].contains("allowWatchBookmarks=true"),
                "{paths:#?}"
            );
            assert!(
                watches[0].contains("labelSelector=kubernetes.io%2Fservice-name%3Dmeshrr"),
                "{paths:#?}"
            );
            assert!(
                watches[2].contains("resourceVersion=201")
                    || watches[2].contains("resourceVersion=103"),
                "{paths:#?}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no reconnect: {paths:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        registry
            .discovery()
            .get("MESH")
            .is_some_and(|d| d.errors >= 1),
        "the 410 is counted"
    );
}
