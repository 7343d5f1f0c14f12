//! The YAML reading layer: parses text into a generic node tree in which every node (mapping
//! keys included) carries its 1-based line and column.
//!
//! Parsing goes through `serde_saphyr` with its `Spanned<T>` wrapper; duplicate mapping keys are
//! rejected by the parser and reported with their location. Nothing here knows about scopes.

use super::model::Pos;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{MessageFormatter, Spanned};
use std::fmt;

/// A YAML node with the place it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the node starts (for a mapping value, where the value starts).
    pub pos: Pos,
    /// The node's content.
    pub value: Value,
}

/// The content of a YAML node.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `~`, `null` or an empty value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// Any other scalar (plain or quoted).
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping in file order; keys are nodes too, so they have positions.
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// A short name of the kind of value, for messages ("a string", "a mapping", ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

impl Node {
    /// The string content, if this is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a scalar (strings as they are, numbers and booleans printed), if scalar.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            _ => None,
        }
    }

    /// The entries, if this is a mapping.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The items, if this is a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// Looks a key up in a mapping node (string keys only).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// Whether this node is null.
    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }
}

/// A YAML syntax error (including duplicate keys) with its place, if known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where the parser stopped.
    pub pos: Option<Pos>,
    /// One-line description.
    pub message: String,
}

/// Parses one YAML document into a node tree. An empty document gives a `Null` node at 1:1.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    if text.trim().is_empty()
        || text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(Node {
            pos: Pos { line: 1, column: 1 },
            value: Value::Null,
        });
    }
    match serde_saphyr::from_str::<Node>(text) {
        Ok(node) => Ok(node),
        Err(err) => Err(convert_error(&err)),
    }
}

fn convert_error(err: &serde_saphyr::Error) -> SyntaxError {
    let inner = err.without_snippet();
    let pos = inner.location().and_then(|loc| {
        let (line, column) = (loc.line(), loc.column());
        (line > 0).then(|| Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column.max(1)).unwrap_or(u32::MAX),
        })
    });
    let message = match inner {
        serde_saphyr::Error::DuplicateMappingKey { key: Some(k), .. } => {
            format!("duplicate key `{k}`")
        }
        serde_saphyr::Error::DuplicateMappingKey { key: None, .. } => "duplicate key".to_string(),
        other => {
            let text = serde_saphyr::DefaultMessageFormatter.format_message(other);
            format!("YAML syntax error: {}", one_line(&text))
        }
    };
    SyntaxError { pos, message }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn to_pos(loc: &serde_saphyr::Location) -> Pos {
    Pos {
        line: u32::try_from(loc.line()).unwrap_or(u32::MAX),
        column: u32::try_from(loc.column()).unwrap_or(u32::MAX),
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Value>::deserialize(deserializer)?;
        Ok(Node {
            pos: to_pos(&spanned.referenced),
            value: spanned.value,
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Str(v.to_string()),
        })
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Str(v.to_string()),
        })
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Str(v.to_string()),
        })
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Str(String::from_utf8_lossy(v).into_owned()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: u32, column: u32) -> Pos {
        Pos { line, column }
    }

    #[test]
    fn positions_of_keys_and_values() {
        let node = parse("a: 1\nb:\n  - x\n  - {c: true}\n").unwrap();
        let map = node.as_map().unwrap();
        assert_eq!(map[0].0.pos, p(1, 1));
        assert_eq!(map[0].1.value, Value::Int(1));
        assert_eq!(map[0].1.pos, p(1, 4));
        assert_eq!(map[1].0.pos, p(2, 1));
        let seq = map[1].1.as_seq().unwrap();
        assert_eq!(seq[0].pos, p(3, 5));
        assert_eq!(seq[0].as_str(), Some("x"));
        assert_eq!(seq[1].get("c").unwrap().value, Value::Bool(true));
    }

    #[test]
    fn dates_stay_strings() {
        let node = parse("d: 2024-02-28\n").unwrap();
        assert_eq!(node.get("d").unwrap().as_str(), Some("2024-02-28"));
    }

    #[test]
    fn duplicate_keys_are_errors_with_location() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.message, "duplicate key `a`");
        assert_eq!(err.pos, Some(p(3, 1)));
    }

    #[test]
    fn nested_duplicate_keys_are_errors() {
        let err = parse("top:\n  x: 1\n  y: 2\n  x: 3\n").unwrap_err();
        assert_eq!(err.message, "duplicate key `x`");
        assert_eq!(err.pos, Some(p(4, 3)));
    }

    #[test]
    fn syntax_errors_are_one_line_with_location() {
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.message.starts_with("YAML syntax error: "), "{err:?}");
        assert!(!err.message.contains('\n'));
        assert!(err.pos.is_some());
    }

    #[test]
    fn empty_document_is_null() {
        assert!(parse("# only a comment\n").unwrap().is_null());
    }
}
