//! `migrascope info`: describe a stack (implemented with the TIFF reader in `io`).

#[derive(clap::Args, Debug)]
pub struct InfoArgs {
    /// The TIFF file
    pub file: std::path::PathBuf,
}

pub fn run(a: InfoArgs) -> crate::Result<()> {
    Err(crate::Error::invalid(format!(
        "{}: info is not implemented yet",
        a.file.display()
    )))
}
