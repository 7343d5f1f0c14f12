//! The fake S3 endpoint at the root of the simulator: one answer per `s3.behaviour` of the
//! fixture (XML errors in the style of RGW/AWS, an empty bucket list, or no S3 at all).

use super::SimState;
use super::pipeline::Req;
use super::respond::error;
use crate::sim::fixture::S3Behaviour;
use axum::body::Body;
use axum::extract::{Extension, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// `/`, any method: only `GET` is allowed.
pub(super) async fn serve(
    State(st): State<Arc<SimState>>,
    Extension(r): Extension<Arc<Req>>,
) -> Response {
    let xml = |status: u16, body: String| {
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "application/xml")
            .body(Body::from(body))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
    };
    let err = |status: u16, code: &str, msg: &str| {
        xml(
            status,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{msg}</Message><RequestId>tx{}</RequestId></Error>",
                uuid::Uuid::new_v4().simple()
            ),
        )
    };
    if r.method != Method::GET {
        return err(
            405,
            "MethodNotAllowed",
            "The specified method is not allowed.",
        );
    }
    match st.fixture.s3.behaviour {
        S3Behaviour::InvalidAccessKey => err(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."),
        S3Behaviour::NoSuchKey => err(404, "NoSuchKey", "The specified key does not exist."),
        S3Behaviour::AccessDenied => err(403, "AccessDenied", "Access Denied."),
        S3Behaviour::SignatureMismatch => err(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."),
        S3Behaviour::ListBuckets => xml(200, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Owner><ID>anonymous</ID><DisplayName></DisplayName></Owner><Buckets></Buckets></ListAllMyBucketsResult>".into()),
        S3Behaviour::Absent => error("", 404, "The resource could not be found."),
    }
}
