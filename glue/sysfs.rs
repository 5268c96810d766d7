// SPDX-License-Identifier: GPL-2.0
//! sysfs attributes and attribute groups.
//!
//! An [`Attribute<T>`] is a static whose show/store are plain Rust functions
//! taking the object `T` the attribute belongs to. Groups are built with
//! [`attribute_group!`] and lists of groups with [`group_list!`], all as
//! statics, the way C declares them next to the object they describe.

use core::ffi::{c_char, c_int, CStr};
use core::fmt::{self, Write as _};
use core::marker::PhantomData;

use kernel::error::{to_result, Result};
use kernel::prelude::*;

use super::bindings;
use super::device::Device;

/// An object that attributes describe: `Attribute<T>` shows and stores
/// fields of a `T`. [`FromDevice::Lookup`] says how the glue finds the `T`
/// behind the device sysfs calls with; the macros that declare such objects
/// set it (`device_object!`, `class_device_data!`, the provider macros in
/// abi/provider.rs).
///
/// The trait is safe: a lookup is only ever used on devices that carry a
/// group list of `T`, and every constructor that attaches a
/// [`GroupList<T>`] to a device (device types, class devices, provider
/// descriptors) requires the matching `Lookup` and stores the `T` where
/// that lookup finds it.
pub trait FromDevice: Sync + Sized + 'static {
    /// How to find the `T` of a device carrying attributes of `T`.
    type Lookup: Lookup<Self>;
}

/// A way to find the object of type `T` behind a device. Implemented only
/// in glue/ and abi/, next to the constructor that attaches groups of `T`.
///
/// # Safety
///
/// If `dev` carries a [`GroupList<T>`] that was attached by a constructor
/// requiring `T: FromDevice<Lookup = Self>`, `find` returns `None` or a `T`
/// that lives at least as long as the device's attributes.
pub unsafe trait Lookup<T> {
    /// The object behind `dev`.
    ///
    /// # Safety
    ///
    /// `dev` carries an attribute group of `T`, attached as the trait says.
    unsafe fn find(dev: &Device) -> Option<&T>;
}

/// Attributes of no object, for group lists that must stay empty (the
/// attributes of every device on a bus).
pub enum NoObject {}

impl FromDevice for NoObject {
    type Lookup = NoLookup;
}

/// The lookup of [`NoObject`]: there is none.
pub struct NoLookup;

// SAFETY: returns `None`.
unsafe impl Lookup<NoObject> for NoLookup {
    unsafe fn find(_dev: &Device) -> Option<&NoObject> {
        None
    }
}

/// The page a `show` writes into; output past the page is cut, as with
/// `sysfs_emit`.
pub struct Page {
    buf: *mut u8,
    len: usize,
}

/// sysfs hands show() one page.
const PAGE: usize = 4096;

impl Page {
    /// What was written so far.
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: `buf` is the page sysfs gave us and `len` bytes of it are written.
        unsafe { core::slice::from_raw_parts(self.buf, self.len) }
    }
}

impl Page {
    /// Appends raw bytes (text that need not be UTF-8, like `%s` of a
    /// label's name), cut at the end of the page.
    pub fn write_bytes(&mut self, b: &[u8]) {
        let n = b.len().min(PAGE - 1 - self.len);
        // SAFETY: `buf` is a page; `len + n < PAGE` by the min above.
        unsafe { core::ptr::copy_nonoverlapping(b.as_ptr(), self.buf.add(self.len), n) };
        self.len += n;
    }
}

impl Page {
    /// Lists `supported` sizes, each followed by a space, with `current`
    /// in brackets, then a newline (`nd_size_select_show`).
    pub fn write_size_select(&mut self, current: u64, supported: &[u64]) {
        for &size in supported {
            let _ = if size == current { write!(self, "[{size}] ") } else { write!(self, "{size} ") };
        }
        let _ = writeln!(self);
    }
}

impl fmt::Write for Page {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write_bytes(s.as_bytes());
        Ok(())
    }
}

/// A show function: writes the value with `writeln!`.
pub type ShowFn<T> = fn(&T, &mut Page) -> Result;
/// A store function: parses the bytes written (trailing newline included).
pub type StoreFn<T> = fn(&T, &[u8]) -> Result;

/// A device attribute of objects `T`.
#[repr(C)]
pub struct Attribute<T: FromDevice> {
    raw: bindings::device_attribute,
    show: Option<ShowFn<T>>,
    store: Option<StoreFn<T>>,
    visible: Option<VisibleFn<T>>,
    _t: PhantomData<T>,
}

// SAFETY: the kernel only reads an attribute; it holds a name in static
// memory and function pointers.
unsafe impl<T: FromDevice> Sync for Attribute<T> {}

impl<T: FromDevice> Attribute<T> {
    const fn build(name: &'static CStr, mode: u16, show: Option<ShowFn<T>>, store: Option<StoreFn<T>>) -> Self {
        Self {
            raw: bindings::device_attribute {
                attr: bindings::attribute {
                    name: name.as_ptr(),
                    mode,
                    // SAFETY: lockdep keys and the remaining fields start zeroed.
                    ..unsafe { core::mem::zeroed() }
                },
                show: if show.is_some() { Some(show_raw::<T>) } else { None },
                store: if store.is_some() { Some(store_raw::<T>) } else { None },
            },
            show,
            store,
            visible: None,
            _t: PhantomData,
        }
    }

    /// Decides per object whether the attribute appears, and with what
    /// mode (the group's `is_visible` in C).
    pub const fn visible_if(mut self, visible: VisibleFn<T>) -> Self {
        self.visible = Some(visible);
        self
    }

    /// Readable by all (0444): `DEVICE_ATTR_RO`.
    pub const fn ro(name: &'static CStr, show: ShowFn<T>) -> Self {
        Self::build(name, 0o444, Some(show), None)
    }

    /// Readable by root only (0400): `DEVICE_ATTR_ADMIN_RO`.
    pub const fn admin_ro(name: &'static CStr, show: ShowFn<T>) -> Self {
        Self::build(name, 0o400, Some(show), None)
    }

    /// Readable by all, writable by root (0644): `DEVICE_ATTR_RW`.
    pub const fn rw(name: &'static CStr, show: ShowFn<T>, store: StoreFn<T>) -> Self {
        Self::build(name, 0o644, Some(show), Some(store))
    }

    /// Root only, both ways (0600): `DEVICE_ATTR_ADMIN_RW`.
    pub const fn admin_rw(name: &'static CStr, show: ShowFn<T>, store: StoreFn<T>) -> Self {
        Self::build(name, 0o600, Some(show), Some(store))
    }

    /// Writable by root only (0200): `DEVICE_ATTR_WO`.
    pub const fn wo(name: &'static CStr, store: StoreFn<T>) -> Self {
        Self::build(name, 0o200, None, Some(store))
    }

    /// The declared mode.
    pub fn mode(&self) -> u16 {
        self.raw.attr.mode
    }

    /// The `struct attribute` inside, for a group's list.
    const fn as_raw(&'static self) -> *mut bindings::attribute {
        &self.raw.attr as *const bindings::attribute as *mut bindings::attribute
    }
}

/// `container_of` from the `struct device_attribute` sysfs passes back.
///
/// # Safety
///
/// `attr` is the `raw` field of an `Attribute<T>`.
unsafe fn attr_of<'a, T: FromDevice>(attr: *mut bindings::device_attribute) -> &'a Attribute<T> {
    // SAFETY: `raw` is the first field of the `#[repr(C)]` `Attribute<T>`
    // and attributes are statics.
    unsafe { &*(attr as *const Attribute<T>) }
}

/// `show` of every readable `Attribute<T>`.
///
/// # Safety
///
/// sysfs calls it with a live device carrying a group of `T`, the
/// `device_attribute` of an `Attribute<T>` of that group, and a page.
unsafe extern "C" fn show_raw<T: FromDevice>(
    dev: *mut bindings::device,
    attr: *mut bindings::device_attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: sysfs calls us with a live device carrying this attribute, the
    // attribute itself, and a page-sized buffer.
    let (dev, attr) = unsafe { (Device::from_raw(dev), attr_of::<T>(attr)) };
    // SAFETY: the device carries an attribute of `T`.
    let Some(obj) = (unsafe { <T::Lookup as Lookup<T>>::find(dev) }) else {
        return kernel::error::code::ENXIO.to_errno() as isize;
    };
    let mut page = Page { buf: buf.cast(), len: 0 };
    match attr.show.map(|f| f(obj, &mut page)) {
        Some(Ok(())) => page.len as isize,
        Some(Err(e)) => e.to_errno() as isize,
        None => kernel::error::code::EIO.to_errno() as isize,
    }
}

/// `store` of every writable `Attribute<T>`.
///
/// # Safety
///
/// As [`show_raw`], with `buf` holding `count` bytes.
unsafe extern "C" fn store_raw<T: FromDevice>(
    dev: *mut bindings::device,
    attr: *mut bindings::device_attribute,
    buf: *const c_char,
    count: usize,
) -> isize {
    // SAFETY: as in `show_raw`; `buf` holds `count` bytes.
    let (dev, attr, input) = unsafe {
        (Device::from_raw(dev), attr_of::<T>(attr), core::slice::from_raw_parts(buf.cast::<u8>(), count))
    };
    // SAFETY: the device carries an attribute of `T`.
    let Some(obj) = (unsafe { <T::Lookup as Lookup<T>>::find(dev) }) else {
        return kernel::error::code::ENXIO.to_errno() as isize;
    };
    match attr.store.map(|f| f(obj, input)) {
        Some(Ok(())) => count as isize,
        Some(Err(e)) => e.to_errno() as isize,
        None => kernel::error::code::EIO.to_errno() as isize,
    }
}

/// Decides an attribute's mode per object: `None` hides it, `Some(mode)` shows it.
pub type VisibleFn<T> = fn(&T, &'static Attribute<T>) -> Option<u16>;

/// An attribute of `T` as a group lists it: a `struct attribute` pointer.
#[repr(transparent)]
pub struct AttrPtr<T>(*mut bindings::attribute, PhantomData<fn() -> T>);

impl<T: FromDevice> AttrPtr<T> {
    /// The entry for `attr`.
    pub const fn of(attr: &'static Attribute<T>) -> Self {
        Self(attr.as_raw(), PhantomData)
    }

    /// The NULL that ends a list.
    pub const END: Self = Self(core::ptr::null_mut(), PhantomData);
}

/// A NULL-terminated array of attributes of `T`, as C wants it.
///
/// # Invariants
///
/// The last entry is [`AttrPtr::END`], every other one an attribute of `T`
/// (a static, so the array may be a static too).
#[repr(transparent)]
pub struct AttrArray<const N: usize, T>([AttrPtr<T>; N]);

// SAFETY: it only holds pointers to static attributes.
unsafe impl<const N: usize, T> Sync for AttrArray<N, T> {}

impl<const N: usize, T: FromDevice> AttrArray<N, T> {
    /// Wraps `attrs`; fails to compile (in a static) unless only the
    /// last entry is [`AttrPtr::END`].
    pub const fn new(attrs: [AttrPtr<T>; N]) -> Self {
        assert!(N > 0 && attrs[N - 1].0.is_null(), "attribute array without its NULL");
        let mut i = 0;
        while i + 1 < N {
            assert!(!attrs[i].0.is_null(), "NULL inside an attribute array");
            i += 1;
        }
        // INVARIANT: checked above; `AttrPtr::of` is the only other way to
        // make an entry.
        Self(attrs)
    }
}

/// An attribute group of objects `T`: optionally a subdirectory (`nfit/`).
#[repr(transparent)]
pub struct AttributeGroup<T: FromDevice> {
    raw: bindings::attribute_group,
    _t: PhantomData<T>,
}

// SAFETY: read-only after construction; holds pointers to statics only.
unsafe impl<T: FromDevice> Sync for AttributeGroup<T> {}

impl<T: FromDevice> AttributeGroup<T> {
    /// A group of `attrs` (NULL-terminated) in subdirectory `name`, if any.
    pub const fn new<const N: usize>(
        name: Option<&'static CStr>,
        attrs: &'static AttrArray<N, T>,
    ) -> Self {
        Self {
            raw: bindings::attribute_group {
                name: match name {
                    Some(n) => n.as_ptr(),
                    None => core::ptr::null(),
                },
                is_visible: Some(is_visible_raw::<T>),
                attrs: &attrs.0 as *const _ as *mut *mut bindings::attribute,
                // SAFETY: no binary attributes, no other callbacks.
                ..unsafe { core::mem::zeroed() }
            },
            _t: PhantomData,
        }
    }

    /// The `struct attribute_group` inside.
    const fn as_raw(&'static self) -> *const bindings::attribute_group {
        &self.raw
    }
}

/// `is_visible` of every group of `T`.
///
/// # Safety
///
/// sysfs calls it with the kobject of a live device carrying a group of
/// `T` and one of the group's attributes (an `Attribute<T>`).
unsafe extern "C" fn is_visible_raw<T: FromDevice>(
    kobj: *mut bindings::kobject,
    attr: *mut bindings::attribute,
    _n: c_int,
) -> u16 {
    let off = core::mem::offset_of!(bindings::device, kobj);
    // SAFETY: attribute groups here are only attached to devices, whose
    // kobject sits at `off`; the device is live while sysfs asks.
    let dev = unsafe { Device::from_raw(kobj.cast::<u8>().sub(off).cast()) };
    // SAFETY: `attr` is the first field of a `device_attribute`, itself the
    // first field of a static `Attribute<T>`, since groups of `T` list only those.
    let attr: &'static Attribute<T> = unsafe { &*(attr as *const Attribute<T>) };
    // SAFETY: `dev` carries this group of `T`.
    match (attr.visible, unsafe { <T::Lookup as Lookup<T>>::find(dev) }) {
        (Some(f), Some(obj)) => f(obj, attr).unwrap_or(0),
        _ => attr.mode(),
    }
}

/// A group of `T` as a list holds it.
#[repr(transparent)]
pub struct GroupPtr<T>(*const bindings::attribute_group, PhantomData<fn() -> T>);

impl<T: FromDevice> GroupPtr<T> {
    /// The entry for `group`.
    pub const fn of(group: &'static AttributeGroup<T>) -> Self {
        Self(group.as_raw(), PhantomData)
    }

    /// The NULL that ends a list.
    pub const END: Self = Self(core::ptr::null(), PhantomData);
}

/// Storage behind a [`GroupList`]: NULL-terminated groups of `T`.
///
/// # Invariants
///
/// As [`AttrArray`]: only the last entry is NULL.
#[repr(transparent)]
pub struct GroupArray<const N: usize, T>([GroupPtr<T>; N]);

// SAFETY: it only holds pointers to static groups.
unsafe impl<const N: usize, T> Sync for GroupArray<N, T> {}

impl<const N: usize, T: FromDevice> GroupArray<N, T> {
    /// Wraps `groups`; fails to compile (in a static) unless only the last
    /// entry is [`GroupPtr::END`].
    pub const fn new(groups: [GroupPtr<T>; N]) -> Self {
        assert!(N > 0 && groups[N - 1].0.is_null(), "group array without its NULL");
        let mut i = 0;
        while i + 1 < N {
            assert!(!groups[i].0.is_null(), "NULL inside a group array");
            i += 1;
        }
        // INVARIANT: checked above.
        Self(groups)
    }
}

/// A NULL-terminated list of attribute groups of objects `T`, as a device
/// type, a class device or a provider hands it to the driver core. The
/// type parameter is what keeps the groups on devices whose object is a
/// `T`: see [`FromDevice`].
///
/// # Invariants
///
/// `self.0` is null or points to a static [`GroupArray`] of `T`.
#[repr(transparent)]
pub struct GroupList<T>(*const *const bindings::attribute_group, PhantomData<fn() -> T>);

// SAFETY: it points to a static array of pointers to static groups.
unsafe impl<T> Sync for GroupList<T> {}

impl<T: FromDevice> GroupList<T> {
    /// Wraps a static NULL-terminated array; see [`group_list!`].
    pub const fn from_static<const N: usize>(groups: &'static GroupArray<N, T>) -> Self {
        // INVARIANT: a static `GroupArray` of `T`.
        Self(&groups.0 as *const _ as *const *const bindings::attribute_group, PhantomData)
    }

    /// No groups.
    pub const EMPTY: Self = Self(core::ptr::null(), PhantomData);

    /// The raw pointer, for C.
    pub const fn as_raw(&self) -> *mut *const bindings::attribute_group {
        self.0 as *mut _
    }
}

/// The text of a sysfs write as C's parsers read it, NUL-terminated. sysfs
/// terminates the page it hands `store`, but `store` sees a slice; the
/// copy puts the NUL back. Only the first `max` bytes are kept: enough for
/// parsers that read no further.
fn c_input(input: &[u8], max: usize) -> Result<KVec<u8>> {
    let input = &input[..input.len().min(max)];
    let mut buf = KVec::with_capacity(input.len() + 1, GFP_KERNEL)?;
    buf.extend_from_slice(input, GFP_KERNEL)?;
    buf.push(0, GFP_KERNEL)?;
    Ok(buf)
}

/// The kernel's `kstrtoull`: an unsigned integer in `radix`, 0 meaning C's
/// prefixes (0x hex, 0 octal), with an optional '+' and one trailing
/// newline; EINVAL for junk, ERANGE for overflow.
pub fn parse_u64(input: &[u8], radix: u32) -> Result<u64> {
    let buf = c_input(input, input.len())?;
    let mut val = 0u64;
    // SAFETY: `buf` is NUL-terminated and `val` is a local.
    to_result(unsafe { bindings::kstrtoull(buf.as_ptr().cast(), radix, &mut val) })?;
    Ok(val)
}

/// The kernel's `kstrtoll`: as [`parse_u64`], signed, with an optional '-'.
pub fn parse_i64(input: &[u8], radix: u32) -> Result<i64> {
    let buf = c_input(input, input.len())?;
    let mut val = 0i64;
    // SAFETY: `buf` is NUL-terminated and `val` is a local.
    to_result(unsafe { bindings::kstrtoll(buf.as_ptr().cast(), radix, &mut val) })?;
    Ok(val)
}

/// The length of a uuid's text (`UUID_STRING_LEN`); `uuid_parse` reads no
/// further.
const UUID_STRING_LEN: usize = 36;

/// The kernel's `uuid_parse`: 36 characters, hyphens at 8, 13, 18 and 23,
/// hex digits elsewhere, in RFC 4122 byte order; what follows is ignored.
/// EINVAL otherwise.
pub fn parse_uuid(input: &[u8]) -> Result<[u8; 16]> {
    let buf = c_input(input, UUID_STRING_LEN)?;
    // SAFETY: all-zero is a valid `uuid_t` (16 bytes).
    let mut uuid: bindings::uuid_t = unsafe { core::mem::zeroed() };
    // SAFETY: `buf` is NUL-terminated, and `uuid_parse` stops at the NUL
    // (not a hex digit) if it comes early; `uuid` is a local.
    to_result(unsafe { bindings::uuid_parse(buf.as_ptr().cast(), &mut uuid) })?;
    Ok(uuid.b)
}

/// `strim`: the text without leading and trailing white space (C's
/// isspace: space, \t, \n, \v, \f, \r), up to a NUL.
pub fn strim(input: &[u8]) -> &[u8] {
    let end = input.iter().position(|&b| b == 0).unwrap_or(input.len());
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let s = &input[..end];
    let first = s.iter().position(|b| !space(b)).unwrap_or(s.len());
    let last = s.iter().rposition(|b| !space(b)).map_or(first, |i| i + 1);
    &s[first..last]
}

/// The kernel's `sysfs_streq`: equal up to a NUL, ignoring one trailing
/// newline on either side. False when there is no memory to compare.
pub fn streq(input: &[u8], want: &CStr) -> bool {
    let Ok(buf) = c_input(input, input.len()) else { return false };
    // SAFETY: both strings are NUL-terminated.
    unsafe { bindings::sysfs_streq(buf.as_ptr().cast(), want.as_ptr()) }
}

/// Bytes `kstrtobool` reads: "on"/"of" need two.
const BOOL_PREFIX: usize = 2;

/// The kernel's `kstrtobool`: y/Y/t/T/1 or "on" are true, n/N/f/F/0 or
/// "off" false; only the leading characters count. EINVAL otherwise.
pub fn parse_bool(input: &[u8]) -> Result<bool> {
    let buf = c_input(input, BOOL_PREFIX)?;
    let mut val = false;
    // SAFETY: `buf` is NUL-terminated and `val` is a local.
    to_result(unsafe { bindings::kstrtobool(buf.as_ptr().cast(), &mut val) })?;
    Ok(val)
}

/// Declares a static attribute group of objects `$t`:
/// `attribute_group!(static NAME: T, dir = Some(c"nfit"), [ATTR_A, ATTR_B]);`
#[macro_export]
macro_rules! attribute_group {
    ($vis:vis static $name:ident: $t:ty, dir = $dir:expr, [$($attr:expr),* $(,)?]) => {
        $vis static $name: $crate::glue::sysfs::AttributeGroup<$t> = {
            const N: usize = [$(stringify!($attr)),*].len() + 1;
            static ATTRS: $crate::glue::sysfs::AttrArray<N, $t> = $crate::glue::sysfs::AttrArray::new([
                $($crate::glue::sysfs::AttrPtr::of(&$attr),)* $crate::glue::sysfs::AttrPtr::END
            ]);
            $crate::glue::sysfs::AttributeGroup::new($dir, &ATTRS)
        };
    };
}

/// Declares a static [`GroupList`] of objects `$t`:
/// `group_list!(static NAME: T = [GROUP_A, GROUP_B]);`
#[macro_export]
macro_rules! group_list {
    ($vis:vis static $name:ident: $t:ty = [$($group:expr),* $(,)?]) => {
        $vis static $name: $crate::glue::sysfs::GroupList<$t> = {
            const N: usize = <[&str]>::len(&[$(stringify!($group)),*]) + 1;
            static GROUPS: $crate::glue::sysfs::GroupArray<N, $t> = $crate::glue::sysfs::GroupArray::new([
                $($crate::glue::sysfs::GroupPtr::of(&$group),)* $crate::glue::sysfs::GroupPtr::END
            ]);
            $crate::glue::sysfs::GroupList::from_static(&GROUPS)
        };
    };
}
