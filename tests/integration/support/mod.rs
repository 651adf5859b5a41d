//! The test harness: a hub on 127.0.0.1:0 and typed WebSocket clients.
//!
//! `TestServer` runs the real `run` with a fake clock set inside service hours and re-raises a
//! server panic when stopped. `TestClient` is a real tokio-tungstenite client whose receives
//! time out instead of hanging.

#![allow(dead_code)]

pub mod client;
pub mod redis;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use logistics_bridge::clock::FakeClock;
use logistics_bridge::config::Config;
use logistics_bridge::domain::order::Carrier;
use logistics_bridge::protocol::Role;
use logistics_bridge::protocol::ids::{ShopId, UserId};
use logistics_bridge::store::{MemoryStore, Store};
use logistics_bridge::transport::auth::{Authenticator, Claims, expiry_in};
use logistics_bridge::{Parts, RunError, run};

pub use client::TestClient;

/// 10:00 in Shanghai on a Monday: inside service hours.
pub fn service_time() -> DateTime<Utc> {
    "2026-11-23T02:00:00Z".parse().expect("valid time")
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub config: Config,
    pub clock: FakeClock,
    pub store: Arc<dyn Store>,
    auth: Authenticator,
    http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), RunError>>>,
}

/// A config for tests: generous limits, quick timers.
pub fn test_config() -> Config {
    let env: HashMap<String, String> = HashMap::new();
    let mut config = Config::parse("", &env).expect("defaults are valid");
    config.auth.secret = "test-secret-of-sufficient-length".into();
    config.auth.leeway = Duration::ZERO;
    config.server.shutdown_grace = Duration::from_secs(5);
    config.limits.connection_burst = 10_000.try_into().expect("non-zero");
    config.limits.connection_per_second = 10_000.try_into().expect("non-zero");
    config.limits.user_burst = 10_000.try_into().expect("non-zero");
    config.limits.user_per_second = 10_000.try_into().expect("non-zero");
    config
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::with_config(|_| {}).await
    }

    pub async fn with_config(edit: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = test_config();
        edit(&mut config);
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new(config.history.retained_messages));
        TestServer::with_store(config, store).await
    }

    pub async fn with_store(config: Config, store: Arc<dyn Store>) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local address");
        let clock = FakeClock::new(service_time());
        let parts = Parts {
            store: Arc::clone(&store),
            clock: Arc::new(clock.clone()),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(run(listener, config.clone(), parts, shutdown));
        TestServer {
            addr,
            auth: Authenticator::new(&config.auth.secret, config.auth.leeway),
            config,
            clock,
            store,
            http: reqwest::Client::new(),
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn token(
        &self,
        role: Role,
        sub: &str,
        shop: Option<&str>,
        carrier: Option<Carrier>,
    ) -> String {
        let claims = Claims {
            sub: UserId::new(sub).expect("valid id"),
            role,
            shop: shop.map(|s| ShopId::new(s).expect("valid id")),
            carrier,
            exp: expiry_in(Duration::from_secs(3600)),
        };
        self.auth.mint(&claims).expect("mint")
    }

    pub fn admin_token(&self) -> String {
        self.token(Role::Admin, "integration", None, None)
    }

    /// A connected buyer, past its `welcome`.
    pub async fn buyer(&self, id: &str) -> TestClient {
        let token = self.token(Role::Buyer, id, None, None);
        let mut client = TestClient::connect(&self.ws_url(), &token).await;
        client.recv_type("welcome").await;
        client
    }

    /// A connected agent of `shop`, online, past its `welcome`.
    pub async fn agent(&self, id: &str, shop: &str) -> TestClient {
        let mut client = self.agent_offline(id, shop).await;
        client
            .send(json!({"type": "presence", "status": "online", "request_id": "p"}))
            .await;
        client.barrier().await;
        client
    }

    /// A connected agent that has not set a presence yet.
    pub async fn agent_offline(&self, id: &str, shop: &str) -> TestClient {
        let token = self.token(Role::Agent, id, Some(shop), None);
        let mut client = TestClient::connect(&self.ws_url(), &token).await;
        client.recv_type("welcome").await;
        client
    }

    /// Feeds an order through the admin API.
    pub async fn put_order(
        &self,
        order_id: &str,
        buyer: &str,
        shop: &str,
        status: &str,
        parcels: Value,
    ) {
        let body = json!({
            "buyer": buyer, "shop": shop, "status": status, "parcels": parcels,
            "updated_at": "2026-11-23T01:00:00Z"
        });
        let (status, reply) = self
            .admin("PUT", &format!("/v1/orders/{order_id}"), Some(body))
            .await;
        assert_eq!(status, 200, "{reply}");
    }

    /// An admin API call with the admin token; returns the status and the JSON body.
    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let token = self.admin_token();
        self.http_as(method, path, body, Some(&token)).await
    }

    pub async fn http_as(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.http.request(method, self.http_url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("http request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("http body");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    /// Polls `/metrics` until the gauge or counter `name` reads `value` (10 s at most).
    pub async fn wait_for_metric(&self, name: &str, value: u64) {
        let expected = format!("{name} {value}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let (_, body) = self.http_as("GET", "/metrics", None, None).await;
            if body
                .as_str()
                .is_some_and(|text| text.lines().any(|l| l == expected))
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{expected} never showed"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Triggers shutdown and waits for `run` to return; re-raises a server panic.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().expect("server task");
        match tokio::time::timeout(Duration::from_secs(15), task).await {
            Err(_) => panic!("server did not stop within 15s"),
            Ok(Err(error)) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Ok(Err(error)) => panic!("server task failed: {error}"),
            Ok(Ok(result)) => result.expect("server returned an error"),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            if task.is_finished() && !std::thread::panicking() {
                // A server that died on its own is a failure even if the test did not notice.
                let result = futures_util::FutureExt::now_or_never(task);
                if let Some(Err(error)) = result
                    && error.is_panic()
                {
                    std::panic::resume_unwind(error.into_panic());
                }
            } else {
                task.abort();
            }
        }
    }
}
