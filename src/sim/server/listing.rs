//! The simulator's fixed listings (flavors, images) prepared once per fixture: every item is
//! serialized when the simulator starts and each id's position is indexed, so serving a page
//! costs a hash lookup for the marker and copying the page's bytes, whatever the cloud's size.
//! Also the marker/limit paging of the listings built per request ([`page`]).

use serde_json::Value;
use std::collections::HashMap;
use std::ops::Range;

/// One listing in the order the service returns it, ready to be served page by page.
#[derive(Debug, Default)]
pub(super) struct PagedList {
    /// Each item's id (`""` for an item without a string id).
    ids: Vec<String>,
    /// Each item as compact JSON.
    json: Vec<String>,
    /// Where the first item with each id sits.
    position: HashMap<String, usize>,
}

impl PagedList {
    /// Serializes `items` once, in order.
    pub(super) fn new(items: impl IntoIterator<Item = Value>) -> PagedList {
        let mut list = PagedList::default();
        for item in items {
            let id = item
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            list.position.entry(id.clone()).or_insert(list.ids.len());
            list.json.push(item.to_string());
            list.ids.push(id);
        }
        list
    }

    /// The page after the `marker` query parameter, at most min(`limit`, `max`) long, and the
    /// marker of the next page. A full page gets a next marker even when nothing follows, as
    /// Nova, Neutron, Glance and Cinder do (recorded from Zed); the client then reads one
    /// empty page. An unknown marker is the 400 message of the services.
    pub(super) fn page(
        &self,
        query: &HashMap<String, String>,
        max: usize,
    ) -> Result<(Range<usize>, Option<&str>), String> {
        let limit = query
            .get("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(max)
            .clamp(1, max);
        let start = match query.get("marker") {
            None => 0,
            Some(m) => {
                self.position
                    .get(m.as_str())
                    .copied()
                    .ok_or_else(|| format!("Marker {m} could not be found."))?
                    + 1
            }
        };
        let start = start.min(self.ids.len());
        let end = (start + limit).min(self.ids.len());
        let next = (end - start == limit)
            .then(|| self.ids[end - 1].as_str())
            .filter(|id| !id.is_empty());
        Ok((start..end, next))
    }

    /// The items of `range` as a JSON array text.
    pub(super) fn json_array(&self, range: Range<usize>) -> String {
        let items = &self.json[range];
        let mut out = String::with_capacity(items.iter().map(|s| s.len() + 1).sum::<usize>() + 2);
        out.push('[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(item);
        }
        out.push(']');
        out
    }

    /// Whether an item has this id.
    pub(super) fn contains(&self, id: &str) -> bool {
        self.position.contains_key(id)
    }

    /// The item with this id, parsed again (for single-item answers).
    pub(super) fn get(&self, id: &str) -> Option<Value> {
        let i = *self.position.get(id)?;
        serde_json::from_str(&self.json[i]).ok()
    }

    /// How many items the listing has.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.ids.len()
    }
}

/// One page of `items` after `marker`, at most min(limit, max) long; the marker of the next
/// page when more items follow.
pub(super) fn page(
    items: &[Value],
    q: &HashMap<String, String>,
    max: usize,
) -> Result<(Vec<Value>, Option<String>), String> {
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(max)
        .clamp(1, max);
    let start = match q.get("marker") {
        None => 0,
        Some(m) => {
            items
                .iter()
                .position(|v| v.get("id").and_then(Value::as_str) == Some(m))
                .ok_or_else(|| format!("Marker {m} could not be found."))?
                + 1
        }
    };
    let slice: Vec<Value> = items.iter().skip(start).take(limit).cloned().collect();
    // A full page gets a next link even when nothing follows, as Nova, Neutron, Glance and
    // Cinder do (recorded from Zed); the client then reads one empty page.
    let next = (slice.len() == limit)
        .then(|| {
            slice
                .last()
                .and_then(|v| v.get("id"))
                .and_then(Value::as_str)
        })
        .flatten()
        .map(str::to_string);
    Ok((slice, next))
}

// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn list(n: usize) -> PagedList {
        PagedList::new((0..n).map(|i| json!({"id": format!("id-{i}"), "n": i})))
    }

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn pages_follow_the_marker_and_stop_after_a_short_page() {
        let l = list(5);
        assert_eq!(l.len(), 5);
        let (r, next) = l.page(&query(&[("limit", "2")]), 100).unwrap();
        assert_eq!((r.clone(), next), (0..2, Some("id-1")));
        assert_eq!(
            l.json_array(r),
            r#"[{"id":"id-0","n":0},{"id":"id-1","n":1}]"#
        );
        let (r, next) = l
            .page(&query(&[("limit", "2"), ("marker", "id-3")]), 100)
            .unwrap();
        assert_eq!((r, next), (4..5, None));
    }

    #[test]
    fn a_full_last_page_links_to_an_empty_one() {
        let l = list(4);
        let (r, next) = l
            .page(&query(&[("limit", "2"), ("marker", "id-1")]), 100)
            .unwrap();
        assert_eq!((r, next), (2..4, Some("id-3")));
        let (r, next) = l.page(&query(&[("marker", "id-3")]), 2).unwrap();
        assert_eq!((r.clone(), next), (4..4, None));
        assert_eq!(l.json_array(r), "[]");
    }

    #[test]
    fn the_server_maximum_caps_the_limit_and_unknown_markers_are_refused() {
        let l = list(10);
        let (r, _) = l.page(&query(&[("limit", "1000")]), 3).unwrap();
        assert_eq!(r, 0..3);
        let (r, _) = l.page(&query(&[("limit", "0")]), 3).unwrap();
        assert_eq!(r, 0..1);
        let e = l.page(&query(&[("marker", "nope")]), 3).unwrap_err();
        assert_eq!(e, "Marker nope could not be found.");
        assert!(l.contains("id-9") && !l.contains("id-10"));
        assert_eq!(l.get("id-2"), Some(json!({"id": "id-2", "n": 2})));
    }
}
