//! A reader (and, for fixtures and tests, a writer) of the subunit v2 byte stream that Tempest's
//! test runner stestr stores for every run (`<workspace>/.stestr/<n>`, also what
//! `stestr last --subunit` and `tempest run --subunit` print). Written from the format's
//! description: packets of signature `0xB3`, 16-bit flags (version 2 in the top nibble, the test
//! status in the low three bits), a variable-length total length, the optional fields in the
//! order timestamp, test id, tags, MIME type, file content, route code, and a CRC-32 of the
//! packet.
//!
//! Also a reader of the subunit **v1** text protocol ([`parse_v1`]): the file repository of
//! stestr 3.x (Debian 12's stestr 3.2, `.stestr/format` = `1`) stores each run in it, so a real
//! Tempest workspace holds v1 while `stestr last --subunit` prints v2. [`parse_any`] takes
//! either.

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

/// Decodes a stream in either version: v2 when it starts with the packet signature, else the
/// v1 text protocol.
pub fn parse_any(data: &[u8]) -> Result<Vec<Packet>, String> {
    match data.first() {
        None => Ok(Vec::new()),
        Some(&SIGNATURE) => parse(data),
        Some(_) if looks_like_v1(data) => parse_v1(data),
        Some(_) => parse(data),
    }
}

fn looks_like_v1(data: &[u8]) -> bool {
    let first = data.split(|b| *b == b'\n').next().unwrap_or_default();
    let first = String::from_utf8_lossy(first).to_ascii_lowercase();
    V1_KEYWORDS
        .iter()
        .chain(["time", "tags", "progress"].iter())
        .any(|k| first.starts_with(&format!("{k}:")) || first.starts_with(&format!("{k} ")))
}

/// v1 result keywords and the status each ends a test with (`test`/`testing` start one).
const V1_KEYWORDS: &[&str] = &[
    "test",
    "testing",
    "success",
    "successful",
    "failure",
    "error",
    "skip",
    "xfail",
    "uxsuccess",
];

fn v1_status(word: &str) -> Option<Status> {
    Some(match word {
        "test" | "testing" => Status::InProgress,
        "success" | "successful" => Status::Success,
        "failure" | "error" => Status::Fail,
        "skip" => Status::Skip,
        "xfail" => Status::ExpectedFail,
        "uxsuccess" => Status::UnexpectedSuccess,
        _ => return None,
    })
}

/// Splits `data` into lines that keep their `\n`.
struct Lines<'a> {
    data: &'a [u8],
    pos: usize,
    line_no: usize,
}

impl<'a> Lines<'a> {
    fn next_line(&mut self) -> Option<&'a [u8]> {
        if self.pos >= self.data.len() {
            return None;
        }
        let rest = &self.data[self.pos..];
        let end = rest
            .iter()
            .position(|b| *b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        self.pos += end;
        self.line_no += 1;
        Some(&rest[..end])
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let bytes = self.data.get(self.pos..self.pos + n)?;
        self.line_no += bytes.iter().filter(|b| **b == b'\n').count();
        self.pos += n;
        Some(bytes)
    }
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Reads the parts of a `[ multipart` details block up to its closing `]`: each part is a
/// `Content-Type:` line, a name line and a body in hex-length chunks ending with a `0` chunk.
fn v1_multipart(lines: &mut Lines<'_>) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut parts = Vec::new();
    loop {
        let at = lines.line_no + 1;
        let line = lines
            .next_line()
            .ok_or_else(|| format!("line {at}: the details block does not end (no `]`)"))?;
        let text = String::from_utf8_lossy(trim_eol(line));
        if text == "]" {
            return Ok(parts);
        }
        if !text.to_ascii_lowercase().starts_with("content-type:") {
            return Err(format!(
                "line {at}: expected `Content-Type:` or `]` in a details block"
            ));
        }
        let name = lines
            .next_line()
            .map(|l| String::from_utf8_lossy(trim_eol(l)).into_owned())
            .ok_or_else(|| format!("line {at}: a detail part has no name"))?;
        let mut body = Vec::new();
        loop {
            let at = lines.line_no + 1;
            let size_line = lines
                .next_line()
                .ok_or_else(|| format!("line {at}: a detail part does not end"))?;
            let size_text = String::from_utf8_lossy(trim_eol(size_line));
            let size = usize::from_str_radix(size_text.trim(), 16)
                .map_err(|_| format!("line {at}: `{size_text}` is not a chunk length"))?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(
                lines
                    .take(size)
                    .ok_or_else(|| format!("line {at}: a chunk is cut short"))?,
            );
        }
        parts.push((name, body));
    }
}

/// Reads a simple details block (`[` … `]`; a line ` ]` stands for `]`) as one `details` part.
fn v1_simple(lines: &mut Lines<'_>) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut body = Vec::new();
    loop {
        let at = lines.line_no + 1;
        let line = lines
            .next_line()
            .ok_or_else(|| format!("line {at}: the details block does not end (no `]`)"))?;
        if trim_eol(line) == b"]" {
            return Ok(vec![("details".to_string(), body)]);
        }
        body.extend_from_slice(
            line.strip_prefix(b" ")
                .filter(|l| l.starts_with(b"]"))
                .unwrap_or(line),
        );
    }
}

/// Decodes a subunit v1 text stream into the packets [`parse`] would give for the same run: for
/// each result, one packet per detail part (e.g. `reason` of a skip, `traceback` of a failure)
/// and then the status. `time:`, `tags:` and `progress:` lines and unknown lines (a test's
/// stray output) are skipped. An error names the line.
pub fn parse_v1(data: &[u8]) -> Result<Vec<Packet>, String> {
    let mut packets = Vec::new();
    let mut lines = Lines {
        data,
        pos: 0,
        line_no: 0,
    };
    while let Some(line) = lines.next_line() {
        let text = String::from_utf8_lossy(trim_eol(line)).into_owned();
        let Some((word, rest)) = text
            .split_once(':')
            .filter(|(w, _)| !w.contains(' '))
            .or_else(|| text.split_once(' '))
        else {
            continue;
        };
        let Some(status) = v1_status(&word.to_ascii_lowercase()) else {
            continue;
        };
        let rest = rest.trim_start();
        let (id, parts) = if let Some(id) = rest.strip_suffix(" [ multipart") {
            (id, v1_multipart(&mut lines)?)
        } else if let Some(id) = rest.strip_suffix(" [") {
            (id, v1_simple(&mut lines)?)
        } else {
            (rest, Vec::new())
        };
        let id = id.trim().to_string();
        if id.is_empty() {
            return Err(format!(
                "line {}: `{word}` without a test id",
                lines.line_no
            ));
        }
        for (name, body) in parts {
            // A skip's simple details block is its reason.
            let name = if status == Status::Skip && name == "details" {
                "reason".to_string()
            } else {
                name
            };
            let part = (name, body);
            packets.push(Packet {
                status: Status::Undefined,
                test_id: Some(id.clone()),
                file: Some(part),
            });
        }
        packets.push(Packet {
            status,
            test_id: Some(id),
            file: None,
        });
    }
    Ok(packets)
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

    #[test]
    fn v1_results_with_multipart_and_simple_details() {
        let v1 = b"time: 2026-12-06 22:56:19.010632Z\ntags: worker-0\n\
test: a.B.test_ok[id-1,smoke]\n\
successful: a.B.test_ok[id-1,smoke] [ multipart\n\
Content-Type: text/plain;charset=utf8\npythonlogging:''\n5\r\nhello0\r\n]\n\
test: a.B.test_skip[id-2]\n\
skip: a.B.test_skip[id-2] [ multipart\n\
Content-Type: text/plain;charset=utf8\nreason\nA\nno cinder\n0\n]\n\
failure: a.B.test_bad [\nTraceback\n ]\nAssertionError\n]\n\
some stray output\n";
        assert!(parse_any(v1).is_ok());
        let p = parse_any(v1).unwrap();
        let finals: Vec<(Status, &str)> = p
            .iter()
            .filter(|p| p.status != Status::Undefined)
            .map(|p| (p.status, p.test_id.as_deref().unwrap()))
            .collect();
        assert_eq!(
            finals,
            vec![
                (Status::InProgress, "a.B.test_ok[id-1,smoke]"),
                (Status::Success, "a.B.test_ok[id-1,smoke]"),
                (Status::InProgress, "a.B.test_skip[id-2]"),
                (Status::Skip, "a.B.test_skip[id-2]"),
                (Status::Fail, "a.B.test_bad"),
            ]
        );
        let files: Vec<(String, Vec<u8>)> = p.iter().filter_map(|p| p.file.clone()).collect();
        assert_eq!(files[0], ("pythonlogging:''".into(), b"hello".to_vec()));
        assert_eq!(files[1], ("reason".into(), b"no cinder\n".to_vec()));
        assert_eq!(
            files[2],
            ("details".into(), b"Traceback\n]\nAssertionError\n".to_vec())
        );
    }

    #[test]
    fn v1_broken_details_name_the_line() {
        let e = parse_v1(b"test: t\nskip: t [ multipart\nContent-Type: text/plain\nreason\nZZ\n")
            .unwrap_err();
        assert!(e.contains("line 5") && e.contains("chunk length"), "{e}");
        let e = parse_v1(b"failure: t [\nno end\n").unwrap_err();
        assert!(e.contains("does not end"), "{e}");
    }

    #[test]
    fn v2_still_detected() {
        let data = encode(Status::Success, Some("t"), None);
        assert_eq!(parse_any(&data).unwrap()[0].status, Status::Success);
        assert!(parse_any(b"\x00garbage").is_err());
    }
}
