//! Loading an app `.so` and checking its descriptor. All of the loader's `unsafe` is here.
//!
//! Apps are opened with `RTLD_NOW | RTLD_LOCAL` (a missing symbol fails at load time, and one
//! app's symbols never satisfy another's) and are never unloaded: app threads may run app code,
//! and app thread-local destructors may be pending, until the process ends.

use core::fmt;
use std::path::Path;

use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};

use crate::abi::{
    RS_ABI_VERSION, RS_APP_MAGIC, RS_APP_SYMBOL, RS_TIMER_MODE_NONE, RS_TIMER_MODE_SLEEP,
    RS_TIMER_MODE_WAKE, rs_app_descriptor,
};

/// The largest `app_data_size` accepted (C apps' `RS_INIT(cb, app_data_byte_c)`).
pub const MAX_APP_DATA_SIZE: u64 = 1 << 30;

/// Why an app could not be loaded; its `Display` names the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The app's path (or an in-process descriptor's name).
    pub source: String,
    /// What went wrong.
    pub kind: LoadErrorKind,
}

/// What went wrong while loading an app.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadErrorKind {
    /// `dlopen` failed (missing file, not a shared object, unresolved symbol…).
    Open(String),
    /// The `.so` exports no [`RS_APP_SYMBOL`].
    NoDescriptor(String),
    /// The descriptor does not start with [`RS_APP_MAGIC`].
    BadMagic(u32),
    /// Built for another ABI version.
    WrongAbiVersion {
        /// The app's version.
        found: u32,
        /// This host's version.
        expected: u32,
    },
    /// The descriptor is inconsistent.
    Malformed(String),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot load app {}: ", self.source)?;
        match &self.kind {
            LoadErrorKind::Open(err) => write!(f, "{err}"),
            LoadErrorKind::NoDescriptor(err) => write!(
                f,
                "no `{RS_APP_SYMBOL}` symbol ({err}); is it built with rs_app! or \
                 ringsocket.h's RS_APP (apps for the original C RingSocket are not compatible)?"
            ),
            LoadErrorKind::BadMagic(magic) => {
                write!(
                    f,
                    "`{RS_APP_SYMBOL}` is not an app descriptor (magic {magic:#010x})"
                )
            }
            LoadErrorKind::WrongAbiVersion { found, expected } => write!(
                f,
                "built for app ABI version {found}, but this RingSocket speaks version \
                 {expected}; rebuild the app against this release"
            ),
            LoadErrorKind::Malformed(why) => write!(f, "malformed app descriptor: {why}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// An app whose descriptor passed the checks, ready for an
/// [`AppRunner`](crate::host::AppRunner).
#[derive(Debug, Clone)]
pub struct App {
    source: String,
    descriptor: rs_app_descriptor,
}

impl App {
    /// Opens the `.so` at `path` and checks its descriptor. The library stays loaded for the
    /// life of the process.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, LoadError> {
        let path = path.as_ref();
        let source = path.display().to_string();
        let error = |kind| LoadError {
            source: source.clone(),
            kind,
        };
        // SAFETY: loading runs the library's initialisers; RingSocket apps are trusted code the
        // operator configured, and loading them is the daemon's purpose. The library is never
        // unloaded (below), so its termination routines never run while app code may.
        let library = unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL) }
            .map_err(|e| error(LoadErrorKind::Open(with_source(&e))))?;
        // SAFETY: the symbol's address is taken as an untyped pointer; it is only read through
        // `read_descriptor`, which checks what it reads.
        let symbol = unsafe { library.get::<*const u8>(RS_APP_SYMBOL) }
            .map_err(|e| error(LoadErrorKind::NoDescriptor(with_source(&e))))?;
        let address = symbol.into_raw().cast::<u8>().cast_const();
        // Never unloaded: see the module docs.
        std::mem::forget(library);
        // SAFETY: `address` is the exported symbol in a library that stays mapped forever.
        let descriptor = unsafe { read_descriptor(address) }.map_err(error)?;
        Ok(Self { source, descriptor })
    }

    /// An app linked into this process (tests, or apps built into the daemon).
    ///
    /// # Safety
    /// The descriptor's callbacks follow the ABI: made by [`rs_app!`](crate::rs_app) or
    /// `ringsocket.h`, or written by hand to the same contract.
    pub unsafe fn from_static(
        name: &str,
        descriptor: &'static rs_app_descriptor,
    ) -> Result<Self, LoadError> {
        let address = core::ptr::from_ref(descriptor).cast::<u8>();
        // SAFETY: a `'static` descriptor is readable forever; the caller vouches for its
        // callbacks.
        let descriptor = unsafe { read_descriptor(address) }.map_err(|kind| LoadError {
            source: name.to_owned(),
            kind,
        })?;
        Ok(Self {
            source: name.to_owned(),
            descriptor,
        })
    }

    /// The app's path (or in-process name).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The checked descriptor.
    pub fn descriptor(&self) -> &rs_app_descriptor {
        &self.descriptor
    }
}

/// libloading's message plus its cause (`dlerror()`'s text, which names what failed).
fn with_source(e: &libloading::Error) -> String {
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

/// Reads and checks a descriptor at `address`.
///
/// # Safety
/// `address` is readable for 12 bytes, and for the `struct_size` bytes its header states when
/// the header is a valid one; whatever callbacks it names follow the ABI.
unsafe fn read_descriptor(address: *const u8) -> Result<rs_app_descriptor, LoadErrorKind> {
    // SAFETY: the first 12 bytes are readable (caller); unaligned reads need no alignment.
    let [magic, abi_version, struct_size] =
        unsafe { [0, 4, 8].map(|offset| address.add(offset).cast::<u32>().read_unaligned()) };
    if magic != RS_APP_MAGIC {
        return Err(LoadErrorKind::BadMagic(magic));
    }
    if abi_version != RS_ABI_VERSION {
        return Err(LoadErrorKind::WrongAbiVersion {
            found: abi_version,
            expected: RS_ABI_VERSION,
        });
    }
    // Every app of this version has the fields up to `timer`; `fini` (and whatever a later
    // release appends) only where `struct_size` says so.
    let first_release = core::mem::offset_of!(rs_app_descriptor, fini);
    if (struct_size as usize) < first_release {
        return Err(LoadErrorKind::Malformed(format!(
            "struct_size {struct_size} is smaller than version {RS_ABI_VERSION}'s {first_release} bytes"
        )));
    }
    if !address.cast::<rs_app_descriptor>().is_aligned() {
        return Err(LoadErrorKind::Malformed("misaligned descriptor".into()));
    }
    let covered = (struct_size as usize).min(size_of::<rs_app_descriptor>());
    let mut descriptor = core::mem::MaybeUninit::<rs_app_descriptor>::zeroed();
    // SAFETY: the header says `struct_size >= covered` bytes of descriptor are readable at
    // `address` (caller), and `covered` fits the destination. Fields past `covered` stay zero,
    // which reads as absent callbacks; every bit pattern is a valid `rs_app_descriptor`
    // (integers and nullable function pointers).
    let descriptor = unsafe {
        core::ptr::copy_nonoverlapping(address, descriptor.as_mut_ptr().cast::<u8>(), covered);
        descriptor.assume_init()
    };
    check(&descriptor)?;
    Ok(descriptor)
}

fn check(d: &rs_app_descriptor) -> Result<(), LoadErrorKind> {
    let malformed = |why: String| Err(LoadErrorKind::Malformed(why));
    match (d.timer_mode, d.timer.is_some()) {
        (RS_TIMER_MODE_NONE, false) | (RS_TIMER_MODE_SLEEP | RS_TIMER_MODE_WAKE, true) => {}
        (RS_TIMER_MODE_NONE, true) => {
            return malformed("a timer callback without a timer mode".into());
        }
        (RS_TIMER_MODE_SLEEP | RS_TIMER_MODE_WAKE, false) => {
            return malformed("a timer mode without a timer callback".into());
        }
        (mode, _) => return malformed(format!("unknown timer mode {mode}")),
    }
    if d.timer_mode == RS_TIMER_MODE_NONE && d.timer_interval_us != 0 {
        return malformed("a timer interval without a timer".into());
    }
    if d.app_data_size > MAX_APP_DATA_SIZE {
        return malformed(format!(
            "app_data_size {} exceeds {MAX_APP_DATA_SIZE} bytes",
            d.app_data_size
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    static GOOD: rs_app_descriptor = rs_app_descriptor {
        magic: RS_APP_MAGIC,
        abi_version: RS_ABI_VERSION,
        struct_size: size_of::<rs_app_descriptor>() as u32,
        timer_mode: RS_TIMER_MODE_NONE,
        timer_interval_us: 0,
        app_data_size: 0,
        init: None,
        open: None,
        read: None,
        close: None,
        timer: None,
        fini: None,
        upgrade: None,
    };

    fn load_static(d: &'static rs_app_descriptor) -> Result<App, LoadErrorKind> {
        // SAFETY: the test descriptors have no callbacks.
        unsafe { App::from_static("test", d) }.map_err(|e| e.kind)
    }

    #[test]
    fn accepts_a_good_descriptor() {
        assert!(load_static(&GOOD).is_ok());
    }

    #[test]
    fn refuses_bad_headers() {
        static MAGIC: rs_app_descriptor = rs_app_descriptor {
            magic: 0x7F45_4C46,
            ..GOOD
        };
        assert_eq!(
            load_static(&MAGIC).unwrap_err(),
            LoadErrorKind::BadMagic(0x7F45_4C46)
        );
        static VERSION: rs_app_descriptor = rs_app_descriptor {
            abi_version: 2,
            ..GOOD
        };
        assert_eq!(
            load_static(&VERSION).unwrap_err(),
            LoadErrorKind::WrongAbiVersion {
                found: 2,
                expected: RS_ABI_VERSION
            }
        );
        static SIZE: rs_app_descriptor = rs_app_descriptor {
            struct_size: 16,
            ..GOOD
        };
        assert!(matches!(
            load_static(&SIZE),
            Err(LoadErrorKind::Malformed(_))
        ));
    }

    unsafe extern "C" fn timer(_: *mut crate::abi::rs_t) -> core::ffi::c_int {
        0
    }

    #[test]
    fn an_app_built_before_fini_loads_without_it() {
        // The first release's descriptor ended at `timer`: whatever lies past its struct_size
        // is not the app's and is not read.
        static BEFORE_FINI: rs_app_descriptor = rs_app_descriptor {
            struct_size: core::mem::offset_of!(rs_app_descriptor, fini) as u32,
            fini: Some(timer),
            ..GOOD
        };
        let app = load_static(&BEFORE_FINI).unwrap();
        assert!(app.descriptor().fini.is_none());
        static WITH_FINI: rs_app_descriptor = rs_app_descriptor {
            fini: Some(timer),
            ..GOOD
        };
        assert!(load_static(&WITH_FINI).unwrap().descriptor().fini.is_some());
    }

    #[test]
    fn an_app_built_before_the_upgrade_hook_loads_without_it() {
        static BEFORE_UPGRADE: rs_app_descriptor = rs_app_descriptor {
            struct_size: core::mem::offset_of!(rs_app_descriptor, upgrade) as u32,
            fini: Some(timer),
            upgrade: Some(timer),
            ..GOOD
        };
        let app = load_static(&BEFORE_UPGRADE).unwrap();
        assert!(app.descriptor().fini.is_some());
        assert!(app.descriptor().upgrade.is_none());
    }

    #[test]
    fn refuses_inconsistent_timers() {
        static MODE_ONLY: rs_app_descriptor = rs_app_descriptor {
            timer_mode: RS_TIMER_MODE_WAKE,
            ..GOOD
        };
        static CB_ONLY: rs_app_descriptor = rs_app_descriptor {
            timer: Some(timer),
            ..GOOD
        };
        static BAD_MODE: rs_app_descriptor = rs_app_descriptor {
            timer_mode: 3,
            timer: Some(timer),
            ..GOOD
        };
        static INTERVAL: rs_app_descriptor = rs_app_descriptor {
            timer_interval_us: 5,
            ..GOOD
        };
        static DATA: rs_app_descriptor = rs_app_descriptor {
            app_data_size: MAX_APP_DATA_SIZE + 1,
            ..GOOD
        };
        for d in [&MODE_ONLY, &CB_ONLY, &BAD_MODE, &INTERVAL, &DATA] {
            assert!(matches!(load_static(d), Err(LoadErrorKind::Malformed(_))));
        }
        static OK: rs_app_descriptor = rs_app_descriptor {
            timer_mode: RS_TIMER_MODE_SLEEP,
            timer_interval_us: 5,
            timer: Some(timer),
            ..GOOD
        };
        assert!(load_static(&OK).is_ok());
    }

    #[test]
    fn errors_name_the_file() {
        let err = App::load("/nonexistent/app.so").unwrap_err();
        assert_eq!(err.source, "/nonexistent/app.so");
        assert!(matches!(err.kind, LoadErrorKind::Open(_)));
        assert!(
            err.to_string()
                .starts_with("cannot load app /nonexistent/app.so: "),
            "{err}"
        );
        let err = LoadError {
            source: "/srv/x.so".into(),
            kind: LoadErrorKind::WrongAbiVersion {
                found: 9,
                expected: 1,
            },
        };
        assert!(err.to_string().contains("/srv/x.so") && err.to_string().contains("version 9"));
    }
}
