//! The mail model and MIME parsing: headers, bodies, the part tree, attachments.
