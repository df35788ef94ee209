//! The custody state machine of a product (and of a lot), and the holder rule.
//!
//! ```text
//! in_use --collect--> collected --receive--> received --sort--> sorted
//!                          \__accept (of a handover)__/
//! received | sorted --dismantling--> dismantled
//! sorted | dismantled --recycling--> recycled
//! any non-terminal but in_use --destroy--> destroyed, --export--> exported
//! any held state --handover--> (same state, handover pending) --accept by the named org--> holder changes
//! ```
//! Only the current holder records the next step (anyone with the recycler role may collect a
//! product in use); while a handover is pending, only its acceptance moves the product.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Where a product (or lot) is in its end-of-life chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    InUse,
    Collected,
    Received,
    Sorted,
    Dismantled,
    Recycled,
    Destroyed,
    Exported,
}

impl State {
    pub const ALL: [State; 8] = [
        State::InUse,
        State::Collected,
        State::Received,
        State::Sorted,
        State::Dismantled,
        State::Recycled,
        State::Destroyed,
        State::Exported,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::InUse => "in_use",
            State::Collected => "collected",
            State::Received => "received",
            State::Sorted => "sorted",
            State::Dismantled => "dismantled",
            State::Recycled => "recycled",
            State::Destroyed => "destroyed",
            State::Exported => "exported",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// No event but an error declaration may follow.
    pub fn is_terminal(self) -> bool {
        matches!(self, State::Recycled | State::Destroyed | State::Exported)
    }
}

/// A step a recycler records on one product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Collect,
    Receive,
    Sort,
    Handover,
    Accept,
    Destroy,
    Export,
}

impl Action {
    pub const ALL: [Action; 7] = [
        Action::Collect,
        Action::Receive,
        Action::Sort,
        Action::Handover,
        Action::Accept,
        Action::Destroy,
        Action::Export,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Collect => "collect",
            Action::Receive => "receive",
            Action::Sort => "sort",
            Action::Handover => "handover",
            Action::Accept => "accept",
            Action::Destroy => "destroy",
            Action::Export => "export",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// What happens in a transformation to each input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Process {
    /// Products in, magnet items or mass lots out.
    Dismantling,
    /// Lots (or sorted/dismantled products) in, oxide, metal or alloy lots out.
    Recycling,
}

impl Process {
    pub fn as_str(self) -> &'static str {
        match self {
            Process::Dismantling => "dismantling",
            Process::Recycling => "recycling",
        }
    }

    /// The state a product input ends in.
    pub fn product_outcome(self) -> State {
        match self {
            Process::Dismantling => State::Dismantled,
            Process::Recycling => State::Recycled,
        }
    }

    /// The states a product may be in to enter this process.
    pub fn accepts(self) -> &'static [State] {
        match self {
            Process::Dismantling => &[State::Received, State::Sorted],
            Process::Recycling => &[State::Sorted, State::Dismantled],
        }
    }
}

/// Custody of one thing: its state, who holds it, and a pending handover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Custody {
    pub state: State,
    /// The organisation holding it (none while in use).
    pub holder: Option<Uuid>,
    /// The organisation a handover names, until it accepts.
    pub pending_to: Option<Uuid>,
}

impl Custody {
    pub fn in_use() -> Self {
        Self {
            state: State::InUse,
            holder: None,
            pending_to: None,
        }
    }
}

/// Why a step is refused (answered 409 with what is allowed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepRefusal {
    #[error("the product is {state} for good; no step may follow (only an error declaration)")]
    Terminal { state: &'static str },
    #[error("only the current holder may record this step")]
    NotHolder,
    #[error(
        "a handover to another organisation is pending; it must accept (or the holder must wait)"
    )]
    HandoverPending,
    #[error("no handover to the caller is pending")]
    NoHandoverToCaller,
    #[error("{action} is not allowed while the product is {state}")]
    WrongState {
        action: &'static str,
        state: &'static str,
    },
    #[error("a handover needs to_org, another recycler organisation")]
    NoRecipient,
}

/// The custody after `actor` records `action`, or why not.
pub fn step(
    current: Custody,
    action: Action,
    actor: Uuid,
    to_org: Option<Uuid>,
) -> Result<Custody, StepRefusal> {
    if current.state.is_terminal() {
        return Err(StepRefusal::Terminal {
            state: current.state.as_str(),
        });
    }
    if action == Action::Accept {
        return match current.pending_to {
            Some(to) if to == actor => Ok(Custody {
                state: if current.state == State::Collected {
                    State::Received
                } else {
                    current.state
                },
                holder: Some(actor),
                pending_to: None,
            }),
            _ => Err(StepRefusal::NoHandoverToCaller),
        };
    }
    if current.pending_to.is_some() {
        return Err(StepRefusal::HandoverPending);
    }
    if action == Action::Collect {
        return if current.state == State::InUse {
            Ok(Custody {
                state: State::Collected,
                holder: Some(actor),
                pending_to: None,
            })
        } else {
            Err(wrong(action, current.state))
        };
    }
    if current.holder != Some(actor) {
        return Err(if current.state == State::InUse {
            wrong(action, current.state)
        } else {
            StepRefusal::NotHolder
        });
    }
    let next = match (action, current.state) {
        (Action::Receive, State::Collected) => State::Received,
        (Action::Sort, State::Received) => State::Sorted,
        (Action::Handover, s) => {
            let to = to_org
                .filter(|to| *to != actor)
                .ok_or(StepRefusal::NoRecipient)?;
            return Ok(Custody {
                state: s,
                holder: current.holder,
                pending_to: Some(to),
            });
        }
        (Action::Destroy, _) => State::Destroyed,
        (Action::Export, _) => State::Exported,
        (action, state) => return Err(wrong(action, state)),
    };
    Ok(Custody {
        state: next,
        holder: current.holder,
        pending_to: None,
    })
}

/// Checks that `actor` may put a product in state `current` into `process`.
pub fn transform(current: Custody, process: Process, actor: Uuid) -> Result<(), StepRefusal> {
    if current.state.is_terminal() {
        return Err(StepRefusal::Terminal {
            state: current.state.as_str(),
        });
    }
    if current.pending_to.is_some() {
        return Err(StepRefusal::HandoverPending);
    }
    if current.holder != Some(actor) {
        return Err(StepRefusal::NotHolder);
    }
    if !process.accepts().contains(&current.state) {
        return Err(StepRefusal::WrongState {
            action: process.as_str(),
            state: current.state.as_str(),
        });
    }
    Ok(())
}

fn wrong(action: Action, state: State) -> StepRefusal {
    StepRefusal::WrongState {
        action: action.as_str(),
        state: state.as_str(),
    }
}

/// What `actor` may do next: the actions and the processes.
pub fn allowed(current: Custody, actor: Uuid) -> (Vec<Action>, Vec<Process>) {
    let actions = Action::ALL
        .into_iter()
        .filter(|a| {
            let to = (*a == Action::Handover).then(Uuid::now_v7);
            step(current, *a, actor, to).is_ok()
        })
        .collect();
    let processes = [Process::Dismantling, Process::Recycling]
        .into_iter()
        .filter(|p| transform(current, *p, actor).is_ok())
        .collect();
    (actions, processes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn org() -> Uuid {
        Uuid::now_v7()
    }

    #[test]
    fn the_happy_path_with_a_handover() {
        let (collector, sorter) = (org(), org());
        let c = step(Custody::in_use(), Action::Collect, collector, None).unwrap();
        assert_eq!((c.state, c.holder), (State::Collected, Some(collector)));
        let c = step(c, Action::Handover, collector, Some(sorter)).unwrap();
        assert_eq!(c.pending_to, Some(sorter));
        assert_eq!(
            step(c, Action::Sort, collector, None),
            Err(StepRefusal::HandoverPending)
        );
        assert_eq!(
            step(c, Action::Accept, collector, None),
            Err(StepRefusal::NoHandoverToCaller)
        );
        let c = step(c, Action::Accept, sorter, None).unwrap();
        assert_eq!(
            (c.state, c.holder, c.pending_to),
            (State::Received, Some(sorter), None)
        );
        let c = step(c, Action::Sort, sorter, None).unwrap();
        assert_eq!(c.state, State::Sorted);
        transform(c, Process::Dismantling, sorter).unwrap();
        assert_eq!(
            transform(c, Process::Dismantling, collector),
            Err(StepRefusal::NotHolder)
        );
    }

    #[test]
    fn only_the_holder_steps_and_terminal_states_end_the_chain() {
        let (a, b) = (org(), org());
        let c = step(Custody::in_use(), Action::Collect, a, None).unwrap();
        assert_eq!(
            step(c, Action::Receive, b, None),
            Err(StepRefusal::NotHolder)
        );
        assert!(matches!(
            step(c, Action::Collect, b, None),
            Err(StepRefusal::WrongState { .. })
        ));
        assert!(matches!(
            step(c, Action::Sort, a, None),
            Err(StepRefusal::WrongState { .. })
        ));
        assert_eq!(
            step(c, Action::Handover, a, None),
            Err(StepRefusal::NoRecipient)
        );
        assert_eq!(
            step(c, Action::Handover, a, Some(a)),
            Err(StepRefusal::NoRecipient)
        );
        let d = step(c, Action::Destroy, a, None).unwrap();
        assert_eq!(d.state, State::Destroyed);
        assert!(matches!(
            step(d, Action::Export, a, None),
            Err(StepRefusal::Terminal { .. })
        ));
        assert!(matches!(
            step(Custody::in_use(), Action::Sort, a, None),
            Err(StepRefusal::WrongState { .. })
        ));
    }

    #[test]
    fn allowed_lists_the_next_steps() {
        let a = org();
        let (actions, processes) = allowed(Custody::in_use(), a);
        assert_eq!(actions, [Action::Collect]);
        assert!(processes.is_empty());
        let c = step(Custody::in_use(), Action::Collect, a, None).unwrap();
        let (actions, _) = allowed(c, a);
        assert_eq!(
            actions,
            [
                Action::Receive,
                Action::Handover,
                Action::Destroy,
                Action::Export
            ]
        );
        let (others, _) = allowed(c, org());
        assert!(others.is_empty());
    }
}
