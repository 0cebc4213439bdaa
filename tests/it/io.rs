//! TIFF I/O (`migrascope::io`): every image of `tests/data` against its reference.json
//! and tifffile's metadata (`data`), writers read back by us and by tifffile (`roundtrip`,
//! needs python3 + numpy + tifffile: a missing one fails the test), files tifffile writes
//! (`variants`), streaming (`stream`), hostile files (`hostile`), `migrascope info` (`cli`),
//! regressions from fuzzing and the in-memory reader (`fuzz`).
//! Pixel buffers compare by SHA-256 of little-endian C-order bytes, the digest reference.json
//! and `tests/py/roundtrip.py` use.

mod cli;
mod data;
mod fuzz;
mod hostile;
mod roundtrip;
mod sha256;
mod stream;
mod variants;

use std::path::{Path, PathBuf};

use migrascope::image::{Plane, PlaneData};
use migrascope::io::{OpenOptions, PlaneIndex, StackReader};

pub fn data_dir() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data")).to_path_buf()
}

pub fn open(path: &Path) -> StackReader {
    StackReader::open(path, &OpenOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn open_series(path: &Path, series: usize) -> StackReader {
    let opts = OpenOptions { series, axes: None };
    StackReader::open(path, &opts).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Little-endian bytes of a plane's samples.
pub fn le_bytes(p: &Plane) -> Vec<u8> {
    let mut out = Vec::with_capacity(p.len() * p.sample_type().bytes());
    match &p.data {
        PlaneData::U8(v) => out.extend_from_slice(v),
        PlaneData::I8(v) => out.extend(v.iter().map(|&x| x as u8)),
        PlaneData::U16(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        PlaneData::I16(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        PlaneData::U32(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        PlaneData::I32(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        PlaneData::F32(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        PlaneData::F64(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
    }
    out
}

/// SHA-256 of the pixels of `readers` (one per series) laid out the way tifffile's series
/// `axes`/`shape` say: leading letters C/S (channel), Z, T/Q/I (time), R (series), then YX,
/// with a trailing S meaning samples interleaved per pixel.
pub fn digest_in_tifffile_order(readers: &[StackReader], axes: &str, shape: &[usize]) -> String {
    let yx = axes.find("YX").expect("axes contain YX");
    let lead: Vec<(char, usize)> = axes[..yx].chars().zip(shape.iter().copied()).collect();
    let interleaved = axes.ends_with("YXS");
    let mut h = sha256::Sha256::new();
    let total: usize = lead.iter().map(|l| l.1).product();
    for k in 0..total {
        let (mut rem, mut idx, mut series) = (k, PlaneIndex::default(), 0);
        for &(l, n) in lead.iter().rev() {
            let i = rem % n;
            rem /= n;
            match l {
                'C' | 'S' => idx.c = i,
                'Z' => idx.z = i,
                'R' => series = i,
                _ => idx.t = i,
            }
        }
        let r = &readers[series];
        if interleaved {
            let planes: Vec<Vec<u8>> = (0..r.info().shape.c)
                .map(|c| le_bytes(&r.read_plane(PlaneIndex { c, ..idx }).unwrap()))
                .collect();
            let b = r.info().dtype.bytes();
            for px in 0..planes[0].len() / b {
                for p in &planes {
                    h.update(&p[px * b..(px + 1) * b]);
                }
            }
        } else {
            h.update(&le_bytes(&r.read_plane(idx).unwrap()));
        }
    }
    h.hex()
}
