//! Listing collections page by page: the page size each service allows, following `next`
//! links (`<key>_links` or a top-level `next`) while keeping our own query filters, and the
//! listing limits of [`ClientOptions`](super::ClientOptions) (pages, items, a link back to an
//! earlier page). The next page is asked for as soon as a quick pass over a page's body has
//! found its item count and `next` link, before the page's items are decoded.

use super::transport::{RawResponse, decode_json, non_json_content_type};
use super::{Client, split_url};
use crate::openstack::OpenStackError;
use crate::openstack::catalog::canonical_type;
use reqwest::Method;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use std::fmt;
use std::marker::PhantomData;

/// How long a page waits, once the next page is asked for, before it is decoded (see
/// [`Client::list_pages`]).
const PAUSE_BEFORE_DECODING: std::time::Duration = std::time::Duration::from_millis(1);

/// Page sizes asked for: the largest each service allows by default.
fn page_limit(service: &str) -> u32 {
    match service {
        "key-manager" => 100,
        _ => 1000,
    }
}

fn query_of(href: &str) -> Option<String> {
    let q = href.split_once('?')?.1;
    Some(q.split('#').next().unwrap_or(q).to_string())
}

fn set_query_param(path: &str, key: &str, value: &str) -> String {
    let (base, query) = path.split_once('?').unwrap_or((path, ""));
    let mut parts: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some(key))
        .map(str::to_string)
        .collect();
    parts.push(format!("{key}={value}"));
    format!("{base}?{}", parts.join("&"))
}

/// The query of a page's `next` link: the first `<key>_links` entry with `rel` `next`, else a
/// top-level `next` (Glance).
fn next_query(links: Option<&Value>, next: Option<&Value>) -> Option<String> {
    links
        .and_then(Value::as_array)
        .and_then(|links| {
            links
                .iter()
                .find(|l| l.get("rel").and_then(Value::as_str) == Some("next"))
        })
        .and_then(|l| l.get("href"))
        .or(next)
        .and_then(Value::as_str)
        .and_then(query_of)
}

/// What paging needs from a page before its items are decoded: how many items the list holds
/// and the query of its `next` link.
#[derive(Debug, PartialEq)]
struct PageOutline {
    items: usize,
    next: Option<String>,
}

/// The outline of a JSON answer whose top level is an object holding the list under `key` as
/// an array; `None` for any other answer (not JSON, not an object, no such list, a content type
/// other than JSON), which [`decode_json`] and the "answer has no list" check then report as
/// before. One pass over the body that skips the items ([`IgnoredAny`], a zero-sized type:
/// counting them allocates nothing) and keeps only the small `<key>_links` and `next` values.
fn page_outline(resp: &RawResponse, key: &str) -> Option<PageOutline> {
    let (items, next) = page_items::<IgnoredAny>(resp, key)?;
    Some(PageOutline {
        items: items.len(),
        next,
    })
}

/// A page's items decoded as `T` and the query of its `next` link, in one pass over a JSON
/// body whose top level is an object holding the list under `key`; `None` for anything else
/// (including an item that is not a `T`), which the caller then reads again for the reason.
/// Duplicate keys count as in `serde_json::Value` (the last one wins).
fn page_items<T: DeserializeOwned>(
    resp: &RawResponse,
    key: &str,
) -> Option<(Vec<T>, Option<String>)> {
    if non_json_content_type(resp).is_some() {
        return None;
    }
    let links_key = format!("{key}_links");
    let mut de = serde_json::Deserializer::from_slice(&resp.body);
    let page = PageSeed::<T> {
        keys: PageKeys {
            items: key,
            links: &links_key,
        },
        items: PhantomData,
    }
    .deserialize(&mut de)
    .ok()?;
    de.end().ok()?;
    page
}

/// The top-level keys of a page that paging reads: the list and its links.
struct PageKeys<'k> {
    items: &'k str,
    links: &'k str,
}

/// Which top-level field of a page a key names.
enum PageField {
    Items,
    Links,
    Next,
    Other,
}

/// Reads a page's top-level object into its items and next link (see [`page_items`]).
struct PageSeed<'k, T> {
    keys: PageKeys<'k>,
    items: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for PageSeed<'_, T> {
    type Value = Option<(Vec<T>, Option<String>)>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for PageSeed<'_, T> {
    type Value = Option<(Vec<T>, Option<String>)>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an object with a list \"{}\"", self.keys.items)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut items, mut links, mut next) = (None, None, None);
        while let Some(field) = map.next_key_seed(FieldSeed(&self.keys))? {
            match field {
                // Anything but an array of `T` fails the pass; decoding the page says why.
                PageField::Items => items = Some(map.next_value::<Vec<T>>()?),
                PageField::Links => links = Some(map.next_value::<Value>()?),
                PageField::Next => next = Some(map.next_value::<Value>()?),
                PageField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(items.map(|items| (items, next_query(links.as_ref(), next.as_ref()))))
    }
}

/// Names a top-level key without keeping it.
struct FieldSeed<'a, 'k>(&'a PageKeys<'k>);

impl<'de> DeserializeSeed<'de> for FieldSeed<'_, '_> {
    type Value = PageField;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed<'_, '_> {
    type Value = PageField;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(if v == self.0.items {
            PageField::Items
        } else if v == self.0.links {
            PageField::Links
        } else if v == "next" {
            PageField::Next
        } else {
            PageField::Other
        })
    }
}

impl Client {
    /// Lists a collection, following `next` links (`<key>_links`, or a top-level `next`) and
    /// asking for the largest page the service allows. `path` may carry a query.
    pub async fn list(
        &self,
        service_type: &str,
        path: &str,
        key: &str,
    ) -> Result<Vec<Value>, OpenStackError> {
        let mut items = vec![];
        self.list_pages(service_type, path, key, |page| {
            items.extend(page);
            Ok(())
        })
        .await?;
        Ok(items)
    }

    /// Like [`Client::list`], but hands each page's items to `on_page` as `T`, decoded straight
    /// from the page's text (no JSON tree first unless `T` is [`Value`]), so a caller that
    /// keeps a smaller form of each item never holds the whole listing as JSON. Items that are
    /// not what `T` expects end the listing with a decode error naming the item's place. The
    /// next page is asked for as soon as a quick pass over the page's body has found its `next`
    /// link and item count; the page's items are decoded and handed over while the next page is
    /// on its way, so that work hides in the network latency of marker paging. An error from
    /// `on_page` (or a page that cannot be decoded) ends the listing.
    pub async fn list_pages<T: DeserializeOwned>(
        &self,
        service_type: &str,
        path: &str,
        key: &str,
        mut on_page: impl FnMut(Vec<T>) -> Result<(), OpenStackError>,
    ) -> Result<(), OpenStackError> {
        let service = canonical_type(service_type);
        let mut current = if path.contains("limit=") {
            path.to_string()
        } else {
            set_query_param(path, "limit", &page_limit(service).to_string())
        };
        let mut read = 0usize;
        let mut seen = std::collections::HashSet::new();
        let first = current.clone();
        let limits = &self.inner.options;
        let incomplete = |message: String| async move {
            let base = self.api_base(service_type).unwrap_or_default().0;
            OpenStackError::Listing {
                service: service.to_string(),
                path: split_url(&format!("{base}{first}")),
                message,
            }
        };
        // The page's items as `T` and its next link. A page that does not decode so is read
        // again as JSON for the same errors as `get_json` and the list check, and else names
        // the first item that is not a `T`.
        let decode_items = |page_path: &str, resp: &RawResponse| {
            if let Some(decoded) = page_items::<T>(resp, key) {
                return Ok(decoded);
            }
            let (base, _) = self.api_base(service_type)?;
            let page_url = split_url(&format!("{base}{page_path}"));
            let decode_error = |message: String| OpenStackError::Decode {
                service: service.to_string(),
                method: "GET".into(),
                path: page_url.clone(),
                message,
            };
            let mut page = decode_json(service, "GET", &page_url, resp)?;
            let Some(arr) = page.get_mut(key).and_then(Value::as_array_mut) else {
                return Err(decode_error(format!("answer has no list \"{key}\"")));
            };
            let items = std::mem::take(arr)
                .into_iter()
                .enumerate()
                .map(|(i, item)| {
                    T::deserialize(item).map_err(|e| decode_error(format!("item {i}: {e}")))
                })
                .collect::<Result<Vec<T>, _>>()?;
            let next = next_query(page.get(format!("{key}_links")), page.get("next"));
            Ok((items, next))
        };
        seen.insert(current.clone());
        if seen.len() > limits.max_pages {
            return Err(incomplete(format!(
                "more than {} pages (the limit); 0 items read so far",
                limits.max_pages
            ))
            .await);
        }
        let mut response = self
            .request(service_type, Method::GET, &current, None)
            .await?;
        loop {
            // `response` answers `current`. Its item count and next link, from the quick pass
            // or, when that pass finds no list, from decoding the page (which reports why).
            let (n, next, mut decoded) = match page_outline(&response, key) {
                Some(outline) => (outline.items, outline.next, None),
                None => {
                    let (items, next) = decode_items(&current, &response)?;
                    (items.len(), next, Some(items))
                }
            };
            if read + n > limits.max_items {
                return Err(incomplete(format!(
                    "more than {} items (the limit) after {} pages",
                    limits.max_items,
                    seen.len()
                ))
                .await);
            }
            read += n;
            let next_path = match next {
                Some(q) if n > 0 => {
                    // Keep our own filters; the link's parameters (marker, offset, ...) win.
                    let mut candidate = current.clone();
                    for pair in q.split('&').filter(|p| !p.is_empty()) {
                        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                        candidate = set_query_param(&candidate, k, v);
                    }
                    if seen.contains(&candidate) {
                        return Err(incomplete(format!(
                            "the next link of page {} points back at an earlier page ({candidate})",
                            seen.len()
                        ))
                        .await);
                    }
                    seen.insert(candidate.clone());
                    if seen.len() > limits.max_pages {
                        return Err(incomplete(format!(
                            "more than {} pages (the limit); {} items read so far",
                            limits.max_pages, read
                        ))
                        .await);
                    }
                    Some(candidate)
                }
                _ => None,
            };
            let next_in_flight = next_path.is_some();
            let hand_over = async {
                let items = match decoded.take() {
                    Some(items) => items,
                    None => {
                        if next_in_flight {
                            // Let the next page's request go out, and let the server take it
                            // up, before this CPU-bound work: where the API shares the cores
                            // (a test bed on this machine), decoding at once kept the server's
                            // handling of the request waiting behind it. The pause hides in
                            // the page's latency like the decoding itself.
                            tokio::time::sleep(PAUSE_BEFORE_DECODING).await;
                        }
                        decode_items(&current, &response)?.0
                    }
                };
                if items.is_empty() {
                    Ok(())
                } else {
                    on_page(items)
                }
            };
            let Some(next_path) = next_path else {
                return hand_over.await;
            };
            let (fetched, handled) = tokio::join!(
                self.request(service_type, Method::GET, &next_path, None),
                hand_over
            );
            // This page's error comes first: it was read before the next one.
            handled?;
            response = fetched?;
            current = next_path;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_handling() {
        assert_eq!(
            set_query_param("/flavors/detail?limit=5&x=1", "limit", "9"),
            "/flavors/detail?x=1&limit=9"
        );
        assert_eq!(
            query_of("/v2/images?marker=a&limit=2").as_deref(),
            Some("marker=a&limit=2")
        );
    }

    fn answer(body: &str, content_type: Option<&str>) -> RawResponse {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(ct) = content_type {
            headers.insert(
                reqwest::header::CONTENT_TYPE,
                reqwest::header::HeaderValue::from_str(ct).unwrap(),
            );
        }
        RawResponse {
            status: 200,
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    /// The outline the full decode gives: item count and next link, `None` without a list.
    fn outline_from_value(body: &str, key: &str) -> Option<PageOutline> {
        let page: Value = serde_json::from_str(body).ok()?;
        let items = page.get(key)?.as_array()?.len();
        let next = next_query(page.get(format!("{key}_links")), page.get("next"));
        Some(PageOutline { items, next })
    }

    #[test]
    fn the_quick_pass_finds_what_decoding_finds() {
        let pages = [
            // Glance: a top-level next
            r#"{"images": [{"id": "a", "tags": [1, {"x": []}]}, {"id": "b"}], "first": "/v2/images", "next": "/v2/images?marker=b&limit=2", "schema": "/v2/schemas/images"}"#,
            // Nova/Neutron/Cinder: <key>_links with rel next, among other links
            r#"{"flavors_links": [{"rel": "self", "href": "http://x/f?marker=q"}, {"rel": "next", "href": "http://x/flavors/detail?limit=2&marker=2"}], "flavors": [{"id": "1"}, {"id": "2"}]}"#,
            // links without a next: the top-level next is used
            r#"{"flavors": [{}], "flavors_links": [{"rel": "prev", "href": "/f?marker=0"}], "next": "/f?marker=9"}"#,
            // a next link whose href is not a string: no next, no fallback
            r#"{"flavors": [{}], "flavors_links": [{"rel": "next", "href": 5}], "next": "/f?marker=9"}"#,
            // links that are not an array, entries that are not objects
            r#"{"flavors": [], "flavors_links": {"rel": "next"}, "next": "/f?marker=9"}"#,
            r#"{"flavors": [1, "two", null], "flavors_links": ["next", {"rel": 1}]}"#,
            // a next without a query
            r#"{"images": [{}], "next": "/v2/images"}"#,
            // the last page
            r#"{"images": []}"#,
            // duplicate keys: the last one counts
            r#"{"images": [1, 2, 3], "next": "/i?marker=1", "images": [1], "next": "/i?marker=2"}"#,
            // an escaped key and strings with escapes
            r#"{"ima\u0067es": [{"name": "a\"b\\c\u00e9"}], "n\u0065xt": "/i?marker=%22"}"#,
            " {\"images\" : [ ] , \"next\" : null } \n",
        ];
        for body in pages {
            let key = if body.contains("flavors") {
                "flavors"
            } else {
                "images"
            };
            let quick = page_outline(&answer(body, Some("application/json")), key);
            assert!(quick.is_some(), "{body}");
            assert_eq!(quick, outline_from_value(body, key), "{body}");
        }
        let first = page_outline(&answer(pages[0], None), "images").unwrap();
        assert_eq!(first.items, 2);
        assert_eq!(first.next.as_deref(), Some("marker=b&limit=2"));
        let second = page_outline(&answer(pages[1], None), "flavors").unwrap();
        assert_eq!(second.next.as_deref(), Some("limit=2&marker=2"));
    }

    #[test]
    fn typed_pages_hold_what_the_json_tree_holds() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Item {
            id: String,
        }
        let body = r#"{"images": [{"id": "a", "x": [1]}, {"id": "b"}], "images": [{"id": "c"}],
            "first": "/v2/images", "next": "/v2/images?marker=c&limit=1"}"#;
        let resp = answer(body, Some("application/json"));
        let (values, next) = page_items::<Value>(&resp, "images").unwrap();
        let tree: Value = serde_json::from_str(body).unwrap();
        assert_eq!(Value::Array(values), tree["images"]);
        assert_eq!(next.as_deref(), Some("marker=c&limit=1"));
        let (items, _) = page_items::<Item>(&resp, "images").unwrap();
        assert_eq!(items, [Item { id: "c".into() }]);
        // Anything else is left to the reading that says why.
        for (body, ct) in [
            (r#"{"images": [{"id": 5}]}"#, Some("application/json")),
            (r#"{"images": [{"id": "a"}]}"#, Some("text/html")),
            (r#"{"images": [{"id": "a"}]} x"#, None),
            (r#"{"images": null}"#, None),
            (r#"{"servers": []}"#, None),
        ] {
            assert_eq!(
                page_items::<Item>(&answer(body, ct), "images"),
                None,
                "{body}"
            );
        }
    }

    #[test]
    fn the_quick_pass_leaves_every_other_answer_to_decoding() {
        for (body, ct) in [
            (r#"{"images": [}"#, Some("application/json")),
            (r#"{"images": [{"id": "a"}]"#, Some("application/json")),
            (r#"{"images": []} trailing"#, Some("application/json")),
            (r#"{"images": [{"id": "a"}]}"#, Some("text/html")),
            (r#"{"servers": []}"#, Some("application/json")),
            (r#"{"images": {"a": 1}}"#, Some("application/json")),
            (r#"{"images": null}"#, Some("application/json")),
            (r#"[{"images": []}]"#, Some("application/json")),
            ("", Some("application/json")),
            ("  ", None),
            ("<html>500</html>", None),
        ] {
            assert_eq!(page_outline(&answer(body, ct), "images"), None, "{body}");
        }
    }
}
