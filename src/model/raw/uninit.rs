//! Arrays written once, without being zero-filled first.
//!
//! A trace's arrays are new and every element is written by a product or a loop; zero-filling
//! them first would double the memory traffic. [`Fresh`] is such an array before it is
//! written: its elements are `MaybeUninit`, handed out as views for products and loops to
//! write, and [`Fresh::finish`] turns it into an ordinary array.
//!
//! The contract of `finish` and [`finish_view`]: every element has been written. Debug builds
//! (every test run) check it: a new array is filled with a poison byte pattern (all ones, a
//! NaN that arithmetic never produces: an invalid operation gives the CPU's default NaN, and
//! a NaN operand passes its own bits on) and
//! `finish` panics, naming the index, if any element still holds it. Uninitialised memory is
//! created only here ([`Fresh::new`], [`fresh_tail`]); `tests/unsafe_confined.rs` keeps it so.

use std::mem::{MaybeUninit, size_of, size_of_val};

use ndarray::{Array, ArrayViewMut, Axis, Dimension, ShapeBuilder};

/// The byte every element of a new array holds in debug builds until it is written.
const POISON: u8 = 0xFF;

/// An array whose elements are not written yet (see the module header).
pub(crate) struct Fresh<F, D: Dimension>(Array<MaybeUninit<F>, D>);

impl<F: Copy, D: Dimension> Fresh<F, D> {
    /// A new array of `shape`, not zero-filled (poisoned in debug builds).
    pub(crate) fn new<Sh: ShapeBuilder<Dim = D>>(shape: Sh) -> Self {
        let mut array = Array::uninit(shape);
        poison(array.view_mut());
        Fresh(array)
    }

    /// The elements, to be written.
    pub(crate) fn view_mut(&mut self) -> ArrayViewMut<'_, MaybeUninit<F>, D> {
        self.0.view_mut()
    }

    /// The elements as one slice in memory order, when the array is contiguous (a new one is).
    pub(crate) fn as_slice_mut(&mut self) -> Option<&mut [MaybeUninit<F>]> {
        self.0.as_slice_mut()
    }

    /// The array, once every element has been written.
    ///
    /// # Panics
    /// In debug builds, if an element was not written.
    pub(crate) fn finish(mut self) -> Array<F, D> {
        check_written(self.0.view_mut());
        // SAFETY: every element was written (the contract above, checked in debug builds;
        // the elements of a `Fresh` are poisoned, hence initialised, in those builds).
        unsafe { self.0.assume_init() }
    }
}

/// A view of a [`Fresh`] array (or of a [`fresh_tail`]) as initialised, once every element
/// of the view has been written.
///
/// # Panics
/// In debug builds, if an element was not written.
pub(crate) fn finish_view<F: Copy, D: Dimension>(
    mut view: ArrayViewMut<'_, MaybeUninit<F>, D>,
) -> ArrayViewMut<'_, F, D> {
    check_written(view.view_mut());
    // SAFETY: as in `Fresh::finish`.
    unsafe { view.assume_init() }
}

/// The `len` values after `buffer`'s current length, room that `buffer` has (asserted),
/// to be written and then taken in by [`finish_tail`].
pub(crate) fn fresh_tail<F: Copy>(buffer: &mut Vec<F>, len: usize) -> &mut [MaybeUninit<F>] {
    assert!(
        buffer.capacity() - buffer.len() >= len,
        "fresh_tail: no room"
    );
    let tail = &mut buffer.spare_capacity_mut()[..len];
    if cfg!(debug_assertions) {
        poison_slice(tail);
    }
    tail
}

/// Extends `buffer` by the `len` values of its [`fresh_tail`], once all of them are written.
///
/// # Panics
/// In debug builds, if a value was not written.
pub(crate) fn finish_tail<F: Copy>(buffer: &mut Vec<F>, len: usize) {
    assert!(
        buffer.capacity() - buffer.len() >= len,
        "finish_tail: no room"
    );
    let tail = &buffer.spare_capacity_mut()[..len];
    if cfg!(debug_assertions)
        && let Some(index) = first_poisoned(tail)
    {
        panic!("finish_tail: value {index} of {len} was not written");
    }
    // SAFETY: the `len` values were written (the contract, checked in debug builds) and lie
    // within the capacity (asserted).
    unsafe { buffer.set_len(buffer.len() + len) }
}

/// Fills every element with the poison bytes (debug builds only), in one `memset` when the
/// elements are contiguous (a new array's are).
fn poison<F, D: Dimension>(mut view: ArrayViewMut<'_, MaybeUninit<F>, D>) {
    if !cfg!(debug_assertions) {
        return;
    }
    match view.as_slice_memory_order_mut() {
        Some(elements) => poison_slice(elements),
        None => view.iter_mut().for_each(poison_one),
    }
}

fn poison_slice<F>(elements: &mut [MaybeUninit<F>]) {
    // SAFETY: the pointer addresses the slice's own `len · size_of::<F>()` bytes.
    unsafe {
        elements
            .as_mut_ptr()
            .cast::<u8>()
            .write_bytes(POISON, size_of_val(elements))
    }
}

fn poison_one<F>(element: &mut MaybeUninit<F>) {
    if cfg!(debug_assertions) {
        // SAFETY: the pointer addresses the element's own `size_of::<F>()` bytes.
        unsafe {
            element
                .as_mut_ptr()
                .cast::<u8>()
                .write_bytes(POISON, size_of::<F>())
        }
    }
}

/// Whether `element` still holds the poison bytes. Only called in debug builds, where every
/// element of a `Fresh` array or tail was poisoned (initialised) when it was made.
fn is_poison<F>(element: &MaybeUninit<F>) -> bool {
    // SAFETY: in debug builds the bytes are initialised (poisoned or written since).
    let bytes =
        unsafe { std::slice::from_raw_parts(element.as_ptr().cast::<u8>(), size_of::<F>()) };
    bytes.iter().all(|&b| b == POISON)
}

/// The index of the first element of `elements` that holds the poison bytes; f32 and f64
/// elements are compared as whole words (tests run this on every array of every pass).
fn first_poisoned<F>(elements: &[MaybeUninit<F>]) -> Option<usize> {
    // SAFETY: in debug builds the bytes are initialised (poisoned or written since).
    let bytes = unsafe {
        std::slice::from_raw_parts(elements.as_ptr().cast::<u8>(), size_of_val(elements))
    };
    match size_of::<F>() {
        4 => bytes
            .chunks_exact(4)
            .position(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]) == u32::MAX),
        8 => bytes.chunks_exact(8).position(|c| {
            u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) == u64::MAX
        }),
        _ => elements.iter().position(is_poison),
    }
}

/// Panics (debug builds) naming the first element of `view` not written. Contiguous
/// memory, or else each contiguous row, is scanned as words; the index is looked for only
/// when something is found.
fn check_written<F, D: Dimension>(view: ArrayViewMut<'_, MaybeUninit<F>, D>) {
    if !cfg!(debug_assertions) {
        return;
    }
    let clean = match view.as_slice_memory_order() {
        Some(elements) => first_poisoned(elements).is_none(),
        None if view.ndim() > 0 => {
            view.lanes(Axis(view.ndim() - 1))
                .into_iter()
                .all(|row| match row.as_slice() {
                    Some(elements) => first_poisoned(elements).is_none(),
                    None => !row.iter().any(is_poison),
                })
        }
        None => false,
    };
    if clean {
        return;
    }
    if let Some((index, _)) = view.indexed_iter().find(|(_, e)| is_poison(e)) {
        panic!(
            "an array of shape {:?} was finished with element {:?} not written",
            view.shape(),
            index
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn a_fully_written_array_finishes_with_its_values() {
        let mut fresh = Fresh::<f32, _>::new((3, 4));
        for ((i, j), element) in fresh.view_mut().indexed_iter_mut() {
            element.write((i * 4 + j) as f32);
        }
        let array = fresh.finish();
        assert_eq!(
            array,
            Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f32)
        );
    }

    #[test]
    fn views_of_bands_finish_on_their_own() {
        let mut fresh = Fresh::<f64, _>::new((4, 2));
        let mut view = fresh.view_mut();
        let (top, bottom) = view.view_mut().split_at(ndarray::Axis(0), 2);
        for (band, value) in [(top, 1.0), (bottom, 2.0)] {
            let mut band = band;
            band.fill(MaybeUninit::new(value));
            let written = finish_view(band);
            assert!(written.iter().all(|&v| v == value));
        }
        assert_eq!(fresh.finish().sum(), 12.0);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "element (2, 1) not written")]
    fn an_unwritten_element_is_caught_in_debug_builds() {
        let mut fresh = Fresh::<f32, _>::new((3, 2));
        let mut view = fresh.view_mut();
        view.fill(MaybeUninit::new(0.5));
        view[[2, 1]] = MaybeUninit::uninit();
        poison_one(&mut view[[2, 1]]);
        drop(fresh.finish());
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "not written")]
    fn an_unwritten_band_is_caught_by_finish_view() {
        let mut fresh = Fresh::<f32, _>::new((4, 4));
        let mut band = fresh.view_mut();
        band.slice_mut(ndarray::s![..2, ..])
            .fill(MaybeUninit::new(1.0));
        finish_view(band);
    }

    #[test]
    fn a_tail_is_taken_in_once_written_and_caught_if_not() {
        let mut buffer = Vec::<f32>::with_capacity(8);
        buffer.push(9.0);
        for (i, value) in fresh_tail(&mut buffer, 5).iter_mut().enumerate() {
            value.write(i as f32);
        }
        finish_tail(&mut buffer, 5);
        assert_eq!(buffer, [9.0, 0.0, 1.0, 2.0, 3.0, 4.0]);
        if !cfg!(debug_assertions) {
            return; // only debug builds check
        }
        let caught = std::panic::catch_unwind(move || {
            let mut buffer = buffer;
            fresh_tail(&mut buffer, 2)[0].write(1.0);
            finish_tail(&mut buffer, 2);
        });
        assert!(caught.is_err(), "the unwritten second value is caught");
    }

    #[test]
    fn arithmetic_never_produces_the_poison_pattern() {
        // 0/0, ∞−∞ and sqrt(−1) give the default NaN, not the all-ones pattern.
        let zero = std::hint::black_box(0.0f32);
        let nan_results = [zero / zero, f32::INFINITY - 1.0 / zero, (zero - 1.0).sqrt()];
        for value in nan_results {
            assert!(
                !is_poison(&MaybeUninit::new(value)),
                "{:#x}",
                value.to_bits()
            );
        }
    }
}
