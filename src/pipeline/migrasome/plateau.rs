//! Plateaus joined to a cell body: a seeded watershed on the body image's gradient, on a
//! coarse grid on the host.
//!
//! Uneven illumination, haze and a dense field of migrasomes and fibers can raise the
//! background beside a dim body above the body floor; the region at the floor then runs from
//! the body into that plateau, and every migrasome on it falls in the body zone. Intensity
//! cannot split them (the plateau stands at 0.6 of the dim body's level on our generator's
//! senescent seed 102), the body's edge can: a body ends in a step, a plateau fades. So the
//! body image's gradient is flooded from the nuclei and from the clear background (below
//! half the floor) at once (Meyer's priority flood, as `skimage.segmentation.watershed`).
//! A piece of the mask that the background's flood wins is cut when it is at least as wide
//! as the body disk somewhere, lies in a region (of blocks) holding a nucleus, and the
//! background's flood enters its wide part below half the level at which the nuclei's does
//! (`PASS_RATIO`: it fades into the background; a lobe is bounded by an edge all round).
//!
//! Host arithmetic on block means of the body image (a few tens of thousands of values);
//! the cut goes back to the GPU as a coarse grid, interpolated to full size. Crates looked
//! at: `imageproc` has no seeded watershed, `rustronomy-watershed` floods unseeded with
//! merging (and brings ndarray and rayon); the flood is thirty lines of `std`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Marker of the nuclei's flood.
pub const NUCLEUS: u32 = 1;
/// Marker of the clear background's flood.
pub const BACKGROUND: u32 = 2;

/// The clear background: below this fraction of the body floor.
pub const BACKGROUND_FRACTION: f64 = 0.5;

/// A piece is cut only when the background's flood enters it below this fraction of the
/// level at which the nuclei's flood does: it fades into the background and is stepped off
/// from the body. A lobe of a body, or a touching cell whose own nucleus the mask misses,
/// is bounded by an edge nearly all round (0.79-1.0 on the independent fields where a cut
/// without this test took body parts: seeds 26, 58, 61, 66, 75, 77), the plateau beside
/// our generator's senescent seed 102 at SNR 12 fades (0.23).
pub const PASS_RATIO: f32 = 0.5;

/// Sobel gradient magnitude (edges replicated), `sqrt((gx² + gy²) / 2)` with the kernels
/// divided by 4, as `skimage.filters.sobel`; infinite where it is not finite.
pub fn sobel(img: &[f32], w: usize, h: usize) -> Vec<f32> {
    let at = |x: isize, y: isize| {
        let x = x.clamp(0, w as isize - 1) as usize;
        let y = y.clamp(0, h as isize - 1) as usize;
        img[y * w + x]
    };
    let mut out = vec![0.0f32; w * h];
    for y in 0..h as isize {
        for x in 0..w as isize {
            let gx = (at(x + 1, y - 1) + 2.0 * at(x + 1, y) + at(x + 1, y + 1)
                - at(x - 1, y - 1)
                - 2.0 * at(x - 1, y)
                - at(x - 1, y + 1))
                / 4.0;
            let gy = (at(x - 1, y + 1) + 2.0 * at(x, y + 1) + at(x + 1, y + 1)
                - at(x - 1, y - 1)
                - 2.0 * at(x, y - 1)
                - at(x + 1, y - 1))
                / 4.0;
            let g = ((gx * gx + gy * gy) / 2.0).sqrt();
            // a NaN block (NaN pixels in a float image) is a wall no flood crosses cheaply
            out[y as usize * w + x as usize] = if g.is_finite() { g } else { f32::INFINITY };
        }
    }
    out
}

/// Flood levels from `seeds`: for every pixel, the lowest level at which a flood rising
/// through `values` from the seeds reaches it (the minimax path cost: the largest value on
/// the best 4-connected path, both ends included; a priority flood). Infinite where no
/// seed is.
pub fn levels(values: &[f32], w: usize, h: usize, seeds: &[bool]) -> Vec<f32> {
    let mut level = vec![f32::INFINITY; w * h];
    let mut heap = BinaryHeap::new();
    for (i, _) in seeds.iter().enumerate().filter(|(_, s)| **s) {
        level[i] = values[i];
        heap.push((key(values[i]), i));
    }
    while let Some((Reverse(k), i)) = heap.pop() {
        if k != key(level[i]).0 {
            continue;
        }
        for j in neighbours(i, w, h) {
            let l = level[i].max(values[j]);
            if l < level[j] {
                level[j] = l;
                heap.push((key(l), j));
            }
        }
    }
    level
}

/// Seeded watershed (Meyer's priority flood, 4-connected, ties first come first served,
/// as `skimage.segmentation.watershed`): every pixel takes the marker (nonzero in
/// `markers`) whose flood reaches it first, the floods rising through `values` together.
/// A pixel no flood reaches keeps 0. Where two floods reach a pixel at the same level (a
/// migrasome's rim inside a plateau, higher than the plateau's pass), the one already
/// around it takes it, which [`levels`] alone cannot tell.
pub fn flood(values: &[f32], w: usize, h: usize, markers: &[u32]) -> Vec<u32> {
    let mut out = markers.to_vec();
    let mut heap = BinaryHeap::new();
    let mut age = 0u64;
    for (i, &m) in markers.iter().enumerate() {
        if m != 0 {
            heap.push((key(values[i]), Reverse(age), i));
            age += 1;
        }
    }
    while let Some((_, _, i)) = heap.pop() {
        for j in neighbours(i, w, h) {
            if out[j] == 0 {
                out[j] = out[i];
                heap.push((key(values[j]), Reverse(age), j));
                age += 1;
            }
        }
    }
    out
}

/// f32 in total order as u32 (negatives flipped), smallest first in a max-heap.
fn key(v: f32) -> Reverse<u32> {
    let b = v.to_bits();
    Reverse(if b >> 31 == 1 { !b } else { b | 0x8000_0000 })
}

/// The 4-connected neighbours of pixel `i` in a `w` x `h` grid.
fn neighbours(i: usize, w: usize, h: usize) -> impl Iterator<Item = usize> {
    let (x, y) = (i % w, i / w);
    [
        (x > 0).then(|| i - 1),
        (x + 1 < w).then(|| i + 1),
        (y > 0).then(|| i - w),
        (y + 1 < h).then(|| i + w),
    ]
    .into_iter()
    .flatten()
}

/// Binary opening with a disk of radius `r`, pixels outside the grid counting as set (as in
/// the GPU's `binary_opening`: a plateau along the image border is as wide as it reaches
/// into the field). The erosion tests only set pixels (stopping at the first unset one
/// under the disk, its rim first) and the dilation stamps the disk around the eroded ones,
/// so a mask of thin edges costs little.
pub fn open_disk(mask: &[bool], w: usize, h: usize, r: f64) -> Vec<bool> {
    let ri = r.floor() as isize;
    let mut offsets: Vec<(isize, isize)> = (-ri..=ri)
        .flat_map(|dy| (-ri..=ri).map(move |dx| (dx, dy)))
        .filter(|&(dx, dy)| ((dx * dx + dy * dy) as f64) <= r * r)
        .collect();
    offsets.sort_by_key(|&(dx, dy)| Reverse(dx * dx + dy * dy));
    let inside = |x: isize, y: isize| x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h;
    let mut out = vec![false; w * h];
    for y in 0..h as isize {
        for x in 0..w as isize {
            if !mask[y as usize * w + x as usize] {
                continue;
            }
            let fits = offsets.iter().all(|&(dx, dy)| {
                !inside(x + dx, y + dy) || mask[(y + dy) as usize * w + (x + dx) as usize]
            });
            if fits {
                for &(dx, dy) in &offsets {
                    if inside(x + dx, y + dy) {
                        out[(y + dy) as usize * w + (x + dx) as usize] = true;
                    }
                }
            }
        }
    }
    out
}

/// The pieces to cut, on the coarse grid (1.0 = cut): blocks of the body mask (`in_mask`:
/// at least half of the block in it) where the body image (`body`, block means) stands
/// above the `floor` but the background's flood on its gradient reaches them first,
/// opened with a disk of `open_radius` blocks, each piece kept when the background enters
/// it well below the nuclei (`PASS_RATIO`) and lies in a region holding a nucleus (blocks
/// of the mask or of a nucleus, 8-connected: the GPU's regions, approximately); such a
/// piece is cut whole, narrow arms included. `nuclei`: blocks holding a nucleus pixel.
/// `None` when there is nothing to cut. Only the mask's pieces: the haze skirt
/// around a bright body, above the floor but outside the mask (under its half maximum),
/// would otherwise make a wide piece whose interpolated edge shaves the body's.
pub fn cut(
    body: &[f32],
    nuclei: &[bool],
    in_mask: &[bool],
    w: usize,
    h: usize,
    floor: f64,
    open_radius: f64,
) -> Option<Vec<f32>> {
    if !nuclei.iter().any(|&n| n) {
        return None;
    }
    let clear = (BACKGROUND_FRACTION * floor) as f32;
    let background: Vec<bool> = body
        .iter()
        .zip(nuclei)
        .map(|(&v, &n)| !n && v <= clear)
        .collect();
    let grad = sobel(body, w, h);
    let from_nuclei = levels(&grad, w, h, nuclei);
    let from_background = levels(&grad, w, h, &background);
    let markers: Vec<u32> = (0..w * h)
        .map(|i| {
            if nuclei[i] {
                NUCLEUS
            } else if background[i] {
                BACKGROUND
            } else {
                0
            }
        })
        .collect();
    let basins = flood(&grad, w, h, &markers);
    let above: Vec<bool> = (0..w * h)
        .map(|i| in_mask[i] && f64::from(body[i]) > floor && basins[i] == BACKGROUND)
        .collect();
    let opened = open_disk(&above, w, h, open_radius);
    // only pieces of a region that holds a nucleus (a body cut by the border without its
    // nucleus floods from none and keeps its own edge test); regions 8-connected as on the
    // GPU, on the blocks of the mask and of the nuclei
    let held: Vec<bool> = (0..w * h).map(|i| in_mask[i] || nuclei[i]).collect();
    let mut with_nucleus = vec![false; w * h];
    for region in components(&held, w, h, true) {
        if region.iter().any(|&i| nuclei[i]) {
            for i in region {
                with_nucleus[i] = true;
            }
        }
    }
    // each piece (4-connected): cut when the background's flood enters its wide part
    // (what the opening keeps of it) below `PASS_RATIO` of the level at which the nuclei's
    // flood does; then whole, corners and all (the opening alone would leave the plateau in
    // the corners it makes against the body)
    let mut out = vec![0.0f32; w * h];
    let mut any = false;
    for piece in components(&above, w, h, false) {
        let wide: Vec<usize> = piece.iter().copied().filter(|&i| opened[i]).collect();
        if wide.is_empty() || !with_nucleus[piece[0]] {
            continue;
        }
        let pass = wide
            .iter()
            .map(|&i| from_background[i])
            .fold(f32::INFINITY, f32::min);
        let inner = wide
            .iter()
            .map(|&i| from_nuclei[i])
            .fold(f32::INFINITY, f32::min);
        if pass < PASS_RATIO * inner {
            any = true;
            for &i in &piece {
                out[i] = 1.0;
            }
        }
    }
    any.then_some(out)
}

/// The connected components of `mask` (4- or, with `eight`, 8-connected), each as its
/// pixels' indices.
pub fn components(mask: &[bool], w: usize, h: usize, eight: bool) -> Vec<Vec<usize>> {
    let mut seen = vec![false; w * h];
    let mut out = Vec::new();
    for start in 0..w * h {
        if !mask[start] || seen[start] {
            continue;
        }
        let mut piece = vec![start];
        seen[start] = true;
        let mut k = 0;
        while k < piece.len() {
            let i = piece[k];
            k += 1;
            let (x, y) = ((i % w) as isize, (i / w) as isize);
            for (dx, dy) in [
                (-1, 0),
                (1, 0),
                (0, -1),
                (0, 1),
                (-1, -1),
                (1, -1),
                (-1, 1),
                (1, 1),
            ]
            .into_iter()
            .take(if eight { 8 } else { 4 })
            {
                let (nx, ny) = (x + dx, y + dy);
                if nx < 0 || ny < 0 || nx >= w as isize || ny >= h as isize {
                    continue;
                }
                let j = ny as usize * w + nx as usize;
                if mask[j] && !seen[j] {
                    seen[j] = true;
                    piece.push(j);
                }
            }
        }
        out.push(piece);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Minimax path cost from the seeds, by Bellman-Ford relaxation to the fixpoint: the
    /// plain definition of what [`levels`] computes with a priority queue.
    fn minimax(values: &[f32], w: usize, h: usize, seeds: &[bool]) -> Vec<f32> {
        let mut cost: Vec<f32> = seeds
            .iter()
            .zip(values)
            .map(|(&s, &v)| if s { v } else { f32::INFINITY })
            .collect();
        loop {
            let mut changed = false;
            for i in 0..w * h {
                for j in neighbours(i, w, h) {
                    let c = cost[j].max(values[i]);
                    if c < cost[i] {
                        cost[i] = c;
                        changed = true;
                    }
                }
            }
            if !changed {
                return cost;
            }
        }
    }

    /// A random grid: its size, values (`lo..hi`) and one small integer (0..6) per pixel.
    fn grid(lo: f32, hi: f32) -> impl Strategy<Value = (usize, usize, Vec<f32>, Vec<u8>)> {
        (1usize..16, 1usize..16).prop_flat_map(move |(w, h)| {
            (
                Just(w),
                Just(h),
                proptest::collection::vec(lo..hi, w * h),
                proptest::collection::vec(0u8..6, w * h),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// The priority flood's levels equal the relaxation's, on random grids and seeds.
        #[test]
        fn levels_match_the_minimax_path_cost((w, h, values, draws) in grid(-14.0, 41.0)) {
            let seeds: Vec<bool> = draws.iter().map(|&d| d == 0).collect();
            prop_assert_eq!(levels(&values, w, h, &seeds), minimax(&values, w, h, &seeds));
        }

        /// Every pixel's flood is one of those that reach it at the lowest level, on random
        /// grids (values on a coarse scale, so that ties occur) with markers of three labels.
        #[test]
        fn the_flood_reaches_each_pixel_at_its_lowest_level(
            (w, h, values, draws) in grid(-3.0, 7.0),
        ) {
            let values: Vec<f32> = values.iter().map(|v| v.round()).collect();
            // draws 1-3 are markers of that label, the rest none; the first pixel always one
            let mut markers: Vec<u32> =
                draws.iter().map(|&d| if (1..=3).contains(&d) { u32::from(d) } else { 0 }).collect();
            if markers[0] == 0 {
                markers[0] = 1;
            }
            let out = flood(&values, w, h, &markers);
            let costs: Vec<Vec<f32>> = (1..=3)
                .map(|l| {
                    let seeds: Vec<bool> = markers.iter().map(|&m| m == l).collect();
                    minimax(&values, w, h, &seeds)
                })
                .collect();
            for i in 0..w * h {
                prop_assert!(out[i] != 0, "every pixel is reached");
                if markers[i] != 0 {
                    prop_assert_eq!(out[i], markers[i], "markers keep their label");
                    continue;
                }
                let best = costs.iter().map(|c| c[i]).fold(f32::INFINITY, f32::min);
                prop_assert_eq!(costs[out[i] as usize - 1][i], best, "pixel {} of {}x{}", i, w, h);
            }
        }
    }

    /// Components against scipy's `ndimage.label` on a small picture: two pixels touching
    /// at a corner are one component 8-connected, two 4-connected.
    #[test]
    fn components_four_and_eight_connected() {
        let (w, h) = (5, 4);
        #[rustfmt::skip]
        let m: Vec<bool> = [
            1, 1, 0, 0, 0,
            0, 0, 1, 0, 1,
            0, 0, 1, 0, 1,
            1, 0, 0, 0, 0,
        ]
        .iter()
        .map(|&v| v == 1)
        .collect();
        let four = components(&m, w, h, false);
        let eight = components(&m, w, h, true);
        assert_eq!(four.len(), 4);
        assert_eq!(eight.len(), 3);
        assert_eq!(four.iter().map(Vec::len).sum::<usize>(), 7);
        assert!(eight.iter().any(|c| c.len() == 4), "{eight:?}");
    }

    #[test]
    fn sobel_of_a_ramp_and_a_step() {
        let (w, h) = (5, 4);
        let ramp: Vec<f32> = (0..w * h).map(|i| (i % w) as f32 * 2.0).collect();
        let g = sobel(&ramp, w, h);
        // inside: gx = 2 * 2 (central difference over 2 px, weights 1 2 1 / 4 = 1) -> 4
        assert!((g[w + 2] - 4.0 / 2f32.sqrt()).abs() < 1e-6);
        // replicated edge: one-sided difference of 2
        assert!((g[w] - 2.0 / 2f32.sqrt()).abs() < 1e-6);
        let flat = vec![7.0f32; w * h];
        assert!(sobel(&flat, w, h).iter().all(|&v| v == 0.0));
    }

    #[test]
    fn opening_removes_what_the_disk_does_not_fit() {
        let (w, h) = (20, 12);
        let mut m = vec![false; w * h];
        // a 7 x 7 square and a line 2 px wide
        for y in 2..9 {
            for x in 2..9 {
                m[y * w + x] = true;
            }
        }
        for y in 3..5 {
            for x in 9..19 {
                m[y * w + x] = true;
            }
        }
        let o = open_disk(&m, w, h, 2.0);
        assert!(o[5 * w + 5], "the square's centre stays");
        assert!(!o[3 * w + 15], "the line goes");
        assert!(
            o.iter().zip(&m).all(|(&a, &b)| !a || b),
            "an opening only removes"
        );
    }

    /// A dim body (a disk at 40 around its nucleus) and a plateau beside it fading from 30
    /// to 0 to the right; with `arm`, the plateau stops 10 px above the bottom and an arm 2
    /// px wide (at 20) reaches down from it.
    fn plateau_scene(w: usize, h: usize, arm: bool) -> (Vec<f32>, Vec<bool>) {
        let mut body = vec![0.0f32; w * h];
        let mut nuclei = vec![false; w * h];
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = (x as f32 - 15.0, y as f32 - 20.0);
                let r = (dx * dx + dy * dy).sqrt();
                let plateau = if x >= 20 && (!arm || y < 30) {
                    30.0 * (1.0 - (x as f32 - 20.0) / 45.0)
                } else if arm && (40..42).contains(&x) && y >= 30 {
                    20.0
                } else {
                    0.0
                };
                body[y * w + x] = if r <= 10.0 { 40.0 } else { plateau };
                nuclei[y * w + x] = r <= 3.0;
            }
        }
        (body, nuclei)
    }

    /// A dim body (a disk at 40) beside a plateau (a ramp fading from 30 to 0): the
    /// plateau is cut, the body is not.
    #[test]
    fn a_plateau_beside_a_body_is_cut_and_the_body_kept() {
        let (w, h) = (60, 40);
        let (body, nuclei) = plateau_scene(w, h, false);
        let mask: Vec<bool> = body.iter().map(|&v| v > 15.0).collect();
        let c = cut(&body, &nuclei, &mask, w, h, 15.0, 3.0).expect("a cut");
        assert_eq!(c[20 * w + 15], 0.0, "the body's centre is kept");
        assert_eq!(c[20 * w + 8], 0.0, "the body's far side is kept");
        assert_eq!(c[20 * w + 35], 1.0, "the plateau is cut");
        // no plateau: nothing to cut
        let lone: Vec<f32> = body
            .iter()
            .map(|&v| if v == 40.0 { v } else { 0.0 })
            .collect();
        assert!(cut(&lone, &nuclei, &mask, w, h, 15.0, 3.0).is_none());
        // a plateau outside the mask is not cut
        let body_only: Vec<bool> = lone.iter().map(|&v| v > 15.0).collect();
        assert!(cut(&body, &nuclei, &body_only, w, h, 15.0, 3.0).is_none());
    }

    /// A body (80, with its nucleus) and a dimmer lobe (30) beside it, each with a sharp
    /// edge: the background's flood wins the lobe (its edge, 30 high, is lower than the step
    /// of 50 from the body), but it enters at 0.6 of the nuclei's level, so the lobe is kept.
    #[test]
    fn a_lobe_bounded_by_its_own_edge_is_kept() {
        let (w, h) = (60, 40);
        let mut body = vec![0.0f32; w * h];
        let mut nuclei = vec![false; w * h];
        for y in 0..h {
            for x in 0..w {
                let d =
                    |cx: f32, cy: f32| ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
                body[y * w + x] = if d(15.0, 20.0) <= 10.0 {
                    80.0
                } else if d(33.0, 20.0) <= 9.0 {
                    30.0
                } else {
                    0.0
                };
                nuclei[y * w + x] = d(15.0, 20.0) <= 3.0;
            }
        }
        let mask: Vec<bool> = body.iter().map(|&v| v > 15.0).collect();
        assert!(cut(&body, &nuclei, &mask, w, h, 15.0, 3.0).is_none());
        // the same lobe fading into the background (a ramp from 30 down over 8 px) is cut
        let mut fading = body.clone();
        for y in 0..h {
            for x in 0..w {
                let d = ((x as f32 - 33.0).powi(2) + (y as f32 - 20.0).powi(2)).sqrt();
                if body[y * w + x] == 0.0 && d > 9.0 && d <= 17.0 && x > 25 {
                    fading[y * w + x] = 30.0 * (17.0 - d) / 8.0;
                }
            }
        }
        let c = cut(&fading, &nuclei, &mask, w, h, 15.0, 3.0).expect("the fading lobe is cut");
        assert_eq!(c[20 * w + 33], 1.0);
        assert_eq!(c[20 * w + 15], 0.0, "the body stays");
    }

    /// The plateau scene with an arm (2 blocks wide) reaching down from the plateau, and
    /// once more with the nucleus in a separate body: the arm goes with its piece; without
    /// a nucleus in its region nothing is cut.
    #[test]
    fn a_cut_takes_the_whole_piece_and_only_beside_a_nucleus() {
        let (w, h) = (60, 40);
        let (body, nuclei) = plateau_scene(w, h, true);
        let mask: Vec<bool> = body.iter().map(|&v| v > 15.0).collect();
        let c = cut(&body, &nuclei, &mask, w, h, 15.0, 3.0).expect("a cut");
        assert_eq!(c[20 * w + 35], 1.0, "the plateau");
        assert_eq!(c[35 * w + 40], 1.0, "its arm, narrower than the disk");
        // the nucleus in a body of its own, apart from the plateau's region
        let mut apart = body.clone();
        let mut nuc2 = vec![false; w * h];
        for y in 0..h {
            for x in 0..w {
                let r = ((x as f32 - 15.0).powi(2) + (y as f32 - 20.0).powi(2)).sqrt();
                if r <= 10.0 {
                    apart[y * w + x] = 0.0;
                }
                let r2 = ((x as f32 - 5.0).powi(2) + (y as f32 - 5.0).powi(2)).sqrt();
                if r2 <= 4.0 {
                    apart[y * w + x] = 40.0;
                    nuc2[y * w + x] = r2 <= 1.5;
                }
            }
        }
        let mask2: Vec<bool> = apart.iter().map(|&v| v > 15.0).collect();
        assert!(cut(&apart, &nuc2, &mask2, w, h, 15.0, 3.0).is_none());
    }
}
