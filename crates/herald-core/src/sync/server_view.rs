//! The server view: what is on the server, before or without downloading
//! it, and the actions on single messages (download, delete on server).

use std::collections::HashMap;
use std::io::Read;

use super::{
    Listed, Progress, Session, SyncError, SyncReport, delete_and_quit, download, list_messages,
    read_header_section,
};
use crate::message::Summary;
use crate::pop3::Pop3Error;
use crate::store::MailStore;

/// One message on the server.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ServerMessage {
    /// Its number in this session (changes between sessions).
    pub number: u32,
    /// Its UIDL (stable).
    pub uidl: String,
    /// Its size in bytes, as listed by the server.
    pub size: u64,
    /// Sender, display-safe.
    pub from: Option<String>,
    /// Subject, display-safe.
    pub subject: Option<String>,
    /// Date, seconds since 1970.
    pub date: Option<i64>,
    /// True if a full local copy exists.
    pub downloaded: bool,
}

/// Lists what is on the server with each message's headers (`TOP n 0`),
/// downloading nothing.
pub fn list_server(
    session: &Session<'_>,
    store: &MailStore,
) -> Result<(Vec<ServerMessage>, Vec<String>), SyncError> {
    let mut client = session.open_pop3()?;
    let mut report = SyncReport::default();
    let listed = list_messages(&mut client, &mut report)?;
    let numbers: Vec<u32> = listed.iter().map(|m| m.number).collect();
    let mut headers: HashMap<u32, Summary> = HashMap::new();
    let refused = client.top_many(&numbers, 0, |number, body: &mut dyn Read| {
        let bytes = read_header_section(body)?;
        headers.insert(number, Summary::from_prefix(&bytes, false));
        Ok::<(), Pop3Error>(())
    })?;
    for refusal in refused {
        report.warnings.push(refusal.to_string());
    }
    client.quit()?;
    let states = store.uidl_states()?;
    let messages = listed
        .iter()
        .map(|m| {
            let summary = headers.remove(&m.number).unwrap_or_default();
            let from = summary.headers.from.first().map(ToString::to_string);
            ServerMessage {
                number: m.number,
                uidl: m.uidl.to_string(),
                size: m.size,
                from,
                subject: summary.headers.subject,
                date: summary.headers.date_unix,
                downloaded: states
                    .get(m.uidl.as_str())
                    .is_some_and(|state| state.downloaded),
            }
        })
        .collect();
    Ok((messages, report.warnings))
}

/// Downloads the messages with these UIDLs in full, whatever the size
/// limit (the user asked for them).
pub fn download_from_server(
    session: &Session<'_>,
    store: &mut MailStore,
    uidls: &[String],
    progress: &mut dyn FnMut(Progress),
) -> Result<SyncReport, SyncError> {
    let started = std::time::Instant::now();
    let mut report = SyncReport::default();
    progress(Progress::Connecting);
    let mut client = session.open_pop3()?;
    let listed = list_messages(&mut client, &mut report)?;
    let mut wanted: Vec<Listed> = select(&listed, uidls, &mut report);
    // Storing one again would be refused (and end the session).
    let states = store.uidl_states()?;
    wanted.retain(|m| {
        let here = states
            .get(m.uidl.as_str())
            .is_some_and(|state| state.downloaded);
        report.skipped += u32::from(here);
        !here
    });
    download(
        &mut client,
        store,
        &wanted,
        &mut report,
        session.cancel,
        progress,
    )?;
    client.quit()?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Deletes the messages with these UIDLs on the server (DELE, then QUIT).
/// Local copies are kept.
pub fn delete_from_server(
    session: &Session<'_>,
    store: &mut MailStore,
    uidls: &[String],
) -> Result<SyncReport, SyncError> {
    let started = std::time::Instant::now();
    let mut report = SyncReport::default();
    let mut client = session.open_pop3()?;
    let listed = list_messages(&mut client, &mut report)?;
    let chosen = select(&listed, uidls, &mut report);
    let deleted = delete_and_quit(client, &chosen, &mut report)?;
    store.mark_deleted_on_server(&deleted)?;
    report.deleted_on_server = deleted.len() as u32;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

fn select(listed: &[Listed], uidls: &[String], report: &mut SyncReport) -> Vec<Listed> {
    let chosen: Vec<Listed> = listed
        .iter()
        .filter(|m| uidls.iter().any(|uidl| uidl == m.uidl.as_str()))
        .cloned()
        .collect();
    for uidl in uidls {
        if !chosen.iter().any(|m| m.uidl.as_str() == uidl) {
            report
                .warnings
                .push(format!("message {uidl} is no longer on the server"));
        }
    }
    chosen
}
