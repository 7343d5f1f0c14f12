//! Listing collections page by page: the page size each service allows, following `next`
//! links (`<key>_links` or a top-level `next`) while keeping our own query filters, and the
//! listing limits of [`ClientOptions`](super::ClientOptions) (pages, items, a link back to an
//! earlier page).

use super::{Client, split_url};
use crate::openstack::OpenStackError;
use crate::openstack::catalog::canonical_type;
use serde_json::Value;

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

    /// Like [`Client::list`], but hands each page's items to `on_page` (moved out of the page,
    /// never copied), so a caller that keeps a smaller form of each item never holds the whole
    /// listing as JSON. A page's items are handed over while the next page is being fetched,
    /// so that work hides in the network latency of marker paging. An error from `on_page`
    /// ends the listing.
    pub async fn list_pages(
        &self,
        service_type: &str,
        path: &str,
        key: &str,
        mut on_page: impl FnMut(Vec<Value>) -> Result<(), OpenStackError>,
    ) -> Result<(), OpenStackError> {
        let service = canonical_type(service_type);
        let mut current = if path.contains("limit=") {
            path.to_string()
        } else {
            set_query_param(path, "limit", &page_limit(service).to_string())
        };
        let mut read = 0usize;
        // The items of the page before, handed to `on_page` while the next page is on its way.
        let mut backlog: Vec<Value> = vec![];
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
        loop {
            seen.insert(current.clone());
            if seen.len() > limits.max_pages {
                return Err(incomplete(format!(
                    "more than {} pages (the limit); {} items read so far",
                    limits.max_pages, read
                ))
                .await);
            }
            let previous = std::mem::take(&mut backlog);
            let (page, handled) = tokio::join!(self.get_json(service_type, &current), async {
                if previous.is_empty() {
                    Ok(())
                } else {
                    on_page(previous)
                }
            });
            handled?;
            let mut page = page?;
            let Some(arr) = page.get_mut(key).and_then(Value::as_array_mut) else {
                let base = self.api_base(service_type).unwrap_or_default().0;
                return Err(OpenStackError::Decode {
                    service: service.to_string(),
                    method: "GET".into(),
                    path: split_url(&format!("{base}{current}")),
                    message: format!("answer has no list \"{key}\""),
                });
            };
            let n = arr.len();
            if read + n > limits.max_items {
                return Err(incomplete(format!(
                    "more than {} items (the limit) after {} pages",
                    limits.max_items,
                    seen.len()
                ))
                .await);
            }
            read += n;
            backlog = std::mem::take(arr);
            let next = page
                .get(format!("{key}_links"))
                .and_then(Value::as_array)
                .and_then(|links| {
                    links
                        .iter()
                        .find(|l| l.get("rel").and_then(Value::as_str) == Some("next"))
                })
                .and_then(|l| l.get("href"))
                .or_else(|| page.get("next"))
                .and_then(Value::as_str)
                .and_then(query_of);
            match next {
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
                    current = candidate;
                }
                _ => break,
            }
        }
        if !backlog.is_empty() {
            on_page(backlog)?;
        }
        Ok(())
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
}
