//! A real server on a loopback socket: it says where it listens, survives clients that go away
//! mid-request, and stops when asked.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use clap::Parser;

use crate::{fixture, s};

fn http(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_leave_mid_request_do_not_hurt_the_server() {
    let fx = fixture();
    let mut args = vec![
        "serve".to_string(),
        "--model".into(),
        s(&fx.small()).into(),
        "--artifacts".into(),
        s(&fx.artifacts).into(),
        "--addr".into(),
        "127.0.0.1:0".into(),
    ];
    args.extend(testkit::backend_args());
    let args = serve::cli::Args::try_parse_from(args).unwrap();
    let server = serve::cli::start(&args).await.unwrap();
    let addr = server.addr();
    assert!(addr.ip().is_loopback() && addr.port() != 0);
    let said = server.to_string();
    assert!(said.contains(&format!("open http://{addr}/")), "{said}");
    assert!(said.contains("784-24-10"), "{said}");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));

    let reply = tokio::task::spawn_blocking(move || {
        // Promises 100,000 bytes, sends 10, and leaves.
        for _ in 0..5 {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream
                .write_all(b"POST /api/predict HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 100000\r\n\r\n0123456789")
                .unwrap();
            drop(stream);
        }
        // Sends half a request line and leaves.
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(b"POST /api/pre").unwrap();
        drop(stream);
        // Promises more than the limit: refused at once, before any body is sent.
        let big = http(
            addr,
            b"POST /api/predict HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 5000000\r\nconnection: close\r\n\r\n",
        );
        let health = http(addr, b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n");
        (big, health)
    })
    .await
    .unwrap();
    let (big, health) = reply;
    assert!(big.starts_with("HTTP/1.1 413"), "{big}");
    assert!(big.contains("over the limit"), "{big}");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("\"status\":\"ok\""), "{health}");

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("the server stops when asked")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_missing_run_is_the_error_infer_gives() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("none");
    let args = serve::cli::Args::try_parse_from([
        "serve",
        "--model",
        s(&missing),
        "--addr",
        "127.0.0.1:0",
    ])
    .unwrap();
    let err = serve::cli::start(&args).await.unwrap_err();
    let said = model::error_chain(&err);
    assert!(
        said.contains("no trained model in") && said.contains("cargo run -p train"),
        "{said}"
    );
}

#[tokio::test]
async fn on_every_address_the_host_checks_stay_and_it_says_how_to_name_hosts() {
    let model = fixture().small();
    let start = |extra: &[&str]| {
        let mut args = vec!["serve", "--model", s(&model), "--addr", "0.0.0.0:0"];
        args.extend(extra);
        args.extend(["--no-teach"]);
        serve::cli::Args::try_parse_from(args).unwrap()
    };
    // Bad limits and addresses are refused when parsed, naming the fix.
    for (flag, value, says) in [
        ("--timeout", "0", "from 0.1"),
        ("--timeout", "-5", "from 0.1"),
        ("--timeout", "NaN", "from 0.1"),
        ("--timeout", "inf", "from 0.1"),
        ("--timeout", "1e-10", "from 0.1"),
        ("--body-limit", "0", "from 1024"),
        ("--body-limit", "-1", "from 1024"),
        ("--addr", "8000", "HOST:PORT"),
        ("--addr", "localhost", "HOST:PORT"),
        ("--addr", "localhost:http", "HOST:PORT"),
    ] {
        let e = serve::cli::Args::try_parse_from(["serve".to_string(), format!("{flag}={value}")])
            .unwrap_err()
            .to_string();
        assert!(e.contains(says), "{flag} {value}: {e}");
    }
    let args = serve::cli::Args::try_parse_from(["serve", "--addr", "localhost:0"]).unwrap();
    assert!(args.addr.ip().is_loopback(), "{}", args.addr);
    // A name alone: no scheme, port or wildcard (they would never match a Host).
    for bad in ["http://pc.lan", "pc.lan:8000", "*", "", ".", "pc lan"] {
        let args = ["serve", "--allowed-host", bad];
        let e = serve::cli::Args::try_parse_from(args)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not a host name"), "{bad:?}: {e}");
    }
    let server = serve::cli::start(&start(&[])).await.unwrap();
    let said = server.to_string();
    assert!(said.contains("--allowed-host NAME"), "{said}");
    let server = serve::cli::start(&start(&[
        "--allowed-host",
        "pc.lan",
        "--allowed-host",
        ".home",
    ]))
    .await
    .unwrap();
    let said = server.to_string();
    assert!(said.contains("or by the names pc.lan, .home"), "{said}");
    let port = server.addr().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let ask = move |host: &'static str| {
        tokio::task::spawn_blocking(move || {
            http(
                addr,
                format!("GET /health HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n")
                    .as_bytes(),
            )
        })
    };
    for (host, status) in [
        ("pc.lan:80", "200"),
        ("a.home", "200"),
        ("192.168.0.9:8000", "200"),
        ("rebind.example", "403"),
        ("pc.lan.evil", "403"),
    ] {
        let reply = ask(host).await.unwrap();
        assert!(
            reply.starts_with(&format!("HTTP/1.1 {status}")),
            "{host}: {reply}"
        );
    }
    let _ = stop.send(());
    running.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_nothing_or_idles_is_closed() {
    let model = fixture().small();
    let args = serve::cli::Args::try_parse_from([
        "serve",
        "--model",
        s(&model),
        "--addr",
        "127.0.0.1:0",
        "--no-teach",
        "--timeout",
        "1",
    ])
    .unwrap();
    let server = serve::cli::start(&args).await.unwrap();
    let addr = server.addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    let closed_within = move |request: &'static [u8]| {
        tokio::task::spawn_blocking(move || {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            stream.write_all(request).unwrap();
            let started = std::time::Instant::now();
            let mut reply = Vec::new();
            let _ = stream.read_to_end(&mut reply);
            (
                started.elapsed(),
                String::from_utf8_lossy(&reply).into_owned(),
            )
        })
    };
    // Nothing sent; half a request line; a whole request kept alive, then idle.
    for request in [
        &b""[..],
        b"GET /hea",
        b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n",
    ] {
        let (after, reply) = closed_within(request).await.unwrap();
        assert!(
            after < Duration::from_secs(10),
            "{:?}: open after {after:?}",
            String::from_utf8_lossy(request)
        );
        if request.ends_with(b"\r\n\r\n") {
            assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        }
    }
    let _ = stop.send(());
    running.await.unwrap().unwrap();
}
