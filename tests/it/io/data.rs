//! Every image in `tests/data` opens; shape, dtype, pixel sum/min/max and the SHA-256 of
//! the pixels equal reference.json (made with tifffile 2026.3.3); pixel sizes, time increments
//! and channel names equal what tifffile reports (its numbers in the comments).

use migrascope::io::{OpenOptions, PlaneIndex, PlaneStats, StackReader};
use serde_json::Value;

use super::{data_dir, digest_in_tifffile_order, open, open_series};

fn stats_of(r: &StackReader) -> PlaneStats {
    let mut total = PlaneStats::default();
    for p in r.stream(r.info().shape.plane_indices(), 2, 4) {
        total.merge(&PlaneStats::of(&p.unwrap().1));
    }
    total
}

#[test]
fn every_reference_image_matches_reference_json() {
    let mut dirs: Vec<_> = std::fs::read_dir(data_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        // README.md lies beside the sets; `fuzz` holds regressions without a reference
        // (checked by `io::fuzz`).
        .filter(|p| p.is_dir() && !p.ends_with("fuzz"))
        .collect();
    dirs.sort();
    let (mut checked, mut tiffs) = (0, 0);
    for dir in dirs {
        tiffs += std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "tif" || x == "tiff")
            })
            .count();
        let text = std::fs::read_to_string(dir.join("reference.json")).unwrap();
        let reference: Value = serde_json::from_str(&text).unwrap();
        for (name, v) in reference["files"].as_object().unwrap() {
            let t = v.get("tiff").unwrap_or(v);
            let path = dir.join(name);
            let n_series = open(&path).info().n_series;
            let readers: Vec<StackReader> = (0..n_series).map(|s| open_series(&path, s)).collect();
            let info = readers[0].info();
            let shape: Vec<usize> = t["series0_shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            let axes = t["series0_axes"].as_str().unwrap();
            let s = info.shape;
            let ours: usize = readers
                .iter()
                .map(|r| r.info().shape.planes() * s.y * s.x)
                .sum();
            assert_eq!(
                ours,
                shape.iter().product::<usize>(),
                "{name}: {s:?} vs {axes} {shape:?}"
            );
            let yx = axes.find("YX").unwrap();
            assert_eq!((s.y, s.x), (shape[yx], shape[yx + 1]), "{name}");
            assert_eq!(info.dtype.name(), t["dtype"].as_str().unwrap(), "{name}");
            assert_eq!(info.pages, t["pages"].as_u64().unwrap() as usize, "{name}");
            for key in ["bigtiff", "ome", "imagej"] {
                let want = t[key].as_bool().unwrap();
                let got = match key {
                    "bigtiff" => info.bigtiff,
                    "ome" => info.ome,
                    _ => info.imagej,
                };
                assert_eq!(got, want, "{name}: {key}");
            }
            let mut total = PlaneStats::default();
            for r in &readers {
                total.merge(&stats_of(r));
            }
            let (sum, mn, mx) = (
                t["pixel_sum"].as_f64().unwrap(),
                t["pixel_min"].as_f64().unwrap(),
                t["pixel_max"].as_f64().unwrap(),
            );
            // Integer sums are exact; the float32 sums are f64 sums of the same values (tifffile
            // sums float32 in float64 too), equal to 1e-12 relative.
            assert!(
                (total.sum - sum).abs() <= 1e-12 * sum.abs().max(1.0),
                "{name}: sum {} vs {sum}",
                total.sum
            );
            assert_eq!((total.min, total.max), (mn, mx), "{name}");
            let digest = digest_in_tifffile_order(&readers, axes, &shape);
            assert_eq!(
                digest,
                t["sha256_pixels_le_C"].as_str().unwrap(),
                "{name}: pixel digest"
            );
            checked += 1;
        }
    }
    // 10 files in 7 datasets + the 13 of tiff-conformance-seq, and none left out.
    assert_eq!((checked, tiffs), (23, 23));
}

struct Meta {
    file: &'static str,
    series: usize,
    axes_source: &'static str,
    tczyx: [usize; 5],
    px: [Option<f64>; 3],
    dt: Option<f64>,
    channels: &'static [Option<&'static str>],
    compression: &'static str,
}

const BEADS_XY: f64 = 1e6 / 44460534.0; // tifffile: XResolution (44460534, 1000000) px per unit

#[rustfmt::skip]
const META: &[Meta] = &[
    // tifffile: no XResolution tag; imagej_metadata Labels = ['IXMtest_A02_s9_c1.tif', ..c2, ..c3]
    Meta { file: "bbbc022-3ch/IXMtest_A02_s9.tif", series: 0, axes_source: "imagej", tczyx: [1, 3, 1, 395, 695], px: [None; 3], dt: None,
        channels: &[Some("IXMtest_A02_s9_c1.tif"), Some("IXMtest_A02_s9_c2.tif"), Some("IXMtest_A02_s9_c3.tif")], compression: "none" },
    // tifffile: XResolution (44460534, 1000000), imagej unit '\u00B5m', spacing 0.125 → 0.0224919 x 0.0224919 x 0.125 µm;
    // Labels[0] = 'ChS1'
    Meta { file: "beads-3d/Bead_Image1_crop.tif", series: 0, axes_source: "imagej", tczyx: [1, 1, 41, 150, 150],
        px: [Some(BEADS_XY), Some(BEADS_XY), Some(0.125)], dt: None, channels: &[Some("ChS1")], compression: "none" },
    // tifffile: XResolution (1, 1), ResolutionUnit NONE (1): no physical size; shaped description
    Meta { file: "blobs-imagej/blobs.tif", series: 0, axes_source: "shaped", tczyx: [1, 1, 1, 254, 256], px: [None; 3], dt: None, channels: &[None], compression: "deflate" },
    // tifffile: no XResolution, imagej_metadata {min, max} only
    Meta { file: "blobs-imagej/blobs_float32_imagej.tif", series: 0, axes_source: "imagej", tczyx: [1, 1, 1, 254, 256], px: [None; 3], dt: None, channels: &[None], compression: "none" },
    Meta { file: "blobs-imagej/blobs_labels_imagej.tif", series: 0, axes_source: "imagej", tczyx: [1, 1, 1, 254, 256], px: [None; 3], dt: None, channels: &[None], compression: "none" },
    // tifffile: shaped {"shape": [48, 130, 130]} → QYX; XResolution (1, 1) unit NONE
    Meta { file: "cancer-cell-migration-timelapse/cancer_cell_migration_crop.tif", series: 0, axes_source: "shaped", tczyx: [48, 1, 1, 130, 130], px: [None; 3], dt: None, channels: &[None], compression: "none" },
    Meta { file: "dsb2018-nuclei-2d/img2d.tif", series: 0, axes_source: "shaped", tczyx: [1, 1, 1, 512, 512], px: [None; 3], dt: None, channels: &[None], compression: "none" },
    Meta { file: "dsb2018-nuclei-2d/mask2d.tif", series: 0, axes_source: "shaped", tczyx: [1, 1, 1, 512, 512], px: [None; 3], dt: None, channels: &[None], compression: "none" },
    // tifffile ome_metadata: both Images PhysicalSizeX/Y 5.2304 µm, TimeIncrement 5000.0 ms, Channel Name 'Default';
    // tifffile shows one TRYX series (R = position), we expose each position as a series.
    Meta { file: "mm-multipos-timecourse/181003_multi_pos_time_course_1_MMStack.ome.tif", series: 0, axes_source: "ome", tczyx: [10, 1, 1, 256, 256],
        px: [Some(5.2304), Some(5.2304), None], dt: Some(5.0), channels: &[Some("Default")], compression: "none" },
    Meta { file: "mm-multipos-timecourse/181003_multi_pos_time_course_1_MMStack.ome.tif", series: 1, axes_source: "ome", tczyx: [10, 1, 1, 256, 256],
        px: [Some(5.2304), Some(5.2304), None], dt: Some(5.0), channels: &[Some("Default")], compression: "none" },
    // tifffile ome_metadata: no PhysicalSize*, three Channels without Name (XResolution 0/1000 cm is ignored)
    Meta { file: "ome-artificial-czyx/multi-channel-z-series.ome.tif", series: 0, axes_source: "ome", tczyx: [1, 3, 5, 167, 439], px: [None; 3], dt: None, channels: &[None, None, None], compression: "none" },
    // tiff-conformance-seq: no resolution tags, no description
    Meta { file: "tiff-conformance-seq/seq-1c-8b-multipage-adeefdcc.tiff", series: 0, axes_source: "plain", tczyx: [3, 1, 1, 16, 16], px: [None; 3], dt: None, channels: &[None], compression: "none" },
    Meta { file: "tiff-conformance-seq/seq-3c-10b-planar-c82e8ab6.tiff", series: 0, axes_source: "plain", tczyx: [1, 3, 1, 16, 16], px: [None; 3], dt: None, channels: &[None, None, None], compression: "none" },
    Meta { file: "tiff-conformance-seq/seq-3c-16b-bigtiff-1b40ca6e.tiff", series: 0, axes_source: "plain", tczyx: [1, 3, 1, 16, 16], px: [None; 3], dt: None, channels: &[None, None, None], compression: "none" },
    Meta { file: "tiff-conformance-seq/seq-1c-32f-deflate-fpredict-390fe673.tiff", series: 0, axes_source: "plain", tczyx: [1, 1, 1, 16, 16], px: [None; 3], dt: None, channels: &[None], compression: "deflate" },
    Meta { file: "tiff-conformance-seq/seq-1c-8b-tiled-lzw-20f3db0c.tiff", series: 0, axes_source: "plain", tczyx: [1, 1, 1, 16, 16], px: [None; 3], dt: None, channels: &[None], compression: "lzw" },
];

#[test]
fn axes_pixel_sizes_and_channel_names_match_tifffile() {
    for m in META {
        let r = open_series(&data_dir().join(m.file), m.series);
        let i = r.info();
        let s = i.shape;
        assert_eq!([s.t, s.c, s.z, s.y, s.x], m.tczyx, "{}", m.file);
        assert_eq!(i.axes_source, m.axes_source, "{}", m.file);
        assert_eq!(i.compression, m.compression, "{}", m.file);
        let got = [i.pixel_size_um.x, i.pixel_size_um.y, i.pixel_size_um.z];
        for (g, w) in got.iter().zip(m.px) {
            match (g, w) {
                (Some(g), Some(w)) => assert!(
                    (g - w).abs() <= 1e-12 * w,
                    "{}: {got:?} vs {:?}",
                    m.file,
                    m.px
                ),
                _ => assert_eq!(*g, w, "{}", m.file),
            }
        }
        assert_eq!(i.time_increment_s, m.dt, "{}", m.file);
        let names: Vec<Option<&str>> = i.channels.iter().map(|c| c.as_deref()).collect();
        assert_eq!(names, m.channels, "{}", m.file);
        // every value read from the metadata says where it came from; nothing else does
        let src = &i.metadata_source;
        assert_eq!(
            src.pixel_size.is_some(),
            got.iter().any(Option::is_some),
            "{}",
            m.file
        );
        assert_eq!(src.time_increment.is_some(), m.dt.is_some(), "{}", m.file);
        assert_eq!(
            src.channels.is_some(),
            m.channels.iter().any(Option::is_some),
            "{}",
            m.file
        );
    }
    let beads = open(&data_dir().join(META[1].file));
    let src = &beads.info().metadata_source;
    assert_eq!(
        src.pixel_size.as_deref(),
        Some("imagej XResolution/YResolution in unit=µm, spacing")
    );
    assert_eq!(src.channels.as_deref(), Some("imagej IJMetadata Labels"));
    let mm_src = open(&data_dir().join(META[8].file))
        .info()
        .metadata_source
        .clone();
    assert_eq!(mm_src.pixel_size.as_deref(), Some("ome PhysicalSizeX/Y"));
    assert_eq!(mm_src.time_increment.as_deref(), Some("ome TimeIncrement"));
    assert_eq!(mm_src.channels.as_deref(), Some("ome Channel Name"));
    let mm = open(&data_dir().join(META[8].file));
    assert_eq!(mm.info().n_series, 2);
    assert_eq!(mm.info().channel_name(0), "Default");
    let plain = open(&data_dir().join(META[12].file));
    assert_eq!(plain.info().channel_name(2), "c2");
}

#[test]
fn micromanager_positions_are_separate_series() {
    let path = data_dir().join(META[8].file);
    let (a, b) = (open_series(&path, 0), open_series(&path, 1));
    let first = |r: &StackReader| r.read_plane(PlaneIndex::default()).unwrap();
    assert_ne!(first(&a), first(&b));
    let err = StackReader::open(
        &path,
        &OpenOptions {
            series: 2,
            axes: None,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("series 2") && err.contains("has 2"), "{err}");
}

#[test]
fn axes_override_reinterprets_plain_pages() {
    let path = data_dir().join(META[5].file); // 48 pages, shaped
    let open_axes = |a: &str| {
        StackReader::open(
            &path,
            &OpenOptions {
                series: 0,
                axes: Some(a.into()),
            },
        )
    };
    let as_t = open(&path);
    let z = open_axes("ZYX").unwrap();
    assert_eq!(
        (
            z.info().shape.z,
            z.info().shape.t,
            z.info().axes_source.as_str()
        ),
        (48, 1, "override")
    );
    let tc = open_axes("T12C4YX").unwrap();
    let s = tc.info().shape;
    assert_eq!((s.t, s.c, s.z), (12, 4, 1));
    // Page order is C order of the letters: (t=1, c=2) is page 1 * 4 + 2.
    let p = tc.read_plane(PlaneIndex { t: 1, c: 2, z: 0 }).unwrap();
    assert_eq!(p, as_t.read_plane(PlaneIndex { t: 6, c: 0, z: 0 }).unwrap());
    assert_eq!(open_axes("tc4yx").unwrap().info().shape.t, 12);
    for bad in ["TCYX", "T5YX", "QYX", "ZYXT"] {
        let e = open_axes(bad).unwrap_err().to_string();
        assert!(
            e.contains("--axes") && e.contains(&*path.to_string_lossy()),
            "{bad}: {e}"
        );
    }
}

#[test]
fn planes_read_from_many_threads_agree() {
    let path = data_dir().join(META[10].file); // OME, 15 pages, CZYX
    let r = open(&path);
    let want: Vec<_> = r
        .info()
        .shape
        .plane_indices()
        .into_iter()
        .map(|i| r.read_plane(i).unwrap())
        .collect();
    std::thread::scope(|sc| {
        for _ in 0..4 {
            sc.spawn(|| {
                for (i, idx) in r.info().shape.plane_indices().into_iter().enumerate().rev() {
                    assert_eq!(r.read_plane(idx).unwrap(), want[i]);
                }
            });
        }
    });
}
