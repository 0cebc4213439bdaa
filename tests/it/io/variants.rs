//! Files that tifffile writes (`tests/py/make_variants.py`: RGB chunky/planar, tiles, strips,
//! zlib with predictor, both byte orders, BigTIFF, int8 to float64, ImageJ hyperstack / RGB /
//! truncated, OME with two images, "shaped" with axes) read back identically: every series,
//! pixels compared by SHA-256 in tifffile's order. Needs python3 + numpy + tifffile.

use std::process::Command;

use serde_json::Value;

use super::{digest_in_tifffile_order, open, open_series};

#[test]
fn tifffile_written_variants_read_identically() {
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/make_variants.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| {
            panic!("python3 is required (apt install python3-numpy python3-tifffile): {e}")
        });
    assert!(
        out.status.success(),
        "make_variants.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut n = 0;
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let path = std::path::PathBuf::from(v["file"].as_str().unwrap());
        let series = v["series"].as_array().unwrap();
        assert_eq!(
            open(&path).info().n_series,
            series.len(),
            "{}",
            path.display()
        );
        for (s, want) in series.iter().enumerate() {
            let r = open_series(&path, s);
            let axes = want["axes"].as_str().unwrap();
            let shape: Vec<usize> = want["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            let i = r.info();
            assert_eq!(
                i.dtype.name(),
                want["dtype"].as_str().unwrap(),
                "{}",
                path.display()
            );
            assert_eq!(
                i.shape.planes() * i.shape.y * i.shape.x,
                shape.iter().product::<usize>(),
                "{} {axes}",
                path.display()
            );
            let digest = digest_in_tifffile_order(std::slice::from_ref(&r), axes, &shape);
            assert_eq!(
                digest,
                want["sha256"].as_str().unwrap(),
                "{} series {s} ({axes} {shape:?})",
                path.display()
            );
            n += 1;
        }
    }
    assert_eq!(n, 17);
}
