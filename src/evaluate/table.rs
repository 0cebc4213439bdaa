//! Our own tables (truth files and `analyze` results) read through the `csv` crate, the one
//! that writes them: RFC 4180 quoting (quoted fields, doubled quotes, newlines inside quotes),
//! `\n` or `\r\n`, blank lines skipped, columns found by header name. Every error names the
//! file, and the line and column where it can.
//!
//! Not here: what the columns mean (see `evaluate`).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A parsed CSV file: header plus rows (with the 1-based line each row starts on).
#[derive(Clone, Debug)]
pub struct Table {
    pub path: PathBuf,
    pub header: Vec<String>,
    pub rows: Records,
}

/// Records with the line each starts on.
type Records = Vec<(usize, Vec<String>)>;

/// Splits CSV text into records of fields; an error gives the line and the reason.
fn parse(text: &str) -> std::result::Result<Records, (usize, String)> {
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    // Lines from byte offsets (the crate's own line count misses blank lines and `\r\n`; a
    // record's offset may point at the line break before it).
    let bytes = text.as_bytes();
    let line_at = |byte: u64| {
        let mut b = (byte as usize).min(bytes.len());
        while b < bytes.len() && matches!(bytes[b], b'\r' | b'\n') {
            b += 1;
        }
        1 + bytes[..b].iter().filter(|&&c| c == b'\n').count()
    };
    let mut out = Vec::new();
    let mut rec = csv::StringRecord::new();
    loop {
        let here = rd.position().byte();
        match rd.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {
                let start = rec.position().map_or(here, |p| p.byte());
                out.push((line_at(start), rec.iter().map(str::to_string).collect()));
            }
            Err(e) => {
                let at = e.position().map_or(here, |p| p.byte());
                return Err((line_at(at), e.to_string()));
            }
        }
    }
    Ok(out)
}

impl Table {
    /// Reads and parses `path`; every row must have as many fields as the header.
    pub fn read(path: &Path) -> Result<Table> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let text = String::from_utf8(bytes)
            .map_err(|e| Error::format(path, "text", format!("not UTF-8: {e}")))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let mut recs =
            parse(text).map_err(|(l, why)| Error::format(path, format!("line {l}"), why))?;
        if recs.is_empty() {
            return Err(Error::format(path, "header", "the file is empty"));
        }
        let (_, header) = recs.remove(0);
        let header: Vec<String> = header.into_iter().map(|h| h.trim().to_string()).collect();
        for (l, r) in &recs {
            if r.len() != header.len() {
                return Err(Error::format(
                    path,
                    format!("line {l}"),
                    format!("{} fields, the header has {}", r.len(), header.len()),
                ));
            }
        }
        Ok(Table {
            path: path.to_path_buf(),
            header,
            rows: recs,
        })
    }

    /// Index of column `name`, or an error naming the file and the column.
    pub fn col(&self, name: &str) -> Result<usize> {
        self.header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| Error::format(&self.path, "header", format!("no column '{name}'")))
    }

    /// Field `c` of row `r` as a finite number.
    pub fn num(&self, r: usize, c: usize) -> Result<f64> {
        let (line, row) = &self.rows[r];
        let s = row[c].trim();
        s.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| {
                Error::format(
                    &self.path,
                    format!("line {line}, column '{}'", self.header[c]),
                    format!("'{s}' is not a number"),
                )
            })
    }

    /// Field `c` of row `r` as a non-negative integer.
    pub fn int(&self, r: usize, c: usize) -> Result<u64> {
        let v = self.num(r, c)?;
        if v < 0.0 || v.fract() != 0.0 || v > 9.0e15 {
            let (line, _) = &self.rows[r];
            return Err(Error::format(
                &self.path,
                format!("line {line}, column '{}'", self.header[c]),
                format!("'{v}' is not a non-negative integer"),
            ));
        }
        Ok(v as u64)
    }

    /// Field `c` of row `r` as a 0/1 flag (also `true`/`false`).
    pub fn flag(&self, r: usize, c: usize) -> Result<bool> {
        let (line, row) = &self.rows[r];
        match row[c].trim().to_ascii_lowercase().as_str() {
            "1" | "true" => Ok(true),
            "0" | "false" => Ok(false),
            s => Err(Error::format(
                &self.path,
                format!("line {line}, column '{}'", self.header[c]),
                format!("'{s}' is not 0 or 1"),
            )),
        }
    }

    pub fn text(&self, r: usize, c: usize) -> &str {
        &self.rows[r].1[c]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_line_endings() {
        let recs =
            parse("a,b\r\n\"x,1\",\"he said \"\"hi\"\"\"\n\n3,\"multi\nline\"\n4,5").unwrap();
        assert_eq!(recs.len(), 4);
        assert_eq!(
            recs[1],
            (2, vec!["x,1".to_string(), "he said \"hi\"".to_string()])
        );
        assert_eq!(
            recs[2],
            (4, vec!["3".to_string(), "multi\nline".to_string()])
        );
        assert_eq!(recs[3], (6, vec!["4".to_string(), "5".to_string()]));
    }

    #[test]
    fn what_the_writer_quotes_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        let names = ["run 1, \"best\" Zürich", "Tom20, \"mito\"", "a\nb", "plain"];
        let mut w = csv::Writer::from_path(&p).unwrap();
        w.write_record(["image", "n"]).unwrap();
        for n in names {
            w.write_record([n, "1"]).unwrap();
        }
        w.flush().unwrap();
        let t = Table::read(&p).unwrap();
        let got: Vec<&str> = (0..t.rows.len()).map(|r| t.text(r, 0)).collect();
        assert_eq!(got, names);
        assert_eq!(
            t.rows[3].0, 6,
            "the line a record after a quoted newline starts on"
        );
    }

    #[test]
    fn a_row_of_the_wrong_length_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, "a,b\n1,2\n\n3\n").unwrap();
        let e = Table::read(&p).unwrap_err().to_string();
        assert!(e.contains("line 4") && e.contains("1 fields"), "{e}");
    }
}
