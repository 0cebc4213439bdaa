//! [`PlaneStream`]: decode planes on a few worker threads while the caller (the GPU) works.
//!
//! Worker `w` decodes items `w, w + n, w + 2n, ...` of the requested list into its own
//! bounded `sync_channel`; the consumer reads the channels round-robin, so planes come out in
//! the order asked for without a reordering buffer, and at most `capacity` decoded planes
//! (rounded up to a multiple of the worker count) wait in the queues, plus one in the hands of
//! each worker. Memory stays flat however long the movie. Dropping the stream stops the
//! workers (their next send fails) and joins them.
//!
//! Not here: decoding itself (`reader`, `decode`).

use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;

use super::PlaneIndex;
use super::reader::Shared;
use crate::error::{Error, Result};
use crate::image::Plane;

type Item = (PlaneIndex, Result<Plane>);

/// Decoded planes in the order requested: `Iterator<Item = Result<(PlaneIndex, Plane)>>`.
pub struct PlaneStream {
    receivers: Vec<Receiver<Item>>,
    handles: Vec<JoinHandle<()>>,
    next: usize,
    total: usize,
}

impl PlaneStream {
    pub(crate) fn start(
        shared: Arc<Shared>,
        planes: Vec<PlaneIndex>,
        threads: usize,
        capacity: usize,
    ) -> PlaneStream {
        let total = planes.len();
        let workers = threads.clamp(1, total.max(1));
        let per_worker = capacity.div_ceil(workers).max(1);
        let planes = Arc::new(planes);
        let mut receivers = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for w in 0..workers {
            let (tx, rx) = sync_channel::<Item>(per_worker);
            let shared = shared.clone();
            let planes = planes.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("migrascope-decode-{w}"))
                .spawn(move || {
                    let mut dec = shared.take_decoder().ok().flatten();
                    for &idx in planes.iter().skip(w).step_by(workers) {
                        let r = shared.read_with(&mut dec, idx);
                        if tx.send((idx, r)).is_err() {
                            break;
                        }
                    }
                    if let Some(d) = dec {
                        shared.give_back(d);
                    }
                });
            // If the thread could not start, its sender is gone and `next` reports it.
            if let Ok(h) = spawned {
                handles.push(h);
            }
            receivers.push(rx);
        }
        PlaneStream {
            receivers,
            handles,
            next: 0,
            total,
        }
    }
}

impl Iterator for PlaneStream {
    type Item = Result<(PlaneIndex, Plane)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.total {
            return None;
        }
        let w = self.next % self.receivers.len();
        self.next += 1;
        Some(match self.receivers[w].recv() {
            Ok((idx, r)) => r.map(|p| (idx, p)),
            Err(_) => Err(Error::invalid(
                "a decode worker thread stopped or could not start",
            )),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.total - self.next;
        (n, Some(n))
    }
}

impl ExactSizeIterator for PlaneStream {}

impl Drop for PlaneStream {
    fn drop(&mut self) {
        self.receivers.clear();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}
