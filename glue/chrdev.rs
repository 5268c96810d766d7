// SPDX-License-Identifier: GPL-2.0
//! Character devices whose only operation is ioctl (/dev/ndctlN, /dev/nmemN).
//!
//! A major number covers 256 minors; the handler gets the minor of the node
//! that was opened and looks its object up per call, as C does, so that a
//! file descriptor never pins a device that is being removed.

use core::cell::UnsafeCell;
use core::ffi::{c_long, c_uint, c_ulong, CStr};
use core::sync::atomic::{AtomicU32, Ordering};

use kernel::error::{Error, Result};
use kernel::ThisModule;

use super::bindings;

/// What an ioctl-only character device does.
pub trait IoctlHandler {
    /// Handles `cmd` with user argument `arg` on the node with `minor`.
    /// `read_only` tells whether the file was opened O_RDONLY.
    fn ioctl(minor: u32, read_only: bool, cmd: u32, arg: usize) -> Result<i64>;
}

/// The file operations of one ioctl-only major, defined as a static.
pub struct Chrdev {
    fops: UnsafeCell<bindings::file_operations>,
    name: &'static CStr,
    major: AtomicU32,
}

// SAFETY: `fops` is written once, in `register`, before the kernel can see
// it (module init is single threaded); afterwards it is only read.
unsafe impl Sync for Chrdev {}

/// Minors per major, as `register_chrdev` allocates them.
const MINORS: u32 = 256;

impl Chrdev {
    /// A character device named `name` (as in /proc/devices) handled by `H`.
    pub const fn new<H: IoctlHandler>(name: &'static CStr) -> Self {
        Self {
            fops: UnsafeCell::new(bindings::file_operations {
                open: Some(open_raw),
                unlocked_ioctl: Some(ioctl_raw::<H>),
                // Without CONFIG_COMPAT (this kernel) there is no 32-bit
                // ioctl path and compat_ptr_ioctl is NULL.
                compat_ioctl: None,
                llseek: Some(bindings::noop_llseek),
                // SAFETY: all other operations are optional and zero means none.
                ..unsafe { core::mem::zeroed() }
            }),
            name,
            major: AtomicU32::new(0),
        }
    }

    /// The `dev_t` of `minor` on this major (`MKDEV`); the major is 0 while
    /// unregistered.
    pub fn devt(&self, minor: u32) -> u32 {
        (self.major.load(Ordering::Relaxed) << bindings::MINORBITS) | (minor & bindings::MINORMASK)
    }

    /// Allocates a major and installs the operations; undone on drop.
    pub fn register(&'static self, module: &'static ThisModule) -> Result<ChrdevRegistration> {
        // SAFETY: see the `Sync` impl: nobody else sees `fops` yet. The owner
        // makes an open file hold a reference on the module.
        unsafe { (*self.fops.get()).owner = module.as_ptr().cast() };
        // SAFETY: `fops` and `name` are statics; major 0 asks for a dynamic one.
        let rc = unsafe { bindings::__register_chrdev(0, 0, MINORS, self.name.as_ptr(), self.fops.get()) };
        if rc < 0 {
            return Err(Error::from_errno(rc));
        }
        self.major.store(rc as u32, Ordering::Relaxed);
        Ok(ChrdevRegistration { dev: self, major: rc as u32 })
    }
}

/// A registered major.
pub struct ChrdevRegistration {
    dev: &'static Chrdev,
    major: u32,
}

impl Drop for ChrdevRegistration {
    fn drop(&mut self) {
        // SAFETY: we registered exactly this range.
        unsafe { bindings::__unregister_chrdev(self.major, 0, MINORS, self.dev.name.as_ptr()) };
        self.dev.major.store(0, Ordering::Relaxed);
    }
}

/// `open` of the character devices: no seeking.
///
/// # Safety
///
/// The VFS passes a live inode and the file being opened.
unsafe extern "C" fn open_raw(inode: *mut bindings::inode, file: *mut bindings::file) -> core::ffi::c_int {
    // SAFETY: the VFS passes a live inode and file; both are only read.
    unsafe { bindings::nonseekable_open(inode, file) }
}

/// `unlocked_ioctl` of the character devices, handed to `H`.
///
/// # Safety
///
/// The VFS passes an open file of one of our character devices.
unsafe extern "C" fn ioctl_raw<H: IoctlHandler>(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
    // SAFETY: an open file's inode and flags are stable for the call.
    let (rdev, flags) = unsafe { ((*(*file).f_inode).i_rdev, (*file).f_flags) };
    let read_only = flags & bindings::O_ACCMODE == bindings::O_RDONLY;
    match H::ioctl(rdev & bindings::MINORMASK, read_only, cmd, arg as usize) {
        Ok(v) => v as c_long,
        Err(e) => e.to_errno() as c_long,
    }
}
