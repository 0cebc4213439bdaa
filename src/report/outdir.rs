//! [`OutputDir`]: a results folder written completely or not at all. Files are created in a
//! hidden partial folder inside the target and moved into place by `commit`; a run that fails
//! (or is dropped) removes the partial folder and leaves earlier results untouched.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub struct OutputDir {
    target: PathBuf,
    partial: PathBuf,
    committed: bool,
}

impl OutputDir {
    pub fn create(target: &Path) -> Result<OutputDir> {
        std::fs::create_dir_all(target).map_err(|e| Error::output(target, e))?;
        let partial = target.join(format!(".partial-{}", std::process::id()));
        if partial.exists() {
            std::fs::remove_dir_all(&partial).map_err(|e| Error::output(&partial, e))?;
        }
        std::fs::create_dir_all(&partial).map_err(|e| Error::output(&partial, e))?;
        Ok(OutputDir {
            target: target.to_path_buf(),
            partial,
            committed: false,
        })
    }

    /// Where to write `rel` now (inside the partial folder; parents are created).
    pub fn path(&self, rel: &str) -> Result<PathBuf> {
        let p = self.partial.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::output(parent, e))?;
        }
        Ok(p)
    }

    /// Where `rel` will be after `commit`.
    pub fn final_path(&self, rel: &str) -> PathBuf {
        self.target.join(rel)
    }

    /// Moves every file into the target folder, replacing files of the same name.
    pub fn commit(mut self) -> Result<()> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
            for e in std::fs::read_dir(dir)? {
                let p = e?.path();
                if p.is_dir() {
                    walk(&p, out)?;
                } else {
                    out.push(p);
                }
            }
            Ok(())
        }
        let mut files = Vec::new();
        walk(&self.partial, &mut files).map_err(|e| Error::output(&self.partial, e))?;
        let rels: Vec<PathBuf> = files
            .iter()
            .map(|f| {
                f.strip_prefix(&self.partial)
                    .expect("walked inside partial")
                    .to_path_buf()
            })
            .collect();
        // A folder where a file goes would stop the moves halfway: refuse before the first.
        if let Some(dst) = rels
            .iter()
            .map(|r| self.target.join(r))
            .find(|d| d.is_dir())
        {
            let why = std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "a folder of this name is in the way; nothing was written",
            );
            return Err(Error::output(&dst, why));
        }
        self.remove_stale(&rels);
        for (f, rel) in files.iter().zip(&rels) {
            let dst = self.target.join(rel);
            if let Some(parent) = dst.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::output(parent, e))?;
            }
            std::fs::rename(f, &dst).map_err(|e| Error::output(&dst, e))?;
        }
        let list: String = rels
            .iter()
            .map(|r| format!("{}\n", r.to_string_lossy()))
            .collect();
        let tmp = self.partial.join(MANIFEST);
        std::fs::write(&tmp, list).map_err(|e| Error::output(&tmp, e))?;
        let manifest = self.target.join(MANIFEST);
        std::fs::rename(&tmp, &manifest).map_err(|e| Error::output(&manifest, e))?;
        std::fs::remove_dir_all(&self.partial).map_err(|e| Error::output(&self.partial, e))?;
        self.committed = true;
        Ok(())
    }
}

/// The list of files the last committed run wrote into the folder (one relative path a line).
const MANIFEST: &str = ".migrascope-outputs";

impl OutputDir {
    /// Removes what the previous run in this folder wrote and this run does not replace (so
    /// no stale label stack or QC picture of another image stays beside the new tables).
    /// Only files named in the previous run's manifest are touched, never anything else.
    fn remove_stale(&self, new: &[PathBuf]) {
        let Ok(text) = std::fs::read_to_string(self.target.join(MANIFEST)) else {
            return;
        };
        for line in text.lines() {
            let rel = Path::new(line);
            let plain = rel
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
            if line.is_empty() || !plain || new.iter().any(|n| n == rel) {
                continue;
            }
            let p = self.target.join(rel);
            let _ = std::fs::remove_file(&p);
            if let Some(dir) = p.parent().filter(|d| *d != self.target) {
                let _ = std::fs::remove_dir(dir); // only if now empty
            }
        }
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.partial);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(target: &Path, files: &[&str]) {
        let out = OutputDir::create(target).unwrap();
        for f in files {
            std::fs::write(out.path(f).unwrap(), f).unwrap();
        }
        out.commit().unwrap();
    }

    #[test]
    fn a_new_run_replaces_the_previous_runs_files_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path();
        std::fs::write(t.join("notes.txt"), "mine").unwrap();
        run(t, &["cells.csv", "a_cells.tif", "qc/a_t000.png"]);
        assert!(t.join("qc/a_t000.png").exists());
        run(t, &["cells.csv", "b_cells.tif"]);
        assert_eq!(
            std::fs::read_to_string(t.join("cells.csv")).unwrap(),
            "cells.csv"
        );
        assert!(t.join("b_cells.tif").exists());
        assert!(!t.join("a_cells.tif").exists(), "stale output kept");
        assert!(!t.join("qc").exists(), "emptied qc folder kept");
        assert_eq!(
            std::fs::read_to_string(t.join("notes.txt")).unwrap(),
            "mine"
        );
        let partials = std::fs::read_dir(t)
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                name.to_string_lossy().starts_with(".partial")
            })
            .count();
        assert_eq!(partials, 0);
    }

    #[test]
    fn a_failed_run_leaves_the_previous_results() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path();
        run(t, &["cells.csv"]);
        {
            let out = OutputDir::create(t).unwrap();
            std::fs::write(out.path("cells.csv").unwrap(), "half").unwrap();
            // dropped without commit
        }
        assert_eq!(
            std::fs::read_to_string(t.join("cells.csv")).unwrap(),
            "cells.csv"
        );
        assert_eq!(std::fs::read_dir(t).unwrap().count(), 2); // cells.csv + manifest
    }
}
