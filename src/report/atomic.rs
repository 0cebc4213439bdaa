//! [`AtomicFile`]: writes go to a temporary file beside the target, renamed over it by
//! `commit`; dropped without `commit`, the temporary file is removed, so a failed run never
//! leaves a half-written output.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub struct AtomicFile {
    target: PathBuf,
    tmp: PathBuf,
    out: Option<BufWriter<File>>,
}

impl AtomicFile {
    pub fn create(target: &Path) -> Result<AtomicFile> {
        let name = target
            .file_name()
            .ok_or_else(|| Error::invalid(format!("{}: not a file name", target.display())))?
            .to_string_lossy()
            .into_owned();
        let tmp = target.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        AtomicFile::create_at(target, &tmp)
    }

    /// Like [`AtomicFile::create`], with the temporary file at `tmp` (on the same file
    /// system as `target`, e.g. a staging folder beside it).
    pub fn create_at(target: &Path, tmp: &Path) -> Result<AtomicFile> {
        let f = File::create(tmp).map_err(|e| Error::output(tmp, e))?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            tmp: tmp.to_path_buf(),
            out: Some(BufWriter::new(f)),
        })
    }

    /// Writes bytes; errors name the target file.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        let out = self.out.as_mut().expect("open until commit");
        out.write_all(bytes)
            .map_err(|e| Error::output(&self.target, e))
    }

    /// Writes one line (a newline is added).
    pub fn line(&mut self, s: &str) -> Result<()> {
        self.write_all(s.as_bytes())?;
        self.write_all(b"\n")
    }

    /// Flushes, syncs and renames the temporary file over the target.
    pub fn commit(mut self) -> Result<()> {
        let out = self.out.take().expect("open until commit");
        let f = out
            .into_inner()
            .map_err(|e| Error::output(&self.target, e.into_error()))?;
        f.sync_all().map_err(|e| Error::output(&self.target, e))?;
        drop(f);
        std::fs::rename(&self.tmp, &self.target).map_err(|e| Error::output(&self.target, e))
    }

    pub fn path(&self) -> &Path {
        &self.target
    }
}

/// For writers that take `std::io::Write` (the `csv` crate); errors come back through them.
impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.as_mut().expect("open until commit").write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.as_mut().expect("open until commit").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
