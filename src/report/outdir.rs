//! [`ResultsDir`]: the results folder of an `analyze` run, where each input's results are
//! committed on their own and the combined files are replaced whole.
//!
//! - Every input's files are written into a folder under `.migrascope-staging/` and moved
//!   into `images/<image>/` by one rename ([`StagedImage::commit`]): a per-image folder is
//!   whole or absent, whenever the run stops (an error, a full disk, a kill).
//! - Every top-level file (the combined tables, `summary.json`) is written to a temporary file
//!   in `.migrascope-staging/` and renamed over its target ([`ResultsDir::file`]).
//! - Nothing but the staging folder ever holds a partial file; the next run empties it. A lock
//!   (`.migrascope-lock`, unix `flock`) keeps two runs out of one folder.
//! - [`ResultsDir::finish`] removes what an earlier run wrote and this one does not (listed in
//!   `.migrascope-outputs`, plus per-image folders of inputs not in this run), nothing else.

use std::fs::File;
use std::path::{Component, Path, PathBuf};

use super::AtomicFile;
use crate::error::{Error, Result};

/// The per-image folders' parent, inside the results folder.
pub const IMAGES: &str = "images";
/// The staging folder (partial files only), inside the results folder.
pub const STAGING: &str = ".migrascope-staging";
/// The lock file, inside the results folder.
pub const LOCK: &str = ".migrascope-lock";
/// The list of files the last finished run wrote into the folder (one relative path a line).
const MANIFEST: &str = ".migrascope-outputs";
/// The per-image manifest, written last: a per-image folder holding it is complete.
pub const DONE: &str = "done.json";

pub struct ResultsDir {
    root: PathBuf,
    staging: PathBuf,
    /// Held for the run (released by the OS when the process ends, even on a kill).
    _lock: File,
    /// Names for staged folders and temporary files.
    counter: std::cell::Cell<u64>,
}

impl ResultsDir {
    /// Opens (creates) the results folder `root` for a run: refuses when a folder stands where
    /// one of `top_files` goes (before anything is written), takes the lock and empties the
    /// staging folder of an earlier, killed run.
    pub fn open(root: &Path, top_files: &[&str]) -> Result<ResultsDir> {
        for f in top_files {
            let p = root.join(f);
            if p.is_dir() {
                let why = std::io::Error::new(
                    std::io::ErrorKind::IsADirectory,
                    "a folder of this name is in the way; nothing was written",
                );
                return Err(Error::output(&p, why));
            }
        }
        std::fs::create_dir_all(root).map_err(|e| Error::output(root, e))?;
        let lock_path = root.join(LOCK);
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::output(&lock_path, e))?;
        try_lock(&lock).map_err(|e| Error::output(&lock_path, e))?;
        let staging = root.join(STAGING);
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|e| Error::output(&staging, e))?;
        }
        std::fs::create_dir_all(&staging).map_err(|e| Error::output(&staging, e))?;
        Ok(ResultsDir {
            root: root.to_path_buf(),
            staging,
            _lock: lock,
            counter: std::cell::Cell::new(0),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The committed folder of image `name`.
    pub fn image_dir(&self, name: &str) -> PathBuf {
        self.root.join(IMAGES).join(name)
    }

    fn next(&self) -> u64 {
        let n = self.counter.get();
        self.counter.set(n + 1);
        n
    }

    /// A new, empty staging folder for one image's files.
    pub fn stage(&self) -> Result<StagedImage> {
        let dir = self.staging.join(format!("image-{}", self.next()));
        std::fs::create_dir_all(&dir).map_err(|e| Error::output(&dir, e))?;
        Ok(StagedImage {
            dir,
            committed: false,
        })
    }

    /// A top-level file `rel`, written to a temporary file in the staging folder and renamed
    /// over `rel` by [`AtomicFile::commit`].
    pub fn file(&self, rel: &str) -> Result<AtomicFile> {
        let tmp = self.staging.join(format!("file-{}.tmp", self.next()));
        AtomicFile::create_at(&self.root.join(rel), &tmp)
    }

    /// Moves `staged` into `images/<name>/`, replacing an earlier folder of that name: swapped
    /// in one step where the system can (Linux `renameat2(RENAME_EXCHANGE)`), else moved aside
    /// first (put back when the move fails); the earlier folder is removed after.
    pub fn commit(&self, mut staged: StagedImage, name: &str) -> Result<PathBuf> {
        let images = self.root.join(IMAGES);
        std::fs::create_dir_all(&images).map_err(|e| Error::output(&images, e))?;
        sync_tree(&staged.dir)?;
        let dst = self.image_dir(name);
        if dst.exists() && exchange(&staged.dir, &dst).is_ok() {
            // `staged.dir` now holds the earlier folder: dropping it removes that
            sync_dir(&images);
            return Ok(dst);
        }
        let old = if dst.exists() {
            let old = self.staging.join(format!("old-{}", self.next()));
            std::fs::rename(&dst, &old).map_err(|e| Error::output(&dst, e))?;
            Some(old)
        } else {
            None
        };
        if let Err(e) = std::fs::rename(&staged.dir, &dst) {
            if let Some(old) = &old {
                let _ = std::fs::rename(old, &dst);
            }
            return Err(Error::output(&dst, e));
        }
        staged.committed = true;
        sync_dir(&images);
        if let Some(old) = old {
            let _ = std::fs::remove_dir_all(old);
        }
        Ok(dst)
    }

    /// Ends a run that went through its inputs: removes the files an earlier run listed and
    /// this one did not write (`files`: relative paths), and the per-image folders (those
    /// holding a `done.json`) of images not in `images`; lists `files` for the next run; and
    /// removes the staging folder.
    pub fn finish(self, files: &[PathBuf], images: &[String]) -> Result<()> {
        if let Ok(text) = std::fs::read_to_string(self.root.join(MANIFEST)) {
            for line in text.lines() {
                let rel = Path::new(line);
                let plain = rel.components().all(|c| matches!(c, Component::Normal(_)));
                if line.is_empty() || !plain || files.iter().any(|n| n == rel) {
                    continue;
                }
                if rel.starts_with(IMAGES) {
                    continue; // per-image folders: below
                }
                let p = self.root.join(rel);
                let _ = std::fs::remove_file(&p);
                if let Some(dir) = p.parent().filter(|d| *d != self.root) {
                    let _ = std::fs::remove_dir(dir); // only if now empty
                }
            }
        }
        if let Ok(rd) = std::fs::read_dir(self.root.join(IMAGES)) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if !images.contains(&name) && e.path().join(DONE).is_file() {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
            let _ = std::fs::remove_dir(self.root.join(IMAGES)); // only if now empty
        }
        let list: String = files
            .iter()
            .map(|r| format!("{}\n", r.to_string_lossy()))
            .collect();
        let mut m = self.file(MANIFEST)?;
        m.write_all(list.as_bytes())?;
        m.commit()?;
        std::fs::remove_dir_all(&self.staging).map_err(|e| Error::output(&self.staging, e))
    }
}

impl ResultsDir {
    /// Ends a run that stopped (GPU, output): the committed images and top-level files stay
    /// as they are, the (now empty) staging folder is removed where it can be.
    pub fn abandon(self) {
        let _ = std::fs::remove_dir_all(&self.staging);
    }
}

/// Swaps two paths in one step (Linux); an error where the system or file system cannot.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
    };
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: two NUL-terminated paths that outlive the call.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// Takes the folder's lock, or says which run holds it.
#[cfg(unix)]
fn try_lock(f: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a file descriptor we own; no memory is passed.
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    if e.kind() == std::io::ErrorKind::WouldBlock {
        return Err(std::io::Error::new(
            std::io::ErrorKind::WouldBlock,
            "another migrascope run is writing this folder",
        ));
    }
    Err(e)
}

#[cfg(not(unix))]
fn try_lock(_: &File) -> std::io::Result<()> {
    Ok(())
}

/// Flushes every file under `dir` to the disk (so a committed folder survives a power cut
/// whole, not only a kill).
fn sync_tree(dir: &Path) -> Result<()> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::output(dir, e))?;
    for e in rd {
        let p = e.map_err(|e| Error::output(dir, e))?.path();
        if p.is_dir() {
            sync_tree(&p)?;
        } else {
            File::open(&p)
                .and_then(|f| f.sync_all())
                .map_err(|e| Error::output(&p, e))?;
        }
    }
    sync_dir(dir);
    Ok(())
}

/// Flushes a folder's entries (unix; best effort).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(f) = File::open(dir) {
        let _ = f.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// One image's files being written; removed when dropped uncommitted.
pub struct StagedImage {
    dir: PathBuf,
    committed: bool,
}

impl StagedImage {
    /// Where to write `rel` (parents are created).
    pub fn path(&self, rel: &str) -> Result<PathBuf> {
        let p = self.dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::output(parent, e))?;
        }
        Ok(p)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for StagedImage {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(d: &ResultsDir, name: &str, files: &[&str]) {
        let s = d.stage().unwrap();
        for f in files {
            std::fs::write(s.path(f).unwrap(), f).unwrap();
        }
        std::fs::write(s.path(DONE).unwrap(), "{}").unwrap();
        d.commit(s, name).unwrap();
    }

    #[test]
    fn images_are_committed_whole_and_a_new_run_removes_only_its_predecessors_files() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path();
        std::fs::write(t.join("notes.txt"), "mine").unwrap();
        std::fs::create_dir_all(t.join("images/user")).unwrap(); // no done.json: not ours
        let d = ResultsDir::open(t, &["cells.csv"]).unwrap();
        commit(&d, "a", &["a_cells.tif", "qc/a_t0.png"]);
        commit(&d, "b", &["b_cells.tif"]);
        let mut f = d.file("cells.csv").unwrap();
        f.write_all(b"1").unwrap();
        f.commit().unwrap();
        d.finish(&[PathBuf::from("cells.csv")], &["a".into(), "b".into()])
            .unwrap();
        assert!(t.join("images/a/qc/a_t0.png").is_file());
        assert!(!t.join(STAGING).exists());
        // the next run has only `b`, replaced
        let d = ResultsDir::open(t, &["cells.csv"]).unwrap();
        commit(&d, "b", &["b_other.tif"]);
        d.finish(&[], &["b".into()]).unwrap();
        assert!(!t.join("images/a").exists(), "stale image kept");
        assert!(
            !t.join("images/b/b_cells.tif").exists(),
            "replaced folder kept files"
        );
        assert!(t.join("images/b/b_other.tif").is_file());
        assert!(!t.join("cells.csv").exists(), "stale table kept");
        assert!(t.join("images/user").is_dir(), "a folder not ours removed");
        assert_eq!(
            std::fs::read_to_string(t.join("notes.txt")).unwrap(),
            "mine"
        );
    }

    #[test]
    fn an_uncommitted_image_leaves_nothing_and_a_second_run_is_locked_out() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path();
        let d = ResultsDir::open(t, &[]).unwrap();
        {
            let s = d.stage().unwrap();
            std::fs::write(s.path("half.tif").unwrap(), "half").unwrap();
        }
        assert_eq!(std::fs::read_dir(t.join(STAGING)).unwrap().count(), 0);
        #[cfg(unix)]
        {
            let e = ResultsDir::open(t, &[]).err().unwrap().to_string();
            assert!(e.contains("another migrascope run"), "{e}");
        }
        drop(d);
        // a later run empties what a killed one left in the staging folder
        std::fs::create_dir_all(t.join(STAGING).join("image-9")).unwrap();
        let d = ResultsDir::open(t, &[]).unwrap();
        assert_eq!(std::fs::read_dir(t.join(STAGING)).unwrap().count(), 0);
        d.finish(&[], &[]).unwrap();
    }

    #[test]
    fn a_folder_in_the_way_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("r");
        std::fs::create_dir_all(t.join("cells.csv")).unwrap();
        let e = ResultsDir::open(&t, &["cells.csv"])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("in the way"), "{e}");
        assert_eq!(std::fs::read_dir(&t).unwrap().count(), 1);
    }
}
