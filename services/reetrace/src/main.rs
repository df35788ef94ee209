fn main() -> std::process::ExitCode {
    reetrace::cli::main()
}
