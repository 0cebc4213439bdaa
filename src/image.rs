//! Host-side pixel containers: one 2D plane of any microscopy sample type.
//! Decoding lives in `io`, GPU upload in `ops::upload`; this module only holds pixels.

use crate::error::{Error, Result};

/// Sample types a microscopy plane can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SampleType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
    F64,
}

impl SampleType {
    /// NumPy-style name (`uint16`, `float32`, ...), as tifffile reports it.
    pub fn name(self) -> &'static str {
        match self {
            SampleType::U8 => "uint8",
            SampleType::I8 => "int8",
            SampleType::U16 => "uint16",
            SampleType::I16 => "int16",
            SampleType::U32 => "uint32",
            SampleType::I32 => "int32",
            SampleType::F32 => "float32",
            SampleType::F64 => "float64",
        }
    }

    /// Bytes per sample.
    pub fn bytes(self) -> usize {
        match self {
            SampleType::U8 | SampleType::I8 => 1,
            SampleType::U16 | SampleType::I16 => 2,
            SampleType::U32 | SampleType::I32 | SampleType::F32 => 4,
            SampleType::F64 => 8,
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, SampleType::F32 | SampleType::F64)
    }
}

impl std::fmt::Display for SampleType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Pixels of one plane, row-major, in their native type.
#[derive(Clone, Debug, PartialEq)]
pub enum PlaneData {
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// Calls `$body` with `$v` bound to the inner `Vec` of any [`PlaneData`] variant.
#[macro_export]
macro_rules! with_plane_data {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            $crate::image::PlaneData::U8($v) => $body,
            $crate::image::PlaneData::I8($v) => $body,
            $crate::image::PlaneData::U16($v) => $body,
            $crate::image::PlaneData::I16($v) => $body,
            $crate::image::PlaneData::U32($v) => $body,
            $crate::image::PlaneData::I32($v) => $body,
            $crate::image::PlaneData::F32($v) => $body,
            $crate::image::PlaneData::F64($v) => $body,
        }
    };
}

impl PlaneData {
    pub fn sample_type(&self) -> SampleType {
        match self {
            PlaneData::U8(_) => SampleType::U8,
            PlaneData::I8(_) => SampleType::I8,
            PlaneData::U16(_) => SampleType::U16,
            PlaneData::I16(_) => SampleType::I16,
            PlaneData::U32(_) => SampleType::U32,
            PlaneData::I32(_) => SampleType::I32,
            PlaneData::F32(_) => SampleType::F32,
            PlaneData::F64(_) => SampleType::F64,
        }
    }

    pub fn len(&self) -> usize {
        with_plane_data!(self, v => v.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[allow(clippy::unnecessary_cast)] // the macro covers f64 too
    /// Sample `i` as f64 (exact for every type but nothing wider than f64 exists here).
    pub fn get_f64(&self, i: usize) -> f64 {
        with_plane_data!(self, v => v[i] as f64)
    }

    #[allow(clippy::unnecessary_cast)] // the macro covers f64 too
    /// Every sample as f64.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        with_plane_data!(self, v => v.iter().map(|&x| x as f64).collect())
    }
}

/// One 2D plane (Y rows of X samples).
#[derive(Clone, Debug, PartialEq)]
pub struct Plane {
    pub width: usize,
    pub height: usize,
    pub data: PlaneData,
}

impl Plane {
    /// A plane, checking that the data length is `width * height`.
    pub fn new(width: usize, height: usize, data: PlaneData) -> Result<Self> {
        if width == 0 || height == 0 {
            return Err(Error::invalid(format!(
                "plane of size {width}x{height} is empty"
            )));
        }
        if data.len() != width * height {
            return Err(Error::invalid(format!(
                "plane {width}x{height} needs {} samples, got {}",
                width * height,
                data.len()
            )));
        }
        Ok(Plane {
            width,
            height,
            data,
        })
    }

    pub fn sample_type(&self) -> SampleType {
        self.data.sample_type()
    }

    pub fn len(&self) -> usize {
        self.width * self.height
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `w` x `h` rectangle at (`x0`, `y0`) as a plane of its own (copies the rows).
    pub fn crop(&self, x0: usize, y0: usize, w: usize, h: usize) -> Result<Plane> {
        if x0 + w > self.width || y0 + h > self.height {
            return Err(Error::invalid(format!(
                "crop {w}x{h} at ({x0}, {y0}) does not fit in {}x{}",
                self.width, self.height
            )));
        }
        macro_rules! rows {
            ($v:expr, $variant:ident) => {
                PlaneData::$variant(
                    (y0..y0 + h)
                        .flat_map(|y| {
                            $v[y * self.width + x0..y * self.width + x0 + w]
                                .iter()
                                .copied()
                        })
                        .collect(),
                )
            };
        }
        let data = match &self.data {
            PlaneData::U8(v) => rows!(v, U8),
            PlaneData::I8(v) => rows!(v, I8),
            PlaneData::U16(v) => rows!(v, U16),
            PlaneData::I16(v) => rows!(v, I16),
            PlaneData::U32(v) => rows!(v, U32),
            PlaneData::I32(v) => rows!(v, I32),
            PlaneData::F32(v) => rows!(v, F32),
            PlaneData::F64(v) => rows!(v, F64),
        };
        Plane::new(w, h, data)
    }

    /// (min, max, sum) over all samples, NaN ignored; sum in f64.
    pub fn min_max_sum(&self) -> (f64, f64, f64) {
        let mut mn = f64::INFINITY;
        let mut mx = f64::NEG_INFINITY;
        let mut sum = 0.0;
        for i in 0..self.len() {
            let v = self.data.get_f64(i);
            if v.is_nan() {
                continue;
            }
            mn = mn.min(v);
            mx = mx.max(v);
            sum += v;
        }
        (mn, mx, sum)
    }
}
