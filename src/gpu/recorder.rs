//! Recording GPU work: a [`Recorder`] collects uploads, dispatches, copies and readbacks into
//! one command buffer; `submit` sends it and starts mapping the readbacks; a [`Readback`]
//! then waits for exactly its submission. The hot path is write → dispatch → copy → map → read.
//!
//! A readback's `map_async` completion is a future (a oneshot channel completed by the map
//! callback); waiting is `pollster::block_on` of that future while the device is polled for
//! the readback's submission, so an async caller can await [`Readback::mapped`] instead.
//! Before bytes are handed out, the device's recorded GPU errors are checked
//! ([`Gpu::check`]): a failed submission yields `Error::Gpu`, never numbers.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytemuck::Pod;
use futures::FutureExt;
use futures::channel::oneshot;

use super::{Buf, BufKind, Gpu};
use crate::error::{Error, Result};

type MapResult = std::result::Result<(), wgpu::BufferAsyncError>;

/// The submission a readback belongs to, filled in by `submit`.
type SubmittedAt = Arc<Mutex<Option<wgpu::SubmissionIndex>>>;

/// What `submit` needs for each readback: the staging buffer, its length, where to record the
/// submission index and the sender that the map callback completes.
struct PendingMap {
    buf: Buf,
    len: u64,
    at: SubmittedAt,
    done: oneshot::Sender<MapResult>,
}

/// Records GPU work for one submission.
pub struct Recorder<'g> {
    gpu: &'g Gpu,
    encoder: wgpu::CommandEncoder,
    /// Every buffer this recording touches. Writes with `queue.write_buffer` land at the next
    /// submit of *any* recorder, so a buffer must not go back to the pool (where another
    /// thread could take it and write it) before the recording that uses it is submitted.
    pinned: Vec<Buf>,
    readbacks: Vec<PendingMap>,
    dispatches: u32,
    /// Profiling: the query set and the kernel of each timed dispatch.
    timing: Option<(wgpu::QuerySet, Vec<&'static str>)>,
}

/// Bytes copied back from the GPU after a submission. Dropped unread after its submission, it
/// unmaps its staging buffer (aborting a pending map) before the buffer returns to the pool;
/// dropped before, there is nothing to unmap.
pub struct Readback {
    buf: Buf,
    len: u64,
    at: SubmittedAt,
    mapped: oneshot::Receiver<MapResult>,
    /// The map result once the future has completed (kept for `is_ready` then `wait`).
    result: Option<MapResult>,
    consumed: bool,
}

impl Drop for Readback {
    fn drop(&mut self) {
        if self.consumed {
            return;
        }
        // no map was started before its recorder was submitted, and none is left after a
        // failed map: unmapping an idle buffer is a validation error, which the device would
        // record and every later readback report (`Gpu::check`)
        let submitted = self.at.lock().map(|a| a.is_some()).unwrap_or(false);
        let failed = match &self.result {
            Some(r) => r.is_err(),
            None => matches!(self.mapped.try_recv(), Ok(Some(Err(_)))),
        };
        if submitted && !failed {
            self.buf.raw().unmap();
        }
    }
}

/// What `submit` returns: the index to wait on, and the number of dispatches recorded.
#[derive(Clone, Debug)]
pub struct Submission {
    pub index: wgpu::SubmissionIndex,
    pub dispatches: u32,
}

fn padded(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if bytes.len().is_multiple_of(4) {
        bytes.into()
    } else {
        let mut v = bytes.to_vec();
        v.resize(bytes.len().next_multiple_of(4), 0);
        v.into()
    }
}

impl<'g> Recorder<'g> {
    pub fn new(gpu: &'g Gpu) -> Self {
        let encoder = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        let timing = gpu.profiler.get().map(|p| {
            let set = p.sets.lock().unwrap().pop().unwrap_or_else(|| {
                gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
                    label: Some("migrascope timestamps"),
                    ty: wgpu::QueryType::Timestamp,
                    count: 2 * super::profile::MAX_TIMED,
                })
            });
            (set, Vec::new())
        });
        Recorder {
            gpu,
            encoder,
            pinned: Vec::new(),
            readbacks: Vec::new(),
            dispatches: 0,
            timing,
        }
    }

    pub fn gpu(&self) -> &'g Gpu {
        self.gpu
    }

    /// A pooled storage buffer of at least `len` bytes (contents undefined).
    pub fn storage(&mut self, len: u64) -> Buf {
        self.gpu
            .pool
            .acquire(&self.gpu.device, BufKind::Storage, len.max(4))
    }

    /// A pooled storage buffer of `len` bytes, zeroed before the next recorded command.
    pub fn zeroed(&mut self, len: u64) -> Buf {
        let b = self.storage(len);
        self.clear(&b);
        b
    }

    /// Zeroes the bytes of `buf` that its handle covers.
    pub fn clear(&mut self, buf: &Buf) {
        let n = buf.len().next_multiple_of(4);
        self.encoder.clear_buffer(buf.raw(), 0, Some(n));
        self.pinned.push(buf.clone());
    }

    /// A storage buffer holding `data` (written when this recording is submitted).
    pub fn upload<T: Pod>(&mut self, data: &[T]) -> Buf {
        let bytes: &[u8] = bytemuck::cast_slice(data);
        let b = self.storage(bytes.len() as u64);
        self.write(&b, bytes);
        b
    }

    /// Writes `bytes` at the start of `buf` at submit time.
    pub fn write(&mut self, buf: &Buf, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.gpu.queue.write_buffer(buf.raw(), 0, &padded(bytes));
        }
        self.pinned.push(buf.clone());
    }

    /// A uniform buffer holding `params`.
    pub fn params<T: Pod>(&mut self, params: &T) -> Buf {
        let bytes: &[u8] = bytemuck::bytes_of(params);
        let b = self
            .gpu
            .pool
            .acquire(&self.gpu.device, BufKind::Uniform, bytes.len() as u64);
        self.write(&b, bytes);
        b
    }

    /// Records one dispatch of `shader::entry`; `bufs[i]` is bound at `@group(0) @binding(i)`.
    pub fn dispatch(
        &mut self,
        shader: &'static str,
        entry: &'static str,
        bufs: &[&Buf],
        grid: [u32; 3],
    ) -> Result<()> {
        let at: Vec<(u32, &Buf)> = bufs
            .iter()
            .enumerate()
            .map(|(i, b)| (i as u32, *b))
            .collect();
        self.dispatch_at(shader, entry, &at, grid)
    }

    /// Records one dispatch with explicit binding numbers (for entry points that use only
    /// some of a file's bindings).
    pub fn dispatch_at(
        &mut self,
        shader: &'static str,
        entry: &'static str,
        bufs: &[(u32, &Buf)],
        grid: [u32; 3],
    ) -> Result<()> {
        self.dispatch_spec(shader, entry, &[], bufs, grid)
    }

    /// Records one dispatch of a pipeline specialised with override constants (each distinct
    /// set is compiled once per process and cached, like any pipeline).
    pub fn dispatch_spec(
        &mut self,
        shader: &'static str,
        entry: &'static str,
        spec: &super::kernels::Spec,
        bufs: &[(u32, &Buf)],
        grid: [u32; 3],
    ) -> Result<()> {
        self.record_dispatch(shader, entry, spec, bufs, Grid::Direct(grid))
    }

    /// Records one dispatch whose work-group counts (three u32) a kernel wrote into `args` at
    /// byte `offset`: work sized on the GPU (a list of candidates) without a readback.
    pub fn dispatch_indirect_at(
        &mut self,
        shader: &'static str,
        entry: &'static str,
        bufs: &[(u32, &Buf)],
        args: &Buf,
        offset: u64,
    ) -> Result<()> {
        self.pinned.push(args.clone());
        self.record_dispatch(shader, entry, &[], bufs, Grid::Indirect(args, offset))
    }

    fn record_dispatch(
        &mut self,
        shader: &'static str,
        entry: &'static str,
        spec: &super::kernels::Spec,
        bufs: &[(u32, &Buf)],
        grid: Grid<'_>,
    ) -> Result<()> {
        let k = self
            .gpu
            .kernels
            .get(&self.gpu.device, shader, entry, spec)?;
        let max = self.gpu.adapter().limits.max_storage_buffer_binding_size;
        for (_, b) in bufs {
            if b.kind() == BufKind::Storage && b.len() > max {
                return Err(Error::Kernel {
                    shader: shader.into(),
                    entry: entry.into(),
                    msg: format!(
                        "buffer of {} B exceeds the adapter's largest storage binding ({max} B)",
                        b.len()
                    ),
                });
            }
        }
        let bg = self
            .gpu
            .pool
            .bind_group(&self.gpu.device, k.id, &k.layout, bufs);
        let timestamp_writes = match &mut self.timing {
            Some((set, names)) if (names.len() as u32) < super::profile::MAX_TIMED => {
                let k = names.len() as u32;
                names.push(kernel_name(shader, entry));
                Some(wgpu::ComputePassTimestampWrites {
                    query_set: set,
                    beginning_of_pass_write_index: Some(2 * k),
                    end_of_pass_write_index: Some(2 * k + 1),
                })
            }
            _ => None,
        };
        let mut pass = self
            .encoder
            .begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(entry),
                timestamp_writes,
            });
        pass.set_pipeline(&k.pipeline);
        pass.set_bind_group(0, &bg, &[]);
        match grid {
            Grid::Direct(g) => pass.dispatch_workgroups(g[0], g[1], g[2]),
            Grid::Indirect(args, offset) => pass.dispatch_workgroups_indirect(args.raw(), offset),
        }
        drop(pass);
        self.dispatches += 1;
        self.pinned.extend(bufs.iter().map(|(_, b)| (*b).clone()));
        Ok(())
    }

    /// Copies `len` bytes (a multiple of 4) between storage buffers.
    pub fn copy(&mut self, src: &Buf, src_offset: u64, dst: &Buf, dst_offset: u64, len: u64) {
        self.encoder
            .copy_buffer_to_buffer(src.raw(), src_offset, dst.raw(), dst_offset, len);
        self.pinned.push(src.clone());
        self.pinned.push(dst.clone());
    }

    /// Copies `len` bytes of `src` from `offset` back to the host after submission.
    pub fn readback(&mut self, src: &Buf, offset: u64, len: u64) -> Readback {
        let n = len.max(4).next_multiple_of(4);
        let staging = self
            .gpu
            .pool
            .acquire(&self.gpu.device, BufKind::Readback, n);
        self.encoder
            .copy_buffer_to_buffer(src.raw(), offset, staging.raw(), 0, n);
        self.pinned.push(src.clone());
        let at = SubmittedAt::default();
        let (done, mapped) = oneshot::channel();
        self.readbacks.push(PendingMap {
            buf: staging.clone(),
            len: n,
            at: at.clone(),
            done,
        });
        Readback {
            buf: staging,
            len,
            at,
            mapped,
            result: None,
            consumed: false,
        }
    }

    /// Submits everything recorded and starts mapping the readbacks.
    pub fn submit(mut self) -> Submission {
        let mut profiled = None;
        if let Some((set, names)) = self.timing.take() {
            if !names.is_empty() {
                let n = 2 * names.len() as u64;
                let resolve = self
                    .gpu
                    .pool
                    .acquire(&self.gpu.device, BufKind::Query, n * 8);
                self.encoder
                    .resolve_query_set(&set, 0..n as u32, resolve.raw(), 0);
                let rb = self.readback(&resolve, 0, n * 8);
                profiled = Some((names, rb, resolve));
            }
            if let Some(p) = self.gpu.profiler.get() {
                p.sets.lock().unwrap().push(set);
            }
        }
        let index = self.gpu.queue.submit([self.encoder.finish()]);
        for m in self.readbacks {
            if m.done.is_canceled() {
                // dropped before the submission: nothing will read it, so no map. Its staging
                // buffer goes back to the pool only here (`m.buf` kept it out until now), after
                // the copy into it was submitted: a later user's copy and map are queued after
                // this one, so the stale copy cannot land in a buffer someone else has mapped
                continue;
            }
            *m.at.lock().unwrap() = Some(index.clone());
            let done = m.done;
            m.buf
                .raw()
                .slice(0..m.len)
                .map_async(wgpu::MapMode::Read, move |r| {
                    // the receiver may be gone (readback dropped unread): nothing to tell
                    let _ = done.send(r);
                });
        }
        drop(self.pinned);
        if let (Some((names, rb, resolve)), Some(p)) = (profiled, self.gpu.profiler.get()) {
            p.push(names, rb, resolve);
        }
        Submission {
            index,
            dispatches: self.dispatches,
        }
    }
}

/// The map completion of one readback as a future; resolves once its buffer is mapped (or
/// the map failed). Nothing drives the GPU while it is awaited: poll the device (as
/// [`Readback::wait`] does) or have another thread do so.
pub struct Mapped<'a>(&'a mut Readback);

impl Future for Mapped<'_> {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let rb = &mut *self.0;
        if rb.result.is_none() {
            match rb.mapped.poll_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(r)) => rb.result = Some(r),
                Poll::Ready(Err(oneshot::Canceled)) => {
                    return Poll::Ready(Err(Error::Gpu(
                        "readback abandoned: its recording was dropped unsubmitted".into(),
                    )));
                }
            }
        }
        Poll::Ready(match rb.result.as_ref().expect("set above") {
            Ok(()) => Ok(()),
            Err(e) => Err(Error::Gpu(format!("readback failed: {e}"))),
        })
    }
}

impl Readback {
    /// Whether the bytes are ready without blocking.
    pub fn is_ready(&mut self, gpu: &Gpu) -> bool {
        let _ = gpu.device.poll(wgpu::PollType::Poll);
        if self.result.is_none()
            && let Ok(Some(r)) = self.mapped.try_recv()
        {
            self.result = Some(r);
        }
        self.result.is_some()
    }

    /// The map completion as a future (see [`Mapped`]).
    pub fn mapped(&mut self) -> Mapped<'_> {
        Mapped(self)
    }

    /// Blocks until the copy has landed, then returns the bytes.
    pub fn wait(mut self, gpu: &Gpu) -> Result<Vec<u8>> {
        let index = self.at.lock().unwrap().clone().ok_or_else(|| {
            Error::Gpu("readback waited on before its recording was submitted".into())
        })?;
        let mapped = pollster::block_on(std::future::poll_fn(|cx| {
            match Pin::new(&mut self.mapped()).poll(cx) {
                Poll::Ready(r) => Poll::Ready(r),
                Poll::Pending => {
                    // drive the device until this submission is done; its map callback runs
                    // inside `poll` and completes the future
                    let waited = gpu.device.poll(wgpu::PollType::Wait {
                        submission_index: Some(index.clone()),
                        timeout: None,
                    });
                    if waited.is_err() {
                        // With several threads submitting, wgpu can briefly refuse an index
                        // that was just returned to another thread; waiting for everything is
                        // always valid.
                        if let Err(e) = gpu.device.poll(wgpu::PollType::wait_indefinitely()) {
                            return Poll::Ready(Err(Error::Gpu(format!(
                                "waiting for the GPU: {e}"
                            ))));
                        }
                    }
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            }
        }));
        // an error reported for this device means the submission may not have run as
        // recorded: report it rather than bytes
        gpu.check()?;
        mapped?;
        let raw = self.buf.raw();
        let bytes = {
            let view = raw
                .slice(0..self.len.max(4).next_multiple_of(4))
                .get_mapped_range()
                .map_err(|e| Error::Gpu(format!("mapping readback: {e}")))?;
            view[..self.len as usize].to_vec()
        };
        raw.unmap();
        self.consumed = true;
        Ok(bytes)
    }

    /// [`Readback::wait`], reinterpreted as `T`s.
    pub fn wait_as<T: Pod>(self, gpu: &Gpu) -> Result<Vec<T>> {
        let bytes = self.wait(gpu)?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }
}

/// `shader::entry` as one static string (kernels are a fixed set, so this leaks nothing
/// that grows).
fn kernel_name(shader: &'static str, entry: &'static str) -> &'static str {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static NAMES: OnceLock<Mutex<HashMap<(&str, &str), &'static str>>> = OnceLock::new();
    let mut m = NAMES.get_or_init(Default::default).lock().unwrap();
    m.entry((shader, entry))
        .or_insert_with(|| Box::leak(format!("{shader}::{entry}").into_boxed_str()))
}

/// A dispatch's work-group counts: given, or read from a buffer at an offset.
enum Grid<'a> {
    Direct([u32; 3]),
    Indirect(&'a Buf, u64),
}
