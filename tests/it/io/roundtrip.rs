//! What our writers write, our reader and tifffile read back identically: pixels (SHA-256 in
//! tifffile's series order), shape, pixel size, time increment and channel names. The
//! tifffile side is `tests/py/roundtrip.py`; a missing python3, numpy or tifffile FAILS these
//! tests (CI installs python3-numpy and python3-tifffile).

use std::path::{Path, PathBuf};
use std::process::Command;

use migrascope::image::{PlaneData, SampleType};
use migrascope::io::{
    LabelWriter, PixelSize, PlaneIndex, Shape, StackReader, StackWriter, WriteFlavor, WriteSpec,
    write_f32, write_labels, write_ome_u16,
};
use serde_json::Value;

use super::{digest_in_tifffile_order, le_bytes, open};

fn tifffile_view(files: &[&Path]) -> Vec<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/roundtrip.py");
    let out = Command::new("python3")
        .arg(script)
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("python3 is required for the round-trip tests (apt install python3 python3-numpy python3-tifffile): {e}"));
    assert!(
        out.status.success(),
        "tests/py/roundtrip.py failed (needs python3-numpy and python3-tifffile):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn spec(t: usize, c: usize, z: usize, names: &[Option<&str>]) -> WriteSpec {
    WriteSpec {
        shape: Shape {
            t,
            c,
            z,
            y: 30,
            x: 41,
        },
        pixel_size_um: PixelSize {
            x: Some(0.1625),
            y: Some(0.1625),
            z: Some(0.5),
        },
        time_increment_s: Some(2.5),
        channels: names.iter().map(|n| n.map(str::to_string)).collect(),
    }
}

fn close(a: Option<f64>, b: Option<f64>, what: &str) {
    match (a, b) {
        // Resolution rationals carry ~1e-8 relative precision.
        (Some(a), Some(b)) => assert!((a - b).abs() <= 1e-7 * b.abs(), "{what}: {a} vs {b}"),
        _ => assert_eq!(a, b, "{what}"),
    }
}

/// Checks one written file against its spec, its planes (in C, Z, T order), and tifffile.
fn check(path: &Path, spec: &WriteSpec, dtype: SampleType, planes: &[PlaneData], py: &Value) {
    let r = open(path);
    let i = r.info();
    assert_eq!(i.shape, spec.shape, "{}", path.display());
    assert_eq!(i.dtype, dtype);
    close(i.pixel_size_um.x, spec.pixel_size_um.x, "x");
    close(i.pixel_size_um.y, spec.pixel_size_um.y, "y");
    close(i.pixel_size_um.z, spec.pixel_size_um.z, "z");
    close(i.time_increment_s, spec.time_increment_s, "dt");
    let names = if spec.channels.is_empty() {
        vec![None; spec.shape.c]
    } else {
        spec.channels.clone()
    };
    assert_eq!(i.channels, names);
    for (k, idx) in spec.shape.plane_indices().into_iter().enumerate() {
        assert_eq!(r.read_plane(idx).unwrap().data, planes[k], "plane {idx:?}");
    }
    // tifffile: same pixels, dtype, calibration and names.
    let axes = py["axes"].as_str().unwrap();
    let shape: Vec<usize> = py["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(py["dtype"].as_str().unwrap(), dtype.name());
    assert_eq!(
        digest_in_tifffile_order(std::slice::from_ref(&r), axes, &shape),
        py["sha256"].as_str().unwrap(),
        "{axes} {shape:?}"
    );
    let px = &py["pixel_size_um"];
    close(px[0].as_f64(), spec.pixel_size_um.x, "tifffile x");
    close(px[1].as_f64(), spec.pixel_size_um.y, "tifffile y");
    close(px[2].as_f64(), spec.pixel_size_um.z, "tifffile z");
    close(
        py["time_increment_s"].as_f64(),
        spec.time_increment_s,
        "tifffile dt",
    );
    let py_names: Vec<Option<String>> = py["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect();
    assert_eq!(py_names, names, "tifffile channel names");
}

fn pattern(n: usize, seed: u32) -> impl Iterator<Item = u32> {
    (0..n as u32).map(move |i| (i.wrapping_mul(2654435761) ^ seed.wrapping_mul(40503)) >> 7)
}

#[test]
fn writers_round_trip_through_our_reader_and_tifffile() {
    let tmp = tempfile::tempdir().unwrap();
    // MIGRASCOPE_KEEP_ROUNDTRIP=DIR keeps the written files there for a look in Fiji/napari.
    let dir: PathBuf = match std::env::var_os("MIGRASCOPE_KEEP_ROUNDTRIP") {
        Some(d) => d.into(),
        None => tmp.path().to_path_buf(),
    };
    std::fs::create_dir_all(&dir).unwrap();
    let p = |n: &str| -> PathBuf { dir.join(n) };
    let mut cases: Vec<(PathBuf, WriteSpec, SampleType, Vec<PlaneData>)> = Vec::new();

    // Labels that fit in 16 bits: T=2, C=2, Z=3 hyperstack with channel names.
    let s = spec(2, 2, 3, &[Some("nuclei"), Some("cells µ")]);
    let n = s.shape.y * s.shape.x;
    let lab: Vec<Vec<u32>> = (0..12)
        .map(|k| pattern(n, k).map(|v| v % 60000).collect())
        .collect();
    write_labels(&p("labels16.tif"), &s, lab.clone()).unwrap();
    let planes = lab
        .iter()
        .map(|v| PlaneData::U16(v.iter().map(|&x| x as u16).collect()))
        .collect();
    cases.push((p("labels16.tif"), s, SampleType::U16, planes));

    // Labels past 65535 from the third plane on: the writer widens to uint32 mid-stream.
    let s = spec(4, 1, 1, &[]);
    let lab: Vec<Vec<u32>> = (0..4)
        .map(|k| {
            pattern(n, k)
                .map(|v| if k >= 2 { v % 100_000 + 1 } else { v % 50 })
                .collect()
        })
        .collect();
    write_labels(&p("labels32.tif"), &s, lab.iter().cloned()).unwrap();
    cases.push((
        p("labels32.tif"),
        s,
        SampleType::U32,
        lab.iter().map(|v| PlaneData::U32(v.clone())).collect(),
    ));

    // Float32, Z stack, no time.
    let mut s = spec(1, 1, 5, &[None]);
    s.time_increment_s = None;
    let fl: Vec<Vec<f32>> = (0..5)
        .map(|k| pattern(n, k).map(|v| v as f32 / 7.0 - 1000.0).collect())
        .collect();
    write_f32(&p("float.tif"), &s, fl.clone()).unwrap();
    cases.push((
        p("float.tif"),
        s,
        SampleType::F32,
        fl.into_iter().map(PlaneData::F32).collect(),
    ));

    // OME-TIFF uint16, C=3 x Z=2 x T=2, anisotropic pixels, one unnamed channel, a non-ASCII name.
    let mut s = spec(2, 3, 2, &[Some("DNA"), None, Some("GFP & µ-tubules")]);
    s.pixel_size_um = PixelSize {
        x: Some(0.108),
        y: Some(0.216),
        z: Some(0.3),
    };
    let om: Vec<Vec<u16>> = (0..12)
        .map(|k| pattern(n, k).map(|v| v as u16).collect())
        .collect();
    write_ome_u16(&p("stack.ome.tif"), &s, om.clone()).unwrap();
    cases.push((
        p("stack.ome.tif"),
        s,
        SampleType::U16,
        om.into_iter().map(PlaneData::U16).collect(),
    ));

    // No calibration at all, single plane.
    let s = WriteSpec {
        shape: Shape {
            t: 1,
            c: 1,
            z: 1,
            y: 30,
            x: 41,
        },
        ..Default::default()
    };
    write_f32(&p("plain.tif"), &s, [vec![0.5f32; n]]).unwrap();
    cases.push((
        p("plain.tif"),
        s,
        SampleType::F32,
        vec![PlaneData::F32(vec![0.5; n])],
    ));

    let files: Vec<&Path> = cases.iter().map(|c| c.0.as_path()).collect();
    let py = tifffile_view(&files);
    assert_eq!(py.len(), cases.len());
    for ((path, spec, dtype, planes), view) in cases.iter().zip(&py) {
        check(path, spec, *dtype, planes, view);
    }
    assert!(py[3]["ome"].as_bool().unwrap() && py[0]["imagej"].as_bool().unwrap());
    // Nothing but the outputs is left in the directory (temporary files renamed or removed).
    let mut left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(left.len(), 5, "{left:?}");
}

#[test]
fn unfinished_or_failed_writes_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.tif");
    std::fs::write(&path, b"previous contents").unwrap();
    let s = spec(3, 1, 1, &[]);
    let n = s.shape.x * s.shape.y;
    // Too few planes: error, and the old file is untouched.
    let e = write_labels(&path, &s, vec![vec![1u32; n]; 2])
        .unwrap_err()
        .to_string();
    assert!(e.contains("2 of 3 planes"), "{e}");
    // Wrong plane size.
    let e = write_f32(&path, &s, vec![vec![1f32; n - 1]; 3])
        .unwrap_err()
        .to_string();
    assert!(e.contains("plane 0"), "{e}");
    // A writer dropped half-way.
    let mut w = StackWriter::create(&path, &s, SampleType::U16, WriteFlavor::ImageJ).unwrap();
    w.push_plane(&PlaneData::U16(vec![1; n])).unwrap();
    drop(w);
    // A label writer that widened and then was dropped.
    let mut lw = LabelWriter::create(&path, &s).unwrap();
    lw.push_plane(&vec![1; n]).unwrap();
    lw.push_plane(&vec![70_000; n]).unwrap();
    drop(lw);
    assert_eq!(std::fs::read(&path).unwrap(), b"previous contents");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    // Bad specs.
    let mut bad = s.clone();
    bad.channels = vec![None, None];
    assert!(write_labels(&path, &bad, Vec::<Vec<u32>>::new()).is_err());
    let mut bad = s.clone();
    bad.pixel_size_um.x = Some(-1.0);
    assert!(write_f32(&path, &bad, Vec::<Vec<f32>>::new()).is_err());
    assert!(StackWriter::create(&path, &s, SampleType::F32, WriteFlavor::Ome).is_err());
}

#[test]
fn widened_labels_keep_earlier_planes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.tif");
    let s = spec(3, 1, 1, &[Some("cells")]);
    let n = s.shape.x * s.shape.y;
    let planes = [vec![5u32; n], vec![65535; n], vec![65536; n]];
    write_labels(&path, &s, planes.clone()).unwrap();
    let r = StackReader::open(&path, &Default::default()).unwrap();
    assert_eq!(r.info().dtype, SampleType::U32);
    assert_eq!(r.info().channels, vec![Some("cells".to_string())]);
    for (t, want) in planes.iter().enumerate() {
        let p = r.read_plane(PlaneIndex { t, c: 0, z: 0 }).unwrap();
        assert_eq!(p.data, PlaneData::U32(want.clone()));
        assert_eq!(le_bytes(&p).len(), 4 * n);
    }
}
