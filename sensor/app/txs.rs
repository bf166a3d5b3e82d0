//! A bounded list of a flow's transactions, shared by the protocols whose parsers keep their
//! transactions in arrival order (Kerberos, SNMP, SIP, IKE, DHCP, ...): ids from 0, at most
//! `cap` held (the oldest evicted and counted by the caller), lookups by id, and the freeing
//! policy the app layer asks for.

use std::collections::VecDeque;

use super::plugin::Transaction;

/// One-way transactions (a message each, inspected with packets of its own direction only)
/// kept after newer ones arrive, so alerts of later packets can still name them.
pub(crate) const KEEP_ONE_WAY: usize = 16;

/// Transactions of one flow, oldest first.
#[derive(Debug)]
pub struct TxList<T> {
    txs: VecDeque<T>,
    next_id: u64,
    cap: usize,
}

impl<T: Transaction> TxList<T> {
    /// An empty list holding at most `cap` transactions.
    pub fn new(cap: usize) -> Self {
        TxList { txs: VecDeque::new(), next_id: 0, cap: cap.max(1) }
    }

    /// The id the next transaction gets (take it with [`TxList::push`]'s argument).
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Adds a transaction made with id [`TxList::next_id`]; returns true when the oldest
    /// was evicted to make room.
    pub fn push(&mut self, tx: T) -> bool {
        self.next_id += 1;
        let evicted = self.txs.len() >= self.cap;
        if evicted {
            self.txs.pop_front();
        }
        self.txs.push_back(tx);
        evicted
    }

    /// Transactions held, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.txs.iter()
    }

    /// Transactions held, oldest first, mutable.
    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut T> {
        self.txs.iter_mut()
    }

    /// The newest transaction.
    pub fn last_mut(&mut self) -> Option<&mut T> {
        self.txs.back_mut()
    }

    /// Raises app-layer event `ev` on the newest transaction, once (a repeat is not listed
    /// again); nothing when none is held. `events` picks the transaction's list of events.
    pub fn raise_on_last(&mut self, ev: u16, events: impl FnOnce(&mut T) -> &mut Vec<u16>) {
        if let Some(events) = self.txs.back_mut().map(events) {
            if !events.contains(&ev) {
                events.push(ev);
            }
        }
    }

    /// The transaction with this id.
    pub fn get(&self, id: u64) -> Option<&T> {
        self.txs.iter().find(|t| t.id() == id)
    }

    /// Number held.
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// None held.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    /// Calls `f` with each, oldest first (for [`super::AppParser::each_tx`]).
    pub fn each(&self, f: &mut dyn FnMut(&dyn Transaction)) {
        self.txs.iter().for_each(|t| f(t));
    }

    /// The transaction with this id as the app layer sees it.
    pub fn tx(&self, id: u64) -> Option<&dyn Transaction> {
        self.get(id).map(|t| t as &dyn Transaction)
    }

    /// Frees, from the oldest, the transactions nothing needs: a two-way transaction once it
    /// is complete and inspected both ways, a one-way one once [`KEEP_ONE_WAY`] newer ones
    /// arrived. Stops at the first one still needed (ids stay in order). Returns the lowest
    /// id still held when anything was freed.
    pub fn free(&mut self, inspected: &dyn Fn(u64) -> bool) -> Option<u64> {
        let mut freed = false;
        while let Some(t) = self.txs.front() {
            let old_one_way = t.direction().is_some() && self.txs.len() > KEEP_ONE_WAY;
            let done = t.direction().is_none() && t.record_ready() && inspected(t.id());
            if !(old_one_way || done) {
                break;
            }
            self.txs.pop_front();
            freed = true;
        }
        freed.then(|| self.txs.front().map_or(self.next_id, |t| t.id()))
    }
}

/// The [`super::AppParser`] methods of a parser that keeps its transactions in a [`TxList`]
/// field named `txs` (`each_tx`, `tx`, `free_txs`): write `app_parser_txs!();` inside its
/// `impl AppParser`. With `by_id`, for a `txs` of its own (a `VecDeque`, oldest first) of
/// transactions with an `id` field: `each_tx` and `tx` (a search by id); the parser writes
/// its own `free_txs`, or with `by_id, free` takes the one that calls its `free` method.
/// With `self_is_tx`, for a parser that is its flow's one transaction (id 0, never freed
/// before the flow ends: SSH, TLS, an FTP data connection).
macro_rules! app_parser_txs {
    (self_is_tx) => {
        fn each_tx(&self, f: &mut dyn FnMut(&dyn $crate::app::Transaction)) {
            f(self);
        }

        fn tx(&self, id: u64) -> Option<&dyn $crate::app::Transaction> {
            (id == 0).then_some(self as &dyn $crate::app::Transaction)
        }

        fn free_txs(&mut self, _inspected: &dyn Fn(u64) -> bool) -> Option<u64> {
            None
        }
    };
    (by_id, free) => {
        $crate::app::txs::app_parser_txs!(by_id);

        fn free_txs(&mut self, inspected: &dyn Fn(u64) -> bool) -> Option<u64> {
            self.free(inspected)
        }
    };
    (by_id) => {
        fn each_tx(&self, f: &mut dyn FnMut(&dyn $crate::app::Transaction)) {
            self.txs.iter().for_each(|t| f(t));
        }

        fn tx(&self, id: u64) -> Option<&dyn $crate::app::Transaction> {
            self.txs.iter().find(|t| t.id == id).map(|t| t as &dyn $crate::app::Transaction)
        }
    };
    () => {
        fn each_tx(&self, f: &mut dyn FnMut(&dyn $crate::app::Transaction)) {
            self.txs.each(f);
        }

        fn tx(&self, id: u64) -> Option<&dyn $crate::app::Transaction> {
            self.txs.tx(id)
        }

        fn free_txs(&mut self, inspected: &dyn Fn(u64) -> bool) -> Option<u64> {
            self.txs.free(inspected)
        }
    };
}
pub(crate) use app_parser_txs;

/// The [`Transaction`] methods of a one-message transaction (a datagram or a record complete
/// when parsed: Kerberos, SNMP, NTP, SIP, DHCP, WebSocket): its `id`, `to_server` and
/// `events` (a `Vec<u16>` or a `TxEvents`) fields, done on both sides at once; with
/// `buffers:` / `values:` its sticky buffers and value keywords from the protocol's tables
/// (`plugin::keyword_tables!`); with `eve:` the method that writes its EVE object (for alerts,
/// and for records by the trait's default). Write `one_message_tx!(...);` inside its
/// `impl Transaction`.
macro_rules! one_message_tx {
    ($(buffers: $buffers:expr,)? $(values: $values:expr,)? $(eve: $eve:ident,)?) => {
        fn id(&self) -> u64 {
            self.id
        }

        fn progress(&self) -> [u8; 2] {
            [$crate::app::plugin::PROGRESS_DONE; 2]
        }

        fn direction(&self) -> Option<bool> {
            Some(self.to_server)
        }

        fn events(&self) -> &[u16] {
            self.events.as_slice()
        }

        $crate::app::plugin::keyword_tables!($(buffers: $buffers,)? $(values: $values,)?);

        $(
            fn write_alert_eve(&self, j: &mut $crate::output::eve::Json<'_>) {
                self.$eve(j);
            }
        )?
    };
}
pub(crate) use one_message_tx;
