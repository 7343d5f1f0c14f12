//! What a step of the scs-0302 table is: its actor, the API call (method, path template, body),
//! what the answer must be (or that it is a setup step other checks need), a second look at
//! the answer, and the steps that run only when it held. The table itself is
//! [`super::cases`]; [`super::runner`] walks it in order.
//!
//! Path templates name ids in braces: `{d1}`/`{d2}` (the managers' domains), `{member}` and
//! `{admin}` (role ids), and the ids earlier steps keep (`{ua}`, `{ub}`, `{ud}`, `{pa}`, `{pb}`,
//! `{ga}`). A step whose template names an id nobody made is skipped, as are the steps of an
//! [`Step::IfMade`] group whose id is missing. Every object is created fresh; no negative check
//! uses an object an earlier step deleted.

use crate::openstack::ledger::ResourceKind;
use reqwest::Method;
use serde_json::Value;

/// Who sends a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Actor {
    /// The manager of the first domain (D1).
    A,
    /// The manager of the second domain (D2).
    B,
}

/// What a check expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Expect {
    /// A 2xx answer.
    Allowed,
    /// A 403 (or 404: the object is hidden).
    Refused,
}

/// How the answer of a step counts.
#[derive(Clone, Copy, Debug)]
pub(super) enum Judge {
    /// A check of the standard: the answer must be `expect`.
    Check {
        /// The rule, as the finding states it.
        rule: &'static str,
        /// The call as the finding names it (after `A: `/`B: `).
        call: &'static str,
        /// The answer the rule demands.
        expect: Expect,
    },
    /// A step other checks need; a failure is recorded as a failed setup step, with the error
    /// (`status`: the error with its HTTP status in front).
    Setup {
        /// The step as the finding names it.
        what: &'static str,
        /// Whether the recorded error starts with its HTTP status.
        status: bool,
    },
}

/// A second look at an answer whose check held.
#[derive(Clone, Copy, Debug)]
pub(super) enum Observe {
    /// The listing (`users`, `groups`) holds only objects of the actor's own domain.
    OnlyOwnDomain {
        /// The key of the listing and the word for its objects.
        list: &'static str,
        /// The rule.
        rule: &'static str,
        /// The expectation, as the finding states it.
        expected: &'static str,
    },
    /// The `HEAD` of a grant says it is there.
    GrantThere {
        /// The rule.
        rule: &'static str,
    },
    /// The listing (`projects`) holds exactly the object kept as `id`.
    ListsExactly {
        /// The key of the listing.
        list: &'static str,
        /// The kept id it must hold.
        id: &'static str,
        /// The rule.
        rule: &'static str,
        /// The expectation, as the finding states it.
        expected: &'static str,
    },
}

/// An object a step creates.
#[derive(Debug)]
pub(super) struct NewObject {
    /// Who sends the request.
    pub(super) by: Actor,
    /// Whose ledger session records (and at the end deletes) the object.
    pub(super) ledger: Actor,
    /// The kind of object.
    pub(super) kind: ResourceKind,
    /// Its key in Keystone's API (`user`: `POST /v3/users {"user": ...}`).
    pub(super) key: &'static str,
    /// The name part after the prefix (`PREFIX-0302-ua-...`).
    pub(super) name: &'static str,
    /// The variable naming the `domain_id` it is created in (`d1`, `d2`), or none.
    pub(super) domain: Option<&'static str>,
    /// The name under which later steps find its id.
    pub(super) keep: Option<&'static str>,
}

/// One step of the check.
#[derive(Debug)]
pub(super) enum Step {
    /// Creates an object.
    Create {
        /// What is created, by whom.
        object: NewObject,
        /// How the answer counts.
        judge: Judge,
        /// Steps that run when the object was made.
        then: &'static [Step],
    },
    /// A request judged by its status.
    Call {
        /// Who sends the request.
        by: Actor,
        /// The method (`HEAD` counts 404 as an answer: the object is not there).
        method: Method,
        /// The path template.
        path: &'static str,
        /// The JSON body, if any.
        body: Option<Body>,
        /// How the answer counts.
        judge: Judge,
        /// A second look at the answer when it held.
        observe: Option<Observe>,
        /// Steps that run when it held.
        then: &'static [Step],
    },
    /// B checks with `HEAD` that a grant A was refused is not there.
    RefusedGrantAbsent {
        /// The path template of the grant.
        path: &'static str,
        /// The call as the finding names it.
        what: &'static str,
    },
    /// Steps that run only when an object kept under `id` was made.
    IfMade {
        /// The kept id.
        id: &'static str,
        /// The steps.
        steps: &'static [Step],
    },
}

impl Actor {
    /// `A` or `B`, as the findings name the actor.
    pub(super) fn name(self) -> &'static str {
        match self {
            Actor::A => "A",
            Actor::B => "B",
        }
    }
}

/// A request body, made when the request is sent.
pub(super) type Body = fn() -> Value;
