//! Tokens: HS256 JWTs carrying who the caller is. Verified before any upgrade.
//!
//! Only HS256 is accepted, so `alg: none` and every other algorithm fail verification. The
//! role decides which extra claim is required: agents name their `shop`, couriers their
//! `carrier`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::order::Carrier;
use crate::hub::Identity;
use crate::protocol::Role;
use crate::protocol::ids::{ShopId, UserId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: UserId,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shop: Option<ShopId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<Carrier>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("missing bearer token")]
    Missing,
    #[error("token expired")]
    Expired,
    #[error("token invalid: {0}")]
    Invalid(String),
    #[error("an agent token needs a shop claim")]
    AgentWithoutShop,
    #[error("a courier token needs a carrier claim")]
    CourierWithoutCarrier,
}

#[derive(Clone)]
pub struct Authenticator {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl Authenticator {
    pub fn new(secret: &str, leeway: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = leeway.as_secs();
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Authenticator {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
        }
    }

    pub fn verify(&self, token: &str) -> Result<(Identity, u64), AuthError> {
        use jsonwebtoken::errors::ErrorKind;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|error| match error.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                _ => AuthError::Invalid(error.to_string()),
            })?;
        let claims = data.claims;
        let identity = identity_of(&claims)?;
        Ok((identity, claims.exp))
    }

    pub fn mint(&self, claims: &Claims) -> Result<String, AuthError> {
        identity_of(claims)?;
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|error| AuthError::Invalid(error.to_string()))
    }
}

fn identity_of(claims: &Claims) -> Result<Identity, AuthError> {
    match (claims.role, &claims.shop, &claims.carrier) {
        (Role::Agent, None, _) => return Err(AuthError::AgentWithoutShop),
        (Role::Courier, _, None) => return Err(AuthError::CourierWithoutCarrier),
        _ => {}
    }
    Ok(Identity {
        user: claims.sub.clone(),
        role: claims.role,
        shop: claims.shop.clone().filter(|_| claims.role == Role::Agent),
        carrier: claims.carrier.filter(|_| claims.role == Role::Courier),
    })
}

/// Seconds since the Unix epoch, `ttl` from now.
pub fn expiry_in(ttl: Duration) -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (now + ttl).as_secs()
}

/// The token from `Authorization: Bearer …`, or else the `access_token` query parameter.
pub fn token_from(headers: &axum::http::HeaderMap, query: Option<&str>) -> Option<String> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(|token| token.trim().to_string());
    header.or_else(|| {
        let query = query?;
        form_urlencoded_pairs(query)
            .find(|(key, _)| key == "access_token")
            .map(|(_, value)| value)
    })
}

fn form_urlencoded_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        Some((key.to_string(), percent_decode(value)))
    })
}

/// Tokens are base64url and dots, so only `%XX` escapes can appear; anything odd stays as is
/// and then fails verification.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| value.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                index += 3;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a browser Origin may connect. No Origin header means a non-browser client.
pub fn is_origin_allowed(origin: Option<&str>, allowed: &[String]) -> bool {
    match origin {
        None => true,
        Some(origin) => allowed
            .iter()
            .any(|a| a == "*" || a.eq_ignore_ascii_case(origin)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(role: Role, shop: Option<&str>, carrier: Option<Carrier>, exp: u64) -> Claims {
        Claims {
            sub: UserId::new("u1").expect("valid id"),
            role,
            shop: shop.map(|s| ShopId::new(s).expect("valid id")),
            carrier,
            exp,
        }
    }

    #[test]
    fn tokens_round_trip_and_role_claims_are_required() {
        let auth = Authenticator::new("a-secret-of-enough-length", Duration::ZERO);
        let later = expiry_in(Duration::from_secs(60));
        let agent = auth
            .mint(&claims(Role::Agent, Some("s1"), None, later))
            .expect("mint");
        let (identity, _) = auth.verify(&agent).expect("verify");
        assert_eq!(identity.shop.as_ref().map(ShopId::as_str), Some("s1"));
        let cases = [
            (
                claims(Role::Agent, None, None, later),
                AuthError::AgentWithoutShop,
            ),
            (
                claims(Role::Courier, None, None, later),
                AuthError::CourierWithoutCarrier,
            ),
        ];
        for (claims, expected) in cases {
            assert_eq!(auth.mint(&claims), Err(expected));
        }
    }

    #[test]
    fn expired_and_foreign_tokens_fail() {
        let auth = Authenticator::new("a-secret-of-enough-length", Duration::ZERO);
        let other = Authenticator::new("another-secret-of-length", Duration::ZERO);
        let past = expiry_in(Duration::ZERO) - 10;
        let expired = auth
            .mint(&claims(Role::Buyer, None, None, past))
            .expect("mint");
        assert_eq!(auth.verify(&expired).map(|_| ()), Err(AuthError::Expired));
        let later = expiry_in(Duration::from_secs(60));
        let foreign = other
            .mint(&claims(Role::Buyer, None, None, later))
            .expect("mint");
        assert!(matches!(auth.verify(&foreign), Err(AuthError::Invalid(_))));
    }

    #[test]
    fn query_tokens_are_decoded() {
        let headers = axum::http::HeaderMap::new();
        let token = token_from(&headers, Some("x=1&access_token=a.b%2Dc"));
        assert_eq!(token.as_deref(), Some("a.b-c"));
        assert_eq!(token_from(&headers, Some("x=1")), None);
    }

    #[test]
    fn origins() {
        let allowed = vec!["http://localhost:8080".to_string()];
        assert!(is_origin_allowed(None, &allowed));
        assert!(is_origin_allowed(Some("http://localhost:8080"), &allowed));
        assert!(!is_origin_allowed(Some("http://evil.example"), &allowed));
        assert!(is_origin_allowed(Some("http://x"), &["*".to_string()]));
    }
}
