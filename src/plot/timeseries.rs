//! Values over time per condition: a line through the per-frame means with a band of ± SEM
//! and a marker per frame; the legend right of the plot, outside the data.

use super::axis::{Scale, Ticks};
use super::svg::{Anchor, LEADING, Svg, text_width, wrap};

/// Colours of the conditions: the control black, then Okabe–Ito.
pub const CONDITION_COLOURS: [&str; 7] = [
    "#000000", "#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
];

/// One point: x, mean, SEM (NaN: one value) and n.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub mean: f64,
    pub sem: f64,
    pub n: usize,
}

/// One condition's line.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<Point>,
}

#[derive(Debug, Clone)]
pub struct TimeChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub caption: String,
    pub series: Vec<Series>,
}

const TITLE: f64 = 15.0;
const LABEL: f64 = 13.0;
const TICK: f64 = 12.0;
const PLOT_W: f64 = 420.0;
const PLOT_H: f64 = 260.0;

/// Where everything goes.
#[derive(Debug, Clone)]
pub struct Layout {
    pub width: f64,
    pub height: f64,
    pub x_ticks: Ticks,
    pub y_ticks: Ticks,
    pub x: Scale,
    pub y: Scale,
    pub legend_x: f64,
    pub y_label: Vec<String>,
    pub caption: Vec<String>,
}

fn lo_hi(points: impl Iterator<Item = f64>) -> (f64, f64) {
    points
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        })
}

pub fn layout(c: &TimeChart) -> Layout {
    let pts = || c.series.iter().flat_map(|s| s.points.iter());
    let (xa, xb) = lo_hi(pts().map(|p| p.x));
    let x_ticks = Ticks::new(xa, xb, 6);
    let band = |p: &Point| {
        let s = if p.sem.is_finite() { p.sem } else { 0.0 };
        [p.mean - s, p.mean + s]
    };
    let (ya, yb) = lo_hi(pts().flat_map(band));
    let y_ticks = Ticks::new(ya.min(0.0), yb.max(0.0), 6);
    let tick_w = y_ticks
        .values
        .iter()
        .map(|&v| text_width(&y_ticks.label(v), TICK))
        .fold(0.0, f64::max);
    let y_label = wrap(&c.y_label, LABEL, PLOT_H - 10.0);
    let x0 = 12.0 + LABEL * LEADING * y_label.len() as f64 + 8.0 + tick_w + 8.0;
    let top = 12.0 + TITLE + 20.0;
    let x = Scale {
        lo: x_ticks.lo,
        hi: x_ticks.hi,
        p0: x0,
        p1: x0 + PLOT_W,
    };
    let y = Scale {
        lo: y_ticks.lo,
        hi: y_ticks.hi,
        p0: top + PLOT_H,
        p1: top,
    };
    let legend_x = x0 + PLOT_W + 24.0;
    let legend_w = c
        .series
        .iter()
        .map(|s| 30.0 + text_width(&s.name, TICK))
        .fold(0.0, f64::max);
    let width = (legend_x + legend_w + 16.0).max(text_width(&c.title, TITLE) + 24.0);
    let caption = wrap(&c.caption, TICK - 1.0, width - 24.0);
    let height = top
        + PLOT_H
        + 8.0
        + TICK
        + 8.0
        + LABEL
        + 16.0
        + (TICK - 1.0) * LEADING * caption.len() as f64;
    Layout {
        width,
        height,
        x_ticks,
        y_ticks,
        x,
        y,
        legend_x,
        y_label,
        caption,
    }
}

pub fn draw(c: &TimeChart) -> Svg {
    let l = layout(c);
    let mut s = Svg::new(l.width, l.height);
    let axis = r##"stroke="#000000" stroke-width="1.2" fill="none""##;
    s.text(12.0, 12.0 + TITLE, &c.title, TITLE, Anchor::Start, 0.0);
    let (y_top, y_bottom) = (l.y.p1, l.y.p0);
    s.line((l.x.p0, y_top), (l.x.p0, y_bottom), axis);
    s.line((l.x.p0, y_bottom), (l.x.p1, y_bottom), axis);
    for &v in &l.y_ticks.values {
        let y = l.y.px(v);
        s.line((l.x.p0 - 5.0, y), (l.x.p0, y), axis);
        let t = l.y_ticks.label(v);
        s.text(l.x.p0 - 8.0, y + TICK * 0.35, &t, TICK, Anchor::End, 0.0);
    }
    for &v in &l.x_ticks.values {
        let x = l.x.px(v);
        s.line((x, y_bottom), (x, y_bottom + 5.0), axis);
        let t = l.x_ticks.label(v);
        s.text(x, y_bottom + 8.0 + TICK, &t, TICK, Anchor::Middle, 0.0);
    }
    s.vertical_lines(
        12.0 + LABEL * 0.8,
        (y_top + y_bottom) / 2.0,
        &l.y_label,
        LABEL,
    );
    s.text(
        (l.x.p0 + l.x.p1) / 2.0,
        y_bottom + 8.0 + TICK + 8.0 + LABEL,
        &c.x_label,
        LABEL,
        Anchor::Middle,
        0.0,
    );
    for (i, ser) in c.series.iter().enumerate() {
        let colour = CONDITION_COLOURS[i % CONDITION_COLOURS.len()];
        let pts: Vec<&Point> = ser.points.iter().filter(|p| p.mean.is_finite()).collect();
        let sem = |p: &Point| if p.sem.is_finite() { p.sem } else { 0.0 };
        let mut band: Vec<(f64, f64)> = pts
            .iter()
            .map(|p| (l.x.px(p.x), l.y.px(p.mean + sem(p))))
            .collect();
        band.extend(
            pts.iter()
                .rev()
                .map(|p| (l.x.px(p.x), l.y.px(p.mean - sem(p)))),
        );
        s.path(
            &band,
            true,
            &format!(r#"fill="{colour}" fill-opacity="0.18" stroke="none""#),
        );
        let line: Vec<(f64, f64)> = pts.iter().map(|p| (l.x.px(p.x), l.y.px(p.mean))).collect();
        s.path(
            &line,
            false,
            &format!(r#"fill="none" stroke="{colour}" stroke-width="2""#),
        );
        for &(x, y) in &line {
            s.circle(x, y, 3.0, &format!(r#"fill="{colour}""#));
        }
        // legend
        let y = y_top + 4.0 + 20.0 * i as f64;
        s.line(
            (l.legend_x, y),
            (l.legend_x + 22.0, y),
            &format!(r#"stroke="{colour}" stroke-width="2""#),
        );
        s.circle(l.legend_x + 11.0, y, 3.0, &format!(r#"fill="{colour}""#));
        s.text(
            l.legend_x + 30.0,
            y + TICK * 0.35,
            &ser.name,
            TICK,
            Anchor::Start,
            0.0,
        );
    }
    let cap_y = y_bottom + 8.0 + TICK + 8.0 + LABEL + 16.0 + (TICK - 1.0) * 0.2;
    s.lines(12.0, cap_y, &l.caption, TICK - 1.0, Anchor::Start);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::svg::num;

    #[test]
    fn points_and_bands_follow_the_scales() {
        let p = |x: f64, mean: f64| Point {
            x,
            mean,
            sem: 0.5,
            n: 10,
        };
        let c = TimeChart {
            title: "Migrasomes per cell over time".into(),
            x_label: "time (min)".into(),
            y_label: "migrasomes per cell".into(),
            caption: "mean ± SEM of the cells of each frame".into(),
            series: vec![
                Series {
                    name: "young".into(),
                    points: vec![p(0.0, 1.0), p(5.0, 2.0), p(10.0, 3.0)],
                },
                Series {
                    name: "senescent".into(),
                    points: vec![p(0.0, 4.0), p(5.0, 6.0), p(10.0, 7.5)],
                },
            ],
        };
        let l = layout(&c);
        assert_eq!((l.x_ticks.lo, l.x_ticks.hi), (0.0, 10.0));
        assert_eq!((l.y_ticks.lo, l.y_ticks.hi), (0.0, 8.0));
        assert!(l.legend_x > l.x.p1);
        let svg = draw(&c).finish(true, "t");
        // the last senescent point
        let want = format!(
            r#"<circle cx="{}" cy="{}" r="3""#,
            num(l.x.px(10.0)),
            num(l.y.px(7.5))
        );
        assert!(svg.contains(&want), "{want}");
        // two bands (closed paths), two lines, 6 + 2 markers
        assert_eq!(svg.matches(" Z\"").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 8);
        assert!(svg.contains(">time (min)</text>"));
    }
}
