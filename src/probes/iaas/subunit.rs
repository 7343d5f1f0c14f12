//! A reader (and, for fixtures and tests, a writer) of the subunit v2 byte stream that Tempest's
//! test runner stestr stores for every run (`<workspace>/.stestr/<n>`, also what
//! `stestr last --subunit` and `tempest run --subunit` print). Written from the format's
//! description: packets of signature `0xB3`, 16-bit flags (version 2 in the top nibble, the test
//! status in the low three bits), a variable-length total length, the optional fields in the
//! order timestamp, test id, tags, MIME type, file content, route code, and a CRC-32 of the
//! packet.

/// The status carried by a packet (the low three bits of its flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// No status (a packet that only carries file content).
    Undefined,
    /// The test exists (listing).
    Exists,
    /// The test is running.
    InProgress,
    /// Passed.
    Success,
    /// Passed although expected to fail (counts as a failure).
    UnexpectedSuccess,
    /// Skipped.
    Skip,
    /// Failed (or errored).
    Fail,
    /// Failed as expected.
    ExpectedFail,
}

impl Status {
    fn from_bits(bits: u16) -> Status {
        match bits & 7 {
            1 => Status::Exists,
            2 => Status::InProgress,
            3 => Status::Success,
            4 => Status::UnexpectedSuccess,
            5 => Status::Skip,
            6 => Status::Fail,
            7 => Status::ExpectedFail,
            _ => Status::Undefined,
        }
    }
    fn bits(self) -> u16 {
        match self {
            Status::Undefined => 0,
            Status::Exists => 1,
            Status::InProgress => 2,
            Status::Success => 3,
            Status::UnexpectedSuccess => 4,
            Status::Skip => 5,
            Status::Fail => 6,
            Status::ExpectedFail => 7,
        }
    }
    /// Whether the status ends a test.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Success
                | Status::UnexpectedSuccess
                | Status::Skip
                | Status::Fail
                | Status::ExpectedFail
        )
    }
}

/// One decoded packet (the fields the judge needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Test status.
    pub status: Status,
    /// Test id, if present.
    pub test_id: Option<String>,
    /// Attached file: (name, content), e.g. `("reason", b"...")` for a skip.
    pub file: Option<(String, Vec<u8>)>,
}

const SIGNATURE: u8 = 0xB3;
const FLAG_TEST_ID: u16 = 0x0800;
const FLAG_ROUTE_CODE: u16 = 0x0400;
const FLAG_TIMESTAMP: u16 = 0x0200;
const FLAG_TAGS: u16 = 0x0080;
const FLAG_FILE_CONTENT: u16 = 0x0040;
const FLAG_MIME_TYPE: u16 = 0x0020;
const VERSION_2: u16 = 0x2000;

/// CRC-32 (IEEE, as zlib computes it).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.data.len())
            .ok_or_else(|| format!("truncated field at byte {}", self.pos))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn varint(&mut self) -> Result<usize, String> {
        let first = self.take(1)?[0];
        let extra = usize::from(first >> 6);
        let mut v = usize::from(first & 0x3F);
        for &b in self.take(extra)? {
            v = (v << 8) | usize::from(b);
        }
        Ok(v)
    }
    fn utf8(&mut self) -> Result<String, String> {
        let n = self.varint()?;
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| "a string field is not UTF-8".to_string())
    }
}

/// Decodes a whole subunit v2 stream. An error names the byte offset of the broken packet.
pub fn parse(data: &[u8]) -> Result<Vec<Packet>, String> {
    let mut packets = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let start = pos;
        let err =
            |m: String| format!("not a valid subunit v2 stream (packet at byte {start}): {m}");
        if data[pos] != SIGNATURE {
            return Err(err(format!(
                "signature 0x{:02x} instead of 0xb3",
                data[pos]
            )));
        }
        let mut c = Cursor { data, pos: pos + 1 };
        let flags = c
            .take(2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .map_err(&err)?;
        if flags & 0xF000 != VERSION_2 {
            return Err(err(format!("version {} instead of 2", flags >> 12)));
        }
        let length = c.varint().map_err(&err)?;
        if length < 8 || start + length > data.len() {
            return Err(err(format!("bad packet length {length}")));
        }
        let end = start + length;
        let stored =
            u32::from_be_bytes([data[end - 4], data[end - 3], data[end - 2], data[end - 1]]);
        if crc32(&data[start..end - 4]) != stored {
            return Err(err("bad checksum".into()));
        }
        let mut body = Cursor {
            data: &data[..end - 4],
            pos: c.pos,
        };
        let mut packet = Packet {
            status: Status::from_bits(flags),
            test_id: None,
            file: None,
        };
        if flags & FLAG_TIMESTAMP != 0 {
            body.take(4).map_err(&err)?;
            body.varint().map_err(&err)?;
        }
        if flags & FLAG_TEST_ID != 0 {
            packet.test_id = Some(body.utf8().map_err(&err)?);
        }
        if flags & FLAG_TAGS != 0 {
            let n = body.varint().map_err(&err)?;
            for _ in 0..n {
                body.utf8().map_err(&err)?;
            }
        }
        if flags & FLAG_MIME_TYPE != 0 {
            body.utf8().map_err(&err)?;
        }
        if flags & FLAG_FILE_CONTENT != 0 {
            let name = body.utf8().map_err(&err)?;
            let n = body.varint().map_err(&err)?;
            let content = body.take(n).map_err(&err)?.to_vec();
            packet.file = Some((name, content));
        }
        if flags & FLAG_ROUTE_CODE != 0 {
            body.utf8().map_err(&err)?;
        }
        packets.push(packet);
        pos = end;
    }
    Ok(packets)
}

fn put_varint(out: &mut Vec<u8>, v: usize) {
    match v {
        0..=0x3F => out.push(v as u8),
        0x40..=0x3FFF => out.extend_from_slice(&[0x40 | (v >> 8) as u8, v as u8]),
        0x4000..=0x3F_FFFF => {
            out.extend_from_slice(&[0x80 | (v >> 16) as u8, (v >> 8) as u8, v as u8])
        }
        _ => out.extend_from_slice(&[
            0xC0 | ((v >> 24) & 0x3F) as u8,
            (v >> 16) as u8,
            (v >> 8) as u8,
            v as u8,
        ]),
    }
}

fn put_utf8(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

/// Encodes one packet (for fixtures and tests): status, test id and an optional file
/// (`text/plain;charset=utf8`).
pub fn encode(status: Status, test_id: Option<&str>, file: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut flags = VERSION_2 | status.bits();
    let mut body = Vec::new();
    if let Some(id) = test_id {
        flags |= FLAG_TEST_ID;
        put_utf8(&mut body, id);
    }
    if let Some((name, content)) = file {
        flags |= FLAG_MIME_TYPE | FLAG_FILE_CONTENT;
        put_utf8(&mut body, "text/plain;charset=utf8");
        put_utf8(&mut body, name);
        put_varint(&mut body, content.len());
        body.extend_from_slice(content);
    }
    // signature + flags + length field + body + CRC; the length counts its own field too.
    let base = 1 + 2 + body.len() + 4;
    let mut len_field = Vec::new();
    for k in 1..=4 {
        len_field.clear();
        put_varint(&mut len_field, base + k);
        if len_field.len() == k {
            break;
        }
    }
    let mut out = vec![SIGNATURE];
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&len_field);
    out.extend_from_slice(&body);
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_zlib() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn round_trip() {
        let long = "x".repeat(300);
        let mut data = encode(Status::InProgress, Some("a.b.C.test_x[id-1]"), None);
        data.extend(encode(
            Status::Skip,
            Some("a.b.C.test_x[id-1]"),
            Some(("reason", b"no cinder")),
        ));
        data.extend(encode(Status::Fail, Some(&long), None));
        let p = parse(&data).unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].status, Status::InProgress);
        assert_eq!(p[1].status, Status::Skip);
        assert_eq!(
            p[1].file,
            Some(("reason".to_string(), b"no cinder".to_vec()))
        );
        assert_eq!(p[2].test_id.as_deref(), Some(long.as_str()));
    }

    #[test]
    fn rejects_garbage_and_bad_crc() {
        assert!(parse(b"hello").unwrap_err().contains("signature"));
        let mut data = encode(Status::Success, Some("t"), None);
        let n = data.len();
        data[n - 1] ^= 1;
        assert!(parse(&data).unwrap_err().contains("checksum"));
        let data = encode(Status::Success, Some("t"), None);
        assert!(
            parse(&data[..data.len() - 2])
                .unwrap_err()
                .contains("length")
        );
    }
}
