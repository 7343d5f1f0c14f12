//! SCS flavor names (scs-0100): the typed model, the parsers for the current (v2/v3, dash and
//! underscore) and the tolerated v1 (colon) syntax, canonical and short printing, v1 ↔ v2
//! conversion, a description in words, the validity policy of `scs-0100-syntax-check`, the
//! name → expected extra-spec conversion (scs-0103) and the resource semantics check.
//!
//! This module is pure logic: no I/O, no OpenStack types. Probes feed it flavor names and the
//! numbers a cloud reports, and turn the returned problems into findings.
//!
//! ```text
//! SCS- 16T -64 -3x10s _bms _hwv _i3h _GNa-64 _ib
//!      cpu  ram disk  hyp  hwv  arch gpu     ib
//! ```
//!
//! Where this implementation deliberately differs from the reference parser (the GPU generation
//! stops at `_`; a disk part without a size is not compared), see `docs/divergences.md`,
//! section "Flavor names".

mod explain;
mod parse;
mod specs;
#[cfg(test)]
mod tests;

pub use explain::explain;
pub use parse::{ParseError, ParseErrorKind, parse, parse_v1};
pub use specs::{
    Aspect, ExpectedSpecs, FlavorFacts, MAX_LISTED_DISKS, Problem, SpecValue, check_semantics,
    check_standard_flavor, expected_specs, semantics_of,
};

use std::fmt;

/// The prefix every SCS flavor name starts with (case-sensitive).
pub const PREFIX: &str = "SCS-";

/// The kind of vCPU a flavor offers (the letter after the vCPU count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CpuType {
    /// `L`: vCPU, heavily oversubscribed (low performance); extra spec `crowded-core`.
    LowPerf,
    /// `V`: vCPU with limited oversubscription; extra spec `shared-core`.
    Shared,
    /// `T`: dedicated hardware thread (SMT); extra spec `dedicated-thread`.
    DedicatedThread,
    /// `C`: dedicated core; extra spec `dedicated-core`.
    DedicatedCore,
}

impl CpuType {
    /// All CPU types, in the order of increasing performance.
    pub const ALL: [CpuType; 4] = [
        CpuType::LowPerf,
        CpuType::Shared,
        CpuType::DedicatedThread,
        CpuType::DedicatedCore,
    ];

    /// The letter used in names.
    pub fn letter(self) -> char {
        match self {
            CpuType::LowPerf => 'L',
            CpuType::Shared => 'V',
            CpuType::DedicatedThread => 'T',
            CpuType::DedicatedCore => 'C',
        }
    }

    /// The type for a name letter.
    pub fn from_letter(c: char) -> Option<Self> {
        CpuType::ALL.into_iter().find(|t| t.letter() == c)
    }

    /// The value of the extra spec `scs:cpu-type` (scs-0103).
    pub fn extra_spec(self) -> &'static str {
        match self {
            CpuType::LowPerf => "crowded-core",
            CpuType::Shared => "shared-core",
            CpuType::DedicatedThread => "dedicated-thread",
            CpuType::DedicatedCore => "dedicated-core",
        }
    }
}

/// The storage behind a root disk (the letter after the disk size).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiskType {
    /// `n`: network shared storage (Ceph/Cinder); extra spec `network`.
    Network,
    /// `h`: local hard disk; extra spec `hdd`.
    Hdd,
    /// `s`: local SSD; extra spec `ssd`.
    Ssd,
    /// `p`: local high-performance NVMe; extra spec `nvme`.
    Nvme,
}

impl DiskType {
    /// All disk types.
    pub const ALL: [DiskType; 4] = [
        DiskType::Network,
        DiskType::Hdd,
        DiskType::Ssd,
        DiskType::Nvme,
    ];

    /// The letter used in names.
    pub fn letter(self) -> char {
        match self {
            DiskType::Network => 'n',
            DiskType::Hdd => 'h',
            DiskType::Ssd => 's',
            DiskType::Nvme => 'p',
        }
    }

    /// The type for a name letter.
    pub fn from_letter(c: char) -> Option<Self> {
        DiskType::ALL.into_iter().find(|t| t.letter() == c)
    }

    /// The value of the extra specs `scs:diskN-type` (scs-0103).
    pub fn extra_spec(self) -> &'static str {
        match self {
            DiskType::Network => "network",
            DiskType::Hdd => "hdd",
            DiskType::Ssd => "ssd",
            DiskType::Nvme => "nvme",
        }
    }
}

/// The root disk part of a name (`-[M x][N][type]`). Its absence means "no root disk".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Disk {
    /// How many disks of this kind are provisioned (`M` in `Mx`); at least 1.
    pub count: u64,
    /// The size of each disk in GB; `None` when the cloud decides the size (e.g. `SCS-2C-4-n`).
    pub size_gb: Option<u64>,
    /// The storage kind; `None` when unspecified (the cloud decides).
    pub kind: Option<DiskType>,
}

/// The hypervisor extension (`_kvm`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hypervisor {
    /// `kvm`: KVM (also the default when the extension is absent).
    Kvm,
    /// `xen`: Xen.
    Xen,
    /// `vmw`: VMware.
    Vmware,
    /// `hyv`: Hyper-V.
    HyperV,
    /// `bms`: bare metal, no hypervisor.
    BareMetal,
    /// `chy`: Cloud Hypervisor (not in the v1 syntax).
    CloudHypervisor,
}

impl Hypervisor {
    /// All hypervisors.
    pub const ALL: [Hypervisor; 6] = [
        Hypervisor::Kvm,
        Hypervisor::Xen,
        Hypervisor::Vmware,
        Hypervisor::HyperV,
        Hypervisor::BareMetal,
        Hypervisor::CloudHypervisor,
    ];

    /// The three-letter code used in names.
    pub fn code(self) -> &'static str {
        match self {
            Hypervisor::Kvm => "kvm",
            Hypervisor::Xen => "xen",
            Hypervisor::Vmware => "vmw",
            Hypervisor::HyperV => "hyv",
            Hypervisor::BareMetal => "bms",
            Hypervisor::CloudHypervisor => "chy",
        }
    }

    /// Whether the v1 (colon) syntax knows this hypervisor.
    pub fn in_v1(self) -> bool {
        self != Hypervisor::CloudHypervisor
    }
}

/// The CPU vendor / architecture letter of the arch extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CpuVendor {
    /// `i`: Intel x86-64.
    Intel,
    /// `z`: AMD (Zen) x86-64.
    Amd,
    /// `a`: ARM v8+ (aarch64).
    Arm,
    /// `r`: RISC-V.
    RiscV,
}

impl CpuVendor {
    /// All vendors.
    pub const ALL: [CpuVendor; 4] = [
        CpuVendor::Intel,
        CpuVendor::Amd,
        CpuVendor::Arm,
        CpuVendor::RiscV,
    ];

    /// The letter used in names.
    pub fn letter(self) -> char {
        match self {
            CpuVendor::Intel => 'i',
            CpuVendor::Amd => 'z',
            CpuVendor::Arm => 'a',
            CpuVendor::RiscV => 'r',
        }
    }

    /// The vendor for a name letter.
    pub fn from_letter(c: char) -> Option<Self> {
        CpuVendor::ALL.into_iter().find(|v| v.letter() == c)
    }

    /// The vendor in words.
    pub fn label(self) -> &'static str {
        match self {
            CpuVendor::Intel => "Intel",
            CpuVendor::Amd => "AMD",
            CpuVendor::Arm => "ARM",
            CpuVendor::RiscV => "RISC-V",
        }
    }

    /// The names of the defined generations, index = generation number (0 = old or unspecified).
    pub fn generations(self) -> &'static [&'static str] {
        match self {
            CpuVendor::Intel => &[
                "pre-Skylake",
                "Skylake",
                "Cascade Lake",
                "Ice Lake",
                "Sapphire Rapids",
                "Sierra Forest",
                "Granite Rapids",
            ],
            CpuVendor::Amd => &[
                "pre-Zen", "Zen-1", "Zen-2", "Zen-3", "Zen-4", "Zen-5", "Zen-6",
            ],
            CpuVendor::Arm => &[
                "pre-Cortex-A76",
                "A76/Neoverse-N1 class",
                "A78/X1/Neoverse-V1 class",
                "A71x/Neoverse-N2/V2 class",
                "AmpereOne",
                "A72x/Neoverse-N3/V3 class",
            ],
            CpuVendor::RiscV => &["generic"],
        }
    }
}

/// The CPU architecture extension (`_z3h`, `_a`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Arch {
    /// Vendor / architecture.
    pub vendor: CpuVendor,
    /// Generation number, an index into [`CpuVendor::generations`]; 0 means "old or unspecified"
    /// and is not printed.
    pub generation: u8,
    /// Number of `h` (0–3): all-core frequency above 2.75, 3.25, 3.75 GHz.
    pub frequency: u8,
}

/// The GPU vendor letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GpuVendor {
    /// `N`: nVidia (counts streaming multiprocessors).
    Nvidia,
    /// `A`: AMD (counts compute units).
    Amd,
    /// `I`: Intel (counts execution units).
    Intel,
}

impl GpuVendor {
    /// All GPU vendors.
    pub const ALL: [GpuVendor; 3] = [GpuVendor::Nvidia, GpuVendor::Amd, GpuVendor::Intel];

    /// The letter used in names.
    pub fn letter(self) -> char {
        match self {
            GpuVendor::Nvidia => 'N',
            GpuVendor::Amd => 'A',
            GpuVendor::Intel => 'I',
        }
    }

    /// The vendor for a name letter.
    pub fn from_letter(c: char) -> Option<Self> {
        GpuVendor::ALL.into_iter().find(|v| v.letter() == c)
    }

    /// The vendor in words.
    pub fn label(self) -> &'static str {
        match self {
            GpuVendor::Nvidia => "nVidia",
            GpuVendor::Amd => "AMD",
            GpuVendor::Intel => "Intel",
        }
    }

    /// What this vendor's processing units are called.
    pub fn units(self) -> &'static str {
        match self {
            GpuVendor::Nvidia => "SMs",
            GpuVendor::Amd => "CUs",
            GpuVendor::Intel => "EUs",
        }
    }

    /// The defined generation strings (the empty generation is always allowed too).
    pub fn generations(self) -> &'static [&'static str] {
        match self {
            GpuVendor::Nvidia => &["f", "k", "m", "p", "v", "t", "a", "l", "g", "b", "u"],
            GpuVendor::Amd => &[
                "0.4", "0.5", "1", "1.1", "2", "2.1", "3", "3.1", "3.5", "4", "4.1", "5.1",
            ],
            GpuVendor::Intel => &["0.9", "0.95", "1", "2", "3", "4"],
        }
    }

    /// A generation in words, e.g. `Ampere` for nVidia `a`.
    pub fn generation_label(self, generation: &str) -> String {
        if self == GpuVendor::Nvidia {
            let name = match generation {
                "f" => "Fermi",
                "k" => "Kepler",
                "m" => "Maxwell",
                "p" => "Pascal",
                "v" => "Volta",
                "t" => "Turing",
                "a" => "Ampere",
                "l" => "Ada Lovelace",
                "g" => "Hopper",
                "b" => "Blackwell",
                "u" => "Blackwell Ultra",
                _ => "",
            };
            if !name.is_empty() {
                return name.to_string();
            }
        }
        format!("generation {generation}")
    }
}

/// The GPU extension (`_GNa-64-24h`, …).
///
/// Printing follows the grammar: generation, then `-units`, `h`s, then `-vram`, `h`s. Two shapes
/// cannot be told apart from others when printed, and the parser never produces them:
/// `vram_gib` set with neither `units` nor `units_perf` (reads as units), and `vram_perf` > 0
/// without `vram_gib` (reads as `units_perf`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Gpu {
    /// `G` = pass-through GPU (true), `g` = virtual GPU (false).
    pub passthrough: bool,
    /// Vendor.
    pub vendor: GpuVendor,
    /// Generation string from [`GpuVendor::generations`], or empty when unspecified.
    pub generation: String,
    /// Number of processing units (SMs / CUs / EUs), if given.
    pub units: Option<u64>,
    /// Number of `h` after the units (0–2): high frequency.
    pub units_perf: u8,
    /// Video memory in GiB, if given.
    pub vram_gib: Option<u64>,
    /// Number of `h` after the VRAM (0–2): high-bandwidth memory.
    pub vram_perf: u8,
}

/// A parsed SCS flavor name. Two names are equal when they mean the same (e.g. `SCS-01V-4`
/// equals `SCS-1V-4`); [`fmt::Display`] prints the canonical v2 form.
#[derive(Debug, Clone, PartialEq)]
pub struct FlavorName {
    /// Number of vCPUs (at least 1).
    pub cpus: u64,
    /// Kind of vCPU.
    pub cpu_type: CpuType,
    /// `i`: CPU vulnerability mitigations (microcode, L1TF/SMT handling) are missing.
    pub insecure: bool,
    /// RAM in GiB: a positive, finite multiple of 0.5.
    pub ram_gib: f64,
    /// `u`: the RAM has no ECC.
    pub no_ecc: bool,
    /// `o`: the RAM is oversubscribed.
    pub ram_oversubscribed: bool,
    /// The root disk; `None` means no root disk (boot from volume).
    pub disk: Option<Disk>,
    /// The hypervisor extension; `None` when absent (KVM is assumed).
    pub hypervisor: Option<Hypervisor>,
    /// `_hwv`: hardware (nested) virtualisation is exposed to the instance.
    pub hwv: bool,
    /// The CPU architecture extension; `None` means generic x86-64.
    pub arch: Option<Arch>,
    /// The GPU extension.
    pub gpu: Option<Gpu>,
    /// `_ib`: InfiniBand networking.
    pub infiniband: bool,
}

/// The separators of one syntax version.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Syntax {
    /// Between CPU and RAM.
    pub ram_sep: char,
    /// Introduces the disk part.
    pub disk_sep: char,
    /// Introduces each extension.
    pub ext_sep: char,
    /// Introduces the GPU unit and VRAM counts.
    pub gpu_sep: char,
    /// Whether the `chy` hypervisor exists.
    pub chy: bool,
}

/// The current syntax (scs-0100-v2 and v3).
pub(crate) const V2: Syntax = Syntax {
    ram_sep: '-',
    disk_sep: '-',
    ext_sep: '_',
    gpu_sep: '-',
    chy: true,
};

/// The old colon syntax (scs-0100-v1).
pub(crate) const V1: Syntax = Syntax {
    ram_sep: ':',
    disk_sep: ':',
    ext_sep: '-',
    gpu_sep: ':',
    chy: false,
};

/// Formats a RAM size: whole numbers without decimals, halves with one decimal.
pub fn format_ram(gib: f64) -> String {
    if gib.fract() == 0.0 {
        format!("{gib:.0}")
    } else {
        format!("{gib:.1}")
    }
}

impl FlavorName {
    /// Writes the name in the given syntax.
    fn write_in(&self, f: &mut impl fmt::Write, syn: Syntax) -> fmt::Result {
        write!(f, "{PREFIX}{}{}", self.cpus, self.cpu_type.letter())?;
        if self.insecure {
            f.write_char('i')?;
        }
        write!(f, "{}{}", syn.ram_sep, format_ram(self.ram_gib))?;
        if self.no_ecc {
            f.write_char('u')?;
        }
        if self.ram_oversubscribed {
            f.write_char('o')?;
        }
        if let Some(disk) = &self.disk {
            f.write_char(syn.disk_sep)?;
            if disk.count != 1 {
                write!(f, "{}x", disk.count)?;
            }
            if let Some(size) = disk.size_gb {
                write!(f, "{size}")?;
            }
            if let Some(kind) = disk.kind {
                f.write_char(kind.letter())?;
            }
        }
        if let Some(hyp) = self.hypervisor {
            write!(f, "{}{}", syn.ext_sep, hyp.code())?;
        }
        if self.hwv {
            write!(f, "{}hwv", syn.ext_sep)?;
        }
        if let Some(arch) = &self.arch {
            write!(f, "{}{}", syn.ext_sep, arch.vendor.letter())?;
            if arch.generation != 0 {
                write!(f, "{}", arch.generation)?;
            }
            write_h(f, arch.frequency)?;
        }
        if let Some(gpu) = &self.gpu {
            let kind = if gpu.passthrough { 'G' } else { 'g' };
            write!(
                f,
                "{}{kind}{}{}",
                syn.ext_sep,
                gpu.vendor.letter(),
                gpu.generation
            )?;
            if let Some(units) = gpu.units {
                write!(f, "{}{units}", syn.gpu_sep)?;
            }
            write_h(f, gpu.units_perf)?;
            if let Some(vram) = gpu.vram_gib {
                write!(f, "{}{vram}", syn.gpu_sep)?;
            }
            write_h(f, gpu.vram_perf)?;
        }
        if self.infiniband {
            write!(f, "{}ib", syn.ext_sep)?;
        }
        Ok(())
    }

    /// The canonical name in the current (v2/v3) syntax; same as `to_string()`.
    pub fn to_v2(&self) -> String {
        self.to_string()
    }

    /// The name in the old v1 (colon) syntax, e.g. `SCS-16T:64:3x10s-GNa:64-ib`. (A `chy`
    /// hypervisor is printed too, although the v1 syntax does not know it.)
    pub fn to_v1(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = self.write_in(&mut out, V1);
        out
    }

    /// The short form recommended as an additional name: keeps CPU, RAM, disk and `_ib`; drops
    /// hypervisor and `_hwv`; drops the arch part for Intel and AMD but keeps the bare vendor
    /// letter for ARM and RISC-V; keeps the GPU without its `h` modifiers (except those that
    /// must stay so that a VRAM count without a unit count keeps its meaning).
    pub fn short(&self) -> FlavorName {
        FlavorName {
            hypervisor: None,
            hwv: false,
            arch: self.arch.and_then(|a| match a.vendor {
                CpuVendor::Intel | CpuVendor::Amd => None,
                CpuVendor::Arm | CpuVendor::RiscV => Some(Arch {
                    vendor: a.vendor,
                    generation: 0,
                    frequency: 0,
                }),
            }),
            gpu: self.gpu.as_ref().map(|g| Gpu {
                // Without a unit count, the `h` are what separates the VRAM count from the
                // generation (`GNahh-6` ≠ `GNa-6`), so they stay.
                units_perf: if g.units.is_none() && g.vram_gib.is_some() {
                    g.units_perf
                } else {
                    0
                },
                vram_perf: 0,
                ..g.clone()
            }),
            ..self.clone()
        }
    }

    /// The advertised RAM in MiB (1024 × GiB, exact for multiples of 0.5).
    pub fn ram_mib(&self) -> f64 {
        self.ram_gib * 1024.0
    }
}

fn write_h(f: &mut impl fmt::Write, count: u8) -> fmt::Result {
    for _ in 0..count {
        f.write_char('h')?;
    }
    Ok(())
}

impl fmt::Display for FlavorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_in(f, V2)
    }
}

impl std::str::FromStr for FlavorName {
    type Err = ParseError;

    /// Parses the current (v2/v3) syntax; see [`parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

/// Converts a v1 (colon) name to the canonical v2 name.
pub fn v1_to_v2(name: &str) -> Result<String, ParseError> {
    parse_v1(name).map(|n| n.to_v2())
}

/// Converts a v2 name to the canonical v1 (colon) name.
pub fn v2_to_v1(name: &str) -> Result<String, ParseError> {
    parse(name).map(|n| n.to_v1())
}

/// The result of checking one flavor name with the policy of `scs-0100-syntax-check`.
#[derive(Debug, Clone, PartialEq)]
pub enum NameCheck {
    /// The name does not start with `SCS-` (or is empty): not an SCS name, not checked.
    NotScs,
    /// A valid name in the current syntax.
    Valid(FlavorName),
    /// Not valid in the current syntax but valid in the v1 (colon) syntax: merely tolerated,
    /// deserves a warning.
    ToleratedV1(FlavorName),
    /// Invalid; the error is the one of the current syntax.
    Invalid(ParseError),
}

impl NameCheck {
    /// Whether the name must be checked at all (starts with `SCS-`).
    pub fn is_scs(&self) -> bool {
        !matches!(self, NameCheck::NotScs)
    }

    /// The parsed name when the name is acceptable (valid or tolerated).
    pub fn flavor(&self) -> Option<&FlavorName> {
        match self {
            NameCheck::Valid(n) | NameCheck::ToleratedV1(n) => Some(n),
            _ => None,
        }
    }
}

/// Applies the validity policy of `scs-0100-syntax-check` to one name: names not starting with
/// the case-sensitive `SCS-` are not SCS names; others are valid in the current syntax,
/// tolerated in the v1 syntax, or invalid (with the current syntax's error).
pub fn check_name(name: &str) -> NameCheck {
    if !name.starts_with(PREFIX) {
        return NameCheck::NotScs;
    }
    match parse(name) {
        Ok(n) => NameCheck::Valid(n),
        Err(err) => match parse_v1(name) {
            Ok(n) => NameCheck::ToleratedV1(n),
            Err(_) => NameCheck::Invalid(err),
        },
    }
}

/// [`check_name`] as a `Result` for names that must be checked: `Ok(None)` for names that are
/// not SCS names, `Ok(Some(name))` for accepted names (a v1 name is accepted too; use
/// [`check_name`] to tell it apart), `Err(message)` with the error line for invalid names.
pub fn check_syntax(name: &str) -> Result<Option<FlavorName>, String> {
    match check_name(name) {
        NameCheck::NotScs => Ok(None),
        NameCheck::Valid(n) | NameCheck::ToleratedV1(n) => Ok(Some(n)),
        NameCheck::Invalid(err) => Err(err.to_string()),
    }
}
