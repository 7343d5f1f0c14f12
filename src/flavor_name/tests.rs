//! Tests of the flavor-name library: tables of valid and invalid names, round-trip properties
//! over generated names, no-panic over random input, v1 conversion, specs and semantics.

use super::*;
use std::collections::BTreeMap;

/// Disk part as `COUNTxSIZEKIND` with `-` for absent size/kind, or empty without a disk.
fn disk_desc(n: &FlavorName) -> String {
    match n.disk {
        None => String::new(),
        Some(d) => format!(
            "{}x{}{}",
            d.count,
            d.size_gb.map_or("-".to_string(), |s| s.to_string()),
            d.kind.map_or('-', |k| k.letter())
        ),
    }
}

/// (input, canonical form, cpus, CPU letter, RAM GiB, disk description)
const VALID: &[(&str, &str, u64, char, f64, &str)] = &[
    ("SCS-2C-4-10n", "SCS-2C-4-10n", 2, 'C', 4.0, "1x10n"),
    ("SCS-2T-4-10n", "SCS-2T-4-10n", 2, 'T', 4.0, "1x10n"),
    ("SCS-2V-4-10n", "SCS-2V-4-10n", 2, 'V', 4.0, "1x10n"),
    ("SCS-2L-4-10n", "SCS-2L-4-10n", 2, 'L', 4.0, "1x10n"),
    ("SCS-2Li-4-10n", "SCS-2Li-4-10n", 2, 'L', 4.0, "1x10n"),
    ("SCS-2C-3.5-10n", "SCS-2C-3.5-10n", 2, 'C', 3.5, "1x10n"),
    ("SCS-2C-4u-10n", "SCS-2C-4u-10n", 2, 'C', 4.0, "1x10n"),
    ("SCS-2C-4o-10n", "SCS-2C-4o-10n", 2, 'C', 4.0, "1x10n"),
    ("SCS-2C-4uo-10n", "SCS-2C-4uo-10n", 2, 'C', 4.0, "1x10n"),
    (
        "SCS-2C-4-3x10s_bms_z3",
        "SCS-2C-4-3x10s_bms_z3",
        2,
        'C',
        4.0,
        "3x10s",
    ),
    ("SCS-2C-4-n", "SCS-2C-4-n", 2, 'C', 4.0, "1x-n"),
    ("SCS-2C-4-", "SCS-2C-4-", 2, 'C', 4.0, "1x--"),
    ("SCS-2C-4", "SCS-2C-4", 2, 'C', 4.0, ""),
    (
        "SCS-2C-4-_bms_z3h_GNa-64_ib",
        "SCS-2C-4-_bms_z3h_GNa-64_ib",
        2,
        'C',
        4.0,
        "1x--",
    ),
    ("SCS-2C-4-_ib", "SCS-2C-4-_ib", 2, 'C', 4.0, "1x--"),
    ("SCS-2C-4_bms_z3", "SCS-2C-4_bms_z3", 2, 'C', 4.0, ""),
    ("SCS-2C-4-3x", "SCS-2C-4-3x", 2, 'C', 4.0, "3x--"),
    ("SCS-2C-4-3xs", "SCS-2C-4-3xs", 2, 'C', 4.0, "3x-s"),
    ("SCS-2C-4-3x10", "SCS-2C-4-3x10", 2, 'C', 4.0, "3x10-"),
    (
        "SCS-2C-4-10_kvm_hwv",
        "SCS-2C-4-10_kvm_hwv",
        2,
        'C',
        4.0,
        "1x10-",
    ),
    (
        "SCS-2C-4-10_bms_hwv",
        "SCS-2C-4-10_bms_hwv",
        2,
        'C',
        4.0,
        "1x10-",
    ),
    ("SCS-2C-4-10_hwv", "SCS-2C-4-10_hwv", 2, 'C', 4.0, "1x10-"),
    (
        "SCS-2C-4-10n_bms_z3hh",
        "SCS-2C-4-10n_bms_z3hh",
        2,
        'C',
        4.0,
        "1x10n",
    ),
    (
        "SCS-8Ti-32-50p_i1",
        "SCS-8Ti-32-50p_i1",
        8,
        'T',
        32.0,
        "1x50p",
    ),
    ("SCS-1L-1u-5", "SCS-1L-1u-5", 1, 'L', 1.0, "1x5-"),
    ("SCS-1V-0.5", "SCS-1V-0.5", 1, 'V', 0.5, ""),
    (
        "SCS-16T-64-200s_GNa-72-24_ib",
        "SCS-16T-64-200s_GNa-72-24_ib",
        16,
        'T',
        64.0,
        "1x200s",
    ),
    (
        "SCS-4C-16-2x200p_a1",
        "SCS-4C-16-2x200p_a1",
        4,
        'C',
        16.0,
        "2x200p",
    ),
    (
        "SCS-16V-64-500s_GNa-14-6h",
        "SCS-16V-64-500s_GNa-14-6h",
        16,
        'V',
        64.0,
        "1x500s",
    ),
    (
        "SCS-16V-64-500s_GNa-14h",
        "SCS-16V-64-500s_GNa-14h",
        16,
        'V',
        64.0,
        "1x500s",
    ),
    (
        "SCS-16T-64-3x10s_bms_hwv_i3h_GNa-64_ib",
        "SCS-16T-64-3x10s_bms_hwv_i3h_GNa-64_ib",
        16,
        'T',
        64.0,
        "3x10s",
    ),
    (
        "SCS-2V-4_GNa-108h-80h",
        "SCS-2V-4_GNa-108h-80h",
        2,
        'V',
        4.0,
        "",
    ),
    (
        "SCS-2V-4_GA3.1-96-48",
        "SCS-2V-4_GA3.1-96-48",
        2,
        'V',
        4.0,
        "",
    ),
    (
        "SCS-2V-4_GI4-160-24",
        "SCS-2V-4_GI4-160-24",
        2,
        'V',
        4.0,
        "",
    ),
    (
        "SCS-2V-4_GNl-142hh-48",
        "SCS-2V-4_GNl-142hh-48",
        2,
        'V',
        4.0,
        "",
    ),
    (
        "SCS-2V-4_GNu-160-288h",
        "SCS-2V-4_GNu-160-288h",
        2,
        'V',
        4.0,
        "",
    ),
    ("SCS-2V-4-20s", "SCS-2V-4-20s", 2, 'V', 4.0, "1x20s"),
    ("SCS-4V-16-100s", "SCS-4V-16-100s", 4, 'V', 16.0, "1x100s"),
    ("SCS-1L-1-5", "SCS-1L-1-5", 1, 'L', 1.0, "1x5-"),
    // normalisations
    ("SCS-01V-4", "SCS-1V-4", 1, 'V', 4.0, ""),
    ("SCS-1V-4.0", "SCS-1V-4", 1, 'V', 4.0, ""),
    ("SCS-1V-.5", "SCS-1V-0.5", 1, 'V', 0.5, ""),
    ("SCS-1V-1.", "SCS-1V-1", 1, 'V', 1.0, ""),
    ("SCS-1V-004.50", "SCS-1V-4.5", 1, 'V', 4.5, ""),
    ("SCS-1V-4-x10", "SCS-1V-4-10", 1, 'V', 4.0, "1x10-"),
    ("SCS-1V-4-1x10", "SCS-1V-4-10", 1, 'V', 4.0, "1x10-"),
    ("SCS-1V-4-010h", "SCS-1V-4-10h", 1, 'V', 4.0, "1x10h"),
    ("SCS-1V-4_i0", "SCS-1V-4_i", 1, 'V', 4.0, ""),
    ("SCS-1V-4_z06hhh", "SCS-1V-4_z6hhh", 1, 'V', 4.0, ""),
    ("SCS-1V-4_GNa-064", "SCS-1V-4_GNa-64", 1, 'V', 4.0, ""),
    // extensions of every kind
    ("SCS-1V-4_chy", "SCS-1V-4_chy", 1, 'V', 4.0, ""),
    ("SCS-1V-4_xen_hwv_r", "SCS-1V-4_xen_hwv_r", 1, 'V', 4.0, ""),
    ("SCS-1V-4_vmw_a5h", "SCS-1V-4_vmw_a5h", 1, 'V', 4.0, ""),
    ("SCS-1V-4_hyv_ib", "SCS-1V-4_hyv_ib", 1, 'V', 4.0, ""),
    ("SCS-1V-4_i_ib", "SCS-1V-4_i_ib", 1, 'V', 4.0, ""),
    ("SCS-1V-4_gI0.95", "SCS-1V-4_gI0.95", 1, 'V', 4.0, ""),
    ("SCS-1V-4_gA", "SCS-1V-4_gA", 1, 'V', 4.0, ""),
    ("SCS-1V-4_GNah_ib", "SCS-1V-4_GNah_ib", 1, 'V', 4.0, ""),
    ("SCS-1V-4_GNahh-6h", "SCS-1V-4_GNahh-6h", 1, 'V', 4.0, ""),
    // diverges from the reference: the GPU generation stops at '_' (docs/divergences.md)
    ("SCS-16V-64_GNa_ib", "SCS-16V-64_GNa_ib", 16, 'V', 64.0, ""),
    ("SCS-1V-4_z3_GNa_ib", "SCS-1V-4_z3_GNa_ib", 1, 'V', 4.0, ""),
    (
        "SCS-128C-1024-8x2000p",
        "SCS-128C-1024-8x2000p",
        128,
        'C',
        1024.0,
        "8x2000p",
    ),
];

#[test]
fn valid_names_parse_with_the_expected_fields() {
    assert!(VALID.len() >= 40);
    for &(input, canonical, cpus, letter, ram, disk) in VALID {
        let n = parse(input).unwrap_or_else(|e| panic!("{input} should be valid: {e}"));
        assert_eq!(n.to_string(), canonical, "canonical form of {input}");
        assert_eq!(n.cpus, cpus, "cpus of {input}");
        assert_eq!(n.cpu_type.letter(), letter, "cpu type of {input}");
        assert_eq!(n.ram_gib, ram, "ram of {input}");
        assert_eq!(disk_desc(&n), disk, "disk of {input}");
        assert_eq!(
            parse(canonical).unwrap(),
            n,
            "canonical {canonical} reparses"
        );
        assert!(matches!(check_name(input), NameCheck::Valid(_)));
    }
}

#[test]
fn every_component_is_read_into_its_field() {
    let n = parse("SCS-16Ti-64uo-3x10s_bms_hwv_i3h_gNa-64h-24hh_ib").unwrap();
    assert_eq!(
        n,
        FlavorName {
            cpus: 16,
            cpu_type: CpuType::DedicatedThread,
            insecure: true,
            ram_gib: 64.0,
            no_ecc: true,
            ram_oversubscribed: true,
            disk: Some(Disk {
                count: 3,
                size_gb: Some(10),
                kind: Some(DiskType::Ssd)
            }),
            hypervisor: Some(Hypervisor::BareMetal),
            hwv: true,
            arch: Some(Arch {
                vendor: CpuVendor::Intel,
                generation: 3,
                frequency: 1
            }),
            gpu: Some(Gpu {
                passthrough: false,
                vendor: GpuVendor::Nvidia,
                generation: "a".into(),
                units: Some(64),
                units_perf: 1,
                vram_gib: Some(24),
                vram_perf: 2,
            }),
            infiniband: true,
        }
    );
    let plain = parse("SCS-1V-2").unwrap();
    assert_eq!(plain.disk, None);
    assert_eq!(plain.hypervisor, None);
    assert!(!plain.hwv && !plain.insecure && !plain.infiniband && !plain.no_ecc);
    assert_eq!(plain.arch, None);
    assert_eq!(plain.gpu, None);
    let gpu = parse("SCS-1V-2_GNahh-6h").unwrap().gpu.unwrap();
    assert_eq!(
        (gpu.units, gpu.units_perf, gpu.vram_gib, gpu.vram_perf),
        (None, 2, Some(6), 1)
    );
}

/// (input, full error line)
const INVALID: &[(&str, &str)] = &[
    (
        "SCS-2-4-10n",
        "SCS-2-4-10n: at position 6 ('-'): expected a CPU type letter L, V, T or C",
    ),
    (
        "SCS-2-4",
        "SCS-2-4: at position 6 ('-'): expected a CPU type letter L, V, T or C",
    ),
    (
        "SCS-2X-4",
        "SCS-2X-4: at position 6 ('X'): expected a CPU type letter L, V, T or C",
    ),
    (
        "SCS-2iT-4-10n",
        "SCS-2iT-4-10n: at position 6 ('i'): expected a CPU type letter L, V, T or C (the insecure flag 'i' comes after it)",
    ),
    (
        "SCS-2v-4",
        "SCS-2v-4: at position 6 ('v'): expected a CPU type letter L, V, T or C (letters are case-sensitive)",
    ),
    (
        "SCS-2C-4ou-10n",
        "SCS-2C-4ou-10n: at position 10 ('u'): the RAM flags must be written in the order 'u', 'o'",
    ),
    (
        "SCS-2C-4-1.5n",
        "SCS-2C-4-1.5n: at position 11 ('.'): disk sizes must be whole numbers of GB",
    ),
    (
        "SCS-2C-4-10_hwv_xen",
        "SCS-2C-4-10_hwv_xen: at position 16 ('_'): extension '_xen' is out of order or repeated (order: hypervisor, hwv, CPU architecture, GPU, ib)",
    ),
    (
        "SCS-2T-4_ic",
        "SCS-2T-4_ic: at position 9 ('_'): unknown extension '_ic'",
    ),
    (
        "SCS-2C-4-n_bms_3",
        "SCS-2C-4-n_bms_3: at position 15 ('_'): unknown extension '_3'",
    ),
    (
        "SCS-0V-4",
        "SCS-0V-4: at position 5 ('0'): the number of vCPUs must be at least 1",
    ),
    (
        "SCS-000V-4",
        "SCS-000V-4: at position 5 ('0'): the number of vCPUs must be at least 1",
    ),
    (
        "SCS-V-4",
        "SCS-V-4: at position 5 ('V'): expected the number of vCPUs",
    ),
    ("SCS-", "SCS-: at end of name: expected the number of vCPUs"),
    (
        "SCS-1V-0",
        "SCS-1V-0: at position 8 ('0'): the RAM size must be greater than 0",
    ),
    (
        "SCS-1V-0.0",
        "SCS-1V-0.0: at position 8 ('0'): the RAM size must be greater than 0",
    ),
    (
        "SCS-1V-1.25",
        "SCS-1V-1.25: at position 8 ('1'): RAM size 1.25 GiB is not a multiple of 0.5 GiB",
    ),
    (
        "SCS-1V-",
        "SCS-1V-: at end of name: expected the RAM size in GiB",
    ),
    (
        "SCS-1V",
        "SCS-1V: at end of name: expected '-' before the RAM size",
    ),
    (
        "SCS-1V-u",
        "SCS-1V-u: at position 8 ('u'): expected the RAM size in GiB",
    ),
    (
        "SCS-2V-1.2.3",
        "SCS-2V-1.2.3: at position 8 ('1'): RAM size '1.2.3' is not a number",
    ),
    (
        "SCS-2V-.",
        "SCS-2V-.: at position 8 ('.'): RAM size '.' is not a number",
    ),
    (
        "SCS-1V-4-0",
        "SCS-1V-4-0: at position 10 ('0'): the disk size must be at least 1 GB",
    ),
    (
        "SCS-4V-16-0x10",
        "SCS-4V-16-0x10: at position 11 ('0'): the number of disks before 'x' must be at least 1",
    ),
    (
        "SCS-4V-16-100sp",
        "SCS-4V-16-100sp: at position 15 ('p'): only one disk type letter (n, h, s or p) is allowed",
    ),
    (
        "SCS-2V-4-10N",
        "SCS-2V-4-10N: at position 12 ('N'): disk type letters are lower case: n, h, s or p",
    ),
    (
        "SCS-1V-4_i7",
        "SCS-1V-4_i7: at position 11 ('7'): Intel CPU generation 7 is not defined (known: 0 to 6)",
    ),
    (
        "SCS-1V-4_r1",
        "SCS-1V-4_r1: at position 11 ('1'): RISC-V CPU generation 1 is not defined (known: 0 to 0)",
    ),
    (
        "SCS-1V-4_a6",
        "SCS-1V-4_a6: at position 11 ('6'): ARM CPU generation 6 is not defined (known: 0 to 5)",
    ),
    (
        "SCS-1V-4_i6hhhh",
        "SCS-1V-4_i6hhhh: at position 15 ('h'): at most 3 'h' allowed after the CPU generation",
    ),
    (
        "SCS-2V-4_GNa-14hhh",
        "SCS-2V-4_GNa-14hhh: at position 18 ('h'): at most 2 'h' allowed after the GPU unit count",
    ),
    (
        "SCS-2V-4_GNa-14-6hhh",
        "SCS-2V-4_GNa-14-6hhh: at position 20 ('h'): at most 2 'h' allowed after the GPU memory size",
    ),
    (
        "SCS-2V-4_GNz",
        "SCS-2V-4_GNz: at position 12 ('z'): nVidia GPU generation 'z' is not defined (known: f, k, m, p, v, t, a, l, g, b, u)",
    ),
    (
        "SCS-2V-4_GA5-1",
        "SCS-2V-4_GA5-1: at position 12 ('5'): AMD GPU generation '5' is not defined (known: 0.4, 0.5, 1, 1.1, 2, 2.1, 3, 3.1, 3.5, 4, 4.1, 5.1)",
    ),
    (
        "SCS-2V-4_GI3.1",
        "SCS-2V-4_GI3.1: at position 12 ('3'): Intel GPU generation '3.1' is not defined (known: 0.9, 0.95, 1, 2, 3, 4)",
    ),
    (
        "SCS-2V-4_ib_bms",
        "SCS-2V-4_ib_bms: at position 12 ('_'): extension '_bms' is out of order or repeated (order: hypervisor, hwv, CPU architecture, GPU, ib)",
    ),
    (
        "SCS-2V-4_kvm_kvm",
        "SCS-2V-4_kvm_kvm: at position 13 ('_'): extension '_kvm' is out of order or repeated (order: hypervisor, hwv, CPU architecture, GPU, ib)",
    ),
    (
        "SCS-2V-4_GNa_z3",
        "SCS-2V-4_GNa_z3: at position 13 ('_'): extension '_z3' is out of order or repeated (order: hypervisor, hwv, CPU architecture, GPU, ib)",
    ),
    (
        "SCS-2V-4_ib_ib",
        "SCS-2V-4_ib_ib: at position 12 ('_'): extension '_ib' is out of order or repeated (order: hypervisor, hwv, CPU architecture, GPU, ib)",
    ),
    (
        "SCS-2V-4-10n_",
        "SCS-2V-4-10n_: at position 13 ('_'): '_' must be followed by an extension",
    ),
    (
        "SCS-2V-4_KVM",
        "SCS-2V-4_KVM: at position 9 ('_'): extension '_KVM' must be written in lower case (letters are case-sensitive)",
    ),
    (
        "SCS-2V-4:10",
        "SCS-2V-4:10: at position 9 (':'): ':' belongs to the v1 syntax and must not be mixed with this one",
    ),
    (
        "SCS-2V-4_foo",
        "SCS-2V-4_foo: at position 9 ('_'): unknown extension '_foo'",
    ),
    (
        "SCS-2V-4_kvmx",
        "SCS-2V-4_kvmx: at position 13 ('x'): unexpected character after the end of a valid name",
    ),
    (
        "SCS-2V-4 ",
        "SCS-2V-4 : at position 9 (' '): unexpected character after the end of a valid name",
    ),
    (
        "SCS-2V-4é",
        "SCS-2V-4é: at position 9 ('é'): unexpected character after the end of a valid name",
    ),
    (
        "SCS-2Vé-4",
        "SCS-2Vé-4: at position 7 ('é'): expected '-' before the RAM size",
    ),
    (
        "SCS-é",
        "SCS-é: at position 5 ('é'): expected the number of vCPUs",
    ),
    (
        "SCS-99999999999999999999V-4",
        "SCS-99999999999999999999V-4: at position 5 ('9'): number too large",
    ),
    (
        "SCS-1V-4-99999999999999999999",
        "SCS-1V-4-99999999999999999999: at position 10 ('9'): number too large",
    ),
    (
        "SCS-2C-4-3x-",
        "SCS-2C-4-3x-: at position 12 ('-'): unexpected character after the end of a valid name",
    ),
    (
        "SC-2T-4",
        "SC-2T-4: at position 3 ('-'): expected the prefix \"SCS-\"",
    ),
    (
        "scs-2V-4",
        "scs-2V-4: at position 1 ('s'): expected the prefix \"SCS-\"",
    ),
    ("", ": at end of name: expected the prefix \"SCS-\""),
];

#[test]
fn invalid_names_report_position_and_reason() {
    assert!(INVALID.len() >= 40);
    for &(input, message) in INVALID {
        let err = parse(input).expect_err(input);
        assert_eq!(err.to_string(), message, "error of {input:?}");
        assert_eq!(
            err.found,
            input.chars().nth(err.position - 1),
            "found of {input:?}"
        );
    }
}

#[test]
fn error_fields_are_structured() {
    let err = parse("SCS-2X-4").unwrap_err();
    assert_eq!(err.position, 6);
    assert_eq!(err.found, Some('X'));
    assert_eq!(err.kind, ParseErrorKind::ExpectedCpuType);
    let err = parse("SCS-1V-").unwrap_err();
    assert_eq!((err.position, err.found), (8, None));
}

#[test]
fn syntax_policy_accepts_v1_with_tolerance_and_skips_non_scs_names() {
    assert_eq!(check_name("scs-2V-4"), NameCheck::NotScs);
    assert_eq!(check_name("SC-2T-4"), NameCheck::NotScs);
    assert_eq!(check_name(""), NameCheck::NotScs);
    assert_eq!(check_name("m1.large"), NameCheck::NotScs);
    assert!(!check_name("m1.large").is_scs());
    match check_name("SCS-16T:64:3x10s-GNa:64-ib") {
        NameCheck::ToleratedV1(n) => assert_eq!(n.to_string(), "SCS-16T-64-3x10s_GNa-64_ib"),
        other => panic!("expected tolerated v1, got {other:?}"),
    }
    match check_name("SCS-2V-4:10") {
        NameCheck::Invalid(err) => assert_eq!(err.position, 9),
        other => panic!("expected invalid, got {other:?}"),
    }
    assert!(matches!(check_name("SCS-2V-4-20s"), NameCheck::Valid(_)));
    assert_eq!(check_syntax("foo"), Ok(None));
    assert_eq!(
        check_syntax("SCS-2V:4").map(|n| n.map(|n| n.to_string())),
        Ok(Some("SCS-2V-4".to_string()))
    );
    assert_eq!(
        check_syntax("SCS-2X-4"),
        Err("SCS-2X-4: at position 6 ('X'): expected a CPU type letter L, V, T or C".to_string())
    );
}

#[test]
fn v1_names_convert_both_ways() {
    assert_eq!(
        v1_to_v2("SCS-16T:64:3x10s-GNa:64-ib").unwrap(),
        "SCS-16T-64-3x10s_GNa-64_ib"
    );
    assert_eq!(
        v2_to_v1("SCS-16T-64-3x10s_GNa-64_ib").unwrap(),
        "SCS-16T:64:3x10s-GNa:64-ib"
    );
    assert_eq!(v2_to_v1("SCS-2V-4-20s").unwrap(), "SCS-2V:4:20s");
    assert_eq!(v2_to_v1("SCS-2V-4").unwrap(), "SCS-2V:4");
    assert_eq!(v2_to_v1("SCS-2C-4-").unwrap(), "SCS-2C:4:");
    assert_eq!(v1_to_v2("SCS-8Ti:32:50p-i1").unwrap(), "SCS-8Ti-32-50p_i1");
    assert_eq!(
        v1_to_v2("SCS-2C:4:10-bms-hwv").unwrap(),
        "SCS-2C-4-10_bms_hwv"
    );
    // the upstream self-check: the v1 name is the short form of the long v2 name
    let long = parse("SCS-16T-64-3x10s_bms_hwv_i3h_GNa-64_ib").unwrap();
    assert_eq!(
        long.short(),
        parse_v1("SCS-16T:64:3x10s-GNa:64-ib").unwrap()
    );
    // v1 has no Cloud Hypervisor and rejects v2 separators
    let err = parse_v1("SCS-2V:4-chy").unwrap_err();
    assert_eq!(err.position, 9);
    assert!(parse_v1("SCS-2V-4").is_err());
    assert_eq!(
        parse_v1("SCS-2V:4_kvm").unwrap_err().to_string(),
        "SCS-2V:4_kvm: at position 9 ('_'): '_' belongs to the v2 syntax and must not be mixed with this one"
    );
    // a v1 GPU part followed by another extension
    assert_eq!(v1_to_v2("SCS-2V:4-GNa-ib").unwrap(), "SCS-2V-4_GNa_ib");
}

#[test]
fn short_form_drops_details() {
    let cases = [
        (
            "SCS-16T-64-3x10s_bms_hwv_i3h_GNa-64_ib",
            "SCS-16T-64-3x10s_GNa-64_ib",
        ),
        ("SCS-4C-16-2x200p_a1", "SCS-4C-16-2x200p_a"),
        ("SCS-4C-16_r", "SCS-4C-16_r"),
        ("SCS-4C-16_z4hh", "SCS-4C-16"),
        ("SCS-2V-4_kvm_GNa-108h-80h", "SCS-2V-4_GNa-108-80"),
        ("SCS-2Li-4uo-n_chy", "SCS-2Li-4uo-n"),
        ("SCS-2V-4_GNahh-6h", "SCS-2V-4_GNahh-6"),
    ];
    for (long, short) in cases {
        assert_eq!(
            parse(long).unwrap().short().to_string(),
            short,
            "short of {long}"
        );
    }
}

#[test]
fn explain_describes_the_name_in_words() {
    let text = |n: &str| explain(&parse(n).unwrap());
    assert_eq!(
        text("SCS-2C-4-10n"),
        "2 dedicated cores, 4 GiB RAM, 10 GB network disk"
    );
    assert_eq!(
        text("SCS-1V-0.5"),
        "1 vCPU (oversubscribed), 0.5 GiB RAM, no root disk (boot from volume)"
    );
    assert_eq!(
        text("SCS-8Ti-32uo-2x50p_bms_hwv_i1hh"),
        "8 dedicated threads (SMT), insecure (CPU vulnerability mitigations missing), 32 GiB RAM \
         (no ECC, oversubscribed), 2x 50 GB local high-performance NVMe disk, bare metal (no \
         hypervisor), hardware virtualization exposed (nested virtualization), Intel CPU, \
         Skylake, >3.25 GHz all-core"
    );
    assert_eq!(
        text("SCS-16L-64-_GNa-64-24h_ib"),
        "16 vCPUs (heavily oversubscribed), 64 GiB RAM, cloud-sized disk of a type chosen by the \
         cloud, pass-through nVidia Ampere GPU with 64 SMs, 24 GiB video memory, high-bandwidth \
         memory, InfiniBand"
    );
    assert_eq!(
        text("SCS-1V-1-5h_gA3.1h"),
        "1 vCPU (oversubscribed), 1 GiB RAM, 5 GB local HDD, virtual AMD generation 3.1 GPU, \
         high frequency"
    );
}

fn facts(vcpus: u64, ram_mib: u64, disk_gb: u64, specs: &[(&str, &str)]) -> FlavorFacts {
    FlavorFacts {
        vcpus,
        ram_mib,
        disk_gb,
        extra_specs: specs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    }
}

#[test]
fn semantics_compares_resources_with_tolerance_for_rounding() {
    let n = parse("SCS-2V-4").unwrap();
    assert!(check_semantics(&n, &facts(2, 4096, 0, &[])).is_empty());
    assert!(check_semantics(&n, &facts(8, 4045, 0, &[])).is_empty());
    let p = check_semantics(&n, &facts(2, 4044, 0, &[]));
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].aspect, Aspect::Ram);
    assert_eq!(
        p[0].message,
        "the flavor has 4044 MiB RAM, but the name promises 4 GiB (at least 4045 MiB)"
    );
    let p = check_semantics(&n, &facts(1, 4096, 0, &[]));
    assert_eq!(p[0].aspect, Aspect::Cpus);
    assert_eq!(
        p[0].message,
        "the flavor has 1 vCPUs, but the name promises 2"
    );
    assert_eq!(
        (p[0].expected.as_str(), p[0].actual.as_str()),
        ("at least 2 vCPUs", "1 vCPUs")
    );

    let half = parse("SCS-1V-0.5").unwrap();
    assert!(check_semantics(&half, &facts(1, 461, 0, &[])).is_empty());
    assert_eq!(check_semantics(&half, &facts(1, 460, 0, &[])).len(), 1);

    let disk = parse("SCS-2V-4-20s").unwrap();
    assert!(check_semantics(&disk, &facts(2, 4096, 20, &[])).is_empty());
    let p = check_semantics(&disk, &facts(2, 4096, 19, &[]));
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].aspect, Aspect::Disk);
    assert_eq!(
        p[0].message,
        "the flavor has a 19 GB root disk, but the name promises 20 GB"
    );
    // the multiplier is not compared; a disk part without size has nothing to compare
    assert!(check_semantics(&parse("SCS-2V-4-3x10").unwrap(), &facts(2, 4096, 10, &[])).is_empty());
    assert!(check_semantics(&parse("SCS-2V-4-n").unwrap(), &facts(2, 4096, 0, &[])).is_empty());
    assert!(check_semantics(&parse("SCS-2C-4-3xs").unwrap(), &facts(2, 4096, 0, &[])).is_empty());
    // no disk part: any disk is fine
    assert!(check_semantics(&n, &facts(2, 4096, 50, &[])).is_empty());
    // all three at once
    let p = check_semantics(&disk, &facts(1, 1024, 5, &[]));
    let aspects: Vec<_> = p.iter().map(|p| p.aspect.clone()).collect();
    assert_eq!(aspects, vec![Aspect::Cpus, Aspect::Ram, Aspect::Disk]);
    assert!(p.iter().all(|p| p.aspect.is_resource()));
}

#[test]
fn semantics_checks_present_extra_specs() {
    let n = parse("SCS-1V-4-10").unwrap();
    let ok = facts(
        1,
        4096,
        10,
        &[
            ("scs:cpu-type", "shared-core"),
            ("scs:disk0-type", "ssd"),
            ("scs:name-v1", "SCS-1V:4:10"),
            ("scs:name-v2", "SCS-1V-4-10"),
            ("scs:name-v3", "SCS-1V-4"),
            ("hw:cpu_policy", "whatever"),
        ],
    );
    assert_eq!(check_semantics(&n, &ok), vec![]);

    let bad = facts(
        1,
        4096,
        10,
        &[
            ("scs:cpu-type", "crowded-core"),
            ("scs:disk0-type", "fast"),
            ("scs:disk1-type", "fast"),
            ("scs:name-v1", "SCS-1X-4"),
            ("scs:name-v7", "SCS-2V-4-10"),
        ],
    );
    let p = check_semantics(&n, &bad);
    let msgs: Vec<_> = p.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(
        msgs,
        vec![
            "scs:cpu-type is \"crowded-core\", but the CPU letter V means \"shared-core\"",
            "scs:disk0-type is \"fast\", expected one of ssd, nvme, hdd, network",
            "scs:name-v1 is not a valid SCS flavor name: SCS-1X-4: at position 6 ('X'): expected a CPU type letter L, V, T or C",
            "the flavor has 1 vCPUs, but the name (scs:name-v7 SCS-2V-4-10) promises 2",
        ]
    );
    assert!(p.iter().all(|p| !p.aspect.is_resource()));
    // a specified disk type must match exactly
    let p = check_semantics(
        &parse("SCS-2V-4-20s").unwrap(),
        &facts(2, 4096, 20, &[("scs:disk0-type", "network")]),
    );
    assert_eq!(p[0].message, "scs:disk0-type is \"network\", expected ssd");
    // convenience entry point
    assert_eq!(semantics_of("m1.small", &ok), None);
    assert_eq!(semantics_of("SCS-1V:4:10", &ok), Some(vec![]));
}

#[test]
fn expected_specs_follow_the_name() {
    let e = expected_specs(&parse("SCS-4C-16-2x200p_a1").unwrap());
    assert_eq!(
        (e.cpus, e.ram_gib, e.disk_gb, e.has_disk),
        (4, 16.0, 200, true)
    );
    let specs: Vec<(String, String)> = e.reference_extra_specs().into_iter().collect();
    let want = [
        ("scs:cpu-type", "dedicated-core"),
        ("scs:disk0-type", "nvme"),
        ("scs:disk1-type", "nvme"),
        ("scs:name-v1", "SCS-4C:16:2x200p-a1"),
        ("scs:name-v2", "SCS-4C-16-2x200p_a1"),
        ("scs:name-v3", "SCS-4C:16:2x200p-a"),
        ("scs:name-v4", "SCS-4C-16-2x200p_a"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(specs, want);

    let e = expected_specs(&parse("SCS-1L-1").unwrap());
    assert_eq!(e.ram_mib(), 1024.0);
    assert_eq!(e.disk_gb, 0);
    assert!(!e.has_disk);
    let keys: Vec<_> = e.extra_specs.keys().cloned().collect();
    assert_eq!(keys, ["scs:cpu-type", "scs:name-v1", "scs:name-v2"]);
    assert_eq!(
        e.extra_specs["scs:cpu-type"],
        SpecValue::Exact("crowded-core".into())
    );
    assert_eq!(
        e.extra_specs["scs:name-v1"],
        SpecValue::Exact("SCS-1L:1".into())
    );

    let e = expected_specs(&parse("SCS-1V-4-10").unwrap());
    assert_eq!(e.extra_specs["scs:disk0-type"], SpecValue::AnyDiskType);
    assert_eq!(e.reference_extra_specs()["scs:disk0-type"], "network");

    let huge = expected_specs(&parse("SCS-1V-4-99999x10").unwrap());
    assert_eq!(
        huge.extra_specs
            .keys()
            .filter(|k| k.starts_with("scs:disk"))
            .count() as u64,
        MAX_LISTED_DISKS
    );
}

/// Facts of a correctly configured standard flavor.
fn standard_facts(name: &str) -> FlavorFacts {
    let e = expected_specs(&parse(name).unwrap());
    FlavorFacts {
        vcpus: e.cpus,
        ram_mib: e.ram_mib() as u64,
        disk_gb: e.disk_gb,
        extra_specs: e.reference_extra_specs().into_iter().collect(),
    }
}

#[test]
fn standard_flavor_comparison_is_exact() {
    // The seven deliberate faults of the upstream "wrong flavors" regression case.
    let check = |name: &str, change: &dyn Fn(&mut FlavorFacts)| {
        let mut f = standard_facts(name);
        assert!(
            check_standard_flavor(&expected_specs(&parse(name).unwrap()), &f).is_empty(),
            "{name} correct"
        );
        change(&mut f);
        check_standard_flavor(&expected_specs(&parse(name).unwrap()), &f)
            .into_iter()
            .map(|p| p.message)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        check("SCS-1V-4", &|f| {
            f.extra_specs
                .insert("scs:cpu-type".into(), "crowded-core".into());
        }),
        ["scs:cpu-type: \"crowded-core\" should be shared-core"]
    );
    assert_eq!(
        check("SCS-2V-8", &|f| {
            f.extra_specs
                .insert("scs:name-v1".into(), "SCS-2V-8".into());
        }),
        ["scs:name-v1: \"SCS-2V-8\" should be SCS-2V:8"]
    );
    assert_eq!(
        check("SCS-4V-16", &|f| f.ram_mib = 12 * 1024),
        ["ram: 12288 MiB should be 16384 MiB"]
    );
    assert_eq!(
        check("SCS-8V-32", &|f| f.disk_gb = 128),
        ["disk: 128 GB should be 0 GB"]
    );
    assert_eq!(
        check("SCS-1V-2", &|f| f.vcpus = 2),
        ["vcpus: 2 should be 1"]
    );
    assert_eq!(
        check("SCS-2V-4-20s", &|f| {
            f.extra_specs.remove("scs:disk0-type");
        }),
        ["scs:disk0-type: missing should be ssd"]
    );
    assert_eq!(
        check("SCS-4V-16-100s", &|f| f.disk_gb = 10),
        ["disk: 10 GB should be 100 GB"]
    );
    // more is not fine for a standard flavor either
    assert_eq!(
        check("SCS-2V-4", &|f| f.vcpus = 4),
        ["vcpus: 4 should be 2"]
    );
    // open disk type: any valid type, but present
    assert!(
        check("SCS-1V-4-10", &|f| {
            f.extra_specs.insert("scs:disk0-type".into(), "hdd".into());
        })
        .is_empty()
    );
    assert_eq!(
        check("SCS-1V-4-10", &|f| {
            f.extra_specs.remove("scs:disk0-type");
        }),
        ["scs:disk0-type: missing should be one of ssd, nvme, hdd, network"]
    );
    // unexpected scs: keys are ignored
    assert!(
        check("SCS-1V-4", &|f| {
            f.extra_specs.insert("scs:disk0-type".into(), "ssd".into());
        })
        .is_empty()
    );
}

// ---------------------------------------------------------------------------------------------
// Generated names

/// xorshift64: small, deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

fn random_name(rng: &mut Rng) -> FlavorName {
    let disk = rng.chance(60).then(|| Disk {
        count: if rng.chance(70) { 1 } else { 1 + rng.below(8) },
        size_gb: rng.chance(80).then(|| 1 + rng.below(5000)),
        kind: rng.chance(70).then(|| rng.pick(&DiskType::ALL)),
    });
    let arch = rng.chance(40).then(|| {
        let vendor = rng.pick(&CpuVendor::ALL);
        Arch {
            vendor,
            generation: rng.below(vendor.generations().len() as u64) as u8,
            frequency: rng.below(4) as u8,
        }
    });
    let gpu = rng.chance(30).then(|| {
        let vendor = rng.pick(&GpuVendor::ALL);
        let generation = if rng.chance(20) {
            String::new()
        } else {
            rng.pick(vendor.generations()).to_string()
        };
        let units = rng.chance(60).then(|| rng.below(300));
        let units_perf = rng.below(3) as u8;
        // a VRAM count needs a unit count or an 'h' before it, else it reads as units
        let vram_gib = (units.is_some() || units_perf > 0)
            .then(|| rng.chance(50).then(|| 1 + rng.below(300)))
            .flatten();
        Gpu {
            passthrough: rng.chance(50),
            vendor,
            generation,
            units,
            units_perf,
            vram_gib,
            // 'h' after the VRAM need a VRAM count, else they read as unit 'h'
            vram_perf: if vram_gib.is_some() {
                rng.below(3) as u8
            } else {
                0
            },
        }
    });
    FlavorName {
        cpus: 1 + rng.below(256),
        cpu_type: rng.pick(&CpuType::ALL),
        insecure: rng.chance(20),
        ram_gib: (1 + rng.below(2048)) as f64 / 2.0,
        no_ecc: rng.chance(20),
        ram_oversubscribed: rng.chance(20),
        disk,
        hypervisor: rng.chance(30).then(|| rng.pick(&Hypervisor::ALL)),
        hwv: rng.chance(20),
        arch,
        gpu,
        infiniband: rng.chance(20),
    }
}

/// The canonical text with harmless non-canonical spellings mixed in.
fn noisy_text(rng: &mut Rng, n: &FlavorName) -> String {
    let canonical = n.to_string();
    let mut text = canonical.clone();
    if rng.chance(20) {
        text = text.replacen("SCS-", "SCS-0", 1);
    }
    if rng.chance(20) && n.ram_gib.fract() == 0.0 {
        let ram = format!("-{}", format_ram(n.ram_gib));
        let pos = 4 + text[4..].find(n.cpu_type.letter()).unwrap();
        let (head, tail) = text.split_at(pos);
        text = format!("{head}{}", tail.replacen(&ram, &format!("{ram}.0"), 1));
    }
    text
}

#[test]
fn generated_names_round_trip() {
    let mut rng = Rng(0x5eed_f1a7_0123_4567);
    for _ in 0..5000 {
        let n = random_name(&mut rng);
        let text = n.to_string();
        let parsed = parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(parsed, n, "{text}");
        assert_eq!(parsed.to_string(), text);
        let noisy = noisy_text(&mut rng, &n);
        assert_eq!(parse(&noisy).unwrap_or_else(|e| panic!("{noisy}: {e}")), n);
        // the short form is a valid name that round-trips too
        let short = n.short();
        assert_eq!(parse(&short.to_string()).unwrap(), short);
        // v1 round trip (v1 has no Cloud Hypervisor)
        if n.hypervisor != Some(Hypervisor::CloudHypervisor) {
            let v1 = n.to_v1();
            assert_eq!(parse_v1(&v1).unwrap_or_else(|e| panic!("{v1}: {e}")), n);
            assert!(matches!(check_name(&v1), NameCheck::ToleratedV1(_)), "{v1}");
            assert_eq!(v1_to_v2(&v1).unwrap(), text);
        }
        assert!(!explain(&n).is_empty());
        // every name variant of the expected specs is acceptable and means the short or long name
        for (key, value) in expected_specs(&n).extra_specs {
            if key.starts_with("scs:name-v") {
                let v = value.reference_value();
                let back = check_name(v).flavor().cloned().unwrap();
                assert!(back == n || back == short, "{key}={v} for {text}");
            }
        }
        // a flavor that exactly matches its expected specs has no semantic problems
        let e = expected_specs(&n);
        let f = FlavorFacts {
            vcpus: e.cpus,
            ram_mib: e.ram_mib() as u64,
            disk_gb: e.disk_gb,
            extra_specs: e.reference_extra_specs().into_iter().collect(),
        };
        assert_eq!(check_semantics(&n, &f), vec![], "{text}");
        assert_eq!(check_standard_flavor(&e, &f), vec![], "{text}");
    }
}

const ALPHABET: &[char] = &[
    'S', 'C', 'S', '-', '-', '_', '_', ':', '.', 'x', '0', '1', '2', '3', '4', '5', '9', 'L', 'V',
    'T', 'i', 'u', 'o', 'n', 'h', 's', 'p', 'k', 'v', 'm', 'b', 'w', 'z', 'a', 'r', 'g', 'G', 'N',
    'A', 'I', 'y', 'é', '\0', '\n', ' ',
];

fn check_outcome(input: &str, result: Result<FlavorName, ParseError>, v1: bool) {
    match result {
        Ok(n) => {
            let text = if v1 { n.to_v1() } else { n.to_string() };
            let again = if v1 { parse_v1(&text) } else { parse(&text) };
            assert_eq!(again.as_ref(), Ok(&n), "{input:?} printed as {text:?}");
        }
        Err(e) => {
            let len = input.chars().count();
            assert!(e.position >= 1 && e.position <= len + 1, "{input:?}: {e}");
            assert_eq!(e.found, input.chars().nth(e.position - 1), "{input:?}: {e}");
            assert!(!e.to_string().is_empty());
        }
    }
}

#[test]
fn random_input_never_panics() {
    let mut rng = Rng(0x0dd_ba11_cafe_f00d);
    for _ in 0..20000 {
        // random bytes, lossily decoded
        let len = rng.below(40) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let s = String::from_utf8_lossy(&bytes).into_owned();
        check_outcome(&s, parse(&s), false);
        check_outcome(&s, parse_v1(&s), true);
        let _ = check_name(&s);

        // grammar-like strings after a valid prefix
        let len = rng.below(30) as usize;
        let tail: String = (0..len).map(|_| rng.pick(ALPHABET)).collect();
        let s = format!("SCS-{}{tail}", 1 + rng.below(9));
        check_outcome(&s, parse(&s), false);
        check_outcome(&s, parse_v1(&s), true);
        if let Some(n) = check_name(&s).flavor() {
            let _ = explain(n);
            let _ = check_semantics(n, &facts(1, 1, 1, &[("scs:name-v1", &s)]));
        }

        // a valid name with one character changed, inserted or removed
        let mut chars: Vec<char> = random_name(&mut rng).to_string().chars().collect();
        let at = rng.below(chars.len() as u64) as usize;
        match rng.below(3) {
            0 => chars[at] = rng.pick(ALPHABET),
            1 => chars.insert(at, rng.pick(ALPHABET)),
            _ => {
                chars.remove(at);
            }
        }
        let s: String = chars.into_iter().collect();
        check_outcome(&s, parse(&s), false);
        check_outcome(&s, parse_v1(&s), true);
    }
}
