//! Minimum, maximum and sum of a decoded plane, as `migrascope info --stats` and the tests
//! report them: integer sums are exact (128-bit), float sums in f64 with NaN skipped.
//!
//! Not here: any analysis statistics (see `ops`, `report`).

use serde::Serialize;

use crate::image::{Plane, PlaneData};

/// Statistics of the samples of a plane (or of several, merged).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PlaneStats {
    pub min: f64,
    pub max: f64,
    pub sum: f64,
}

impl Default for PlaneStats {
    fn default() -> Self {
        PlaneStats {
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sum: 0.0,
        }
    }
}

fn int_stats<T: Copy + Into<i128> + Ord>(v: &[T]) -> PlaneStats {
    let (Some(&mn), Some(&mx)) = (v.iter().min(), v.iter().max()) else {
        return PlaneStats::default();
    };
    let sum: i128 = v.iter().map(|&x| x.into()).sum();
    PlaneStats {
        min: mn.into() as f64,
        max: mx.into() as f64,
        sum: sum as f64,
    }
}

fn float_stats<T: Copy + Into<f64>>(v: &[T]) -> PlaneStats {
    let mut s = PlaneStats::default();
    for &x in v {
        let x: f64 = x.into();
        if x.is_nan() {
            continue;
        }
        s.min = s.min.min(x);
        s.max = s.max.max(x);
        s.sum += x;
    }
    s
}

impl PlaneStats {
    pub fn of(plane: &Plane) -> PlaneStats {
        match &plane.data {
            PlaneData::U8(v) => int_stats(v),
            PlaneData::I8(v) => int_stats(v),
            PlaneData::U16(v) => int_stats(v),
            PlaneData::I16(v) => int_stats(v),
            PlaneData::U32(v) => int_stats(v),
            PlaneData::I32(v) => int_stats(v),
            PlaneData::F32(v) => float_stats(v),
            PlaneData::F64(v) => float_stats(v),
        }
    }

    /// Folds `other` into `self` (min of mins, max of maxes, sum of sums).
    pub fn merge(&mut self, other: &PlaneStats) {
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_integer_sums_and_nan_skipping() {
        let p = Plane::new(2, 2, PlaneData::U32(vec![u32::MAX, u32::MAX, 1, 0])).unwrap();
        let s = PlaneStats::of(&p);
        assert_eq!(
            (s.min, s.max, s.sum),
            (0.0, u32::MAX as f64, 2.0 * u32::MAX as f64 + 1.0)
        );
        let f = Plane::new(3, 1, PlaneData::F32(vec![1.5, f32::NAN, -2.0])).unwrap();
        let s = PlaneStats::of(&f);
        assert_eq!((s.min, s.max, s.sum), (-2.0, 1.5, -0.5));
        let mut m = PlaneStats::default();
        m.merge(&s);
        assert_eq!(m, s);
    }
}
