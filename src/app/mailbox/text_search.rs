//! Searching message text from the list's search box: keeps each shown
//! account's search index up to date in background jobs, and runs the
//! query words through the indexes in a job. The list then shows a message
//! when every word is in its subject, people, addresses or text.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use herald_core::search::{self, Coverage, TextHits};

use crate::app::jobs::{Job, Waker};
use crate::app::text::format_count;

use super::list::Source;

/// The text hits of one search, per account index.
pub type HitsByAccount = HashMap<usize, TextHits>;

/// What a finished search answers: the words, for these mailboxes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SearchKey {
    words: Vec<String>,
    sources: Vec<(usize, PathBuf)>,
    /// Index updates finished when the search started: a later one may
    /// have added text.
    generation: u64,
}

/// One mailbox's index being brought up to date.
struct IndexRun {
    job: Job<Result<Coverage, String>>,
    progress: Arc<Mutex<Coverage>>,
}

/// Message-text search for the list.
#[derive(Default)]
pub struct TextSearch {
    /// Running index updates, by mailbox folder.
    running: HashMap<PathBuf, IndexRun>,
    /// Mailboxes to update again once their run ends (changed meanwhile).
    again: HashSet<PathBuf>,
    /// Each mailbox's coverage after its last update.
    coverage: HashMap<PathBuf, Coverage>,
    /// Why the last update of a mailbox failed.
    problems: HashMap<PathBuf, String>,
    /// Counts finished index updates.
    generation: u64,
    finding: Option<(SearchKey, Job<HitsByAccount>)>,
    found: Option<(SearchKey, Arc<HitsByAccount>)>,
}

impl TextSearch {
    /// Brings these mailboxes' indexes up to date in the background (after
    /// a load: mail may have arrived, moved or gone).
    pub fn update_indexes(&mut self, sources: &[Source], waker: &Waker) {
        for source in sources {
            let dir = source.mailbox_dir.clone();
            if self.running.contains_key(&dir) {
                self.again.insert(dir);
                continue;
            }
            self.start_update(dir, waker);
        }
    }

    fn start_update(&mut self, dir: PathBuf, waker: &Waker) {
        let progress = Arc::new(Mutex::new(
            self.coverage.get(&dir).copied().unwrap_or_default(),
        ));
        let shared = Arc::clone(&progress);
        let job_dir = dir.clone();
        let job_waker = Arc::clone(waker);
        let job = Job::spawn("search-index", waker, move || {
            lower_this_threads_priority();
            let mut last_wake = std::time::Instant::now();
            search::update_mailbox(&job_dir, &mut |coverage| {
                if let Ok(mut progress) = shared.lock() {
                    *progress = coverage;
                }
                // Progress is only a note beside the search box: a repaint
                // four times a second is plenty.
                if last_wake.elapsed() >= std::time::Duration::from_millis(250) {
                    last_wake = std::time::Instant::now();
                    job_waker();
                }
                true
            })
            .map_err(|error| herald_core::error::describe(&error))
        });
        self.running.insert(dir, IndexRun { job, progress });
    }

    /// Takes finished work and starts what is due: index updates asked for
    /// again, and a search for `words` over `sources` when the last one
    /// answered other words, other mailboxes or an older index. New hits
    /// show in [`TextSearch::hits_for`].
    pub fn poll(&mut self, words: &[String], sources: &[Source], waker: &Waker) {
        let mut finished = Vec::new();
        for (dir, run) in &mut self.running {
            if let Some(result) = run.job.try_take() {
                finished.push((dir.clone(), result));
            }
        }
        for (dir, result) in finished {
            self.running.remove(&dir);
            self.generation += 1;
            match result {
                Ok(Ok(coverage)) => {
                    self.coverage.insert(dir.clone(), coverage);
                    self.problems.remove(&dir);
                }
                Ok(Err(problem)) => {
                    self.problems.insert(dir.clone(), problem);
                }
                Err(_) => {
                    self.problems
                        .insert(dir.clone(), "the search index stopped".to_owned());
                }
            }
            if self.again.remove(&dir) {
                self.start_update(dir, waker);
            }
        }

        if let Some((_, job)) = &mut self.finding
            && let Some(result) = job.try_take()
            && let Some((key, _)) = self.finding.take()
            && let Ok(hits) = result
        {
            self.found = Some((key, Arc::new(hits)));
        }
        if words.is_empty() {
            self.found = None;
            return;
        }
        let key = SearchKey {
            words: words.to_vec(),
            sources: sources
                .iter()
                .map(|source| (source.account, source.mailbox_dir.clone()))
                .collect(),
            generation: self.generation,
        };
        let answered = self.found.as_ref().is_some_and(|(found, _)| *found == key);
        if !answered && self.finding.is_none() {
            let job_key = key.clone();
            let job = Job::spawn("search-text", waker, move || {
                let mut hits = HitsByAccount::new();
                for (account, dir) in &job_key.sources {
                    if let Ok(found) = search::find_in_mailbox(dir, &job_key.words) {
                        hits.insert(*account, found);
                    }
                }
                hits
            });
            self.finding = Some((key, job));
        }
    }

    /// The latest hits if they answer exactly these words (maybe over an
    /// older index); `None` while the first search for them runs.
    pub fn hits_for(&self, words: &[String]) -> Option<Arc<HitsByAccount>> {
        self.found
            .as_ref()
            .filter(|(key, _)| key.words == words)
            .map(|(_, hits)| Arc::clone(hits))
    }

    /// True while a search for these words has not answered yet.
    pub fn searching(&self, words: &[String]) -> bool {
        !words.is_empty() && self.hits_for(words).is_none()
    }

    /// A short note for beside the search box: searching, or how much of
    /// the mail's text is indexed yet, or why it cannot be searched.
    pub fn note(&self, words: &[String], sources: &[Source]) -> Option<String> {
        if words.is_empty() {
            return None;
        }
        if self.searching(words) {
            return Some("Searching message text…".to_owned());
        }
        if let Some(problem) = sources
            .iter()
            .find_map(|source| self.problems.get(&source.mailbox_dir))
        {
            return Some(format!("Message text could not be searched: {problem}"));
        }
        let mut total = Coverage::default();
        let mut indexing = false;
        for source in sources {
            let dir = &source.mailbox_dir;
            let coverage = match self.running.get(dir) {
                Some(run) => {
                    indexing = true;
                    run.progress
                        .lock()
                        .map(|progress| *progress)
                        .unwrap_or_default()
                }
                None => self.coverage.get(dir).copied().unwrap_or_default(),
            };
            total.indexed += coverage.indexed;
            total.total += coverage.total;
        }
        (indexing && !total.complete()).then(|| {
            format!(
                "Indexing message text: {} of {} messages so far",
                format_count(total.indexed),
                format_count(total.total)
            )
        })
    }
}

/// Lets the UI thread (and the account workers) go first when the cores
/// are busy: indexing is never urgent. Linux: the thread's nice value.
fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    {
        let thread = rustix::thread::gettid();
        let _ = rustix::process::setpriority_process(Some(thread), 19);
    }
}
