//! features (under construction)
