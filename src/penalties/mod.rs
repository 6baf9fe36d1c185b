//! penalties (under construction)
