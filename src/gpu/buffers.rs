//! Pooled GPU buffers and the bind-group cache.
//!
//! A [`Buf`] is a cheap, clonable handle; when the last clone drops, its wgpu buffer goes back
//! to the pool's free list for its (kind, size class). `acquire` always hands out the free
//! buffer with the lowest id, so which buffer an op gets depends only on which are free, not
//! on the order they came back: a loop that runs the same chain every frame gets the same
//! buffers every frame, and the bind-group cache (keyed by pipeline and buffer ids) hits every
//! time. In steady state no buffer and no bind group is created.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What a buffer is for; STORAGE buffers and MAP_READ staging buffers are kept apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BufKind {
    /// Kernel data: STORAGE | COPY_SRC | COPY_DST | INDIRECT (a kernel can size a later
    /// dispatch: [`super::Recorder::dispatch_indirect_at`]).
    Storage,
    /// Kernel parameters: UNIFORM | STORAGE | COPY_DST. The shaders bind them as a read-only
    /// storage buffer and copy them into a private variable once per invocation. Not as a
    /// uniform buffer: Mesa 22.3's lavapipe (Debian 12) inlines uniform values into the shader
    /// and compiles a new variant on every dispatch without ever freeing it, which cost
    /// about 1 MB of RSS per 512x512 frame and a compile per dispatch. Constants that matter
    /// to the compiler (the Gaussian radius) are pipeline `override`s instead
    /// ([`super::Recorder::dispatch_spec`]).
    Uniform,
    /// Readback staging: MAP_READ | COPY_DST.
    Readback,
    /// Timestamp resolve target: QUERY_RESOLVE | COPY_SRC.
    Query,
}

impl BufKind {
    fn usage(self) -> wgpu::BufferUsages {
        use wgpu::BufferUsages as U;
        match self {
            BufKind::Storage => U::STORAGE | U::COPY_SRC | U::COPY_DST | U::INDIRECT,
            BufKind::Uniform => U::UNIFORM | U::STORAGE | U::COPY_DST,
            BufKind::Readback => U::MAP_READ | U::COPY_DST,
            BufKind::Query => U::QUERY_RESOLVE | U::COPY_SRC,
        }
    }
}

/// Rounds a size up to its class: 256 B minimum, then steps of 1/8 of a power of two, so a
/// pooled buffer wastes at most 12.5 %.
pub(crate) fn size_class(size: u64) -> u64 {
    let size = size.max(256);
    let p = 63 - size.leading_zeros() as u64; // floor(log2)
    if p < 3 {
        return size;
    }
    let step = 1u64 << (p - 3);
    size.div_ceil(step) * step
}

struct Inner {
    id: u64,
    buffer: wgpu::Buffer,
    kind: BufKind,
    size: u64,
    pool: Arc<BufferPool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.pool
            .give_back(self.kind, self.size, self.id, self.buffer.clone());
    }
}

/// A pooled GPU buffer. `len` is what the caller asked for; the buffer may be larger.
#[derive(Clone)]
pub struct Buf {
    inner: Arc<Inner>,
    len: u64,
}

impl std::fmt::Debug for Buf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Buf#{}({:?}, {} B)",
            self.inner.id, self.inner.kind, self.len
        )
    }
}

impl Buf {
    pub(crate) fn id(&self) -> u64 {
        self.inner.id
    }
    pub(crate) fn raw(&self) -> &wgpu::Buffer {
        &self.inner.buffer
    }
    /// Bytes requested by the caller.
    pub fn len(&self) -> u64 {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn kind(&self) -> BufKind {
        self.inner.kind
    }
    /// The binding that covers the requested bytes (not the whole pooled buffer).
    pub(crate) fn binding(&self) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &self.inner.buffer,
            offset: 0,
            size: wgpu::BufferSize::new(self.len.max(4).next_multiple_of(4)),
        })
    }
}

#[derive(Default)]
struct Free {
    lists: HashMap<(BufKind, u64), BTreeMap<u64, wgpu::Buffer>>,
    bytes: u64,
}

/// Free lists of buffers by (kind, size class), and the bind-group cache.
#[derive(Default)]
pub(crate) struct BufferPool {
    free: Mutex<Free>,
    bind_groups: Mutex<HashMap<BindKey, wgpu::BindGroup>>,
    next_id: AtomicU64,
    created: AtomicU64,
    bg_created: AtomicU64,
}

/// (pipeline id, [(binding, buffer id, bound length)]) identifies a bind group.
pub(crate) type BindKey = (u64, Vec<(u32, u64, u64)>);

/// Bind groups kept at most; past this the cache is cleared (a chain never needs this many).
const MAX_BIND_GROUPS: usize = 8192;
/// Idle bytes the pool may hold before it releases its free buffers.
const MAX_IDLE_BYTES: u64 = 4 << 30;

impl BufferPool {
    pub(crate) fn acquire(self: &Arc<Self>, device: &wgpu::Device, kind: BufKind, len: u64) -> Buf {
        let size = size_class(len);
        let reused = {
            let mut free = self.free.lock().unwrap();
            let b = free
                .lists
                .get_mut(&(kind, size))
                .and_then(|l| l.pop_first());
            if b.is_some() {
                free.bytes -= size;
            }
            b
        };
        let (id, buffer) = match reused {
            Some(b) => b,
            None => {
                self.created.fetch_add(1, Ordering::Relaxed);
                let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                let buffer = device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("migrascope pooled"),
                    size,
                    usage: kind.usage(),
                    mapped_at_creation: false,
                });
                (id, buffer)
            }
        };
        Buf {
            inner: Arc::new(Inner {
                id,
                buffer,
                kind,
                size,
                pool: self.clone(),
            }),
            len,
        }
    }

    fn give_back(&self, kind: BufKind, size: u64, id: u64, buffer: wgpu::Buffer) {
        let mut free = self.free.lock().unwrap();
        free.bytes += size;
        free.lists
            .entry((kind, size))
            .or_default()
            .insert(id, buffer);
        if free.bytes > MAX_IDLE_BYTES {
            // Too much idle memory: drop every free buffer and the bind groups that name them.
            free.lists.clear();
            free.bytes = 0;
            drop(free);
            self.bind_groups.lock().unwrap().clear();
        }
    }

    pub(crate) fn bind_group(
        &self,
        device: &wgpu::Device,
        pipeline_id: u64,
        layout: &wgpu::BindGroupLayout,
        bufs: &[(u32, &Buf)],
    ) -> wgpu::BindGroup {
        let key: BindKey = (
            pipeline_id,
            bufs.iter().map(|(i, b)| (*i, b.id(), b.len())).collect(),
        );
        let mut cache = self.bind_groups.lock().unwrap();
        if let Some(bg) = cache.get(&key) {
            return bg.clone();
        }
        let entries: Vec<wgpu::BindGroupEntry> = bufs
            .iter()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: *i,
                resource: b.binding(),
            })
            .collect();
        let bg = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout,
            entries: &entries,
        });
        self.bg_created.fetch_add(1, Ordering::Relaxed);
        if cache.len() >= MAX_BIND_GROUPS {
            cache.clear();
        }
        cache.insert(key, bg.clone());
        bg
    }

    pub(crate) fn created(&self) -> u64 {
        self.created.load(Ordering::Relaxed)
    }

    pub(crate) fn bind_groups_created(&self) -> u64 {
        self.bg_created.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::size_class;

    #[test]
    fn size_classes_cover_and_waste_little() {
        for s in [
            1u64,
            255,
            256,
            257,
            1000,
            4096,
            4097,
            1 << 20,
            (1 << 20) + 1,
            123_456_789,
        ] {
            let c = size_class(s);
            assert!(c >= s, "{s} -> {c}");
            assert!(c <= (s.max(256) as f64 * 1.125) as u64 + 1, "{s} -> {c}");
        }
    }
}
