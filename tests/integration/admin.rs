//! The admin HTTP API: auth, validation and order facts.

use serde_json::json;

use logistics_bridge::protocol::Role;

use crate::support::TestServer;

fn order(status: &str, updated_at: &str) -> serde_json::Value {
    json!({"buyer": "b1", "shop": "s1", "status": status,
           "parcels": [{"carrier": "ZTO", "waybill": "ZT100"}], "updated_at": updated_at})
}

#[tokio::test]
async fn the_admin_api_needs_an_admin_token() {
    let server = TestServer::start().await;
    let body = Some(order("shipped", "2026-11-23T01:00:00Z"));
    let (status, reply) = server
        .http_as("PUT", "/v1/orders/o1", body.clone(), None)
        .await;
    assert_eq!(status, 401, "{reply}");
    let buyer = server.token(Role::Buyer, "b1", None, None);
    let (status, reply) = server
        .http_as("PUT", "/v1/orders/o1", body.clone(), Some(&buyer))
        .await;
    assert_eq!(status, 403, "{reply}");
    assert_eq!(reply["error"]["code"], "forbidden");
    let (status, _) = server.admin("PUT", "/v1/orders/o1", body).await;
    assert_eq!(status, 200);
    server.stop().await;
}

#[tokio::test]
async fn bad_order_bodies_name_the_field() {
    let server = TestServer::start().await;
    let mut unknown_carrier = order("shipped", "2026-11-23T01:00:00Z");
    unknown_carrier["parcels"][0]["carrier"] = json!("SF");
    let mut extra = order("shipped", "2026-11-23T01:00:00Z");
    extra["price"] = json!(3);
    let mut empty_waybill = order("shipped", "2026-11-23T01:00:00Z");
    empty_waybill["parcels"][0]["waybill"] = json!("");
    let cases = [
        (order("lost", "2026-11-23T01:00:00Z"), "status"),
        (order("shipped", "yesterday"), "updated_at"),
        (unknown_carrier, "parcels[0].carrier"),
        (extra, "price"),
        (empty_waybill, "parcels[0].waybill"),
    ];
    for (body, field) in cases {
        let (status, reply) = server.admin("PUT", "/v1/orders/o1", Some(body)).await;
        assert_eq!(status, 400, "{reply}");
        let message = reply["error"]["message"].as_str().expect("message");
        assert!(message.contains(field), "{message:?} should name {field}");
    }
    let (status, reply) = server
        .admin(
            "PUT",
            "/v1/orders/bad%20id",
            Some(order("paid", "2026-11-23T01:00:00Z")),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        reply["error"]["message"]
            .as_str()
            .expect("message")
            .contains("order_id")
    );
    let (status, _) = server.admin("GET", "/v1/orders/o1", None).await;
    assert_eq!(status, 404, "nothing was stored");
    server.stop().await;
}

#[tokio::test]
async fn an_older_update_never_overwrites_a_newer_one() {
    let server = TestServer::start().await;
    let (status, _) = server
        .admin(
            "PUT",
            "/v1/orders/o1",
            Some(order("shipped", "2026-11-23T01:00:00Z")),
        )
        .await;
    assert_eq!(status, 200);
    let (status, reply) = server
        .admin(
            "PUT",
            "/v1/orders/o1",
            Some(order("paid", "2026-11-23T00:00:00Z")),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(reply["error"]["code"], "stale_update");
    let (_, stored) = server.admin("GET", "/v1/orders/o1", None).await;
    assert_eq!(stored["status"], "shipped");
    let (status, _) = server
        .admin(
            "PUT",
            "/v1/orders/o1",
            Some(order("delivered", "2026-11-23T03:00:00Z")),
        )
        .await;
    assert_eq!(status, 200);
    let (_, stored) = server.admin("GET", "/v1/orders/o1", None).await;
    assert_eq!(stored["status"], "delivered");
    server.stop().await;
}
