//! A bar chart in the style of a paper panel and of SuperPlots (Lord et al., J Cell Biol
//! 2020): per condition a bar of mean ± SEM (at the test's unit), every cell as a jittered dot
//! coloured by its replicate, the replicate means as large markers of the same colours, and a
//! bracket with the stars over each condition-vs-control pair. The control is the first group.

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use super::axis::{Scale, Ticks};
use super::svg::{Anchor, LEADING, Svg, text_width, wrap};

/// Okabe–Ito colours (colour-blind safe), yellow last (faint on white).
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#999999", "#F0E442",
];

/// One condition.
#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    /// n at the unit of the test (printed under the name).
    pub n: usize,
    /// Mean and SEM at the unit of the test (the bar and its error bar).
    pub mean: f64,
    pub sem: f64,
    /// (replicate index, value): every cell.
    pub dots: Vec<(usize, f64)>,
    /// (replicate index, mean of its cells).
    pub replicate_means: Vec<(usize, f64)>,
}

/// A bracket from the control (group 0) to `group`, labelled `stars`.
#[derive(Debug, Clone)]
pub struct Bracket {
    pub group: usize,
    pub stars: String,
}

/// A bar chart.
#[derive(Debug, Clone)]
pub struct BarChart {
    pub title: String,
    pub y_label: String,
    /// What n counts ("cells", "images", "replicates").
    pub n_label: String,
    /// The caption under the names.
    pub caption: String,
    pub groups: Vec<Group>,
    /// Replicate names (index → name), for the legend.
    pub replicates: Vec<String>,
    pub brackets: Vec<Bracket>,
    /// Seed of the jitter (the same chart, the same bytes).
    pub seed: u64,
}

/// Sizes (px) and fonts.
const TITLE: f64 = 15.0;
const LABEL: f64 = 13.0;
const TICK: f64 = 12.0;
const PLOT_H: f64 = 260.0;
const BRACKET_STEP: f64 = 26.0;
const BAR_W: f64 = 56.0;
/// Names wider than this wrap.
const NAME_W: f64 = 120.0;

/// Where everything goes.
#[derive(Debug, Clone)]
pub struct Layout {
    pub width: f64,
    pub height: f64,
    pub ticks: Ticks,
    pub y: Scale,
    /// Left end of the x axis and width of one group's slot.
    pub x0: f64,
    pub slot: f64,
    /// y of each bracket's horizontal line, in the order of `brackets`.
    pub bracket_y: Vec<f64>,
    pub legend_x: f64,
    /// The y axis title and the caption, broken into lines.
    pub y_label: Vec<String>,
    pub caption: Vec<String>,
    /// Each group's name, broken into lines.
    pub names: Vec<Vec<String>>,
    /// Height of the names, the n line and the gap below the x axis.
    pub below: f64,
}

impl Layout {
    /// The centre of group `i`.
    pub fn center(&self, i: usize) -> f64 {
        self.x0 + self.slot * (i as f64 + 0.5)
    }
}

/// The value range the axis must show: the dots, the error bars, and 0.
fn data_range(c: &BarChart) -> (f64, f64) {
    let mut lo = 0.0f64;
    let mut hi = 0.0f64;
    for g in &c.groups {
        let vals = g
            .dots
            .iter()
            .chain(&g.replicate_means)
            .map(|d| d.1)
            .chain([g.mean - g.sem, g.mean + g.sem]);
        for v in vals.filter(|v| v.is_finite()) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    (lo, hi)
}

/// The layout of `c`.
pub fn layout(c: &BarChart) -> Layout {
    let (lo, hi) = data_range(c);
    let ticks = Ticks::new(lo, hi, 6);
    let tick_w = ticks
        .values
        .iter()
        .map(|&v| text_width(&ticks.label(v), TICK))
        .fold(0.0, f64::max);
    let y_label = wrap(&c.y_label, LABEL, PLOT_H - 10.0);
    let x0 = 12.0 + LABEL * LEADING * y_label.len() as f64 + 8.0 + tick_w + 8.0;
    // a slot fits its n line and up to NAME_W of name; longer names wrap
    let n_w = c
        .groups
        .iter()
        .map(|g| text_width(&n_text(c, g), TICK - 1.0))
        .fold(0.0, f64::max);
    let name_w = c
        .groups
        .iter()
        .map(|g| text_width(&g.name, LABEL).min(NAME_W))
        .fold(0.0, f64::max);
    let slot = (name_w.max(n_w) + 16.0).max(BAR_W + 34.0);
    let names: Vec<Vec<String>> = c
        .groups
        .iter()
        .map(|g| wrap(&g.name, LABEL, slot - 12.0))
        .collect();
    let name_lines = names.iter().map(Vec::len).max().unwrap_or(1).max(1);
    // below the axis: the names, the n line, a gap
    let below = 8.0 + LABEL * LEADING * name_lines as f64 + 16.0 + 14.0;
    let legend_x = x0 + slot * c.groups.len() as f64 + 24.0;
    let legend_w = c
        .replicates
        .iter()
        .map(|r| 18.0 + text_width(r, TICK))
        .chain([text_width("Replicate", TICK)])
        .fold(0.0, f64::max);
    // brackets clear the axis top by more than a replicate marker's radius
    let top = 12.0 + TITLE + 22.0 + BRACKET_STEP * c.brackets.len() as f64;
    let y = Scale {
        lo: ticks.lo,
        hi: ticks.hi,
        p0: top + PLOT_H,
        p1: top,
    };
    let bracket_y = (0..c.brackets.len())
        .map(|k| top - 16.0 - BRACKET_STEP * k as f64)
        .collect();
    let width = (legend_x + legend_w + 16.0).max(text_width(&c.title, TITLE) + 24.0);
    let caption = wrap(&c.caption, TICK - 1.0, width - 24.0);
    let height = top + PLOT_H + below + 6.0 + (TICK - 1.0) * LEADING * caption.len() as f64;
    Layout {
        width,
        height,
        ticks,
        y,
        x0,
        slot,
        bracket_y,
        legend_x,
        y_label,
        caption,
        names,
        below,
    }
}

/// The line under a group's name.
fn n_text(c: &BarChart, g: &Group) -> String {
    format!("n = {} {}", g.n, c.n_label)
}

/// The chart as an SVG picture.
pub fn draw(c: &BarChart) -> Svg {
    let l = layout(c);
    let mut s = Svg::new(l.width, l.height);
    let axis = r##"stroke="#000000" stroke-width="1.2" fill="none""##;
    let (y_top, y_bottom) = (l.y.p1, l.y.p0);
    let x_end = l.x0 + l.slot * c.groups.len() as f64;
    // title
    s.text(12.0, 12.0 + TITLE, &c.title, TITLE, Anchor::Start, 0.0);
    // y axis: line, ticks, labels, title (rotated)
    s.line((l.x0, y_top), (l.x0, y_bottom), axis);
    for &v in &l.ticks.values {
        let y = l.y.px(v);
        s.line((l.x0 - 5.0, y), (l.x0, y), axis);
        s.text(
            l.x0 - 8.0,
            y + TICK * 0.35,
            &l.ticks.label(v),
            TICK,
            Anchor::End,
            0.0,
        );
    }
    s.vertical_lines(
        12.0 + LABEL * 0.8,
        (y_top + y_bottom) / 2.0,
        &l.y_label,
        LABEL,
    );
    // x axis at 0 (or at the bottom when everything is above 0)
    let y0 = l.y.px(0.0f64.clamp(l.ticks.lo, l.ticks.hi));
    s.line((l.x0, y_bottom), (x_end, y_bottom), axis);
    let mut rng = ChaCha8Rng::seed_from_u64(c.seed);
    for (i, g) in c.groups.iter().enumerate() {
        let cx = l.center(i);
        // bar
        if g.mean.is_finite() {
            let ym = l.y.px(g.mean);
            s.rect(
                cx - BAR_W / 2.0,
                ym.min(y0),
                BAR_W,
                (ym - y0).abs(),
                r##"fill="#e6e6e6" stroke="#000000" stroke-width="1""##,
            );
        }
        // cells
        for &(r, v) in &g.dots {
            let dx = (rng.random::<f64>() - 0.5) * BAR_W * 0.8;
            s.circle(
                cx + dx,
                l.y.px(v),
                2.2,
                &format!(
                    r#"fill="{}" fill-opacity="0.55""#,
                    PALETTE[r % PALETTE.len()]
                ),
            );
        }
        // replicate means, spread evenly across the bar
        let k = g.replicate_means.len();
        for (j, &(r, v)) in g.replicate_means.iter().enumerate() {
            let dx = if k > 1 {
                (j as f64 / (k - 1) as f64 - 0.5) * BAR_W * 0.5
            } else {
                0.0
            };
            s.circle(
                cx + dx,
                l.y.px(v),
                6.0,
                &format!(
                    r##"fill="{}" stroke="#000000" stroke-width="1.2""##,
                    PALETTE[r % PALETTE.len()]
                ),
            );
        }
        // mean ± SEM
        if g.mean.is_finite() && g.sem.is_finite() {
            let (a, b) = (l.y.px(g.mean - g.sem), l.y.px(g.mean + g.sem));
            let st = r##"stroke="#000000" stroke-width="1.6""##;
            s.line((cx, a), (cx, b), st);
            s.line((cx - 9.0, a), (cx + 9.0, a), st);
            s.line((cx - 9.0, b), (cx + 9.0, b), st);
            s.line(
                (cx - BAR_W / 2.0 - 4.0, l.y.px(g.mean)),
                (cx + BAR_W / 2.0 + 4.0, l.y.px(g.mean)),
                r##"stroke="#000000" stroke-width="2""##,
            );
        }
        // name and n (the n lines level)
        s.lines(
            cx,
            y_bottom + 8.0 + LABEL,
            &l.names[i],
            LABEL,
            Anchor::Middle,
        );
        s.text(
            cx,
            y_bottom + l.below - 14.0 - 2.0,
            &n_text(c, g),
            TICK - 1.0,
            Anchor::Middle,
            0.0,
        );
    }
    // brackets: the nearest pair lowest
    for (b, &y) in c.brackets.iter().zip(&l.bracket_y) {
        let (xa, xb) = (l.center(0), l.center(b.group));
        let st = r##"stroke="#000000" stroke-width="1.2" fill="none""##;
        s.path(&[(xa, y + 6.0), (xa, y), (xb, y), (xb, y + 6.0)], false, st);
        let size = if b.stars == "ns" { TICK } else { LABEL + 2.0 };
        let lift = if b.stars == "ns" { 4.0 } else { 1.0 };
        s.text(
            (xa + xb) / 2.0,
            y - lift,
            &b.stars,
            size,
            Anchor::Middle,
            0.0,
        );
    }
    // caption
    let cap_y = y_bottom + l.below + (TICK - 1.0) * 0.8;
    s.lines(12.0, cap_y, &l.caption, TICK - 1.0, Anchor::Start);
    // legend: replicate colours
    if !c.replicates.is_empty() {
        let mut y = y_top + 4.0;
        s.text(
            l.legend_x,
            y + TICK * 0.35,
            "Replicate",
            TICK,
            Anchor::Start,
            0.0,
        );
        for (r, name) in c.replicates.iter().enumerate() {
            y += 20.0;
            s.circle(
                l.legend_x + 6.0,
                y,
                5.5,
                &format!(
                    r##"fill="{}" stroke="#000000" stroke-width="1""##,
                    PALETTE[r % PALETTE.len()]
                ),
            );
            s.text(
                l.legend_x + 18.0,
                y + TICK * 0.35,
                name,
                TICK,
                Anchor::Start,
                0.0,
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::svg::num;

    fn chart() -> BarChart {
        let g = |name: &str, base: f64| Group {
            name: name.into(),
            n: 6,
            mean: base + 1.0,
            sem: 0.5,
            dots: (0..6).map(|i| (i % 3, base + (i % 3) as f64)).collect(),
            replicate_means: (0..3).map(|r| (r, base + r as f64)).collect(),
        };
        BarChart {
            title: "Migrasomes per cell".into(),
            y_label: "migrasomes per cell".into(),
            n_label: "cells".into(),
            caption: "bars: mean ± SEM".into(),
            groups: vec![
                g("young", 2.0),
                g("senescent", 8.0),
                g("old & <tired>", 5.0),
            ],
            replicates: vec!["1".into(), "2".into(), "3".into()],
            brackets: vec![
                Bracket {
                    group: 1,
                    stars: "****".into(),
                },
                Bracket {
                    group: 2,
                    stars: "ns".into(),
                },
            ],
            seed: 7,
        }
    }

    #[test]
    fn bars_error_bars_and_brackets_sit_where_the_values_say() {
        let c = chart();
        let l = layout(&c);
        // data 2..10 → axis 0..10 in steps of 2
        assert_eq!((l.ticks.lo, l.ticks.hi, l.ticks.step), (0.0, 10.0, 2.0));
        assert_eq!(l.y.p0 - l.y.p1, PLOT_H);
        assert_eq!(l.y.px(5.0), (l.y.p0 + l.y.p1) / 2.0);
        // slots: equal, names fit in theirs
        assert!((l.center(1) - l.center(0) - l.slot).abs() < 1e-9);
        assert!(text_width("old & <tired>", LABEL) < l.slot);
        assert_eq!(l.names[2], ["old & <tired>"]);
        // a long name wraps within its slot instead of widening every slot
        let mut long = c.clone();
        long.groups[1].name = "senescent, etoposide 10 µM for 7 days".into();
        let ll = layout(&long);
        assert_eq!(ll.slot, l.slot.max(NAME_W + 16.0));
        assert!(ll.names[1].len() >= 2, "{:?}", ll.names[1]);
        assert!(
            ll.names[1]
                .iter()
                .all(|n| text_width(n, LABEL) <= ll.slot - 12.0)
        );
        assert!(ll.height > l.height);
        // brackets above the axis top, one step apart, none above the title
        // (their ends reach 6 px down; a replicate marker at the top reaches 6 px up)
        assert!(l.bracket_y[0] + 6.0 < l.y.p1 - 6.0 && l.bracket_y[1] < l.bracket_y[0]);
        assert_eq!(l.bracket_y[0] - l.bracket_y[1], BRACKET_STEP);
        assert!(l.bracket_y[1] - LABEL > 12.0 + TITLE);
        // legend right of the last slot
        assert!(l.legend_x > l.center(2) + l.slot / 2.0);
        let svg = draw(&c).finish(true, "t");
        // the error bar of "senescent": mean 9 ± 0.5 → from y(8.5) to y(9.5)
        let (a, b) = (num(l.y.px(8.5)), num(l.y.px(9.5)));
        let cx = num(l.center(1));
        let want = format!(r#"<line x1="{cx}" y1="{a}" x2="{cx}" y2="{b}""#);
        assert!(svg.contains(&want), "{want}\n{svg}");
        // the bar of "young": from 0 to its mean 3
        let want = format!(
            r#"<rect x="{}" y="{}" width="56" height="{}""#,
            num(l.center(0) - 28.0),
            num(l.y.px(3.0)),
            num(l.y.px(0.0) - l.y.px(3.0))
        );
        assert!(svg.contains(&want), "{want}");
        assert!(svg.contains(">****</text>") && svg.contains(">ns</text>"));
        assert!(svg.contains(">old &amp; &lt;tired&gt;</text>"));
        assert!(svg.contains(">n = 6 cells</text>"));
        // 18 cells, 9 replicate means, 3 legend markers
        assert_eq!(svg.matches("<circle").count(), 18 + 9 + 3);
    }

    #[test]
    fn the_jitter_is_the_same_every_time_and_changes_with_the_seed() {
        let c = chart();
        let a = draw(&c).finish(true, "t");
        assert_eq!(a, draw(&c).finish(true, "t"));
        let mut d = c.clone();
        d.seed = 8;
        assert_ne!(a, draw(&d).finish(true, "t"));
    }
}
