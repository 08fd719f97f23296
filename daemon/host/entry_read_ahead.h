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
// order, on the calling thread, with the same result: the entries read before
// a failing call are visited, then its error is returned; visit returning false
// stops the reads as well. At most pages_ahead pages of page_size entries wait
// for the visitor. Returns only once the reading thread has ended (also when
// visit throws). Without a thread (none could be started) it reads in turn.
StoreStatus for_each_entry_read_ahead(Store& store, Ns ns, const StoreEntryVisitor& visit,
                                      uint32_t page_size = 1000, size_t pages_ahead = 3);

}  // namespace tokend
