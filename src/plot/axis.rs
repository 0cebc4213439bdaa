//! Axes: "nice numbers" for ticks (Heckbert, Graphics Gems 1990: steps of 1, 2 or 5 × 10^k)
//! and the map from values to pixels.

/// A nice number near `x` > 0: 1, 2, 5 or 10 × 10^k; `round`: the nearest, else the smallest
/// not below `x`.
pub fn nice(x: f64, round: bool) -> f64 {
    let e = x.log10().floor();
    let p = 10f64.powf(e);
    let f = x / p;
    let n = if round {
        if f < 1.5 {
            1.0
        } else if f < 3.0 {
            2.0
        } else if f < 7.0 {
            5.0
        } else {
            10.0
        }
    } else if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    n * p
}

/// The ticks of an axis: from `lo` to `hi` (multiples of `step`, covering the data).
#[derive(Debug, Clone, PartialEq)]
pub struct Ticks {
    pub lo: f64,
    pub hi: f64,
    pub step: f64,
    pub values: Vec<f64>,
    /// Decimals the labels need.
    pub decimals: usize,
}

impl Ticks {
    /// About `target` ticks over [`min`, `max`] (which need not be ordered or distinct).
    pub fn new(min: f64, max: f64, target: usize) -> Ticks {
        let (mut a, mut b) = (min.min(max), min.max(max));
        if !a.is_finite() || !b.is_finite() {
            (a, b) = (0.0, 1.0);
        }
        if b - a < 1e-12 * a.abs().max(1.0) {
            // one value: an axis of one step around it, from 0 when that is close
            if a == 0.0 {
                b = 1.0;
            } else if a > 0.0 {
                (a, b) = (0.0, a);
            } else {
                (a, b) = (a, 0.0);
            }
        }
        let range = nice(b - a, false);
        let step = nice(range / (target.max(2) - 1) as f64, true);
        let k0 = (a / step + 1e-9).floor() as i64;
        let k1 = (b / step - 1e-9).ceil() as i64;
        let values: Vec<f64> = (k0..=k1).map(|k| k as f64 * step).collect();
        let decimals = (-step.log10().floor()).max(0.0) as usize;
        Ticks {
            lo: k0 as f64 * step,
            hi: k1 as f64 * step,
            step,
            values,
            decimals,
        }
    }

    /// A tick's label.
    pub fn label(&self, v: f64) -> String {
        let s = format!("{:.*}", self.decimals, v);
        // no "-0.0"
        if s.trim_start_matches('-')
            .chars()
            .all(|c| c == '0' || c == '.')
        {
            s.trim_start_matches('-').to_string()
        } else {
            s
        }
    }
}

/// A linear map from [`lo`, `hi`] to pixels [`p0`, `p1`] (p1 < p0 for a y axis).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    pub lo: f64,
    pub hi: f64,
    pub p0: f64,
    pub p1: f64,
}

impl Scale {
    pub fn px(&self, v: f64) -> f64 {
        self.p0 + (v - self.lo) / (self.hi - self.lo) * (self.p1 - self.p0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_numbers_are_1_2_5_times_a_power_of_ten() {
        assert_eq!(nice(0.7, false), 1.0);
        assert_eq!(nice(1.2, false), 2.0);
        assert_eq!(nice(3.0, false), 5.0);
        assert_eq!(nice(7.5, false), 10.0);
        assert_eq!(nice(120.0, false), 200.0);
        assert_eq!(nice(1.4, true), 1.0);
        assert_eq!(nice(2.9, true), 2.0);
        assert!((nice(0.034, true) - 0.05).abs() < 1e-15);
        assert_eq!(nice(8.0, true), 10.0);
    }

    #[test]
    fn ticks_cover_the_data_with_nice_steps() {
        let t = Ticks::new(0.0, 13.2, 5);
        assert_eq!(t.step, 5.0);
        assert_eq!(t.values, vec![0.0, 5.0, 10.0, 15.0]);
        assert_eq!((t.lo, t.hi, t.decimals), (0.0, 15.0, 0));
        let t = Ticks::new(0.0, 1.9, 5);
        assert_eq!(t.step, 0.5);
        assert_eq!(t.values, vec![0.0, 0.5, 1.0, 1.5, 2.0]);
        assert_eq!(t.label(1.5), "1.5");
        assert_eq!(t.label(0.0), "0.0");
        assert_eq!(t.label(-1e-17), "0.0");
        let t = Ticks::new(-0.31, 0.42, 6);
        assert_eq!(t.step, 0.2);
        assert_eq!(t.label(t.lo), "-0.4");
        assert!(t.lo <= -0.31 && t.hi >= 0.42);
        assert_eq!(t.values.len(), 6);
        // exact multiples: no 0.30000000000000004 labels
        let t = Ticks::new(0.0, 0.3, 7);
        assert_eq!(t.step, 0.1);
        assert_eq!(t.label(t.values[3]), "0.3");
        // a single value: from 0
        let t = Ticks::new(4.0, 4.0, 5);
        assert_eq!((t.lo, t.hi), (0.0, 4.0));
        let t = Ticks::new(0.0, 0.0, 5);
        assert_eq!((t.lo, t.hi), (0.0, 1.0));
        // an exact multiple at the top gets no extra step
        let t = Ticks::new(0.0, 10.0, 5);
        assert_eq!(t.hi, 10.0);
    }

    #[test]
    fn scales_map_ends_to_ends() {
        let s = Scale {
            lo: 0.0,
            hi: 10.0,
            p0: 300.0,
            p1: 60.0,
        };
        assert_eq!(s.px(0.0), 300.0);
        assert_eq!(s.px(10.0), 60.0);
        assert_eq!(s.px(5.0), 180.0);
    }
}
