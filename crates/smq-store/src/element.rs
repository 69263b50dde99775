//! The element types a dataset can hold.

use zarrs::array::{DataType, FillValue};

mod sealed {
    /// Keeps [`Element`](super::Element) closed to the types listed in this crate.
    #[allow(unreachable_pub)]
    pub trait Sealed {}
}

/// An element type of a dataset: `f64`, `f32`, `i64`, `i32`, `i16`, `u64`, `u16` or `u8`.
///
/// The trait is sealed; its methods link each type to its Zarr data type.
pub trait Element:
    sealed::Sealed
    + zarrs::array::Element
    + zarrs::array::ElementOwned
    + bytemuck::Pod
    + Copy
    + Default
    + Send
    + Sync
    + 'static
{
    /// The Zarr v3 data type name, e.g. `"float64"`.
    const ZARR_NAME: &'static str;

    #[doc(hidden)]
    fn data_type() -> DataType;

    #[doc(hidden)]
    fn fill_value() -> FillValue;
}

macro_rules! element {
    ($t:ty, $name:literal, $dt:ident) => {
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const ZARR_NAME: &'static str = $name;
            fn data_type() -> DataType {
                DataType::$dt
            }
            fn fill_value() -> FillValue {
                FillValue::from(<$t>::default())
            }
        }
    };
}

element!(f64, "float64", Float64);
element!(f32, "float32", Float32);
element!(i64, "int64", Int64);
element!(i32, "int32", Int32);
element!(i16, "int16", Int16);
element!(u64, "uint64", UInt64);
element!(u16, "uint16", UInt16);
element!(u8, "uint8", UInt8);
