//! Passwords: the OS credential store, a password command, or session memory.
