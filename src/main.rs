fn main() {
    std::process::exit(migrascope::cli::main());
}
