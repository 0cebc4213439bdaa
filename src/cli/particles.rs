//! `migrascope particles` (being written).

#[derive(clap::Args, Debug)]
pub struct ParticlesArgs {
    pub image: std::path::PathBuf,
}

pub fn run(a: ParticlesArgs) -> crate::Result<()> {
    Err(crate::Error::invalid(format!(
        "{}: particles is not implemented yet",
        a.image.display()
    )))
}
