//! Account settings and the profile folders they live in.
