//! Streaming: planes come out in the order asked for, equal to `read_plane`, for any thread
//! count and queue capacity; errors arrive in place; dropping a stream early stops it. The
//! `#[ignore]`d test writes a 4.4 GB BigTIFF and measures the peak RSS of streaming it
//! (`cargo test --release --test it io::stream::four_gb -- --ignored --nocapture`).

use std::process::Command;

use migrascope::io::{PixelSize, PlaneIndex, Shape, StackReader, WriteSpec, write_ome_u16};

use super::{data_dir, open};

#[test]
fn stream_yields_requested_order_for_any_threads_and_capacity() {
    let r = open(&data_dir().join("beads-3d/Bead_Image1_crop.tif"));
    let mut order = r.info().shape.plane_indices();
    // A scrambled order with repeats.
    order.reverse();
    order.extend((0..41).step_by(7).map(|z| PlaneIndex { t: 0, c: 0, z }));
    let want: Vec<_> = order.iter().map(|&i| r.read_plane(i).unwrap()).collect();
    for threads in [0, 1, 2, 3, 8] {
        for capacity in [0, 1, 5] {
            let got: Vec<_> = r
                .stream(order.clone(), threads, capacity)
                .map(|x| x.unwrap())
                .collect();
            assert_eq!(got.len(), want.len());
            for (k, (idx, p)) in got.iter().enumerate() {
                assert_eq!(*idx, order[k]);
                assert_eq!(
                    *p, want[k],
                    "threads {threads} capacity {capacity} item {k}"
                );
            }
        }
    }
    assert_eq!(r.stream(Vec::new(), 2, 2).count(), 0);
}

#[test]
fn errors_arrive_in_place_and_early_drop_stops() {
    let r =
        open(&data_dir().join("cancer-cell-migration-timelapse/cancer_cell_migration_crop.tif"));
    let order = vec![
        PlaneIndex { t: 0, c: 0, z: 0 },
        PlaneIndex { t: 99, c: 0, z: 0 },
        PlaneIndex { t: 2, c: 0, z: 0 },
    ];
    let got: Vec<_> = r.stream(order, 2, 1).collect();
    assert!(got[0].is_ok() && got[1].is_err() && got[2].is_ok());
    let mut s = r.stream(r.info().shape.plane_indices(), 2, 1);
    assert_eq!(s.len(), 48);
    assert!(s.next().unwrap().is_ok());
    drop(s); // joins the workers blocked on full queues
    // The reader stays usable, and a clone streams independently.
    let c = r.clone();
    assert_eq!(
        c.stream(c.info().shape.plane_indices(), 2, 2)
            .filter(|p| p.is_ok())
            .count(),
        48
    );
}

/// Peak RSS of streaming a generated 4.4 GB BigTIFF movie end to end through
/// `migrascope info --stats` (2 decode threads), measured by `/usr/bin/time -v`.
#[test]
#[ignore = "writes 4.4 GB to $MIGRASCOPE_BIG_DIR (default: the system temp dir); run with --ignored"]
fn four_gb_bigtiff_streams_with_flat_memory() {
    let base = std::env::var_os("MIGRASCOPE_BIG_DIR").map_or_else(std::env::temp_dir, Into::into);
    let dir = tempfile::tempdir_in(base).unwrap();
    let path = dir.path().join("movie_4gb.ome.tif");
    let (t, c, side) = (260usize, 2usize, 2048usize);
    let spec = WriteSpec {
        shape: Shape {
            t,
            c,
            z: 1,
            y: side,
            x: side,
        },
        pixel_size_um: PixelSize {
            x: Some(0.1),
            y: Some(0.1),
            z: None,
        },
        time_increment_s: Some(1.0),
        channels: vec![Some("membrane".into()), Some("cargo".into())],
    };
    let mut want_sum = 0u128;
    let t0 = std::time::Instant::now();
    let planes = (0..t * c).map(|k| {
        let v: Vec<u16> = (0..side * side)
            .map(|i| ((i * 7 + k * 131) % 65521) as u16)
            .collect();
        want_sum += v.iter().map(|&x| x as u128).sum::<u128>();
        v
    });
    write_ome_u16(&path, &spec, planes).unwrap();
    let bytes = std::fs::metadata(&path).unwrap().len();
    let head = std::fs::read(&path)
        .map(|b| b[..4].to_vec())
        .unwrap_or_default();
    eprintln!("wrote {bytes} bytes in {:.1} s", t0.elapsed().as_secs_f64());
    assert!(
        bytes > 4_000_000_000 && head == b"II+\0",
        "BigTIFF over 4 GB"
    );
    assert!(
        StackReader::open(&path, &Default::default())
            .unwrap()
            .info()
            .bigtiff
    );

    let t1 = std::time::Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(env!("CARGO_BIN_EXE_migrascope"))
        .args(["info", "--stats", "--json", "--threads", "2"])
        .arg(&path)
        .output()
        .expect("/usr/bin/time is required (apt install time)");
    let secs = t1.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["pixel_sum"].as_u64().unwrap() as u128, want_sum);
    assert_eq!(info["planes"].as_array().unwrap().len(), t * c);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let rss_kb: u64 = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
        .expect("time -v output");
    eprintln!(
        "streamed {bytes} bytes ({} planes) in {secs:.1} s = {:.0} MB/s; peak RSS {} MB",
        t * c,
        bytes as f64 / secs / 1e6,
        rss_kb / 1024
    );
    assert!(rss_kb < 300 * 1024, "peak RSS {rss_kb} kB");
}
