//! `migrascope devices`: every adapter with its backend, type, driver and limits.

use crate::gpu::Gpu;

#[derive(clap::Args, Debug)]
pub struct DevicesArgs {
    /// One JSON line per adapter
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: DevicesArgs) -> crate::Result<()> {
    let adapters = Gpu::list_adapters();
    if adapters.is_empty() {
        return Err(crate::Error::Gpu(
            "no GPU adapter found; on Linux install mesa-vulkan-drivers (lavapipe)".into(),
        ));
    }
    for ad in &adapters {
        if a.json {
            println!(
                "{}",
                serde_json::to_string(ad).expect("adapter report serializes")
            );
        } else {
            let l = &ad.limits;
            println!(
                "[{}] {} ({}, {})",
                ad.index, ad.name, ad.backend, ad.device_type
            );
            println!("    driver: {} {}", ad.driver, ad.driver_info);
            println!(
                "    max buffer {} MiB, max storage binding {} MiB, {} storage buffers/stage",
                l.max_buffer_size >> 20,
                l.max_storage_buffer_binding_size >> 20,
                l.max_storage_buffers_per_shader_stage
            );
            println!(
                "    workgroup: {} invocations, {} KiB shared, {} groups/dim",
                l.max_compute_invocations_per_workgroup,
                l.max_compute_workgroup_storage_size >> 10,
                l.max_compute_workgroups_per_dimension
            );
            println!(
                "    subgroups: {}{}, timestamps: {}, 64-bit atomics: {}",
                if l.subgroups { "yes" } else { "no" },
                if l.subgroups {
                    format!(" ({}..{})", l.min_subgroup_size, l.max_subgroup_size)
                } else {
                    String::new()
                },
                if l.timestamp_queries { "yes" } else { "no" },
                if l.shader_int64_atomics { "yes" } else { "no" }
            );
        }
    }
    Ok(())
}
