//! The flavor-name parser: one left-to-right pass, each component tried once at the current
//! position in the fixed order of the grammar, no backtracking between components. Errors name
//! the 1-based character position that breaks the grammar and why.

use super::{
    Arch, CpuType, CpuVendor, Disk, DiskType, FlavorName, Gpu, GpuVendor, Hypervisor, PREFIX,
    Syntax, V1, V2,
};
use std::fmt;

/// Why a name does not follow the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    /// The name does not start with `SCS-`.
    #[error("expected the prefix \"SCS-\"")]
    MissingPrefix,
    /// No digits before the CPU type letter.
    #[error("expected the number of vCPUs")]
    ExpectedCpuCount,
    /// The vCPU count is 0.
    #[error("the number of vCPUs must be at least 1")]
    ZeroCpus,
    /// A number does not fit into 64 bits (or a RAM size is not finite).
    #[error("number too large")]
    NumberTooLarge,
    /// The CPU type letter is missing or unknown.
    #[error("expected a CPU type letter L, V, T or C")]
    ExpectedCpuType,
    /// `i` written before the CPU type letter.
    #[error("expected a CPU type letter L, V, T or C (the insecure flag 'i' comes after it)")]
    InsecureBeforeType,
    /// A lower-case CPU type letter.
    #[error("expected a CPU type letter L, V, T or C (letters are case-sensitive)")]
    CpuTypeCase,
    /// The separator between CPU and RAM is missing.
    #[error("expected '{0}' before the RAM size")]
    ExpectedRamSeparator(char),
    /// No RAM size.
    #[error("expected the RAM size in GiB")]
    ExpectedRam,
    /// The RAM size is not a decimal number (e.g. `1.2.3`).
    #[error("RAM size '{0}' is not a number")]
    RamNotANumber(String),
    /// RAM size 0.
    #[error("the RAM size must be greater than 0")]
    RamZero,
    /// RAM size not a multiple of 0.5 GiB.
    #[error("RAM size {0} GiB is not a multiple of 0.5 GiB")]
    RamNotHalfGib(String),
    /// Disk multiplier 0 (`0x10`).
    #[error("the number of disks before 'x' must be at least 1")]
    DiskCountZero,
    /// Disk size 0.
    #[error("the disk size must be at least 1 GB")]
    DiskSizeZero,
    /// A fractional disk size (`1.5`).
    #[error("disk sizes must be whole numbers of GB")]
    FractionalDisk,
    /// More than one disk type letter.
    #[error("only one disk type letter (n, h, s or p) is allowed")]
    SecondDiskType,
    /// An upper-case disk type letter.
    #[error("disk type letters are lower case: n, h, s or p")]
    DiskTypeCase,
    /// RAM flags in the wrong order (`ou`).
    #[error("the RAM flags must be written in the order 'u', 'o'")]
    RamFlagOrder,
    /// A CPU generation outside the vendor's table.
    #[error("{vendor} CPU generation {generation} is not defined (known: 0 to {max})")]
    UnknownCpuGeneration {
        /// Vendor in words.
        vendor: &'static str,
        /// The generation found.
        generation: u64,
        /// The highest defined generation.
        max: usize,
    },
    /// Too many `h` modifiers.
    #[error("at most {max} 'h' allowed after {what}")]
    TooManyH {
        /// What the `h` modify.
        what: &'static str,
        /// The allowed maximum.
        max: u8,
    },
    /// A GPU generation outside the vendor's table.
    #[error("{vendor} GPU generation '{generation}' is not defined (known: {known})")]
    UnknownGpuGeneration {
        /// Vendor in words.
        vendor: &'static str,
        /// The generation found.
        generation: String,
        /// The defined generations, comma-separated.
        known: String,
    },
    /// An extension separator at the end of the name.
    #[error("'{0}' must be followed by an extension")]
    TrailingSeparator(char),
    /// A known extension at a place where it is not allowed.
    #[error(
        "extension '{0}' is out of order or repeated (order: hypervisor, hwv, CPU architecture, GPU, ib)"
    )]
    ExtensionOutOfOrder(String),
    /// A known extension written in the wrong case.
    #[error("extension '{0}' must be written in lower case (letters are case-sensitive)")]
    ExtensionCase(String),
    /// An extension that does not exist.
    #[error("unknown extension '{0}'")]
    UnknownExtension(String),
    /// Separators of the other syntax version.
    #[error("'{0}' belongs to the {1} syntax and must not be mixed with this one")]
    MixedSyntax(char, &'static str),
    /// Any other character after a complete name.
    #[error("unexpected character after the end of a valid name")]
    Unexpected,
}

/// A name that does not follow the grammar: where and why.
///
/// Displays as `NAME: at position P ('C'): REASON` (or `NAME: at end of name: REASON`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// The name as given.
    pub name: String,
    /// 1-based character position of the offending character; `chars + 1` at the end.
    pub position: usize,
    /// The offending character; `None` at the end of the name.
    pub found: Option<char>,
    /// Why.
    pub kind: ParseErrorKind,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.found {
            Some(c) => write!(
                f,
                "{}: at position {} ({c:?}): {}",
                self.name, self.position, self.kind
            ),
            None => write!(f, "{}: at end of name: {}", self.name, self.kind),
        }
    }
}

/// Parses a name in the current syntax (scs-0100-v2 and v3, e.g. `SCS-2V-4-20s_kvm`).
pub fn parse(name: &str) -> Result<FlavorName, ParseError> {
    Parser::new(name, V2).run()
}

/// Parses a name in the old, tolerated v1 syntax (e.g. `SCS-16T:64:3x10s-GNa:64-ib`).
pub fn parse_v1(name: &str) -> Result<FlavorName, ParseError> {
    Parser::new(name, V1).run()
}

/// Which component was parsed last (for hints about leftover characters).
#[derive(Clone, Copy, PartialEq)]
enum Last {
    Ram,
    Disk,
    Extension,
}

struct Parser<'a> {
    name: &'a str,
    chars: Vec<char>,
    pos: usize,
    syn: Syntax,
}

impl<'a> Parser<'a> {
    fn new(name: &'a str, syn: Syntax) -> Self {
        Parser {
            name,
            chars: name.chars().collect(),
            pos: 0,
            syn,
        }
    }

    fn err_at(&self, pos: usize, kind: ParseErrorKind) -> ParseError {
        ParseError {
            name: self.name.to_string(),
            position: pos + 1,
            found: self.chars.get(pos).copied(),
            kind,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn at(&self, pos: usize) -> Option<char> {
        self.chars.get(pos).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Whether `s` follows at position `pos`.
    fn follows(&self, pos: usize, s: &str) -> bool {
        s.chars()
            .enumerate()
            .all(|(i, c)| self.at(pos + i) == Some(c))
    }

    /// Reads ASCII digits from the current position; returns their start and the text.
    fn digits(&mut self) -> (usize, String) {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
            self.pos += 1;
        }
        (start, self.chars[start..self.pos].iter().collect())
    }

    fn number(&self, start: usize, text: &str) -> Result<u64, ParseError> {
        text.parse::<u64>()
            .map_err(|_| self.err_at(start, ParseErrorKind::NumberTooLarge))
    }

    /// Counts (and consumes) `h` characters.
    fn hs(&mut self) -> (usize, usize) {
        let start = self.pos;
        while self.peek() == Some('h') {
            self.pos += 1;
        }
        (start, self.pos - start)
    }

    fn run(mut self) -> Result<FlavorName, ParseError> {
        for (i, c) in PREFIX.chars().enumerate() {
            if self.at(i) != Some(c) {
                return Err(self.err_at(i, ParseErrorKind::MissingPrefix));
            }
        }
        self.pos = PREFIX.len();

        // CPU count and type.
        let (cpu_start, cpu_text) = self.digits();
        if cpu_text.is_empty() {
            return Err(self.err_at(cpu_start, ParseErrorKind::ExpectedCpuCount));
        }
        let cpus = self.number(cpu_start, &cpu_text)?;
        let cpu_type = match self.peek().and_then(CpuType::from_letter) {
            Some(t) => t,
            None => {
                let kind = match self.peek() {
                    Some('i') => ParseErrorKind::InsecureBeforeType,
                    Some(c) if CpuType::from_letter(c.to_ascii_uppercase()).is_some() => {
                        ParseErrorKind::CpuTypeCase
                    }
                    _ => ParseErrorKind::ExpectedCpuType,
                };
                return Err(self.err_at(self.pos, kind));
            }
        };
        if cpus == 0 {
            return Err(self.err_at(cpu_start, ParseErrorKind::ZeroCpus));
        }
        self.pos += 1;
        let insecure = self.eat('i');

        // RAM.
        if !self.eat(self.syn.ram_sep) {
            return Err(self.mixed_or(ParseErrorKind::ExpectedRamSeparator(self.syn.ram_sep)));
        }
        let ram_start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_digit() || c == '.') {
            self.pos += 1;
        }
        let ram_text: String = self.chars[ram_start..self.pos].iter().collect();
        if ram_text.is_empty() {
            return Err(self.err_at(ram_start, ParseErrorKind::ExpectedRam));
        }
        let ram_gib: f64 = ram_text
            .parse()
            .map_err(|_| self.err_at(ram_start, ParseErrorKind::RamNotANumber(ram_text.clone())))?;
        if !ram_gib.is_finite() {
            return Err(self.err_at(ram_start, ParseErrorKind::NumberTooLarge));
        }
        if ram_gib <= 0.0 {
            return Err(self.err_at(ram_start, ParseErrorKind::RamZero));
        }
        if ram_gib % 0.5 != 0.0 {
            return Err(self.err_at(ram_start, ParseErrorKind::RamNotHalfGib(ram_text)));
        }
        let no_ecc = self.eat('u');
        let ram_oversubscribed = self.eat('o');
        let mut last = Last::Ram;

        // Disk.
        let mut disk = None;
        if self.eat(self.syn.disk_sep) {
            let (first_start, first) = self.digits();
            let (count, size_start, size_text) = if self.eat('x') {
                let count = if first.is_empty() {
                    1
                } else {
                    self.number(first_start, &first)?
                };
                if count == 0 {
                    return Err(self.err_at(first_start, ParseErrorKind::DiskCountZero));
                }
                let (s, t) = self.digits();
                (count, s, t)
            } else {
                (1, first_start, first)
            };
            let size_gb = if size_text.is_empty() {
                None
            } else {
                let size = self.number(size_start, &size_text)?;
                if size == 0 {
                    return Err(self.err_at(size_start, ParseErrorKind::DiskSizeZero));
                }
                Some(size)
            };
            let kind = self.peek().and_then(DiskType::from_letter);
            if kind.is_some() {
                self.pos += 1;
            }
            disk = Some(Disk {
                count,
                size_gb,
                kind,
            });
            last = Last::Disk;
        }

        // Extensions, each tried once, in order.
        let sep = self.syn.ext_sep;
        let mut hypervisor = None;
        if self.peek() == Some(sep) {
            hypervisor = Hypervisor::ALL
                .into_iter()
                .filter(|h| self.syn.chy || h.in_v1())
                .find(|h| self.follows(self.pos + 1, h.code()));
            if hypervisor.is_some() {
                self.pos += 4;
                last = Last::Extension;
            }
        }
        let mut hwv = false;
        if self.peek() == Some(sep) && self.follows(self.pos + 1, "hwv") {
            self.pos += 4;
            hwv = true;
            last = Last::Extension;
        }
        let arch = self.arch()?;
        if arch.is_some() {
            last = Last::Extension;
        }
        let gpu = self.gpu()?;
        if gpu.is_some() {
            last = Last::Extension;
        }
        let mut infiniband = false;
        if self.peek() == Some(sep) && self.follows(self.pos + 1, "ib") {
            self.pos += 3;
            infiniband = true;
        }

        if self.pos < self.chars.len() {
            return Err(self.leftover(last));
        }
        Ok(FlavorName {
            cpus,
            cpu_type,
            insecure,
            ram_gib,
            no_ecc,
            ram_oversubscribed,
            disk,
            hypervisor,
            hwv,
            arch,
            gpu,
            infiniband,
        })
    }

    /// `_` vendor digits* h*, only when followed by the extension separator or the end.
    fn arch(&mut self) -> Result<Option<Arch>, ParseError> {
        if self.peek() != Some(self.syn.ext_sep) {
            return Ok(None);
        }
        let Some(vendor) = self.at(self.pos + 1).and_then(CpuVendor::from_letter) else {
            return Ok(None);
        };
        let mut end = self.pos + 2;
        let gen_start = end;
        while matches!(self.at(end), Some(c) if c.is_ascii_digit()) {
            end += 1;
        }
        let gen_end = end;
        while self.at(end) == Some('h') {
            end += 1;
        }
        if !(self.at(end).is_none() || self.at(end) == Some(self.syn.ext_sep)) {
            return Ok(None);
        }
        let gen_text: String = self.chars[gen_start..gen_end].iter().collect();
        let generation = if gen_text.is_empty() {
            0
        } else {
            self.number(gen_start, &gen_text)?
        };
        let known = vendor.generations();
        if generation >= known.len() as u64 {
            return Err(self.err_at(
                gen_start,
                ParseErrorKind::UnknownCpuGeneration {
                    vendor: vendor.label(),
                    generation,
                    max: known.len() - 1,
                },
            ));
        }
        let frequency = end - gen_end;
        if frequency > 3 {
            return Err(self.err_at(
                gen_end + 3,
                ParseErrorKind::TooManyH {
                    what: "the CPU generation",
                    max: 3,
                },
            ));
        }
        self.pos = end;
        Ok(Some(Arch {
            vendor,
            generation: generation as u8,
            frequency: frequency as u8,
        }))
    }

    /// `_` (G|g) vendor generation [sep digits] h* [sep digits] h*.
    fn gpu(&mut self) -> Result<Option<Gpu>, ParseError> {
        if self.peek() != Some(self.syn.ext_sep) {
            return Ok(None);
        }
        let passthrough = match self.at(self.pos + 1) {
            Some('G') => true,
            Some('g') => false,
            _ => return Ok(None),
        };
        let Some(vendor) = self.at(self.pos + 2).and_then(GpuVendor::from_letter) else {
            return Ok(None);
        };
        self.pos += 3;
        // The generation runs up to the next count separator, 'h', or extension separator.
        let gen_start = self.pos;
        while matches!(self.peek(), Some(c) if c != self.syn.gpu_sep && c != 'h' && c != self.syn.ext_sep)
        {
            self.pos += 1;
        }
        let generation: String = self.chars[gen_start..self.pos].iter().collect();
        if !generation.is_empty() && !vendor.generations().contains(&generation.as_str()) {
            return Err(self.err_at(
                gen_start,
                ParseErrorKind::UnknownGpuGeneration {
                    vendor: vendor.label(),
                    generation,
                    known: vendor.generations().join(", "),
                },
            ));
        }
        let units = self.gpu_count()?;
        let units_perf = self.gpu_hs("the GPU unit count")?;
        let vram_gib = self.gpu_count()?;
        let vram_perf = self.gpu_hs("the GPU memory size")?;
        Ok(Some(Gpu {
            passthrough,
            vendor,
            generation,
            units,
            units_perf,
            vram_gib,
            vram_perf,
        }))
    }

    /// An optional `-digits` inside the GPU part.
    fn gpu_count(&mut self) -> Result<Option<u64>, ParseError> {
        if self.peek() == Some(self.syn.gpu_sep)
            && matches!(self.at(self.pos + 1), Some(c) if c.is_ascii_digit())
        {
            self.pos += 1;
            let (start, text) = self.digits();
            return Ok(Some(self.number(start, &text)?));
        }
        Ok(None)
    }

    fn gpu_hs(&mut self, what: &'static str) -> Result<u8, ParseError> {
        let (start, count) = self.hs();
        if count > 2 {
            return Err(self.err_at(start + 2, ParseErrorKind::TooManyH { what, max: 2 }));
        }
        Ok(count as u8)
    }

    /// The error for an unexpected character: a separator of the other syntax, or `fallback`.
    fn mixed_or(&self, fallback: ParseErrorKind) -> ParseError {
        let kind = match self.peek() {
            Some(':') if self.syn.ext_sep == '_' => ParseErrorKind::MixedSyntax(':', "v1"),
            Some('_') if self.syn.ext_sep == '-' => ParseErrorKind::MixedSyntax('_', "v2"),
            _ => fallback,
        };
        self.err_at(self.pos, kind)
    }

    /// Explains characters left over after the last component that matched.
    fn leftover(&self, last: Last) -> ParseError {
        let c = self.chars[self.pos];
        let sep = self.syn.ext_sep;
        if c == sep {
            let token: String = self.chars[self.pos + 1..]
                .iter()
                .take_while(|&&t| t != sep)
                .collect();
            let shown = format!("{sep}{token}");
            let kind = if token.is_empty() {
                ParseErrorKind::TrailingSeparator(sep)
            } else if is_known_extension(&token, self.syn) {
                ParseErrorKind::ExtensionOutOfOrder(shown)
            } else if is_known_extension(&token.to_ascii_lowercase(), self.syn)
                && !token.starts_with('G')
            {
                ParseErrorKind::ExtensionCase(shown)
            } else {
                ParseErrorKind::UnknownExtension(shown)
            };
            return self.err_at(self.pos, kind);
        }
        let prev = self.pos.checked_sub(1).and_then(|p| self.at(p));
        let kind = match (last, c) {
            (Last::Ram, 'u') if prev == Some('o') => ParseErrorKind::RamFlagOrder,
            (Last::Disk, '.') | (Last::Disk, ',') => ParseErrorKind::FractionalDisk,
            (Last::Disk, t) if DiskType::from_letter(t).is_some() => ParseErrorKind::SecondDiskType,
            (Last::Disk, t) if DiskType::from_letter(t.to_ascii_lowercase()).is_some() => {
                ParseErrorKind::DiskTypeCase
            }
            _ => return self.mixed_or(ParseErrorKind::Unexpected),
        };
        self.err_at(self.pos, kind)
    }
}

/// Whether `token` (the text after an extension separator) is the start of a known extension.
fn is_known_extension(token: &str, syn: Syntax) -> bool {
    let mut chars = token.chars();
    let first = chars.next();
    Hypervisor::ALL
        .iter()
        .any(|h| token == h.code() && (syn.chy || h.in_v1()))
        || token == "hwv"
        || token == "ib"
        || (first.and_then(CpuVendor::from_letter).is_some()
            && chars.clone().all(|c| c.is_ascii_digit() || c == 'h'))
        || (matches!(first, Some('G' | 'g'))
            && chars.next().and_then(GpuVendor::from_letter).is_some())
}
