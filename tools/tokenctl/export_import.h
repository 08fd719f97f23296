// tokenctl export and import: every user context in the users.yml format (the
// yaml store's file, the Python user_context module's {yml_base}.yml), taken
// from tokend's export op and given back through set_user_context
// (docs/operations.md, "Back up and restore").
#pragma once

#include "output.h"
#include "session.h"

#include <string>

namespace tokenctl {

struct ExportOptions {
    std::string file;  // "-" or empty: stdout
    bool refresh_tokens = true;
};

int run_export(const Options& options, Session& session, const ExportOptions& what);

struct ImportOptions {
    std::string file;  // "-": stdin
    bool dry_run = false;
    bool force = false;  // the file's tokens win even where the stored grant is newer
};

// Reads and checks the whole file first (nothing is sent for a file with any
// problem), then decides every user as a dry run, then writes.
int run_import(const Options& options, const ImportOptions& what);

}  // namespace tokenctl
