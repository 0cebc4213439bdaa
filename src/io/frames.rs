//! Frames from a plane stream: all channels of one (t, z) together, as the pipelines take
//! them (`Result<((t, z), planes)>`).

use super::{PlaneIndex, PlaneStream, StackReader};
use crate::error::Result;
use crate::image::Plane;

/// Groups a [`PlaneStream`] in (t, z, c) order into frames of `channels` planes.
pub struct Frames {
    pub stream: PlaneStream,
    pub channels: usize,
}

impl Frames {
    /// Every frame of `reader`'s series in (t, z) order, decoded on two threads with room for
    /// two frames ahead (memory stays flat for any movie length).
    pub fn all(reader: &StackReader) -> Frames {
        let sh = reader.info().shape;
        let order: Vec<PlaneIndex> = (0..sh.t)
            .flat_map(|t| {
                (0..sh.z).flat_map(move |z| (0..sh.c).map(move |c| PlaneIndex { t, c, z }))
            })
            .collect();
        Frames {
            stream: reader.stream(order, 2, 2 * sh.c + 2),
            channels: sh.c,
        }
    }
}

impl Iterator for Frames {
    type Item = Result<((usize, usize), Vec<Plane>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut planes = Vec::with_capacity(self.channels);
        let mut at = (0, 0);
        for _ in 0..self.channels {
            match self.stream.next()? {
                Ok((idx, p)) => {
                    at = (idx.t, idx.z);
                    planes.push(p);
                }
                Err(e) => return Some(Err(e)),
            }
        }
        Some(Ok((at, planes)))
    }
}
