//! A flavor name described in words, e.g. for `scs-check` output and reports.

use super::{CpuType, DiskType, FlavorName, Hypervisor, format_ram};

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Describes a parsed name in words, e.g. `SCS-2C-4-10n` →
/// "2 dedicated cores, 4 GiB RAM, 10 GB network disk".
pub fn explain(name: &FlavorName) -> String {
    let mut parts = Vec::new();

    let mut cpu = match name.cpu_type {
        CpuType::LowPerf => plural(
            name.cpus,
            "vCPU (heavily oversubscribed)",
            "vCPUs (heavily oversubscribed)",
        ),
        CpuType::Shared => plural(name.cpus, "vCPU (oversubscribed)", "vCPUs (oversubscribed)"),
        CpuType::DedicatedThread => plural(
            name.cpus,
            "dedicated thread (SMT)",
            "dedicated threads (SMT)",
        ),
        CpuType::DedicatedCore => plural(name.cpus, "dedicated core", "dedicated cores"),
    };
    if name.insecure {
        cpu.push_str(", insecure (CPU vulnerability mitigations missing)");
    }
    parts.push(cpu);

    let mut ram = format!("{} GiB RAM", format_ram(name.ram_gib));
    match (name.no_ecc, name.ram_oversubscribed) {
        (true, true) => ram.push_str(" (no ECC, oversubscribed)"),
        (true, false) => ram.push_str(" (no ECC)"),
        (false, true) => ram.push_str(" (oversubscribed)"),
        (false, false) => {}
    }
    parts.push(ram);

    match &name.disk {
        None => parts.push("no root disk (boot from volume)".to_string()),
        Some(disk) => {
            let kind = match disk.kind {
                None => "disk of a type chosen by the cloud",
                Some(DiskType::Network) => "network disk",
                Some(DiskType::Hdd) => "local HDD",
                Some(DiskType::Ssd) => "local SSD",
                Some(DiskType::Nvme) => "local high-performance NVMe disk",
            };
            let size = match disk.size_gb {
                Some(gb) => format!("{gb} GB"),
                None => "cloud-sized".to_string(),
            };
            let count = if disk.count == 1 {
                String::new()
            } else {
                format!("{}x ", disk.count)
            };
            parts.push(format!("{count}{size} {kind}"));
        }
    }

    if let Some(hyp) = name.hypervisor {
        parts.push(
            match hyp {
                Hypervisor::Kvm => "hypervisor KVM",
                Hypervisor::Xen => "hypervisor Xen",
                Hypervisor::Vmware => "hypervisor VMware",
                Hypervisor::HyperV => "hypervisor Hyper-V",
                Hypervisor::BareMetal => "bare metal (no hypervisor)",
                Hypervisor::CloudHypervisor => "hypervisor Cloud Hypervisor",
            }
            .to_string(),
        );
    }
    if name.hwv {
        parts.push("hardware virtualization exposed (nested virtualization)".to_string());
    }
    if let Some(arch) = &name.arch {
        let generation = arch
            .vendor
            .generations()
            .get(usize::from(arch.generation))
            .copied()
            .unwrap_or("unknown generation");
        let mut text = format!("{} CPU, {generation}", arch.vendor.label());
        let freq = match arch.frequency {
            0 => "",
            1 => ", >2.75 GHz all-core",
            2 => ", >3.25 GHz all-core",
            _ => ", >3.75 GHz all-core",
        };
        text.push_str(freq);
        parts.push(text);
    }
    if let Some(gpu) = &name.gpu {
        let generation = if gpu.generation.is_empty() {
            String::new()
        } else {
            format!(" {}", gpu.vendor.generation_label(&gpu.generation))
        };
        let mut text = format!(
            "{} {}{generation} GPU",
            if gpu.passthrough {
                "pass-through"
            } else {
                "virtual"
            },
            gpu.vendor.label()
        );
        if let Some(units) = gpu.units {
            text.push_str(&format!(" with {units} {}", gpu.vendor.units()));
        }
        match gpu.units_perf {
            0 => {}
            1 => text.push_str(", high frequency"),
            _ => text.push_str(", very high frequency"),
        }
        if let Some(vram) = gpu.vram_gib {
            text.push_str(&format!(", {vram} GiB video memory"));
        }
        match gpu.vram_perf {
            0 => {}
            1 => text.push_str(", high-bandwidth memory"),
            _ => text.push_str(", very high-bandwidth memory"),
        }
        parts.push(text);
    }
    if name.infiniband {
        parts.push("InfiniBand".to_string());
    }
    parts.join(", ")
}
