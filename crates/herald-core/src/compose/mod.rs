//! Composing messages: the [`Draft`] type and its MIME rendering.
