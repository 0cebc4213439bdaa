//! Adapter choice and device creation. The device asks for the adapter's real limits (not
//! wgpu's small defaults) so that large frames fit wherever the hardware allows.

use std::sync::Arc;

use serde::Serialize;

use super::buffers::BufferPool;
use super::kernels::Kernels;
use super::profile::{KernelTime, Profiler};
use crate::error::{Error, Result};

/// What every adapter must offer: compute shaders and indirect dispatch (work sized on the
/// GPU): desktop Vulkan, DX12 and Metal adapters and GL 4.3 have both.
pub const REQUIRED_DOWNLEVEL: wgpu::DownlevelFlags =
    wgpu::DownlevelFlags::COMPUTE_SHADERS.union(wgpu::DownlevelFlags::INDIRECT_EXECUTION);
/// Backend a user can force with `--backend` or `MIGRASCOPE_BACKEND`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BackendChoice {
    Vulkan,
    Gl,
    Metal,
    Dx12,
}

impl BackendChoice {
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "vulkan" | "vk" => Ok(BackendChoice::Vulkan),
            "gl" | "gles" | "opengl" => Ok(BackendChoice::Gl),
            "metal" => Ok(BackendChoice::Metal),
            "dx12" | "d3d12" => Ok(BackendChoice::Dx12),
            other => Err(Error::invalid(format!(
                "unknown backend '{other}' (expected vulkan, gl, metal or dx12)"
            ))),
        }
    }

    fn backends(self) -> wgpu::Backends {
        match self {
            BackendChoice::Vulkan => wgpu::Backends::VULKAN,
            BackendChoice::Gl => wgpu::Backends::GL,
            BackendChoice::Metal => wgpu::Backends::METAL,
            BackendChoice::Dx12 => wgpu::Backends::DX12,
        }
    }
}

/// How to pick the adapter. Empty fields fall back to `MIGRASCOPE_DEVICE` / `MIGRASCOPE_BACKEND`.
#[derive(Clone, Debug, Default)]
pub struct GpuOptions {
    /// Case-insensitive substring of the adapter name.
    pub device: Option<String>,
    pub backend: Option<BackendChoice>,
}

impl GpuOptions {
    /// These options with the environment filled in where a field is empty.
    pub fn with_env(&self) -> Result<Self> {
        let mut o = self.clone();
        if o.device.is_none() {
            o.device = std::env::var("MIGRASCOPE_DEVICE")
                .ok()
                .filter(|s| !s.is_empty());
        }
        if o.backend.is_none()
            && let Ok(b) = std::env::var("MIGRASCOPE_BACKEND")
            && !b.is_empty()
        {
            o.backend = Some(BackendChoice::parse(&b)?);
        }
        Ok(o)
    }
}

/// The limits that matter for image work, as `devices` prints them.
#[derive(Clone, Debug, Serialize)]
pub struct LimitsReport {
    pub max_buffer_size: u64,
    pub max_storage_buffer_binding_size: u64,
    pub max_storage_buffers_per_shader_stage: u32,
    pub max_compute_workgroup_storage_size: u32,
    pub max_compute_invocations_per_workgroup: u32,
    pub max_compute_workgroup_size_x: u32,
    pub max_compute_workgroups_per_dimension: u32,
    pub subgroups: bool,
    pub min_subgroup_size: u32,
    pub max_subgroup_size: u32,
    pub timestamp_queries: bool,
    pub shader_int64_atomics: bool,
}

/// One adapter as `migrascope devices` reports it.
#[derive(Clone, Debug, Serialize)]
pub struct AdapterReport {
    pub index: usize,
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub driver_info: String,
    pub vendor: u32,
    pub device: u32,
    pub limits: LimitsReport,
}

fn backend_name(b: wgpu::Backend) -> &'static str {
    match b {
        wgpu::Backend::Vulkan => "vulkan",
        wgpu::Backend::Gl => "gl",
        wgpu::Backend::Metal => "metal",
        wgpu::Backend::Dx12 => "dx12",
        wgpu::Backend::BrowserWebGpu => "webgpu",
        _ => "other",
    }
}

fn device_type_name(t: wgpu::DeviceType) -> &'static str {
    match t {
        wgpu::DeviceType::DiscreteGpu => "discrete-gpu",
        wgpu::DeviceType::IntegratedGpu => "integrated-gpu",
        wgpu::DeviceType::VirtualGpu => "virtual-gpu",
        wgpu::DeviceType::Cpu => "cpu",
        wgpu::DeviceType::Other => "other",
    }
}

fn report(index: usize, a: &wgpu::Adapter) -> AdapterReport {
    let i = a.get_info();
    let l = a.limits();
    let f = a.features();
    AdapterReport {
        index,
        name: i.name.clone(),
        backend: backend_name(i.backend).into(),
        device_type: device_type_name(i.device_type).into(),
        driver: i.driver.clone(),
        driver_info: i.driver_info.clone(),
        vendor: i.vendor,
        device: i.device,
        limits: LimitsReport {
            max_buffer_size: l.max_buffer_size,
            max_storage_buffer_binding_size: l.max_storage_buffer_binding_size,
            max_storage_buffers_per_shader_stage: l.max_storage_buffers_per_shader_stage,
            max_compute_workgroup_storage_size: l.max_compute_workgroup_storage_size,
            max_compute_invocations_per_workgroup: l.max_compute_invocations_per_workgroup,
            max_compute_workgroup_size_x: l.max_compute_workgroup_size_x,
            max_compute_workgroups_per_dimension: l.max_compute_workgroups_per_dimension,
            subgroups: f.contains(wgpu::Features::SUBGROUP),
            min_subgroup_size: i.subgroup_min_size,
            max_subgroup_size: i.subgroup_max_size,
            timestamp_queries: f.contains(wgpu::Features::TIMESTAMP_QUERY),
            shader_int64_atomics: f.contains(wgpu::Features::SHADER_INT64_ATOMIC_ALL_OPS),
        },
    }
}

fn instance(backends: wgpu::Backends) -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = backends;
    desc.flags = wgpu::InstanceFlags::empty();
    wgpu::Instance::new(desc)
}

fn rank(a: &wgpu::Adapter) -> (u8, u8) {
    let i = a.get_info();
    let ty = match i.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    };
    let be = if i.backend == wgpu::Backend::Gl { 1 } else { 0 };
    (ty, be)
}

/// The device every op runs on, with its kernel registry and buffer pool.
pub struct Gpu {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    report: AdapterReport,
    pub(crate) kernels: Kernels,
    pub(crate) pool: Arc<BufferPool>,
    pub(crate) profiler: std::sync::OnceLock<Profiler>,
    /// The first GPU error wgpu reported outside an error scope (validation, out of memory,
    /// internal) or the device loss; sticky, because a device that failed once has left
    /// some buffer unwritten and every later result is suspect.
    failure: Arc<std::sync::Mutex<Option<String>>>,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gpu({} on {})", self.report.name, self.report.backend)
    }
}

impl Gpu {
    /// Every adapter wgpu can see on every compiled-in backend.
    pub fn list_adapters() -> Vec<AdapterReport> {
        let inst = instance(wgpu::Backends::all());
        let adapters = pollster::block_on(inst.enumerate_adapters(wgpu::Backends::all()));
        adapters
            .iter()
            .enumerate()
            .map(|(i, a)| report(i, a))
            .collect()
    }

    /// Opens the best adapter matching `opts` (and the environment) that has
    /// [`REQUIRED_DOWNLEVEL`], with its real limits.
    pub fn new(opts: &GpuOptions) -> Result<Gpu> {
        let opts = opts.with_env()?;
        let wanted = opts
            .backend
            .map(|b| b.backends())
            .unwrap_or(wgpu::Backends::all());
        let find = |backends: wgpu::Backends| {
            let inst = instance(backends);
            let mut found = pollster::block_on(inst.enumerate_adapters(backends));
            // compute shaders, and dispatches sized on the GPU (peak rounds over a list)
            found.retain(|a| {
                a.get_downlevel_capabilities()
                    .flags
                    .contains(REQUIRED_DOWNLEVEL)
            });
            if let Some(want) = &opts.device {
                let want = want.to_lowercase();
                found.retain(|a| a.get_info().name.to_lowercase().contains(&want));
            }
            found
        };
        // GL (EGL) is probed only when asked for or when no native API (Vulkan, Metal,
        // DX12) offers any adapter: opening EGL on a headless machine is slow and makes
        // libwayland print to stderr. `--backend gl` reaches a GPU that only has GL.
        let native = wanted & !wgpu::Backends::GL;
        let mut adapters = if native.is_empty() {
            Vec::new()
        } else {
            find(native)
        };
        if wanted.contains(wgpu::Backends::GL) && adapters.is_empty() {
            adapters.extend(find(wgpu::Backends::GL));
        }
        adapters.sort_by_key(rank);
        let adapter = adapters.into_iter().next().ok_or_else(|| {
            Error::Gpu(format!(
                "no GPU adapter found (backend {}, device {}, with compute shaders and \
                 indirect dispatch); on Linux install Mesa's lavapipe (mesa-vulkan-drivers) \
                 or llvmpipe (libgl1-mesa-dri, libegl1)",
                opts.backend
                    .map(|b| format!("{b:?}"))
                    .unwrap_or_else(|| "any".into()),
                opts.device.as_deref().unwrap_or("any")
            ))
        })?;
        let rep = report(0, &adapter);
        let mut features = wgpu::Features::empty();
        if adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY) {
            features |= wgpu::Features::TIMESTAMP_QUERY;
        }
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("migrascope"),
            required_features: features,
            required_limits: adapter.limits(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| {
            Error::Gpu(format!(
                "{} ({}): cannot create device: {e}",
                rep.name, rep.backend
            ))
        })?;
        let failure: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
        let first = failure.clone();
        device.on_uncaptured_error(Arc::new(move |e| {
            let kind = match &e {
                wgpu::Error::OutOfMemory { .. } => "out of GPU memory",
                wgpu::Error::Validation { .. } => "GPU validation error",
                wgpu::Error::Internal { .. } => "internal GPU error",
            };
            let msg = format!("{kind}: {e}").replace('\n', " ");
            first.lock().unwrap().get_or_insert(msg);
        }));
        let lost = failure.clone();
        device.set_device_lost_callback(move |reason, msg| {
            if reason != wgpu::DeviceLostReason::Destroyed {
                let msg = format!("GPU device lost ({reason:?}): {msg}").replace('\n', " ");
                lost.lock().unwrap().get_or_insert(msg);
            }
        });
        Ok(Gpu {
            failure,
            kernels: Kernels::default(),
            pool: Arc::new(BufferPool::default()),
            profiler: std::sync::OnceLock::new(),
            device,
            queue,
            report: rep,
        })
    }

    /// `Err(Error::Gpu)` with the first GPU error reported on this device (validation, out of
    /// memory, device lost), if any. Results read back after such an error are not to be
    /// trusted, so every readback and the pipelines check this before committing a result.
    pub fn check(&self) -> Result<()> {
        match &*self.failure.lock().unwrap() {
            Some(m) => Err(Error::Gpu(m.clone())),
            None => Ok(()),
        }
    }

    /// Adapter name, backend, type, driver and limits of this device.
    pub fn adapter(&self) -> &AdapterReport {
        &self.report
    }

    /// Largest single storage binding in bytes.
    pub fn max_binding(&self) -> u64 {
        self.report.limits.max_storage_buffer_binding_size
    }

    /// Whether the device was created with timestamp queries.
    pub fn has_timestamps(&self) -> bool {
        self.device
            .features()
            .contains(wgpu::Features::TIMESTAMP_QUERY)
    }

    /// Times every dispatch recorded from now on with timestamp queries; false when the
    /// adapter has none.
    pub fn enable_profiling(&self) -> bool {
        if !self.has_timestamps() {
            return false;
        }
        let _ = self
            .profiler
            .set(Profiler::new(self.queue.get_timestamp_period()));
        true
    }

    /// GPU time per kernel since profiling was enabled, slowest first (waits for the GPU).
    pub fn profile(&self) -> Vec<KernelTime> {
        self.profiler
            .get()
            .map(|p| p.report(self))
            .unwrap_or_default()
    }

    /// Count of pipelines, buffers and bind groups created so far (steady-state checks).
    pub fn creation_counts(&self) -> (u64, u64, u64) {
        (
            self.kernels.created(),
            self.pool.created(),
            self.pool.bind_groups_created(),
        )
    }
}
