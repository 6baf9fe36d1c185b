//! data (under construction)
