//! Mirror of `shaders/expand.wgsl`: scipy's exact Euclidean feature transform (Maurer et al.
//! 2003; `_VoronoiFT` applied along y, then along x) and skimage's `expand_labels` on it.
//! Written as scipy writes it, in f64 (exact here: every quantity is an integer below 2^53).

/// Voronoi pass along one line. `f[i]` is the feature (y, x) seen at position i of the line
/// (or `None`), `coor` the line's fixed coordinate, `d` the axis along the line (0 = y, 1 = x).
fn voronoi(f: &mut [Option<(i64, i64)>], coor: (i64, i64), d: usize) {
    let get = |p: (i64, i64), axis: usize| if axis == 0 { p.0 } else { p.1 };
    let other = 1 - d;
    let fixed = get(coor, other);
    let len = f.len();
    let mut g: Vec<usize> = Vec::with_capacity(len);
    for ii in 0..len {
        let Some(fi) = f[ii] else { continue };
        let fd = get(fi, d) as f64;
        let tw = (get(fi, other) - fixed) as f64;
        let w_r = tw * tw;
        while g.len() >= 2 {
            let i1 = g[g.len() - 1];
            let i2 = g[g.len() - 2];
            let (p1, p2) = (f[i1].unwrap(), f[i2].unwrap());
            let f1 = get(p1, d) as f64;
            let a = f1 - get(p2, d) as f64;
            let b = fd - f1;
            let c = a + b;
            let tu = (get(p2, other) - fixed) as f64;
            let tv = (get(p1, other) - fixed) as f64;
            let (u_r, v_r) = (tu * tu, tv * tv);
            if c * v_r - b * u_r - a * w_r - a * b * c <= 0.0 {
                break;
            }
            g.pop();
        }
        g.push(ii);
    }
    if g.is_empty() {
        return;
    }
    let dist = |p: (i64, i64), ii: usize| {
        let t_d = (get(p, d) - ii as i64) as f64;
        let t_o = (get(p, other) - fixed) as f64;
        t_d * t_d + t_o * t_o
    };
    let snapshot: Vec<(i64, i64)> = g.iter().map(|&i| f[i].unwrap()).collect();
    let mut l = 0;
    for (ii, slot) in f.iter_mut().enumerate() {
        let mut d1 = dist(snapshot[l], ii);
        while l + 1 < snapshot.len() {
            let d2 = dist(snapshot[l + 1], ii);
            if d1 <= d2 {
                break;
            }
            d1 = d2;
            l += 1;
        }
        *slot = Some(snapshot[l]);
    }
}

/// Nearest feature (nonzero label pixel) of every pixel as (y, x), or `None` when there is
/// no feature at all.
pub fn feature_transform(labels: &[u32], width: usize, height: usize) -> Vec<Option<(i64, i64)>> {
    let mut ft: Vec<Option<(i64, i64)>> = vec![None; width * height];
    for x in 0..width {
        let mut col: Vec<Option<(i64, i64)>> = (0..height)
            .map(|y| (labels[y * width + x] != 0).then_some((y as i64, x as i64)))
            .collect();
        voronoi(&mut col, (0, x as i64), 0);
        for y in 0..height {
            ft[y * width + x] = col[y];
        }
    }
    for y in 0..height {
        let row = &mut ft[y * width..(y + 1) * width];
        voronoi(row, (y as i64, 0), 1);
    }
    ft
}

/// Largest integer squared distance whose f64 square root is <= `distance` (scikit-image
/// compares `sqrt(d2) <= distance` in float64).
pub fn max_d2(distance: f64) -> u64 {
    if distance.is_nan() || distance < 0.0 {
        return 0;
    }
    if distance >= 2f64.powi(31) {
        return u64::MAX; // farther than any two pixels can be
    }
    let mut d2 = (distance * distance).floor().min(u64::MAX as f64 / 2.0) as u64;
    while d2 > 0 && (d2 as f64).sqrt() > distance {
        d2 -= 1;
    }
    while ((d2 + 1) as f64).sqrt() <= distance {
        d2 += 1;
    }
    d2
}

/// `skimage.segmentation.expand_labels(labels, distance)`.
pub fn expand_labels(labels: &[u32], width: usize, height: usize, distance: f64) -> Vec<u32> {
    let limit = max_d2(distance);
    feature_transform(labels, width, height)
        .iter()
        .enumerate()
        .map(|(i, f)| match f {
            None => 0,
            Some((fy, fx)) => {
                let (y, x) = ((i / width) as i64, (i % width) as i64);
                let d2 = ((fy - y) * (fy - y) + (fx - x) * (fx - x)) as u64;
                if d2 <= limit {
                    labels[*fy as usize * width + *fx as usize]
                } else {
                    0
                }
            }
        })
        .collect()
}

/// Reference of `ops::expand::expand_shells` for one shell, composed from
/// [`expand_labels`]: `expand_labels(to)` where `expand_labels(from)` and `exclude` are 0
/// (1 instead of the label with `as_one`; with an infinite `to`, `as_one` also marks the
/// pixels no label reaches).
#[allow(clippy::too_many_arguments)]
pub fn shell(
    labels: &[u32],
    width: usize,
    height: usize,
    from: f64,
    to: f64,
    as_one: bool,
    exclude: &[u32],
) -> Vec<u32> {
    let near = expand_labels(labels, width, height, from);
    let far = expand_labels(labels, width, height, to);
    let everything = max_d2(to) == u64::MAX;
    (0..labels.len())
        .map(|i| {
            if near[i] != 0 || exclude[i] != 0 {
                0
            } else if as_one {
                (far[i] != 0 || everything) as u32
            } else {
                far[i]
            }
        })
        .collect()
}
