//! The linear assignment problem of Jaqaman et al. (Nat Methods 2008), as TrackMate's LAP
//! trackers pose it: sources (rows) may each be linked to one target (column) among their
//! candidates, or left unlinked at an "alternative" cost; so may the targets. In the paper's
//! augmented matrix
//!
//! ```text
//!           targets        row alternatives
//! sources   [ C  (costs)   | diag(alt)      ]
//! dummies   [ diag(alt)    | Cᵀ (aux costs) ]
//! ```
//!
//! the lower-right block is the transpose of the candidate pattern, every allowed entry at
//! the smallest candidate cost (`aux`): so every link costs `c + aux`, every source or target
//! left alone `alt`, and the optimum of the augmented problem is the partial matching that
//! minimises
//!
//! `Σ_links (c + aux) + alt · (unlinked sources + unlinked targets)`.
//!
//! [`solve`] splits the candidates into independent groups (union-find: sources and targets
//! connected through candidate pairs) and solves each group's augmented matrix densely with
//! the `lsap` crate (SciPy's shortest augmenting path, f64); forbidden entries get a large
//! finite cost, never infinity. [`brute_force`] is the plain reference: every partial
//! matching tried, for small problems and the tests.

/// One assignment problem: `rows` sources, `cols` targets, the allowed pairs with their
/// costs (finite, ≥ 0), and the cost of leaving a source or a target unlinked.
#[derive(Clone, Debug)]
pub struct Problem {
    pub rows: usize,
    pub cols: usize,
    /// (source, target, cost); at most one entry per pair.
    pub candidates: Vec<(usize, usize, f64)>,
    /// Cost of a source or a target left unlinked.
    pub alternative: f64,
}

impl Problem {
    /// The lower-right block's cost: the smallest candidate cost (0 without candidates).
    pub fn aux(&self) -> f64 {
        self.candidates
            .iter()
            .map(|c| c.2)
            .reduce(f64::min)
            .unwrap_or(0.0)
    }

    /// The objective of `links` (source → target per row): see the module docs.
    pub fn objective(&self, links: &[Option<usize>]) -> f64 {
        let aux = self.aux();
        let mut total = 0.0;
        let mut linked_cols = 0;
        for (r, l) in links.iter().enumerate() {
            match l {
                Some(c) => {
                    let cost = self
                        .candidates
                        .iter()
                        .find(|x| x.0 == r && x.1 == *c)
                        .map(|x| x.2)
                        .expect("a link is a candidate");
                    total += cost + aux;
                    linked_cols += 1;
                }
                None => total += self.alternative,
            }
        }
        total + self.alternative * (self.cols - linked_cols) as f64
    }
}

/// Union-find with path halving.
struct Groups(Vec<usize>);

impl Groups {
    fn new(n: usize) -> Groups {
        Groups((0..n).collect())
    }
    fn find(&mut self, mut i: usize) -> usize {
        while self.0[i] != i {
            self.0[i] = self.0[self.0[i]];
            i = self.0[i];
        }
        i
    }
    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.0[a.max(b)] = a.min(b);
        }
    }
}

/// The optimal links (per source, its target or `None`).
pub fn solve(p: &Problem) -> Vec<Option<usize>> {
    let mut links = vec![None; p.rows];
    if p.candidates.is_empty() {
        return links;
    }
    let aux = p.aux();
    // nodes: sources 0..rows, targets rows..rows+cols
    let mut g = Groups::new(p.rows + p.cols);
    for &(r, c, _) in &p.candidates {
        g.union(r, p.rows + c);
    }
    let mut members: std::collections::BTreeMap<usize, (Vec<usize>, Vec<usize>)> =
        Default::default();
    for &(r, c, _) in &p.candidates {
        let root = g.find(r);
        let e = members.entry(root).or_default();
        if !e.0.contains(&r) {
            e.0.push(r);
        }
        if !e.1.contains(&c) {
            e.1.push(c);
        }
    }
    let mut by_group: std::collections::BTreeMap<usize, Vec<(usize, usize, f64)>> =
        Default::default();
    for &(r, c, cost) in &p.candidates {
        by_group.entry(g.find(r)).or_default().push((r, c, cost));
    }
    for (root, (rows, cols)) in members {
        let cands = &by_group[&root];
        if rows.len() == 1 && cols.len() == 1 {
            // one pair: linked when that is cheaper than leaving both alone
            let (r, c, cost) = cands[0];
            if cost + aux < 2.0 * p.alternative {
                links[r] = Some(c);
            }
            continue;
        }
        let (nr, nc) = (rows.len(), cols.len());
        let n = nr + nc;
        let ri = |r: usize| rows.iter().position(|&x| x == r).expect("member");
        let ci = |c: usize| cols.iter().position(|&x| x == c).expect("member");
        let largest = cands
            .iter()
            .map(|c| c.2 + aux)
            .fold(p.alternative, f64::max);
        // larger than any complete assignment of allowed entries
        let block = (largest + 1.0) * (n as f64 + 1.0) * 16.0;
        let mut m = vec![block; n * n];
        for &(r, c, cost) in cands {
            let (i, j) = (ri(r), ci(c));
            m[i * n + j] = cost;
            m[(nr + j) * n + nc + i] = aux;
        }
        for i in 0..nr {
            m[i * n + nc + i] = p.alternative;
        }
        for j in 0..nc {
            m[(nr + j) * n + j] = p.alternative;
        }
        let (ar, ac) = lsap::solve(n, n, &m, false).expect("a square finite matrix is feasible");
        for (&i, &j) in ar.iter().zip(&ac) {
            if i < nr && j < nc {
                links[rows[i]] = Some(cols[j]);
            }
        }
    }
    links
}

/// The optimum by trying every partial matching (exponential: small problems only). Returns
/// the links and their objective.
pub fn brute_force(p: &Problem) -> (Vec<Option<usize>>, f64) {
    let mut cands_of: Vec<Vec<usize>> = vec![Vec::new(); p.rows];
    for &(r, c, _) in &p.candidates {
        cands_of[r].push(c);
    }
    let mut best = (vec![None; p.rows], f64::INFINITY);
    let mut cur = vec![None; p.rows];
    let mut used = vec![false; p.cols];
    fn go(
        r: usize,
        p: &Problem,
        cands_of: &[Vec<usize>],
        cur: &mut Vec<Option<usize>>,
        used: &mut Vec<bool>,
        best: &mut (Vec<Option<usize>>, f64),
    ) {
        if r == p.rows {
            let v = p.objective(cur);
            if v < best.1 {
                *best = (cur.clone(), v);
            }
            return;
        }
        cur[r] = None;
        go(r + 1, p, cands_of, cur, used, best);
        for &c in &cands_of[r] {
            if !used[c] {
                used[c] = true;
                cur[r] = Some(c);
                go(r + 1, p, cands_of, cur, used, best);
                used[c] = false;
                cur[r] = None;
            }
        }
    }
    go(0, p, &cands_of, &mut cur, &mut used, &mut best);
    best
}

/// TrackMate's cost of linking two spots: the squared distance, times the square of
/// `1 + Σ wᵢ · 3 |aᵢ − bᵢ| / (aᵢ + bᵢ)` over the feature penalties (`LINKING_FEATURE_PENALTIES`).
pub fn link_cost(d2: f64, a: &[f64], b: &[f64], weights: &[f64]) -> f64 {
    let mut p = 1.0;
    for ((&w, &x), &y) in weights.iter().zip(a).zip(b) {
        if w > 0.0 && (x + y).abs() > 0.0 && x.is_finite() && y.is_finite() {
            p += w * 3.0 * (x - y).abs() / (x + y).abs();
        }
    }
    d2 * p * p
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn problem_from_points(
        a: &[(f64, f64)],
        b: &[(f64, f64)],
        max_d: f64,
        alt_factor: f64,
    ) -> Problem {
        let mut candidates = Vec::new();
        for (i, p) in a.iter().enumerate() {
            for (j, q) in b.iter().enumerate() {
                let d2 = (p.0 - q.0).powi(2) + (p.1 - q.1).powi(2);
                if d2 <= max_d * max_d {
                    candidates.push((i, j, d2));
                }
            }
        }
        let max = candidates.iter().map(|c| c.2).fold(0.0, f64::max);
        Problem {
            rows: a.len(),
            cols: b.len(),
            candidates,
            alternative: alt_factor * max,
        }
    }

    #[test]
    fn the_nearest_pairs_link_and_a_far_spot_stays_alone() {
        let p = problem_from_points(
            &[(0.0, 0.0), (10.0, 0.0), (50.0, 50.0)],
            &[(10.5, 0.0), (0.3, 0.2)],
            5.0,
            1.05,
        );
        assert_eq!(solve(&p), vec![Some(1), Some(0), None]);
    }

    #[test]
    fn two_close_tracks_crossing_are_not_swapped_when_the_costs_say_so() {
        // a at x=0 moves to 0.4, b at x=1 moves to 0.6: the swap would cost less in one pair
        // but more in sum; the assignment keeps each on its own side
        let p = problem_from_points(
            &[(0.0, 0.0), (1.0, 0.0)],
            &[(0.4, 0.0), (0.6, 0.0)],
            2.0,
            1.05,
        );
        let links = solve(&p);
        assert_eq!(links, vec![Some(0), Some(1)]);
        assert!(p.objective(&links) <= p.objective(&[Some(1), Some(0)]));
    }

    #[test]
    fn feature_penalties_follow_trackmate() {
        assert_eq!(link_cost(4.0, &[10.0], &[10.0], &[1.0]), 4.0);
        // |10-30|/(40) * 3 * 1 = 1.5 -> (1 + 1.5)^2 = 6.25
        assert!((link_cost(4.0, &[10.0], &[30.0], &[1.0]) - 25.0).abs() < 1e-12);
        assert_eq!(link_cost(4.0, &[10.0], &[30.0], &[0.0]), 4.0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// The grouped dense solve equals the exhaustive optimum, no-link alternatives
        /// included, on random small point sets.
        #[test]
        fn lap_equals_exhaustive_minimum(
            a in proptest::collection::vec((0.0f64..10.0, 0.0f64..10.0), 0..6),
            b in proptest::collection::vec((0.0f64..10.0, 0.0f64..10.0), 0..6),
            max_d in 0.5f64..8.0,
            alt_factor in 0.3f64..2.0,
        ) {
            let p = problem_from_points(&a, &b, max_d, alt_factor);
            let links = solve(&p);
            // a valid partial matching over candidates
            let mut seen = std::collections::HashSet::new();
            for (r, l) in links.iter().enumerate() {
                if let Some(c) = l {
                    prop_assert!(seen.insert(*c));
                    prop_assert!(p.candidates.iter().any(|x| x.0 == r && x.1 == *c));
                }
            }
            let (_, best) = brute_force(&p);
            let got = p.objective(&links);
            prop_assert!((got - best).abs() <= 1e-9 * (1.0 + best.abs()), "lap {} exhaustive {}", got, best);
        }
    }
}
