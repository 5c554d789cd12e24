fn main() {
    std::process::exit(eopf_geozarr::cli::main());
}
