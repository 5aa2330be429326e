//! The `residual-explorer` binary: the command line, which opens the GUI by default.

fn main() -> std::process::ExitCode {
    residual_explorer::cli::main()
}
