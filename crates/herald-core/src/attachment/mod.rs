//! Saving attachments safely: file-name sanitising and create-new saving.
