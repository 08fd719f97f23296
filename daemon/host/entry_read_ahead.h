// Store::for_each_entry with the store's reads on a thread of their own, up to
// a few pages before the visitor: a store behind a network (redis) answers the
// next page and the plugin decodes it while the caller handles this one, so
// their times overlap instead of adding up. Start-up reads every user this way
// (issue 16 item 4, docs/benchmarks.md).
#pragma once

#include "host/store.h"

#include <cstddef>
#include <cstdint>

namespace tokend {

// Visits what store.for_each_entry(ns, visit, page_size) would, in the same
// order, on the calling thread: the entries read before a failing call are
// visited, then its error is returned (an exception on the reading side comes
// back as internal instead of propagating). visit returning false, or
// throwing, stops the reads too: the reader sees it at its next entry (or,
// on the 1.0 list + get path, after the get in flight). About pages_ahead + 3
// pages are held at once (waiting, being filled, being visited, and the
// store's own); pages_ahead 0 counts as 1. The store's call observer and log
// sink run on the reading thread. Returns only once that thread has ended.
// Without a thread (none could be started) it reads in turn.
StoreStatus for_each_entry_read_ahead(Store& store, Ns ns, const StoreEntryVisitor& visit,
                                      uint32_t page_size = 1000, size_t pages_ahead = 3);

}  // namespace tokend
