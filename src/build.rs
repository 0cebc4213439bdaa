//! Resolves `#import` in every `shaders/*.wgsl`, validates each with naga (an invalid shader
//! fails the build), and writes the resolved sources plus an index into OUT_DIR.

#[path = "gpu/wgsl_build.rs"]
mod wgsl_build;

use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("shaders");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed=shaders");
    println!("cargo:rerun-if-changed=src/gpu/wgsl_build.rs");
    let names = wgsl_build::kernel_files(&root).unwrap_or_else(|e| panic!("{e}"));
    let mut index = String::from(
        "/// (kernel file name, resolved WGSL source)\npub const SOURCES: &[(&str, &str)] = &[\n",
    );
    for name in &names {
        let src = wgsl_build::resolve(&root, name).unwrap_or_else(|e| panic!("{e}"));
        if let Err(e) = wgsl_build::validate(name, &src) {
            panic!("invalid shader:\n{e}");
        }
        let file = out.join(format!("{name}.wgsl"));
        std::fs::write(&file, &src).unwrap();
        index.push_str(&format!(
            "    ({name:?}, include_str!(concat!(env!(\"OUT_DIR\"), \"/{name}.wgsl\"))),\n"
        ));
    }
    index.push_str("];\n");
    std::fs::write(out.join("shaders.rs"), index).unwrap();
}
