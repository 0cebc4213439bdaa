//! `analyze` on batches (README, Batches): each input committed on its own in
//! `images/<image>/`, bad inputs reported and skipped (exit 1), `--resume`, and the faults —
//! a kill, an output that cannot be written, a full disk, no GPU — each with its exit code,
//! its message, no partial file and no completed result lost.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use migrascope::image::PlaneData;
use migrascope::io::{OpenOptions, StackReader, StackWriter, WriteFlavor, WriteSpec};

use crate::harness::run_ok;

fn migrascope() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_migrascope"));
    c.env_remove("XDG_RUNTIME_DIR")
        .env_remove("NODEVICE_SELECT")
        .env_remove("MIGRASCOPE_BACKEND")
        .env_remove("MIGRASCOPE_DEVICE");
    c
}

/// `analyze FILES --qc-every 0 --out OUT ARGS`, not yet run.
fn analyze(files: &[PathBuf], out: &Path, args: &[&str]) -> Command {
    let mut c = migrascope();
    c.arg("analyze")
        .args(files)
        .args(["--qc-every", "0", "--out"])
        .arg(out)
        .args(args);
    c
}

fn stderr_lines(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// A small synthetic stack (3 channels, uint16, `size` px, one cell) from `synth`.
fn synth(dir: &Path, seed: u64, size: usize) -> PathBuf {
    let d = dir.join(format!("synth-{seed}-{size}"));
    run_ok(migrascope().args(["synth", "--out"]).arg(&d).args([
        "--seed",
        &seed.to_string(),
        "--size",
        &size.to_string(),
        "--cells",
        "1",
        "--pixel-size",
        "0.25",
        "--diameter",
        "0.6,2",
    ]));
    d.join("synth.ome.tif")
}

/// Writes `base` again as `dst` (OME-TIFF, same channels and calibration) with its first
/// pixel raised by `bump`: another file, another content fingerprint.
fn variant(base: &Path, dst: &Path, bump: u16) {
    let r = StackReader::open(base, &OpenOptions::default()).unwrap();
    let info = r.info().clone();
    let spec = WriteSpec {
        shape: info.shape,
        pixel_size_um: info.pixel_size_um,
        time_increment_s: info.time_increment_s,
        channels: info.channels.clone(),
    };
    let mut w = StackWriter::create(dst, &spec, info.dtype, WriteFlavor::Ome).unwrap();
    for (k, idx) in info.shape.plane_indices().into_iter().enumerate() {
        let mut data = r.read_plane(idx).unwrap().data;
        if k == 0 {
            let PlaneData::U16(v) = &mut data else {
                panic!("synth writes uint16")
            };
            v[0] = v[0].wrapping_add(bump);
        }
        w.push_plane(&data).unwrap();
    }
    w.finish().unwrap();
}

/// Files and folders under `dir`, recursively (hidden ones too), relative to it.
fn everything(dir: &Path) -> BTreeSet<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<PathBuf>) {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                out.insert(e.path().strip_prefix(root).unwrap().to_path_buf());
                walk(root, &e.path(), out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

/// A table read with the csv crate (every row as long as the header, or it fails): header and
/// rows.
fn table(p: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|x| {
            x.unwrap_or_else(|e| panic!("{}: {e}", p.display()))
                .iter()
                .map(str::to_string)
                .collect()
        })
        .collect();
    (header, rows)
}

/// The `image` column's values.
fn images_in(p: &Path) -> BTreeSet<String> {
    table(p).1.into_iter().map(|r| r[0].clone()).collect()
}

fn summary(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

fn names(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Asserts every folder in `out/images` is complete — its `done.json` lists every other file
/// in it with its length, its tables parse — and returns (image name → inode of its
/// `done.json`).
fn complete_images(out: &Path) -> BTreeMap<String, u64> {
    let mut done = BTreeMap::new();
    let Ok(rd) = std::fs::read_dir(out.join("images")) else {
        return done;
    };
    for e in rd.flatten() {
        let dir = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        let manifest = dir.join("done.json");
        let m: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&manifest)
                .unwrap_or_else(|e| panic!("{}: {e} (an incomplete image folder)", dir.display())),
        )
        .unwrap();
        let mut listed = BTreeSet::from([PathBuf::from("done.json"), PathBuf::from("qc")]);
        for f in m["files"].as_array().unwrap() {
            let rel = f["path"].as_str().unwrap();
            let len = std::fs::metadata(dir.join(rel))
                .unwrap_or_else(|e| panic!("{name}/{rel}: {e}"))
                .len();
            assert_eq!(len, f["bytes"].as_u64().unwrap(), "{name}/{rel}: length");
            listed.insert(PathBuf::from(rel));
        }
        let there: BTreeSet<PathBuf> = everything(&dir);
        let extra: Vec<_> = there.difference(&listed).collect();
        assert!(
            extra.is_empty(),
            "{name}: files not in done.json: {extra:?}"
        );
        for t in ["migrasomes.csv", "cells.csv", "frames.csv"] {
            let imgs = images_in(&dir.join(t));
            assert!(imgs.iter().all(|i| *i == name), "{name}/{t}: {imgs:?}");
        }
        assert_eq!(table(&dir.join("frames.csv")).1.len(), 1, "{name}: frames");
        done.insert(name, std::fs::metadata(&manifest).unwrap().ino());
    }
    done
}

/// Asserts nothing partial lies in `out` outside the staging folder: no temporary file, every
/// top-level table parses and names only images whose folder is complete.
fn nothing_partial(out: &Path, done: &BTreeMap<String, u64>) {
    for p in everything(out) {
        if p.starts_with(".migrascope-staging") {
            continue;
        }
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !n.ends_with(".tmp") && !n.starts_with(".partial"),
            "partial file {}",
            p.display()
        );
        if n.starts_with('.') {
            assert!(
                [
                    ".migrascope-lock",
                    ".migrascope-outputs",
                    ".migrascope-staging"
                ]
                .contains(&n.as_str()),
                "{}",
                p.display()
            );
        }
    }
    for t in ["migrasomes.csv", "cells.csv", "frames.csv"] {
        if out.join(t).exists() {
            let imgs = images_in(&out.join(t));
            assert!(
                imgs.iter().all(|i| done.contains_key(i)),
                "{t} names an image without a complete folder"
            );
        }
    }
    if out.join("summary.json").exists() {
        summary(out);
    }
}

/// A simple seeded generator (xorshift64*), the seed from `MIGRASCOPE_TEST_SEED` or the
/// clock (printed, so a failure can be replayed).
fn seeded() -> (u64, impl FnMut(u64) -> u64) {
    let seed = std::env::var("MIGRASCOPE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos() as u64
        });
    let mut s = seed | 1;
    (seed, move |n: u64| {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        s.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    })
}

/// `src` (a little-endian classic TIFF) with page `page` marked Deflate-compressed though it is
/// not: the file opens, and that page fails to decode when it is read.
fn undecodable_page(src: &Path, page: usize) -> Vec<u8> {
    let mut b = std::fs::read(src).unwrap();
    assert_eq!(&b[..4], b"II*\0");
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let u32_at = |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) as usize;
    let mut ifd = u32_at(&b, 4);
    for _ in 0..page {
        ifd = u32_at(&b, ifd + 2 + 12 * u16_at(&b, ifd));
    }
    let entry = (0..u16_at(&b, ifd))
        .map(|j| ifd + 2 + 12 * j)
        .find(|&e| u16_at(&b, e) == 259)
        .expect("a Compression tag");
    b[entry + 8..entry + 10].copy_from_slice(&8u16.to_le_bytes());
    b
}

/// 200 small stacks, 20 of them corrupt in six ways (truncated at several places, garbage,
/// empty, a wrong signature, a first IFD past the end, a page of the second frame that does
/// not decode: that one fails halfway through its analysis); returns (all, the corrupt ones).
fn two_hundred(dir: &Path) -> (Vec<PathBuf>, BTreeSet<PathBuf>) {
    let bases: Vec<PathBuf> = (1..=3).map(|s| synth(dir, s, 96)).collect();
    let good = std::fs::read(&bases[0]).unwrap();
    let two_frames = dir.join("two-frames");
    run_ok(
        migrascope()
            .args(["synth", "--out"])
            .arg(&two_frames)
            .args([
                "--seed",
                "4",
                "--size",
                "96",
                "--frames",
                "2",
                "--cells",
                "1",
                "--pixel-size",
                "0.25",
                "--diameter",
                "0.6,2",
            ]),
    );
    let late = undecodable_page(&two_frames.join("synth.ome.tif"), 4);
    let inputs = dir.join("in");
    std::fs::create_dir_all(&inputs).unwrap();
    let mut all = Vec::new();
    let mut bad = BTreeSet::new();
    let (mut k_bad, mut k_good) = (0usize, 0u16);
    for i in 0..200 {
        let p = inputs.join(format!("in_{i:03}.ome.tif"));
        if i % 10 == 3 {
            let bytes: Vec<u8> = match k_bad % 5 {
                // truncated: at 8 bytes, mid-file, near the end
                0 => good[..[8, good.len() / 2, good.len() - 100, 100][k_bad / 5 % 4]].to_vec(),
                // garbage
                1 => (0..5000u32)
                    .map(|j| (j * 7919 + k_bad as u32) as u8)
                    .collect(),
                // empty
                2 => Vec::new(),
                // a wrong signature
                3 => [b"XX".as_slice(), &good[2..]].concat(),
                // a first IFD past the end of the file
                _ if k_bad / 5 % 2 == 0 => [
                    b"II*\0".as_slice(),
                    &0xFFFF_FF00u32.to_le_bytes(),
                    &[0u8; 64],
                ]
                .concat(),
                // frame 1 does not decode (page 4 of 6)
                _ => late.clone(),
            };
            std::fs::write(&p, bytes).unwrap();
            bad.insert(p.clone());
            k_bad += 1;
        } else {
            variant(&bases[k_good as usize % 3], &p, k_good + 1);
            k_good += 1;
        }
        all.push(p);
    }
    assert_eq!((bad.len(), k_good), (20, 180));
    (all, bad)
}

/// The acceptance test of batches: 200 small files, 20 corrupt. A run killed (SIGKILL) at a
/// random point leaves whole per-image folders only; rerun with `--resume` it ends with the
/// 180 good ones done, none done before the kill redone (same `done.json`, same inode), exit
/// 1, one line per corrupt file and a closing line naming the 20, `failures.csv` listing
/// exactly them, and combined tables holding the 180. A second `--resume` redoes nothing
/// and writes the same tables.
#[test]
fn batch_of_200_with_20_corrupt_killed_and_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let (all, bad) = two_hundred(dir.path());
    let good: BTreeSet<String> = all
        .iter()
        .filter(|p| !bad.contains(*p))
        .map(|p| migrascope::report::analysis::image_name(p))
        .collect();
    let out = dir.path().join("results");

    // killed after a random number of inputs, plus a random delay (mid-input)
    let (seed, mut rand) = seeded();
    let k = 1 + rand(120) as usize;
    let delay = Duration::from_millis(rand(400));
    let mut child = analyze(&all, &out, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let count = |out: &Path| {
        std::fs::read_dir(out.join("images"))
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.path().join("done.json").exists())
                    .count()
            })
            .unwrap_or(0)
    };
    while count(&out) < k {
        assert!(
            child.try_wait().unwrap().is_none(),
            "seed {seed}: the run ended before {k} inputs were done"
        );
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "seed {seed}: too slow"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(delay);
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "seed {seed}: {status:?}");
    let before = complete_images(&out);
    assert!(before.len() >= k, "seed {seed}: {} < {k}", before.len());
    assert!(before.keys().all(|n| good.contains(n)), "seed {seed}");
    nothing_partial(&out, &before);

    // resumed: the rest done, the earlier ones kept
    let o = analyze(&all, &out, &["--resume"]).output().unwrap();
    let lines = stderr_lines(&o);
    assert_eq!(o.status.code(), Some(1), "seed {seed}: {lines:?}");
    for b in &bad {
        let shown = b.display().to_string();
        let own: Vec<_> = lines
            .iter()
            .filter(|l| l.starts_with(&format!("migrascope: {shown}: ")))
            .collect();
        assert_eq!(own.len(), 1, "seed {seed}: {shown}: {lines:?}");
    }
    let closing = lines
        .iter()
        .find(|l| l.contains("20 of 200 input(s) failed"))
        .unwrap_or_else(|| panic!("seed {seed}: no summary line: {lines:?}"));
    assert!(
        bad.iter()
            .all(|b| closing.contains(&b.display().to_string()))
    );
    assert!(
        lines
            .last()
            .unwrap()
            .contains(&format!("skipped {} input(s) already done", before.len())),
        "seed {seed}: {lines:?}"
    );
    let (header, failures) = table(&out.join("failures.csv"));
    assert_eq!(header, ["file", "place", "reason", "exit_code"]);
    let failed: BTreeSet<PathBuf> = failures.iter().map(|r| PathBuf::from(&r[0])).collect();
    assert_eq!(failed, bad, "seed {seed}");
    assert!(
        failures
            .iter()
            .all(|r| !r[1].is_empty() && !r[2].is_empty() && r[3] == "3")
    );
    // the two that fail in their second frame name the page
    let late: Vec<_> = failures
        .iter()
        .filter(|r| r[1].starts_with("page 4 (t=1"))
        .collect();
    assert_eq!(late.len(), 2, "{failures:?}");

    let after = complete_images(&out);
    assert_eq!(
        after.keys().cloned().collect::<BTreeSet<_>>(),
        good,
        "seed {seed}"
    );
    for (name, ino) in &before {
        assert_eq!(after[name], *ino, "seed {seed}: {name} was redone");
    }
    nothing_partial(&out, &after);
    assert!(!out.join(".migrascope-staging").exists());
    assert_eq!(images_in(&out.join("frames.csv")), good);
    assert_eq!(table(&out.join("frames.csv")).1.len(), 180);
    assert!(images_in(&out.join("cells.csv")).is_subset(&good));
    let s = summary(&out);
    assert_eq!(s["status"], "some inputs failed");
    assert_eq!(s["inputs"]["total"], 200);
    assert_eq!(s["inputs"]["done"], 180);
    assert_eq!(s["images"].as_array().unwrap().len(), 180);
    let resumed = names(&s["inputs"]["resumed"]);
    let analysed = names(&s["inputs"]["analysed"]);
    assert_eq!(resumed, before.keys().cloned().collect(), "seed {seed}");
    assert!(resumed.is_disjoint(&analysed));
    assert_eq!(resumed.len() + analysed.len(), 180);
    assert_eq!(s["inputs"]["failed"].as_array().unwrap().len(), 20);

    // once more: nothing redone, the same tables
    let tables: Vec<Vec<u8>> = ["migrasomes.csv", "cells.csv", "frames.csv", "failures.csv"]
        .iter()
        .map(|t| std::fs::read(out.join(t)).unwrap())
        .collect();
    let o = analyze(&all, &out, &["--resume"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let s = summary(&out);
    assert_eq!(names(&s["inputs"]["resumed"]), good);
    assert!(names(&s["inputs"]["analysed"]).is_empty());
    for (t, bytes) in ["migrasomes.csv", "cells.csv", "frames.csv", "failures.csv"]
        .iter()
        .zip(&tables)
    {
        assert_eq!(&std::fs::read(out.join(t)).unwrap(), bytes, "{t}");
    }
    assert_eq!(complete_images(&out), after);
}

/// `--resume` matches by content and settings, not by name: a changed file, changed
/// parameters, or a damaged result folder are analysed again; without `--resume` everything
/// is. An input dropped from the batch has its folder removed when the run ends.
#[test]
fn resume_redoes_what_changed_and_only_that() {
    let dir = tempfile::tempdir().unwrap();
    let base = synth(dir.path(), 5, 96);
    let files: Vec<PathBuf> = ["a", "b", "c"]
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let p = dir.path().join(format!("{n}.ome.tif"));
            variant(&base, &p, i as u16 + 1);
            p
        })
        .collect();
    let out = dir.path().join("r");
    let run = |files: &[PathBuf], args: &[&str]| {
        let o = analyze(files, &out, args).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{:?}", stderr_lines(&o));
        let s = summary(&out);
        (
            names(&s["inputs"]["analysed"]),
            names(&s["inputs"]["resumed"]),
        )
    };
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        run(&files, &["--resume"]),
        (set(&["a", "b", "c"]), set(&[]))
    );
    assert_eq!(
        run(&files, &["--resume"]),
        (set(&[]), set(&["a", "b", "c"]))
    );
    // b's content changes, c's folder loses a file
    variant(&base, &files[1], 99);
    std::fs::remove_file(out.join("images/c/c_bodies.tif")).unwrap();
    assert_eq!(run(&files, &["--resume"]), (set(&["b", "c"]), set(&["a"])));
    // other parameters: all again
    let p = ["--resume", "--set", "migrasomes.diameter_max_um=2.5"];
    assert_eq!(run(&files, &p), (set(&["a", "b", "c"]), set(&[])));
    // no --resume: all again; c dropped from the batch: its folder goes
    assert_eq!(run(&files[..2], &[]), (set(&["a", "b"]), set(&[])));
    assert!(!out.join("images/c").exists());
    let done = complete_images(&out);
    assert_eq!(
        done.keys().cloned().collect::<BTreeSet<_>>(),
        set(&["a", "b"])
    );
    nothing_partial(&out, &done);
    assert_eq!(images_in(&out.join("frames.csv")), set(&["a", "b"]));
    assert!(!out.join(".migrascope-staging").exists());
}

/// A full disk in the middle of a batch (a file-size limit, `RLIMIT_FSIZE`, with `SIGXFSZ`
/// ignored so writes fail with EFBIG): exit 5, one line naming the file it could not write
/// and what to try, a line saying what was kept; the inputs done before stay whole, the one
/// in progress leaves nothing; `--resume` without the limit finishes the rest.
#[test]
fn disk_full_mid_batch_exits_5_and_keeps_the_inputs_done() {
    let dir = tempfile::tempdir().unwrap();
    let small = synth(dir.path(), 7, 96);
    let large = synth(dir.path(), 7, 160);
    let files: Vec<PathBuf> = ["a", "b", "big", "d"]
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let p = dir.path().join(format!("{n}.ome.tif"));
            variant(if *n == "big" { &large } else { &small }, &p, i as u16 + 1);
            p
        })
        .collect();
    let out = dir.path().join("r");
    // a 96 px label stack is 19 kB, a 160 px one 51 kB
    const LIMIT: libc::rlim_t = 40_000;
    let mut cmd = analyze(&files, &out, &[]);
    // SAFETY: only async-signal-safe calls (setrlimit, signal) between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: LIMIT,
                rlim_max: LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // ignored signals stay ignored across exec: writes fail with EFBIG instead
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    let lines = stderr_lines(&o);
    assert_eq!(o.status.code(), Some(5), "{lines:?}");
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].contains("stopped after 2 of 4"), "{lines:?}");
    let err = &lines[1];
    assert!(
        err.starts_with("migrascope: ")
            && err.contains("images/big/big_")
            && err.contains("File too large")
            && err.contains("disk is full"),
        "{err}"
    );
    let done = complete_images(&out);
    assert_eq!(
        done.keys().cloned().collect::<Vec<_>>(),
        ["a", "b"],
        "{lines:?}"
    );
    nothing_partial(&out, &done);
    assert!(!out.join(".migrascope-staging").exists(), "staging left");
    assert_eq!(
        images_in(&out.join("frames.csv")),
        BTreeSet::from(["a".to_string(), "b".to_string()])
    );
    assert_eq!(summary(&out)["status"], "stopped");

    let o = analyze(&files, &out, &["--resume"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{:?}", stderr_lines(&o));
    let after = complete_images(&out);
    assert_eq!(after.len(), 4);
    for (name, ino) in &done {
        assert_eq!(after[name], *ino, "{name} was redone");
    }
    let s = summary(&out);
    assert_eq!(names(&s["inputs"]["analysed"]).len(), 2);
    assert_eq!(names(&s["inputs"]["resumed"]).len(), 2);
}

/// An output folder that cannot be made (its parent is a regular file: root cannot write
/// there either): a batch stops before its first input with exit 5 and one line naming the
/// place; nothing is written anywhere.
#[test]
fn unwritable_output_stops_a_batch_with_exit_5() {
    let dir = tempfile::tempdir().unwrap();
    let base = synth(dir.path(), 8, 96);
    let b = dir.path().join("b.ome.tif");
    variant(&base, &b, 1);
    let file = dir.path().join("a-file");
    std::fs::write(&file, "mine").unwrap();
    let before = everything(dir.path());
    let o = analyze(&[base.clone(), b], &file.join("results"), &[])
        .output()
        .unwrap();
    let lines = stderr_lines(&o);
    assert_eq!(o.status.code(), Some(5), "{lines:?}");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("migrascope: ") && lines[0].contains("a-file"),
        "{lines:?}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    assert_eq!(everything(dir.path()), before, "something was written");
}

/// No GPU adapter: exit 4 and its one line before any input is touched; an earlier run's
/// results in the folder stay exactly as they were.
#[test]
fn no_adapter_in_a_batch_exits_4_and_keeps_earlier_results() {
    let dir = tempfile::tempdir().unwrap();
    let base = synth(dir.path(), 9, 96);
    let b = dir.path().join("b.ome.tif");
    variant(&base, &b, 1);
    let files = vec![base, b];
    let out = dir.path().join("r");
    run_ok(&mut analyze(&files, &out, &[]));
    let listing = |out: &Path| -> Vec<(PathBuf, Vec<u8>, u64)> {
        everything(out)
            .into_iter()
            .filter(|p| out.join(p).is_file())
            .map(|p| {
                let m = std::fs::metadata(out.join(&p)).unwrap();
                (p.clone(), std::fs::read(out.join(&p)).unwrap(), m.ino())
            })
            .collect()
    };
    let before = listing(&out);
    for args in [&[][..], &["--resume"][..]] {
        let o = analyze(&files, &out, args)
            .env("MIGRASCOPE_BACKEND", "dx12")
            .output()
            .unwrap();
        let lines = stderr_lines(&o);
        assert_eq!(o.status.code(), Some(4), "{lines:?}");
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("no GPU adapter"), "{lines:?}");
        assert!(listing(&out) == before, "the results folder changed");
    }
    let empty = dir.path().join("never");
    let o = analyze(&files, &empty, &[])
        .env("MIGRASCOPE_BACKEND", "dx12")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(4));
    assert!(!empty.exists(), "output folder made");
}

/// A batch whose every input is bad: each reported on its own line, `failures.csv` lists
/// them, no image folder, and the exit code is theirs (3), since nothing was done.
#[test]
fn a_batch_of_bad_inputs_only_exits_3_with_each_named() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.tif");
    std::fs::write(&empty, b"").unwrap();
    let missing = dir.path().join("missing.tif");
    let out = dir.path().join("r");
    let o = analyze(&[empty.clone(), missing.clone()], &out, &[])
        .output()
        .unwrap();
    let lines = stderr_lines(&o);
    assert_eq!(o.status.code(), Some(3), "{lines:?}");
    for f in [&empty, &missing] {
        let shown = format!("migrascope: {}: ", f.display());
        assert_eq!(
            lines.iter().filter(|l| l.starts_with(&shown)).count(),
            1,
            "{lines:?}"
        );
    }
    assert!(lines.iter().any(|l| l.contains("2 of 2 input(s) failed")));
    let (_, rows) = table(&out.join("failures.csv"));
    assert_eq!(rows.len(), 2);
    assert!(!out.join("images").exists());
    assert!(!out.join("cells.csv").exists());
    assert_eq!(summary(&out)["inputs"]["done"], 0);
}
