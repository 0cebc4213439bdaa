//! A small CSV reader for our own tables (truth files and `analyze` results): RFC 4180
//! quoting (quoted fields, doubled quotes, newlines inside quotes), `\n` or `\r\n`, columns
//! found by header name. Every error names the file, and the line and column where it can.
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
    let mut out = Vec::new();
    let mut rec: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut in_quotes = false;
    let mut line = 1;
    let mut start = 1;
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        if in_quotes {
            match ch {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push(ch);
                }
                _ => field.push(ch),
            }
            continue;
        }
        match ch {
            '"' if field.is_empty() && !quoted => {
                in_quotes = true;
                quoted = true;
            }
            '"' => return Err((line, "a quote inside an unquoted field".into())),
            ',' => {
                rec.push(std::mem::take(&mut field));
                quoted = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                rec.push(std::mem::take(&mut field));
                quoted = false;
                if !(rec.len() == 1 && rec[0].is_empty()) {
                    out.push((start, std::mem::take(&mut rec)));
                }
                rec.clear();
                line += 1;
                start = line;
            }
            _ if quoted => return Err((line, "text after a closing quote".into())),
            _ => field.push(ch),
        }
    }
    if in_quotes {
        return Err((start, "a quoted field is not closed".into()));
    }
    if !field.is_empty() || !rec.is_empty() || quoted {
        rec.push(field);
        out.push((start, rec));
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
        assert!(parse("a,\"b").is_err());
        assert!(parse("a,b\"c").is_err());
    }
}
