// SPDX-License-Identifier: GPL-2.0
//! Panic and reboot notifiers, and a snapshot published for them with RCU.
//!
//! A panic notifier runs on the panicking CPU once the others are stopped
//! (`smp_send_stop`), with whatever locks they held still held: it must not
//! sleep or take a lock. What it needs is therefore kept as a [`Published`]
//! snapshot: writers (process context) build a new one under a sleeping
//! lock and swap a pointer; the old one is freed after an RCU grace period,
//! so a reader, in panic or reboot context, sees either whole snapshot and
//! never a freed one. A panicking writer's CPU never finishes the grace
//! period, so the reader it interrupted keeps valid memory too.

use core::ffi::{c_int, c_ulong, c_void};
use core::sync::atomic::{AtomicPtr, Ordering};

use kernel::error::to_result;
use kernel::prelude::*;
use kernel::types::Opaque;

use super::bindings;

/// A snapshot of `T` readable from any context, replaced as a whole.
///
/// # Invariants
///
/// `ptr` is null or comes from `KBox::into_raw`; a pointer replaced in
/// `ptr` is freed only after `synchronize_rcu`, and replacements are
/// serialised by the publish lock (helpers.c).
pub struct Published<T> {
    ptr: AtomicPtr<T>,
}

// SAFETY: readers get `&T` from any thread: `T: Sync`; a writer drops a
// `T` on another thread than the one that made it: `T: Send`.
unsafe impl<T: Send + Sync> Sync for Published<T> {}
// SAFETY: see `Sync`.
unsafe impl<T: Send + Sync> Send for Published<T> {}

impl<T> Published<T> {
    /// Nothing published.
    pub const fn new() -> Self {
        Self { ptr: AtomicPtr::new(core::ptr::null_mut()) }
    }

    /// Runs `f` on the current snapshot, if any, in an RCU read-side
    /// critical section: `f` must not sleep. Takes no lock: usable in panic
    /// and reboot notifiers.
    pub fn read<R>(&self, f: impl FnOnce(Option<&T>) -> R) -> R {
        // SAFETY: pairs with the unlock below.
        unsafe { bindings::rln_rcu_read_lock() };
        let p = self.ptr.load(Ordering::Acquire);
        // SAFETY: a published pointer is freed only after a grace period
        // that this read-side section holds off.
        let r = f(unsafe { p.as_ref() });
        // SAFETY: paired with the lock above.
        unsafe { bindings::rln_rcu_read_unlock() };
        r
    }

    /// Replaces the snapshot with what `f` makes of the current one
    /// (`None`: nothing published), then frees the old one after an RCU
    /// grace period. Writers are serialised; sleeps. On `Err` nothing
    /// changes.
    pub fn update(&self, f: impl FnOnce(Option<&T>) -> Result<Option<KBox<T>>>) -> Result {
        // SAFETY: a static mutex; unlocked below on every path.
        unsafe { bindings::rln_publish_lock() };
        let old = self.ptr.load(Ordering::Acquire);
        // SAFETY: under the publish lock nobody else frees `old`.
        let made = f(unsafe { old.as_ref() });
        let new = match made {
            Ok(new) => new.map_or(core::ptr::null_mut(), KBox::into_raw),
            Err(e) => {
                // SAFETY: locked above.
                unsafe { bindings::rln_publish_unlock() };
                return Err(e);
            }
        };
        // INVARIANT: `new` comes from `KBox::into_raw`; `old` is freed after
        // the grace period below.
        self.ptr.store(new, Ordering::Release);
        if !old.is_null() {
            // SAFETY: may sleep; process context.
            unsafe { bindings::synchronize_rcu() };
            // SAFETY: `old` came from `KBox::into_raw` and no reader can
            // still see it after the grace period.
            drop(unsafe { KBox::from_raw(old) });
        }
        // SAFETY: locked above.
        unsafe { bindings::rln_publish_unlock() };
        Ok(())
    }
}

/// Why the machine is going down, for a reboot notifier.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// `SYS_RESTART`.
    Restart,
    /// `SYS_HALT`.
    Halt,
    /// `SYS_POWER_OFF`.
    PowerOff,
}

impl Shutdown {
    /// What `reboot(2)` and the logs call it.
    pub fn name(self) -> &'static str {
        match self {
            Shutdown::Restart => "restart",
            Shutdown::Halt => "halt",
            Shutdown::PowerOff => "power off",
        }
    }
}

/// What the notifiers of a [`ShutdownNotifiers`] do.
pub trait ShutdownHook: Send + Sync + 'static {
    /// On the panicking CPU, the others stopped: no sleeping, no locks,
    /// bounded time.
    fn panic(&self);
    /// Before a clean restart, halt or power off, in process context
    /// (other CPUs online, devices not yet shut down).
    fn reboot(&self, how: Shutdown);
}

#[repr(C)]
struct Hooks<H: ShutdownHook> {
    panic_nb: Opaque<bindings::notifier_block>,
    reboot_nb: Opaque<bindings::notifier_block>,
    hook: H,
}

/// A panic notifier (`panic_notifier_list`) and a reboot notifier
/// (`register_reboot_notifier`) running `H`; both unregistered on drop.
pub struct ShutdownNotifiers<H: ShutdownHook> {
    hooks: Pin<KBox<Hooks<H>>>,
}

// SAFETY: the notifier chains lock themselves; `H` is `Send + Sync`.
unsafe impl<H: ShutdownHook> Send for ShutdownNotifiers<H> {}
// SAFETY: see `Send`.
unsafe impl<H: ShutdownHook> Sync for ShutdownNotifiers<H> {}

/// The panic notifier's callback.
///
/// # Safety
///
/// `nb` is the `panic_nb` of a registered `Hooks<H>`.
unsafe extern "C" fn panic_raw<H: ShutdownHook>(nb: *mut bindings::notifier_block, _action: c_ulong, _data: *mut c_void) -> c_int {
    let off = core::mem::offset_of!(Hooks<H>, panic_nb);
    // SAFETY: by the caller's promise `nb` sits at `off` in a live `Hooks<H>`.
    let hooks = unsafe { &*nb.cast::<u8>().sub(off).cast::<Hooks<H>>() };
    hooks.hook.panic();
    bindings::NOTIFY_DONE as c_int
}

/// The reboot notifier's callback.
///
/// # Safety
///
/// `nb` is the `reboot_nb` of a registered `Hooks<H>`.
unsafe extern "C" fn reboot_raw<H: ShutdownHook>(nb: *mut bindings::notifier_block, action: c_ulong, _data: *mut c_void) -> c_int {
    let off = core::mem::offset_of!(Hooks<H>, reboot_nb);
    // SAFETY: by the caller's promise `nb` sits at `off` in a live `Hooks<H>`.
    let hooks = unsafe { &*nb.cast::<u8>().sub(off).cast::<Hooks<H>>() };
    let how = match action as u32 {
        bindings::SYS_HALT => Shutdown::Halt,
        bindings::SYS_POWER_OFF => Shutdown::PowerOff,
        _ => Shutdown::Restart,
    };
    hooks.hook.reboot(how);
    bindings::NOTIFY_DONE as c_int
}

fn notifier_block(call: unsafe extern "C" fn(*mut bindings::notifier_block, c_ulong, *mut c_void) -> c_int) -> bindings::notifier_block {
    bindings::notifier_block {
        notifier_call: Some(call),
        next: core::ptr::null_mut(),
        priority: 0,
    }
}

impl<H: ShutdownHook> ShutdownNotifiers<H> {
    /// Registers `hook` on the panic and reboot notifier chains.
    pub fn register(hook: H) -> Result<Self> {
        let hooks = KBox::pin(
            Hooks {
                panic_nb: Opaque::new(notifier_block(panic_raw::<H>)),
                reboot_nb: Opaque::new(notifier_block(reboot_raw::<H>)),
                hook,
            },
            GFP_KERNEL,
        )?;
        // SAFETY: the block is pinned in `hooks`, which outlives the
        // registration (unregistered in `drop`).
        to_result(unsafe {
            bindings::atomic_notifier_chain_register(core::ptr::addr_of_mut!(bindings::panic_notifier_list), hooks.panic_nb.get())
        })?;
        // SAFETY: as above.
        let rc = unsafe { bindings::register_reboot_notifier(hooks.reboot_nb.get()) };
        if rc != 0 {
            // SAFETY: registered just above.
            unsafe {
                bindings::atomic_notifier_chain_unregister(core::ptr::addr_of_mut!(bindings::panic_notifier_list), hooks.panic_nb.get())
            };
            return Err(Error::from_errno(rc));
        }
        Ok(Self { hooks })
    }

    /// The hook.
    pub fn hook(&self) -> &H {
        &self.hooks.hook
    }
}

impl<H: ShutdownHook> Drop for ShutdownNotifiers<H> {
    fn drop(&mut self) {
        // SAFETY: registered in `register`. Unregistering the atomic chain
        // waits for an RCU grace period, so no call is in flight after it;
        // the reboot chain is a blocking one, under its rwsem.
        unsafe {
            bindings::unregister_reboot_notifier(self.hooks.reboot_nb.get());
            bindings::atomic_notifier_chain_unregister(core::ptr::addr_of_mut!(bindings::panic_notifier_list), self.hooks.panic_nb.get());
        }
    }
}
