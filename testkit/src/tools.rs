//! Locating and running the external programs tests depend on.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

/// The apt package that provides each tool, for the setup message.
fn package_of(tool: &str) -> &str {
    match tool {
        "sipp" => "sip-tester",
        "espeak-ng" => "espeak-ng",
        "baresip" => "baresip-core",
        "gcc" | "cc" => "gcc",
        "rabbitmq-server" | "rabbitmqctl" => "rabbitmq-server",
        "epmd" => "erlang-base (a dependency of rabbitmq-server)",
        "redis-server" | "redis-cli" => "redis-server",
        other => other,
    }
}

/// The directory of the package whose tests are running.
///
/// Read at run time (`cargo test` sets `CARGO_MANIFEST_DIR` for every test binary it runs), not
/// baked in at compile time: the build cache lives outside the clone and is shared by clones at
/// other paths, so a path compiled into a cached binary can name a checkout that is gone.
pub fn package_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .filter(|p| p.join("Cargo.toml").is_file())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// The workspace root (the directory holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    let start = package_dir();
    start
        .ancestors()
        .find(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|toml| toml.contains("[workspace]"))
        })
        .unwrap_or_else(|| start.parent().unwrap_or(&start))
        .to_path_buf()
}

/// Where the test command installs tools that are not apt packages (Python venv, npm clients).
pub fn tools_dir() -> PathBuf {
    // The same default as scripts/test.sh.
    std::env::var_os("MEDIAPLANE_TEST_TOOLS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/mediaplane-tools"))
        })
        .unwrap_or_else(|| workspace_root().join(".test-tools"))
}

/// A scratch directory shared by the tests of one user; created on demand.
pub fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join("mediaplane-tests");
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// The path of `tool` on `PATH`, or a panic that says how to install it.
pub fn require(tool: &str) -> PathBuf {
    find_on_path(tool).unwrap_or_else(|| {
        panic!(
            "`{tool}` is not installed. Run the test command `scripts/test.sh` once: it installs \
             the apt package `{}` and every other test dependency.",
            package_of(tool)
        )
    })
}

fn find_on_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

/// Runs `program` with `args`, feeding `stdin`, and returns its standard output. Panics with
/// the command and its standard error when it fails.
pub fn run(program: &Path, args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let mut input = child.stdin.take().expect("piped stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait for child");
    writer.join().expect("stdin writer");
    assert!(
        out.status.success(),
        "{} {} failed ({}): {}",
        program.display(),
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
