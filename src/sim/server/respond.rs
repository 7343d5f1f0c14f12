//! How the fake services answer: JSON bodies, empty answers, and the error bodies in the style
//! of each real service (Keystone, Nova/Cinder, Neutron, Barbican, Glance, and the HTML page of
//! a proxy or unknown service).

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A JSON answer.
pub(super) fn json_response(status: u16, v: &Value) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(v.to_string()))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// A JSON answer whose text is already built.
pub(super) fn json_text_response(status: u16, text: String) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(text))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// An answer without a body.
pub(super) fn empty(status: u16) -> Response {
    Response::builder()
        .status(status)
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// The reason phrase of a status (`Not Found`).
pub(super) fn reason(status: u16) -> &'static str {
    StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
}

/// An error body in the style of each service.
pub(super) fn error(service: &str, status: u16, message: &str) -> Response {
    match service {
        "identity" => json_response(
            status,
            &json!({"error": {"code": status, "message": message, "title": reason(status)}}),
        ),
        "compute" | "block-storage" => {
            let key = match status {
                400 => "badRequest",
                403 => "forbidden",
                404 => "itemNotFound",
                406 => "notAcceptable",
                409 => "conflictingRequest",
                429 => "overLimit",
                _ => "computeFault",
            };
            json_response(status, &json!({key: {"code": status, "message": message}}))
        }
        "network" => json_response(
            status,
            &json!({"NeutronError": {"type": format!("HTTP{}", reason(status).replace(' ', "")),
                "message": message, "detail": ""}}),
        ),
        "key-manager" => json_response(
            status,
            &json!({"code": status, "title": reason(status), "description": message}),
        ),
        // Recorded from Zed Glance (webob's JSON error page for `Accept: application/json`).
        "image" => json_response(
            status,
            &json!({"message": format!("{message}<br /><br />\n\n\n"),
                "code": format!("{status} {}", reason(status)), "title": reason(status)}),
        ),
        _ => Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "text/html; charset=UTF-8")
            .body(Body::from(format!(
                "<html>\n <head>\n  <title>{status} {r}</title>\n </head>\n <body>\n  <h1>{status} {r}</h1>\n  {message}<br /><br />\n\n\n\n </body>\n</html>",
                r = reason(status)
            )))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
    }
}

/// Sets a header when the value is a valid header value.
pub(super) fn set_header(resp: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = axum::http::HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}
