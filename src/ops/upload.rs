//! Upload of raw planes: samples are packed into u32 words (u8/i8 four per word, u16/i16 two,
//! 32-bit types one) so the GPU gets exactly the bytes the file had; kernels unpack them
//! (`shaders/common/raw.wgsl`). f64 planes are converted to f32 on the host (documented loss).

use crate::error::{Error, Result};
use crate::gpu::{Buf, Recorder};
use crate::image::{Plane, PlaneData};

/// Sample kind of a packed plane on the GPU; values match `shaders/common/raw.wgsl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum RawKind {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
}

impl RawKind {
    pub fn of(data: &PlaneData) -> RawKind {
        match data {
            PlaneData::U8(_) => RawKind::U8,
            PlaneData::I8(_) => RawKind::I8,
            PlaneData::U16(_) => RawKind::U16,
            PlaneData::I16(_) => RawKind::I16,
            PlaneData::U32(_) => RawKind::U32,
            PlaneData::I32(_) => RawKind::I32,
            PlaneData::F32(_) | PlaneData::F64(_) => RawKind::F32,
        }
    }

    pub fn is_float(self) -> bool {
        self == RawKind::F32
    }

    pub fn is_signed(self) -> bool {
        matches!(self, RawKind::I8 | RawKind::I16 | RawKind::I32)
    }

    /// Value of a key (see `cpu::raw`) for samples of this kind.
    pub fn key_value(self, k: u32) -> f64 {
        match self {
            RawKind::U8 | RawKind::U16 | RawKind::U32 => k as f64,
            RawKind::I8 | RawKind::I16 | RawKind::I32 => (k ^ 0x8000_0000) as i32 as f64,
            RawKind::F32 => crate::cpu::raw::key_f32(k) as f64,
        }
    }
}

/// A plane on the GPU: packed raw samples, or the f32 work image (kind `F32`).
#[derive(Clone, Debug)]
pub struct GpuPlane {
    pub buf: Buf,
    pub kind: RawKind,
    pub width: u32,
    pub height: u32,
}

impl GpuPlane {
    pub fn len(&self) -> usize {
        self.width as usize * self.height as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The plane's samples as little-endian bytes in GPU packing.
pub fn packed_bytes(plane: &Plane) -> std::borrow::Cow<'_, [u8]> {
    match &plane.data {
        PlaneData::U8(v) => v.as_slice().into(),
        PlaneData::I8(v) => bytemuck::cast_slice::<i8, u8>(v).into(),
        PlaneData::U16(v) => bytemuck::cast_slice::<u16, u8>(v).into(),
        PlaneData::I16(v) => bytemuck::cast_slice::<i16, u8>(v).into(),
        PlaneData::U32(v) => bytemuck::cast_slice::<u32, u8>(v).into(),
        PlaneData::I32(v) => bytemuck::cast_slice::<i32, u8>(v).into(),
        PlaneData::F32(v) => bytemuck::cast_slice::<f32, u8>(v).into(),
        PlaneData::F64(v) => {
            let f: Vec<f32> = v.iter().map(|&x| x as f32).collect();
            bytemuck::cast_slice::<f32, u8>(&f).to_vec().into()
        }
    }
}

/// Uploads a plane's raw samples (written when the recording is submitted).
pub fn upload_plane(rec: &mut Recorder, plane: &Plane) -> Result<GpuPlane> {
    let (w, h) = (plane.width, plane.height);
    if w > u32::MAX as usize || h > u32::MAX as usize || w * h >= u32::MAX as usize {
        return Err(Error::invalid(format!(
            "plane {w}x{h} is too large for one GPU plane"
        )));
    }
    let bytes = packed_bytes(plane);
    let buf = rec.storage(bytes.len() as u64);
    rec.write(&buf, &bytes);
    Ok(GpuPlane {
        buf,
        kind: RawKind::of(&plane.data),
        width: w as u32,
        height: h as u32,
    })
}
