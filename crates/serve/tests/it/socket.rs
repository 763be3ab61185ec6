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
                .write_all(b"POST /api/predict HTTP/1.1\r\nhost: x\r\ncontent-length: 100000\r\n\r\n0123456789")
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
            b"POST /api/predict HTTP/1.1\r\nhost: x\r\ncontent-length: 5000000\r\nconnection: close\r\n\r\n",
        );
        let health = http(addr, b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
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
