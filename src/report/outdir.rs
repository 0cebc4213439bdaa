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
        std::fs::create_dir_all(target).map_err(|e| Error::io(target, e))?;
        let partial = target.join(format!(".partial-{}", std::process::id()));
        if partial.exists() {
            std::fs::remove_dir_all(&partial).map_err(|e| Error::io(&partial, e))?;
        }
        std::fs::create_dir_all(&partial).map_err(|e| Error::io(&partial, e))?;
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
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
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
        walk(&self.partial, &mut files).map_err(|e| Error::io(&self.partial, e))?;
        for f in files {
            let rel = f
                .strip_prefix(&self.partial)
                .expect("walked inside partial");
            let dst = self.target.join(rel);
            if let Some(parent) = dst.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            }
            std::fs::rename(&f, &dst).map_err(|e| Error::io(&dst, e))?;
        }
        std::fs::remove_dir_all(&self.partial).map_err(|e| Error::io(&self.partial, e))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.partial);
        }
    }
}
