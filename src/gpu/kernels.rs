//! The kernel registry: every WGSL file becomes one shader module and every entry point one
//! compute pipeline, each created once per process, on first use. Creation runs inside a
//! validation error scope so a bad shader or entry point is an [`Error::Kernel`], not a panic.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// A compute pipeline with a process-unique id (the bind-group cache key).
pub(crate) struct Kernel {
    pub(crate) id: u64,
    pub(crate) pipeline: wgpu::ComputePipeline,
    pub(crate) layout: wgpu::BindGroupLayout,
}

/// Pipeline-overridable constants (`override NAME: u32` in WGSL) a pipeline is specialised
/// with: a compile-time constant lets the driver fold divisions and unroll loops.
pub(crate) type Spec = [(&'static str, u32)];

type PipelineKey = (&'static str, &'static str, Vec<(&'static str, u32)>);

#[derive(Default)]
pub(crate) struct Kernels {
    modules: Mutex<HashMap<&'static str, wgpu::ShaderModule>>,
    pipelines: Mutex<HashMap<PipelineKey, Arc<Kernel>>>,
    created: AtomicU64,
}

fn source(shader: &str) -> Option<&'static str> {
    super::sources::SOURCES
        .iter()
        .find(|(n, _)| *n == shader)
        .map(|(_, s)| *s)
}

fn scoped<T>(device: &wgpu::Device, make: impl FnOnce() -> T) -> std::result::Result<T, String> {
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let value = make();
    match pollster::block_on(scope.pop()) {
        Some(e) => Err(e.to_string()),
        None => Ok(value),
    }
}

impl Kernels {
    pub(crate) fn get(
        &self,
        device: &wgpu::Device,
        shader: &'static str,
        entry: &'static str,
        spec: &Spec,
    ) -> Result<Arc<Kernel>> {
        let key: PipelineKey = (shader, entry, spec.to_vec());
        if let Some(k) = self.pipelines.lock().unwrap().get(&key) {
            return Ok(k.clone());
        }
        let err = |msg: String| Error::Kernel {
            shader: shader.into(),
            entry: entry.into(),
            msg,
        };
        let module = {
            let mut modules = self.modules.lock().unwrap();
            match modules.get(shader) {
                Some(m) => m.clone(),
                None => {
                    let src = source(shader).ok_or_else(|| err("no such shader file".into()))?;
                    let m = scoped(device, || {
                        device.create_shader_module(wgpu::ShaderModuleDescriptor {
                            label: Some(shader),
                            source: wgpu::ShaderSource::Wgsl(src.into()),
                        })
                    })
                    .map_err(err)?;
                    modules.insert(shader, m.clone());
                    m
                }
            }
        };
        let constants: Vec<(&str, f64)> = spec.iter().map(|&(n, v)| (n, v as f64)).collect();
        let pipeline = scoped(device, || {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: None,
                module: &module,
                entry_point: Some(entry),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: &constants,
                    ..Default::default()
                },
                cache: None,
            })
        })
        .map_err(err)?;
        let layout = pipeline.get_bind_group_layout(0);
        let id = self.created.fetch_add(1, Ordering::Relaxed);
        let k = Arc::new(Kernel {
            id,
            pipeline,
            layout,
        });
        self.pipelines.lock().unwrap().insert(key, k.clone());
        Ok(k)
    }

    pub(crate) fn created(&self) -> u64 {
        self.created.load(Ordering::Relaxed)
    }
}
