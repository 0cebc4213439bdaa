//! A small SVG writer: rectangles, lines, paths, circles and text with the numbers rounded to
//! 0.01 px, so the same picture is the same bytes. Text is measured with the committed
//! Liberation Sans (the font `raster` renders with), so the layout knows how wide a label is.

use std::fmt::Write;
use std::sync::OnceLock;

use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

/// Liberation Sans 2.1.5 Regular (SIL OFL 1.1, `assets/fonts/LICENSE-OFL-1.1.txt`).
pub const FONT: &[u8] = include_bytes!("../../assets/fonts/LiberationSans-Regular.ttf");
/// The family name of [`FONT`].
pub const FONT_FAMILY: &str = "Liberation Sans";
/// What the SVG asks for: our font, then fonts with the same metrics (a browser without
/// Liberation Sans lays the text out the same way in Arial).
pub const FONT_STACK: &str = "Liberation Sans, Arial, Helvetica, sans-serif";

/// Advance widths of the font, per character, in em (None: not in the font).
fn advance_em(c: char) -> f64 {
    struct Metrics {
        ascii: [f32; 128],
        upem: f32,
    }
    static M: OnceLock<Metrics> = OnceLock::new();
    let font = || FontRef::new(FONT).expect("the committed font parses");
    let m = M.get_or_init(|| {
        let f = font();
        let upem = f
            .metrics(Size::unscaled(), LocationRef::default())
            .units_per_em as f32;
        let gm = f.glyph_metrics(Size::unscaled(), LocationRef::default());
        let cm = f.charmap();
        let mut ascii = [0.0f32; 128];
        for (i, a) in ascii.iter_mut().enumerate() {
            *a = cm
                .map(i as u32)
                .and_then(|g| gm.advance_width(g))
                .unwrap_or(0.0);
        }
        Metrics { ascii, upem }
    });
    let units = if (c as u32) < 128 {
        m.ascii[c as usize]
    } else {
        let f = font();
        f.charmap()
            .map(c)
            .and_then(|g| {
                f.glyph_metrics(Size::unscaled(), LocationRef::default())
                    .advance_width(g)
            })
            .unwrap_or(m.ascii[b'M' as usize])
    };
    (units / m.upem) as f64
}

/// The width of `s` in px at font size `size` (advances, no kerning).
pub fn text_width(s: &str, size: f64) -> f64 {
    s.chars().map(advance_em).sum::<f64>() * size
}

/// `s` broken at spaces into lines no wider than `max_w` px at `size` (a longer word keeps
/// its own line).
pub fn wrap(s: &str, size: f64, max_w: f64) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for w in s.split(' ').filter(|w| !w.is_empty()) {
        let next = if cur.is_empty() {
            w.to_string()
        } else {
            format!("{cur} {w}")
        };
        if !cur.is_empty() && text_width(&next, size) > max_w {
            lines.push(std::mem::replace(&mut cur, w.to_string()));
        } else {
            cur = next;
        }
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Line spacing: baseline to baseline, in font sizes.
pub const LEADING: f64 = 1.2;

/// A number as SVG text: at most 2 decimals, no trailing zeros, no "-0".
pub fn num(v: f64) -> String {
    let r = (v * 100.0).round() / 100.0;
    let r = if r == 0.0 { 0.0 } else { r };
    let s = format!("{r:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// `s` with the XML specials escaped.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Horizontal alignment of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

/// An SVG picture being drawn (px, y down).
#[derive(Debug, Clone)]
pub struct Svg {
    pub width: f64,
    pub height: f64,
    body: String,
}

impl Svg {
    pub fn new(width: f64, height: f64) -> Svg {
        Svg {
            width: width.ceil(),
            height: height.ceil(),
            body: String::new(),
        }
    }

    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, style: &str) {
        let _ = writeln!(
            self.body,
            r#"<rect x="{}" y="{}" width="{}" height="{}" {style}/>"#,
            num(x),
            num(y),
            num(w.max(0.0)),
            num(h.max(0.0))
        );
    }

    pub fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), style: &str) {
        let _ = writeln!(
            self.body,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" {style}/>"#,
            num(x1),
            num(y1),
            num(x2),
            num(y2)
        );
    }

    /// A path through `points` (closed: a polygon).
    pub fn path(&mut self, points: &[(f64, f64)], closed: bool, style: &str) {
        if points.is_empty() {
            return;
        }
        let mut d = String::new();
        for (i, (x, y)) in points.iter().enumerate() {
            let _ = write!(
                d,
                "{}{} {}",
                if i == 0 { "M" } else { " L" },
                num(*x),
                num(*y)
            );
        }
        if closed {
            d.push_str(" Z");
        }
        let _ = writeln!(self.body, r#"<path d="{d}" {style}/>"#);
    }

    pub fn circle(&mut self, cx: f64, cy: f64, r: f64, style: &str) {
        let _ = writeln!(
            self.body,
            r#"<circle cx="{}" cy="{}" r="{}" {style}/>"#,
            num(cx),
            num(cy),
            num(r)
        );
    }

    /// Text with its baseline at `y`; `rotate`: degrees about (x, y).
    pub fn text(&mut self, x: f64, y: f64, s: &str, size: f64, anchor: Anchor, rotate: f64) {
        let a = match anchor {
            Anchor::Start => "",
            Anchor::Middle => r#" text-anchor="middle""#,
            Anchor::End => r#" text-anchor="end""#,
        };
        let r = if rotate == 0.0 {
            String::new()
        } else {
            format!(
                r#" transform="rotate({} {} {})""#,
                num(rotate),
                num(x),
                num(y)
            )
        };
        let _ = writeln!(
            self.body,
            r#"<text x="{}" y="{}" font-size="{}"{a}{r}>{}</text>"#,
            num(x),
            num(y),
            num(size),
            escape(s)
        );
    }

    /// Lines of text, the first baseline at `y`, `LEADING` apart.
    pub fn lines(&mut self, x: f64, y: f64, lines: &[String], size: f64, anchor: Anchor) {
        for (i, l) in lines.iter().enumerate() {
            self.text(x, y + i as f64 * size * LEADING, l, size, anchor, 0.0);
        }
    }

    /// An axis title turned -90°: centred on `y_mid`, the first line's baseline at `x`, the
    /// next ones to its right.
    pub fn vertical_lines(&mut self, x: f64, y_mid: f64, lines: &[String], size: f64) {
        for (i, l) in lines.iter().enumerate() {
            let xi = x + i as f64 * size * LEADING;
            self.text(xi, y_mid, l, size, Anchor::Middle, -90.0);
        }
    }

    /// The document. `standalone`: with the SVG namespace (a file); without it for inline
    /// use in HTML, where the namespace is implied.
    pub fn finish(&self, standalone: bool, label: &str) -> String {
        let ns = if standalone {
            r#" xmlns="http://www.w3.org/2000/svg""#
        } else {
            ""
        };
        format!(
            "<svg{ns} width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"{FONT_STACK}\" \
             role=\"img\" aria-label=\"{}\">\n<rect width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\n{}</svg>\n",
            escape(label),
            self.body,
            w = num(self.width),
            h = num(self.height),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_stable() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(1.234), "1.23");
        assert_eq!(num(1.235001), "1.24");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(12.5), "12.5");
        assert_eq!(num(-3.10), "-3.1");
    }

    #[test]
    fn text_is_escaped_and_measured_with_the_font() {
        assert_eq!(escape(r#"a<b & "c"'"#), "a&lt;b &amp; &quot;c&quot;&#39;");
        // Liberation Sans has Arial's metrics: "0" is 0.556 em, "M" 0.833 em, "i" 0.222 em
        assert!((text_width("0", 10.0) - 5.56).abs() < 0.01);
        assert!((text_width("M", 10.0) - 8.33).abs() < 0.01);
        assert!((text_width("ii", 10.0) - 4.44).abs() < 0.01);
        assert!(text_width("µm²", 12.0) > 12.0);
    }

    #[test]
    fn wrapping_keeps_lines_within_the_width() {
        let t = "Bars: mean ± SEM of cells (n); dots: cells; large markers: replicate means.";
        let lines = wrap(t, 11.0, 200.0);
        assert!(lines.len() >= 2, "{lines:?}");
        assert!(
            lines.iter().all(|l| text_width(l, 11.0) <= 200.0),
            "{lines:?}"
        );
        assert_eq!(lines.join(" "), t);
        assert_eq!(wrap("short", 11.0, 200.0), ["short"]);
        assert_eq!(
            wrap("averyveryverylongword x", 11.0, 20.0),
            ["averyveryverylongword", "x"]
        );
        assert_eq!(wrap("", 11.0, 20.0), [""]);
    }

    #[test]
    fn a_standalone_picture_has_the_namespace_an_inline_one_not() {
        let mut s = Svg::new(10.2, 20.0);
        s.text(1.0, 2.0, "x<y", 12.0, Anchor::Middle, -90.0);
        let file = s.finish(true, "t");
        assert!(file.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" width="11""#));
        assert!(file.contains(r#"text-anchor="middle" transform="rotate(-90 1 2)">x&lt;y</text>"#));
        let inline = s.finish(false, "t");
        assert!(!inline.contains("http"));
    }
}
