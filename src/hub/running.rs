//! A running session: its command queue, its actor's state behind a lock, and the task that
//! applies what was queued.
//!
//! Commands are applied one at a time, by whoever holds the lock, except that the task takes
//! the sends queued one behind another together, up to `batch::MAX_BATCH`, and stores those
//! that plan cleanly in one commit (`hub::batch`); a command queued after them follows them.
//! Most go through the queue to the session's task. A chat message takes a shorter way when
//! the session has nothing queued: the sending connection's own task takes the lock and
//! applies it there. That saves a task wake-up per message, and the `ack` leaves in the
//! sender's next write instead of waking it again. Order holds: the lock is only taken that way when no command is queued or being
//! applied (`queued` counts them until they are done), and a connection sends its next
//! message only after its last one was applied or queued.
//!
//! The task still owns the session's timers (a courier idling too long, the actor's own idle
//! exit) and its end: when it stops, it marks the state stopped while holding the lock, so a
//! sender that raced for it goes through the queue to a fresh actor instead.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard, mpsc};
use tokio::time::Instant;

use crate::hub::batch::MAX_BATCH;
use crate::hub::session::{Command, SendCommand, SessionActor};
use crate::hub::{Hub, HubError};
use crate::protocol::ids::SessionId;
use crate::store::{SessionControls, SessionRecord};

/// Commands queued per session before senders wait.
const COMMAND_CAPACITY: usize = 256;
/// An actor with nothing to do for this long exits.
const IDLE_EXIT: Duration = Duration::from_secs(120);

/// A running session, shared by the hub's map, its task and its senders.
pub struct Session {
    commands: mpsc::Sender<Command>,
    actor: Mutex<SessionActor>,
    /// Commands queued and not yet applied. While it is above zero, senders queue too.
    queued: AtomicUsize,
}

pub type SessionSender = Arc<Session>;

impl Session {
    /// The task stopped taking commands.
    pub fn is_closed(&self) -> bool {
        self.commands.is_closed()
    }

    pub fn is_same(a: &SessionSender, b: &SessionSender) -> bool {
        Arc::ptr_eq(a, b)
    }

    /// The actor's state, when nobody holds it and nothing is queued for it.
    fn try_idle(&self) -> Option<MutexGuard<'_, SessionActor>> {
        if self.queued.load(Ordering::Acquire) != 0 {
            return None;
        }
        let actor = self.actor.try_lock().ok()?;
        // Checked again under the lock: a command queued in between goes first.
        // A session the store lost goes through the queue, whose task refuses it and stops.
        let idle = self.queued.load(Ordering::Acquire) == 0 && !actor.is_stopped && !actor.is_lost;
        idle.then_some(actor)
    }

    async fn queue(&self, command: Command) -> Result<(), mpsc::error::SendError<Command>> {
        self.queued.fetch_add(1, Ordering::AcqRel);
        let sent = self.commands.send(command).await;
        if sent.is_err() {
            self.queued.fetch_sub(1, Ordering::AcqRel);
        }
        sent
    }
}

pub fn spawn(
    hub: Hub,
    record: SessionRecord,
    controls: SessionControls,
    version: u64,
) -> SessionSender {
    let (commands, receiver) = mpsc::channel(COMMAND_CAPACITY);
    let tracker = hub.inner.tasks.clone();
    let session = Arc::new(Session {
        commands,
        actor: Mutex::new(SessionActor::new(hub, record, controls, version)),
        queued: AtomicUsize::new(0),
    });
    tracker.spawn(run(Arc::clone(&session), receiver));
    session
}

/// What woke the session's task.
enum Event {
    Command(Command),
    CourierIdle,
    Quiet,
    Stop,
}

async fn run(session: SessionSender, mut commands: mpsc::Receiver<Command>) {
    let (hub, session_id) = {
        let actor = session.actor.lock().await;
        (actor.hub.clone(), actor.record.id)
    };
    let shutdown = hub.inner.shutdown.clone();
    // A command taken off the queue behind a batch of sends, applied next.
    let mut pending: Option<Command> = None;
    let mut actor = loop {
        let courier_idle = session.actor.lock().await.courier_idle_deadline();
        let event = match pending.take() {
            Some(command) => Event::Command(command),
            None => tokio::select! {
                command = commands.recv() => command.map_or(Event::Stop, Event::Command),
                () = tokio::time::sleep(IDLE_EXIT), if courier_idle.is_none() => Event::Quiet,
                () = sleep_until(courier_idle) => Event::CourierIdle,
                () = shutdown.cancelled() => Event::Stop,
            },
        };
        let mut actor = session.actor.lock().await;
        match event {
            Event::Command(Command::Send(send)) => {
                // The sends queued behind it go with it (`hub::batch`), up to the first other
                // command, which follows them.
                let (sends, next) = queued_sends(send, &mut commands);
                let count = sends.len();
                actor.send_all(sends).await;
                session.queued.fetch_sub(count, Ordering::AcqRel);
                pending = next;
                if actor.is_lost {
                    break actor;
                }
            }
            Event::Command(command) => {
                actor.apply_queued(command).await;
                session.queued.fetch_sub(1, Ordering::AcqRel);
                if actor.is_lost {
                    break actor;
                }
            }
            // Messages sent by the shorter way keep the session busy without waking us.
            Event::CourierIdle => {
                if actor
                    .courier_idle_deadline()
                    .is_some_and(|deadline| deadline <= Instant::now())
                {
                    actor.let_idle_courier_go().await;
                }
            }
            Event::Quiet if actor.last_activity.elapsed() < IDLE_EXIT => {}
            Event::Quiet | Event::Stop => break actor,
        }
    };
    actor.is_stopped = true;
    hub.forget_session(session_id, &session);
    drop(actor);
    // Whatever raced in after we chose to stop goes to a fresh actor.
    commands.close();
    if let Some(command) = pending {
        hub.requeue(session_id, command).await;
    }
    while let Ok(command) = commands.try_recv() {
        hub.requeue(session_id, command).await;
    }
}

/// Sends `command` to the session's actor, starting one when none runs.
pub async fn dispatch(hub: &Hub, session_id: SessionId, command: Command) -> Result<(), HubError> {
    let session = hub.session_sender(session_id).await?;
    if let Err(mpsc::error::SendError(command)) = session.queue(command).await {
        // The actor stopped between lookup and send; a fresh one takes the command.
        hub.forget_session(session_id, &session);
        let session = hub.session_sender(session_id).await?;
        session
            .queue(command)
            .await
            .map_err(|_| HubError::ShuttingDown)?;
    }
    Ok(())
}

/// A chat message: applied here when the session is idle, else queued behind what waits.
pub async fn send(hub: &Hub, session_id: SessionId, command: SendCommand) -> Result<(), HubError> {
    let session = hub.session_sender(session_id).await?;
    if let Some(mut actor) = session.try_idle() {
        actor.send(command).await;
        return Ok(());
    }
    dispatch(hub, session_id, Command::Send(command)).await
}

/// `first` and the sends queued right behind it, at most a batch; and the command after them,
/// if one was taken off the queue.
fn queued_sends(
    first: SendCommand,
    commands: &mut mpsc::Receiver<Command>,
) -> (Vec<SendCommand>, Option<Command>) {
    let mut sends = vec![first];
    while sends.len() < MAX_BATCH {
        match commands.try_recv() {
            Ok(Command::Send(send)) => sends.push(send),
            Ok(other) => return (sends, Some(other)),
            Err(_) => break,
        }
    }
    (sends, None)
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
