//! SVG to PNG with resvg (usvg + tiny-skia), text in the committed Liberation Sans loaded
//! from the binary: no system fonts, no fontconfig, the same pixels on every machine.

use std::sync::{Arc, OnceLock};

use resvg::{tiny_skia, usvg};

use super::svg::{FONT, FONT_FAMILY};

/// The font database: the committed font only.
fn fontdb() -> Arc<usvg::fontdb::Database> {
    static DB: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_source(usvg::fontdb::Source::Binary(Arc::new(FONT)));
        db.set_sans_serif_family(FONT_FAMILY);
        Arc::new(db)
    })
    .clone()
}

/// `svg` rendered at `scale` × its size onto white, as PNG bytes.
pub fn png(svg: &str, scale: f32) -> Result<Vec<u8>, String> {
    let opt = usvg::Options {
        font_family: FONT_FAMILY.to_string(),
        fontdb: fontdb(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &opt).map_err(|e| format!("svg: {e}"))?;
    let size = tree.size();
    let (w, h) = (
        (size.width() * scale).ceil() as u32,
        (size.height() * scale).ceil() as u32,
    );
    let mut pixmap = tiny_skia::Pixmap::new(w, h).ok_or_else(|| format!("no {w}×{h} picture"))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().map_err(|e| format!("png: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::superplot::{BarChart, Bracket, Group, draw};
    use crate::plot::svg::{Anchor, Svg};

    fn decode(png: &[u8]) -> image::RgbaImage {
        image::load_from_memory_with_format(png, image::ImageFormat::Png)
            .unwrap()
            .to_rgba8()
    }

    fn dark(p: &image::Rgba<u8>) -> bool {
        p.0[..3].iter().all(|&v| v < 100)
    }

    /// Text alone renders: the committed font is found without any system font.
    #[test]
    fn text_renders_with_the_embedded_font() {
        let mut s = Svg::new(200.0, 40.0);
        s.text(10.0, 28.0, "n = 144 ****", 20.0, Anchor::Start, 0.0);
        let img = decode(&png(&s.finish(true, "t"), 1.0).unwrap());
        assert_eq!(img.dimensions(), (200, 40));
        let ink: Vec<(u32, u32)> = img
            .enumerate_pixels()
            .filter(|(_, _, p)| dark(p))
            .map(|(x, y, _)| (x, y))
            .collect();
        assert!(ink.len() > 150, "{} dark pixels", ink.len());
        // the ink spans the text's advance (≈ 12 glyphs at 20 px), not one blob
        let (x0, x1) = ink
            .iter()
            .fold((u32::MAX, 0), |(a, b), &(x, _)| (a.min(x), b.max(x)));
        let want = crate::plot::svg::text_width("n = 144 ****", 20.0);
        assert!(
            ((x1 - x0) as f64 - want).abs() < 8.0,
            "ink {x0}..{x1}, width {want}"
        );
    }

    /// A whole chart: the PNG is the SVG's size × the scale, mostly white, with bars, dots,
    /// axis and text drawn.
    #[test]
    fn a_chart_rasterises_at_its_size_and_is_not_blank() {
        let g = |name: &str, base: f64| Group {
            name: name.into(),
            n: 30,
            mean: base,
            sem: 0.4,
            dots: (0..30)
                .map(|i| (i % 3, base + (i % 7) as f64 * 0.3))
                .collect(),
            replicate_means: (0..3).map(|r| (r, base + r as f64 * 0.2)).collect(),
        };
        let c = BarChart {
            title: "Migrasomes per cell".into(),
            y_label: "migrasomes per cell".into(),
            n_label: "cells".into(),
            caption: "Bars: mean ± SEM of cells (n)".into(),
            groups: vec![g("young", 3.0), g("senescent", 10.0)],
            replicates: vec!["1".into(), "2".into(), "3".into()],
            brackets: vec![Bracket {
                group: 1,
                stars: "****".into(),
            }],
            seed: 1,
        };
        let svg = draw(&c);
        let img = decode(&png(&svg.finish(true, "t"), 2.0).unwrap());
        assert_eq!(
            img.dimensions(),
            ((svg.width * 2.0) as u32, (svg.height * 2.0) as u32)
        );
        let n = img.pixels().count();
        let white = img.pixels().filter(|p| p.0 == [255, 255, 255, 255]).count();
        let ink = img.pixels().filter(|p| dark(p)).count();
        let blue = img
            .pixels()
            .filter(|p| p.0[2] > 150 && p.0[0] < 100) // replicate 1 (#0072B2)
            .count();
        assert!(white > n / 2 && white < n - 5000, "{white} of {n} white");
        assert!(ink > 3000, "{ink} dark pixels");
        assert!(blue > 200, "{blue} blue pixels");
        // the title's ink is in the top band
        let title = img
            .enumerate_pixels()
            .filter(|(_, y, p)| *y < 2 * 32 && dark(p))
            .count();
        assert!(title > 200, "{title} title pixels");
    }
}
