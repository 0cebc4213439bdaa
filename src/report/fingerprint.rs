//! Fingerprints for `analyze --resume`: of an input's bytes (its content, whatever its name or
//! date) and of everything that decides its results (parameters, channel choices, series,
//! pixel size, QC choice, software version). XXH3-128: fast enough to hash a stack at disk
//! speed; made to tell files apart, not to resist forgery.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{Xxh3, xxh3_128};

use crate::error::{Error, Result};

/// An input file's content: its length and the XXH3-128 of its bytes (hex).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePrint {
    pub bytes: u64,
    pub xxh3_128: String,
}

/// Hashes the whole file at `path` (read errors name the file: the input's fault).
pub fn file(path: &Path) -> Result<FilePrint> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, e)),
        };
        h.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok(FilePrint {
        bytes,
        xxh3_128: format!("{:032x}", h.digest128()),
    })
}

/// The XXH3-128 (hex) of a JSON value's compact text. serde_json writes object keys in a
/// fixed order (sorted, or the order of the struct's fields), so equal settings give equal
/// text.
pub fn json(v: &serde_json::Value) -> String {
    let text = serde_json::to_string(v).expect("json value");
    format!("{:032x}", xxh3_128(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_same_print_one_byte_changed_another() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("c"),
        );
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&a, &data).unwrap();
        std::fs::write(&b, &data).unwrap();
        let mut other = data.clone();
        other[2_500_000] ^= 1;
        std::fs::write(&c, &other).unwrap();
        let (pa, pb, pc) = (file(&a).unwrap(), file(&b).unwrap(), file(&c).unwrap());
        assert_eq!(pa, pb);
        assert_eq!(pa.bytes, 3_000_000);
        assert_ne!(pa.xxh3_128, pc.xxh3_128);
        assert_eq!(pa.xxh3_128, format!("{:032x}", xxh3_128(&data)));
        let e = file(&dir.path().join("missing")).unwrap_err().to_string();
        assert!(e.contains("missing"), "{e}");
    }
}
