//! Sends that queued while a session's actor was busy, stored together (see `hub::send`).
//!
//! Under load a session's members send faster than one commit a round trip: their sends queue
//! behind the one being stored. The actor takes what queued ([`SessionActor::send_all`]) and
//! plans the sends one after another, each on the state the one before left: while it plans,
//! the actor holds the record and controls the batch leaves, and keeps those it had before to
//! put back if the batch is not stored (moved, not copied). It stores the sends that planned
//! cleanly in one commit. Acks, deliveries and waiting counts then go out in order, as for
//! sends stored one by one.

use std::collections::VecDeque;

use crate::hub::HubError;
use crate::hub::send::{After, Plan, Planned};
use crate::hub::session::{SendCommand, SessionActor};
use crate::store::{Committed, Effects, NewMessage, SessionControls, SessionRecord, StoreError};

/// Messages in one commit at most: a batch holds its session's actor, and Redis, for its
/// whole commit.
pub const MAX_BATCH: usize = 64;

/// Sends planned for one commit, in order.
struct Batch {
    commands: Vec<SendCommand>,
    messages: Vec<NewMessage>,
    /// Folded, without the record and controls: the actor holds those while it plans.
    effects: Effects,
    /// The last send's work after the commit (only the last may have any).
    after: After,
    /// What the actor held before the batch changed it.
    record_before: Option<SessionRecord>,
    controls_before: Option<SessionControls>,
}

impl SessionActor {
    /// Applies `commands` in order, storing together those that can be.
    pub(super) async fn send_all(&mut self, commands: Vec<SendCommand>) {
        let mut queue = VecDeque::from(commands);
        while !queue.is_empty() {
            match self.plan_batch(&mut queue).await {
                Some(batch) => self.commit_batch(batch).await,
                // The first send does not plan cleanly: it goes alone, and says why.
                None => {
                    if let Some(command) = queue.pop_front() {
                        self.send(command).await;
                    }
                }
            }
        }
    }

    /// Plans sends from the front of `queue` while they go together; leaves the rest queued.
    async fn plan_batch(&mut self, queue: &mut VecDeque<SendCommand>) -> Option<Batch> {
        let mut batch: Option<Batch> = None;
        while let Some(command) = queue.pop_front() {
            let Some(Planned {
                message,
                effects,
                after,
            }) = self.plan_next(batch.as_ref(), &command).await
            else {
                queue.push_front(command);
                break;
            };
            let batch = batch.get_or_insert_with(|| Batch {
                commands: Vec::new(),
                messages: Vec::new(),
                effects: Effects::default(),
                after: After::Nothing,
                record_before: None,
                controls_before: None,
            });
            // Effects that do not fold end the batch; that send goes in the next one.
            if batch.effects.then(effects).is_err() {
                queue.push_front(command);
                break;
            }
            if let Some(record) = batch.effects.record.take() {
                let before = std::mem::replace(&mut self.record, record);
                batch.record_before.get_or_insert(before);
            }
            if let Some(controls) = batch.effects.controls.take() {
                let before = std::mem::replace(&mut self.controls, controls);
                batch.controls_before.get_or_insert(before);
            }
            let ends = !matches!(after, After::Nothing);
            batch.commands.push(command);
            batch.messages.push(message);
            batch.after = after;
            if ends {
                break;
            }
        }
        batch.filter(|batch| !batch.commands.is_empty())
    }

    /// `command` planned after `batch`, or `None` when it must not join it.
    async fn plan_next(&self, batch: Option<&Batch>, command: &SendCommand) -> Option<Planned> {
        if let Some(batch) = batch {
            let repeats = batch
                .commands
                .iter()
                .any(|earlier| earlier.client_msg_id == command.client_msg_id);
            if repeats || batch.commands.len() >= MAX_BATCH {
                return None;
            }
        }
        match self.plan(command).await {
            Ok(Plan::Ready(planned)) => Some(planned),
            // Refusals and failures are answered by the send alone.
            Ok(Plan::Refused(_)) | Err(_) => None,
        }
    }

    async fn commit_batch(&mut self, batch: Batch) {
        let Batch {
            commands,
            messages,
            mut effects,
            after,
            record_before,
            controls_before,
        } = batch;
        // The commit carries what the batch leaves; the actor holds what it had until it is
        // stored.
        if let Some(before) = record_before {
            effects.record = Some(std::mem::replace(&mut self.record, before));
        }
        if let Some(before) = controls_before {
            effects.controls = Some(std::mem::replace(&mut self.controls, before));
        }
        let sent_at = messages.last().map(|message| message.sent_at);
        let commit = self.commit_of(messages, effects);
        let (stored, version, waiting) = match self.hub.store().commit_message(&commit).await {
            Ok(Committed::New {
                stored,
                version,
                waiting,
            }) => (stored, version, waiting),
            refused => return self.batch_refused(commands, refused).await,
        };
        self.take_committed(version, commit.effects);
        for (command, stored) in commands.iter().zip(&stored) {
            self.acknowledge(command, stored);
        }
        self.push_waiting_here(&waiting);
        if let Some(sent_at) = sent_at {
            self.after_commit(after, sent_at).await;
        }
    }

    /// The store did not take the batch: a conflict or a repeat goes again one by one (each
    /// send then finds out for itself); a failure is every send's.
    async fn batch_refused(
        &mut self,
        commands: Vec<SendCommand>,
        refused: Result<Committed, StoreError>,
    ) {
        match refused {
            Ok(Committed::Conflict(state)) => {
                self.hub.inner.metrics.commit_conflict();
                if let Err(error) = self.adopt_state(state) {
                    return self.fail_all(commands, &error);
                }
            }
            Ok(_) => {}
            Err(error) => return self.fail_all(commands, &HubError::from(error)),
        }
        for command in commands {
            self.send(command).await;
        }
    }

    fn fail_all(&self, commands: Vec<SendCommand>, error: &HubError) {
        for command in commands {
            let again = HubError::peer(error.code(), error.client_message());
            self.answer_failed_send(&command, &again);
        }
    }
}
