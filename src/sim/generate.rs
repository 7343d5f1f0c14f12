//! Bulk content for a fixture's `generate:` section: many valid SCS flavors and many images
//! with complete, valid metadata, so a large cloud needs no giant file.

use super::fixture::{Fixture, FlavorDef, GenerateDef, ImageDef};
use indexmap::IndexMap;
use serde_json::json;

/// Appends generated flavors and images to `f`.
pub fn extend(f: &mut Fixture, g: &GenerateDef) {
    let rams: [f64; 20] = [
        1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0, 96.0, 128.0, 192.0,
        256.0, 384.0, 512.0, 768.0,
    ];
    let types = [("C", "dedicated-core"), ("T", "dedicated-thread")];
    let existing: std::collections::HashSet<String> =
        f.flavors.iter().map(|fl| fl.name.clone()).collect();
    let mut n = 0usize;
    'outer: for (letter, cpu_type) in types {
        for cpus in 1..=64u64 {
            for ram in rams {
                if n >= g.flavors {
                    break 'outer;
                }
                let ram_s = if ram.fract() == 0.0 {
                    format!("{}", ram as u64)
                } else {
                    format!("{ram:.1}")
                };
                let name = format!("SCS-{cpus}{letter}-{ram_s}");
                if existing.contains(&name) {
                    continue;
                }
                let mut specs = IndexMap::new();
                specs.insert("scs:cpu-type".into(), cpu_type.to_string());
                specs.insert("scs:name-v1".into(), format!("SCS-{cpus}{letter}:{ram_s}"));
                specs.insert("scs:name-v2".into(), name.clone());
                f.flavors.push(FlavorDef {
                    id: Some(format!("gen-flavor-{n:05}")),
                    name,
                    vcpus: cpus,
                    ram: (ram * 1024.0) as u64,
                    disk: 0,
                    extra_specs: specs,
                    is_public: true,
                    description: None,
                });
                n += 1;
            }
        }
    }
    for i in 0..g.images {
        let mut p = IndexMap::new();
        p.insert("architecture".into(), json!("x86_64"));
        p.insert("hypervisor_type".into(), json!("kvm"));
        p.insert("hw_disk_bus".into(), json!("scsi"));
        p.insert("hw_rng_model".into(), json!("virtio"));
        p.insert("os_distro".into(), json!("generic-os"));
        p.insert(
            "os_version".into(),
            json!(format!("{}.{}", i / 100, i % 100)),
        );
        p.insert("os_purpose".into(), json!("custom"));
        p.insert("image_build_date".into(), json!("@today-20d"));
        p.insert("image_original_user".into(), json!("generic"));
        p.insert(
            "image_source".into(),
            json!("https://images.example.org/generic/"),
        );
        p.insert(
            "image_description".into(),
            json!("https://images.example.org/generic/README"),
        );
        p.insert("replace_frequency".into(), json!("never"));
        p.insert("provided_until".into(), json!("none"));
        p.insert("uuid_validity".into(), json!("none"));
        p.insert("hotfix_hours".into(), json!("0"));
        f.images.push(ImageDef {
            id: Some(format!("00000000-0000-4000-8000-{i:012}")),
            name: format!("Generic Image {i:05}"),
            status: "active".into(),
            visibility: "public".into(),
            os_hidden: false,
            size: Some(1_073_741_824),
            min_disk: 2,
            min_ram: 512,
            os_hash_algo: Some("sha512".into()),
            created_at: Some("@now-10d".into()),
            properties: p,
        });
    }
}
