//! WGSL source assembly: resolves `#import <path>` lines and validates the result with naga.
//! Shared verbatim by `src/build.rs` (which fails the build on an invalid shader) and by the
//! library (tests re-validate every file at run time). Only `std` and `naga` are used here.

use std::collections::HashSet;
use std::path::Path;

/// Resolves `#import a/b` lines (relative to `root`, `.wgsl` implied) recursively; each file is
/// pulled in at most once, before the lines of the file that first imports it.
pub fn resolve(root: &Path, name: &str) -> Result<String, String> {
    let mut seen = HashSet::new();
    let mut out = String::new();
    resolve_into(root, name, &mut seen, &mut out)?;
    Ok(out)
}

fn resolve_into(
    root: &Path,
    name: &str,
    seen: &mut HashSet<String>,
    out: &mut String,
) -> Result<(), String> {
    if !seen.insert(name.to_string()) {
        return Ok(());
    }
    let path = root.join(format!("{name}.wgsl"));
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let mut body = String::new();
    for (no, line) in text.lines().enumerate() {
        if let Some(rest) = line.trim_start().strip_prefix("#import") {
            let dep = rest.trim();
            if dep.is_empty() {
                return Err(format!("{}:{}: empty #import", path.display(), no + 1));
            }
            resolve_into(root, dep, seen, out)?;
            body.push_str("// (import resolved)\n");
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    out.push_str(&format!("// ---- {name}.wgsl ----\n"));
    out.push_str(&body);
    Ok(())
}

/// Parses and validates a resolved WGSL source with naga.
pub fn validate(name: &str, source: &str) -> Result<(), String> {
    let module = naga::front::wgsl::parse_str(source)
        .map_err(|e| format!("{name}.wgsl: {}", e.emit_to_string(source)))?;
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::default(),
    )
    .validate(&module)
    .map_err(|e| format!("{name}.wgsl: {}", e.emit_to_string(source)))?;
    Ok(())
}

/// Names (without `.wgsl`) of the kernel files directly under `dir`, sorted.
pub fn kernel_files(dir: &Path) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("{}: cannot list: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().and_then(|e| e.to_str()) == Some("wgsl")
            && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
        {
            names.push(stem.to_string());
        }
    }
    names.sort();
    Ok(names)
}
