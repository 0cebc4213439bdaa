//! Statistics for comparing conditions: descriptive statistics (n, mean, SD, SEM, median),
//! Student's and Welch's two-sample t-tests and the Mann–Whitney U test, all two-sided, with
//! scipy 1.10's definitions (`scipy.stats.ttest_ind`, `scipy.stats.mannwhitneyu`), and the
//! significance stars. Pure functions of slices of values; no I/O.
//!
//! Precision: p-values are computed from the tail they describe, never as `1 - cdf`, so they
//! hold their relative precision down to 1e-15 and below (tests/it/compare.rs checks every
//! figure against scipy to 1e-9 relative).

pub mod compare;

use statrs::function::beta::beta_reg;

/// n, mean, standard deviation (ddof = 1), standard error of the mean and median.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Describe {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (divisor n − 1); NaN for n < 2.
    pub sd: f64,
    /// sd / √n; NaN for n < 2.
    pub sem: f64,
    pub median: f64,
}

/// Compensated (Neumaier) sum: close to the exact sum whatever the order.
fn sum(x: impl IntoIterator<Item = f64>) -> f64 {
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for v in x {
        let t = s + v;
        c += if s.abs() >= v.abs() {
            (s - t) + v
        } else {
            (v - t) + s
        };
        s = t;
    }
    s + c
}

/// The mean; NaN for no values.
pub fn mean(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    sum(x.iter().copied()) / x.len() as f64
}

/// The sample variance (ddof = 1); NaN for fewer than 2 values.
pub fn variance(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return f64::NAN;
    }
    let m = mean(x);
    sum(x.iter().map(|v| (v - m) * (v - m))) / (x.len() - 1) as f64
}

/// The median (mean of the two middle values for an even n); NaN for no values.
pub fn median(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    let h = s.len() / 2;
    if s.len() % 2 == 1 {
        s[h]
    } else {
        (s[h - 1] + s[h]) / 2.0
    }
}

/// n, mean, SD, SEM and median of `x`.
pub fn describe(x: &[f64]) -> Describe {
    let sd = variance(x).sqrt();
    Describe {
        n: x.len(),
        mean: mean(x),
        sd,
        sem: sd / (x.len() as f64).sqrt(),
        median: median(x),
    }
}

/// The tests `compare` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Test {
    /// Student's t-test (pooled variance)
    Student,
    /// Welch's t-test (unequal variances, Welch–Satterthwaite df)
    Welch,
    /// Mann–Whitney U test (ranks; exact or normal approximation as scipy chooses)
    #[value(name = "mannwhitney")]
    MannWhitney,
}

impl Test {
    pub fn name(self) -> &'static str {
        match self {
            Test::Student => "student",
            Test::Welch => "welch",
            Test::MannWhitney => "mannwhitney",
        }
    }
}

/// How the Mann–Whitney p-value is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UMethod {
    /// scipy 1.10's choice: exact when the smaller sample has at most 8 values and there are
    /// no ties, else asymptotic.
    Auto,
    /// The exact null distribution of U (no ties assumed).
    Exact,
    /// Normal approximation, tie-corrected variance, continuity correction.
    Asymptotic,
}

/// The outcome of a two-sample test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestResult {
    /// t (first minus second sample), or U1 (the U of the first sample).
    pub statistic: f64,
    /// Degrees of freedom of a t-test; NaN for Mann–Whitney.
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// For Mann–Whitney, whether the exact distribution was used.
    pub exact: bool,
}

/// Two-sided p of Student's t distribution with `df` degrees of freedom at `t`:
/// 2·sf(|t|) = I_{df/(df+t²)}(df/2, 1/2), the regularized incomplete beta (statrs), which
/// keeps its relative precision for tiny p (no `1 - cdf`).
pub fn t_two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return 0.0;
    }
    let x = df / (df + t * t);
    beta_reg(df / 2.0, 0.5, x).min(1.0)
}

/// Student's two-sample t-test (pooled variance), as `scipy.stats.ttest_ind(a, b)`.
pub fn student_t(a: &[f64], b: &[f64]) -> TestResult {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let df = n1 + n2 - 2.0;
    let pooled = ((n1 - 1.0) * variance(a) + (n2 - 1.0) * variance(b)) / df;
    let t = (mean(a) - mean(b)) / (pooled * (1.0 / n1 + 1.0 / n2)).sqrt();
    TestResult {
        statistic: t,
        df,
        p: t_two_sided_p(t, df),
        exact: false,
    }
}

/// Welch's t-test, as `scipy.stats.ttest_ind(a, b, equal_var=False)`; df by
/// Welch–Satterthwaite.
pub fn welch_t(a: &[f64], b: &[f64]) -> TestResult {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let v1 = variance(a) / n1;
    let v2 = variance(b) / n2;
    let df = (v1 + v2) * (v1 + v2) / (v1 * v1 / (n1 - 1.0) + v2 * v2 / (n2 - 1.0));
    let t = (mean(a) - mean(b)) / (v1 + v2).sqrt();
    TestResult {
        statistic: t,
        df,
        p: t_two_sided_p(t, df),
        exact: false,
    }
}

/// Ranks of `x` (1-based), ties given their average rank (`scipy.stats.rankdata`).
pub fn average_ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&i, &j| x[i].total_cmp(&x[j]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i + 1;
        while j < idx.len() && x[idx[j]] == x[idx[i]] {
            j += 1;
        }
        // positions i..j (0-based) share the mean of ranks i+1..=j
        let avg = (i + 1 + j) as f64 / 2.0;
        for &k in &idx[i..j] {
            r[k] = avg;
        }
        i = j;
    }
    r
}

/// Σ (t³ − t) over the groups of tied values (t: the size of a group).
fn tie_term(x: &[f64]) -> f64 {
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    let mut term = 0.0;
    let mut i = 0;
    while i < s.len() {
        let mut j = i + 1;
        while j < s.len() && s[j] == s[i] {
            j += 1;
        }
        let t = (j - i) as f64;
        term += t * t * t - t;
        i = j;
    }
    term
}

/// Beyond this many values of U (m·n) the exact distribution is not built: asymptotic.
const EXACT_MAX_MN: usize = 200_000;

/// Number of arrangements of m and n values whose U (of the m sample) equals k, for
/// k = 0..=m·n (the coefficients of the Gaussian binomial [m+n choose m]_q), as f64.
/// Additions only: c(m', n', k) = c(m'−1, n', k−n') + c(m', n'−1, k).
fn u_counts(m: usize, n: usize) -> Vec<f64> {
    // f[m'] holds c(m', n', ·) for the current n', m' = 0..=m
    let mn = m * n;
    let mut f: Vec<Vec<f64>> = (0..=m)
        .map(|mm| {
            let mut v = vec![0.0; mn + 1];
            v[0] = 1.0; // n' = 0: only U = 0
            let _ = mm;
            v
        })
        .collect();
    for nn in 1..=n {
        // c(0, nn, ·) = [1, 0, ...] stays; go up in m' using the new c(m'-1, nn, ·)
        for mm in 1..=m {
            let (lo, hi) = f.split_at_mut(mm);
            let prev = &lo[mm - 1]; // c(mm-1, nn, ·), already updated
            let cur = &mut hi[0]; // c(mm, nn-1, ·) → c(mm, nn, ·)
            let top = mm * nn;
            for k in (nn..=top).rev() {
                cur[k] += prev[k - nn];
            }
        }
    }
    f.swap_remove(m)
}

/// The Mann–Whitney U test, two-sided, as `scipy.stats.mannwhitneyu(a, b,
/// alternative='two-sided', use_continuity=True, method=...)` of scipy 1.10:
/// U1 = R1 − n1(n1+1)/2 with average ranks; U = max(U1, U2);
/// exact: p = 2·P(U' ≥ U) from the null distribution of U;
/// asymptotic: z = (U − n1n2/2 − 1/2) / σ with σ² = n1n2/12·((n+1) − Σ(t³−t)/(n(n−1))),
/// p = 2·Φ(−z) = erfc(z/√2); p is clipped to 1.
pub fn mann_whitney_u(a: &[f64], b: &[f64], method: UMethod) -> TestResult {
    let (n1, n2) = (a.len(), b.len());
    let xy: Vec<f64> = a.iter().chain(b).copied().collect();
    let ranks = average_ranks(&xy);
    let r1 = sum(ranks[..n1].iter().copied());
    let (f1, f2) = (n1 as f64, n2 as f64);
    let u1 = r1 - f1 * (f1 + 1.0) / 2.0;
    let u2 = f1 * f2 - u1;
    let u = u1.max(u2);
    let ties = tie_term(&xy);
    let exact = match method {
        UMethod::Exact => true,
        UMethod::Asymptotic => false,
        UMethod::Auto => n1.min(n2) <= 8 && ties == 0.0,
    } && n1 * n2 <= EXACT_MAX_MN
        && n1 > 0
        && n2 > 0;
    let p = if exact {
        // P(U' ≥ U) = P(U' ≤ mn − U) by symmetry: sum the counts from the left
        let (m, n) = if n1 <= n2 { (n1, n2) } else { (n2, n1) };
        let counts = u_counts(m, n);
        let kc = (f1 * f2 - u).floor().max(0.0) as usize; // U is an integer without ties
        let total = sum(counts.iter().copied());
        let tail = sum(counts[..=kc.min(counts.len() - 1)].iter().copied());
        2.0 * tail / total
    } else {
        let n = f1 + f2;
        let s = (f1 * f2 / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)))).sqrt();
        let z = (u - f1 * f2 / 2.0 - 0.5) / s;
        libm::erfc(z / std::f64::consts::SQRT_2)
    };
    TestResult {
        statistic: u1,
        df: f64::NAN,
        p: p.clamp(0.0, 1.0),
        exact,
    }
}

/// Runs `test` on `a` against `b`.
pub fn run_test(test: Test, a: &[f64], b: &[f64]) -> TestResult {
    match test {
        Test::Student => student_t(a, b),
        Test::Welch => welch_t(a, b),
        Test::MannWhitney => mann_whitney_u(a, b, UMethod::Auto),
    }
}

/// Significance stars of a full-precision p: `****` ≤ 0.0001, `***` ≤ 0.001, `**` ≤ 0.01,
/// `*` ≤ 0.05, else (and for NaN) `ns`.
pub fn stars(p: f64) -> &'static str {
    if p <= 0.0001 {
        "****"
    } else if p <= 0.001 {
        "***"
    } else if p <= 0.01 {
        "**"
    } else if p <= 0.05 {
        "*"
    } else {
        "ns"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_average_ties() {
        assert_eq!(
            average_ranks(&[3.0, 1.0, 3.0, 2.0, 3.0]),
            vec![4.0, 1.0, 4.0, 2.0, 4.0]
        );
        assert_eq!(tie_term(&[1.0, 2.0, 2.0, 3.0, 3.0, 3.0]), 6.0 + 24.0);
    }

    #[test]
    fn u_counts_are_the_gaussian_binomial() {
        // [4 choose 2]_q = 1 + q + 2q² + q³ + q⁴
        assert_eq!(u_counts(2, 2), vec![1.0, 1.0, 2.0, 1.0, 1.0]);
        let c = u_counts(3, 5);
        assert_eq!(c.iter().sum::<f64>(), 56.0); // C(8, 3)
        assert!(c.iter().zip(c.iter().rev()).all(|(x, y)| x == y));
    }

    #[test]
    fn describe_and_stars() {
        let d = describe(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!((d.n, d.mean, d.median), (4, 2.5, 2.5));
        assert!((d.sd - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert!((d.sem - d.sd / 2.0).abs() < 1e-15);
        assert_eq!(stars(0.05), "*");
        assert_eq!(stars(0.0500001), "ns");
        assert_eq!(stars(1e-4), "****");
        assert_eq!(stars(0.001), "***");
        assert_eq!(stars(f64::NAN), "ns");
    }
}
