//! The `ringsocket` daemon binary. Not implemented yet: it refuses to run rather than pretend to
//! serve.

fn main() {
    eprintln!("ringsocket: the daemon is not implemented yet; only the ws-proto library is usable");
    std::process::exit(1);
}
