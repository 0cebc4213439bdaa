fn main() {
    // Mesa's Vulkan device-select layer connects to a Wayland or X display to find the GPU
    // that drives the screen. migrascope chooses its own adapter, and on a headless server
    // without XDG_RUNTIME_DIR that attempt prints "error: XDG_RUNTIME_DIR is invalid..." to
    // stderr. Users who set NODEVICE_SELECT themselves keep their choice.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none()
        && std::env::var_os("NODEVICE_SELECT").is_none()
    {
        // SAFETY: the first statement of main, before any other thread exists.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
    // `migrascope evaluate --json | head -c 100`: a closed pipe ends the program quietly, as
    // it does any Unix filter, instead of a panic in `println!` ("failed printing to stdout").
    #[cfg(unix)]
    // SAFETY: before any other thread exists; SIG_DFL is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::process::exit(migrascope::cli::main());
}
