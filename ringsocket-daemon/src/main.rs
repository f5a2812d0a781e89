//! The `ringsocket` daemon binary.
//!
//! `ringsocket [--check] [--daemon] [CONFIG]`: serves the configured apps (see
//! [`ringsocket_daemon::run::serve`]) or, with `--check`, validates the configuration and
//! reports every problem.

use std::path::PathBuf;
use std::process::ExitCode;

use ringsocket_daemon::config::{Config, ConfigErrors, DEFAULT_PATH, Warning};
use ringsocket_daemon::run::{self, RunError};

const USAGE: &str = "\
Usage: ringsocket [OPTIONS] [CONFIG]

A WebSocket server for runtime-pluggable apps (RingSocket).

Arguments:
  [CONFIG]        the configuration file (JSON with comments)
                  [default: /etc/ringsocket.json]

Options:
      --check     validate the configuration, print every error and warning, and exit
                  (0: valid, 1: invalid)
  -d, --daemon    detach (double fork) and log to syslog at \"syslog_path\" instead of
                  stderr; the default is to stay in the foreground and log to stderr
  -V, --version   print the version and exit
  -h, --help      print this help and exit

Signals: SIGTERM/SIGINT close every client with 1001 and exit; SIGHUP reloads the
TLS certificates.
See docs/configuration.md for every configuration key.
";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Help,
    Version,
    Check(PathBuf),
    Serve { config: PathBuf, daemon: bool },
}

/// A hand-written parser: four flags and one optional path do not need a dependency.
fn parse_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Command, String> {
    let mut check = false;
    let mut daemon = false;
    let mut config: Option<PathBuf> = None;
    let mut only_paths = false;
    for arg in args {
        let text = arg.to_str();
        match text {
            Some("-h" | "--help") if !only_paths => return Ok(Command::Help),
            Some("-V" | "--version") if !only_paths => return Ok(Command::Version),
            Some("--check") if !only_paths => check = true,
            Some("--daemon" | "-d") if !only_paths => daemon = true,
            Some("--") if !only_paths => only_paths = true,
            Some(s) if s.starts_with('-') && s.len() > 1 && !only_paths => {
                return Err(format!("unknown option {s}"));
            }
            _ => {
                if config.is_some() {
                    return Err("more than one configuration file given".into());
                }
                config = Some(PathBuf::from(arg));
            }
        }
    }
    let config = config.unwrap_or_else(|| PathBuf::from(DEFAULT_PATH));
    Ok(if check {
        Command::Check(config)
    } else {
        Command::Serve { config, daemon }
    })
}

// The command line's own output (usage errors, the `--check` report) is plain stderr text:
// diagnostics in the `file:line:column: message` form editors parse, not log lines. Log events
// go through `log!`.

fn print_warnings(warnings: &[Warning]) {
    for w in warnings {
        eprintln!("{w}");
    }
}

/// Prints errors and warnings in file order.
fn print_all(e: &ConfigErrors) {
    let mut lines: Vec<(_, String)> = e
        .errors
        .iter()
        .map(|x| (x.0.sort_key(), x.to_string()))
        .chain(e.warnings.iter().map(|x| (x.0.sort_key(), x.to_string())))
        .collect();
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, line) in lines {
        eprintln!("{line}");
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn main() -> ExitCode {
    let command = match parse_args(std::env::args_os().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ringsocket: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Command::Version => {
            println!("ringsocket {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Check(path) => match Config::load(&path) {
            Ok((_, warnings)) => {
                print_warnings(&warnings);
                eprintln!(
                    "{}: configuration is valid ({})",
                    path.display(),
                    plural(warnings.len(), "warning")
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                print_all(&e);
                eprintln!(
                    "{}: configuration is invalid ({}, {})",
                    path.display(),
                    plural(e.errors.len(), "error"),
                    plural(e.warnings.len(), "warning")
                );
                ExitCode::FAILURE
            }
        },
        Command::Serve { config, daemon } => match run::serve(&config, daemon) {
            Ok(()) => ExitCode::SUCCESS,
            Err(RunError::Config(e)) => {
                print_all(&e);
                eprintln!(
                    "{}: configuration is invalid ({})",
                    config.display(),
                    plural(e.errors.len(), "error")
                );
                ExitCode::FAILURE
            }
            Err(RunError::Startup(why)) => {
                ringsocket_daemon::log!(Error, "cannot start: {why}");
                ExitCode::FAILURE
            }
            Err(RunError::NoAppLeft) => ExitCode::FAILURE,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        parse_args(args.iter().map(std::ffi::OsString::from))
    }

    #[test]
    fn parses_the_command_line() {
        let default = PathBuf::from(DEFAULT_PATH);
        assert_eq!(
            parse(&[]),
            Ok(Command::Serve {
                config: default.clone(),
                daemon: false
            })
        );
        assert_eq!(parse(&["--check"]), Ok(Command::Check(default)));
        assert_eq!(
            parse(&["--check", "a.json"]),
            Ok(Command::Check("a.json".into()))
        );
        assert_eq!(
            parse(&["a.json", "--daemon"]),
            Ok(Command::Serve {
                config: "a.json".into(),
                daemon: true
            })
        );
        assert_eq!(
            parse(&["--", "-odd.json"]),
            Ok(Command::Serve {
                config: "-odd.json".into(),
                daemon: false
            })
        );
        assert_eq!(parse(&["-V"]), Ok(Command::Version));
        assert_eq!(parse(&["x", "--help"]), Ok(Command::Help));
        assert!(parse(&["--bogus"]).is_err());
        assert!(parse(&["a", "b"]).is_err());
    }
}
